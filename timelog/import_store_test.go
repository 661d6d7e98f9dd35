package timelog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/timelog"
)

// An imported file stores each entry as recording it would: ids in the order of the lines, each
// entry's own patients, and one audit row for each of its patients naming it.
func TestImportStoresEachEntry(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	file := `patients,staff,program,started_at,minutes,mdm,note
P3;P1,RN1,ccm,2026-03-05T09:00:00-05:00,10,,line 2
P2,MD1,ccm,2026-03-02T09:00:00-05:00,15,low,line 3
P1,RN1,rpm,2026-03-04T09:00:00-05:00,20,,line 4
P4,RN1,pcm,2026-03-03T09:00:00-05:00,25,,line 5
`
	if _, err := s.ImportFile(ctx, "time.csv", strings.NewReader(file), timelog.CLI); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		patients []string
		program  care.Program
		seconds  int64
	}{
		"line 2": {[]string{"P1", "P3"}, "ccm", 600}, "line 3": {[]string{"P2"}, "ccm", 900},
		"line 4": {[]string{"P1"}, "rpm", 1200}, "line 5": {[]string{"P4"}, "pcm", 1500},
	}
	var ids []timelog.EntryID
	if err := d.Select(&ids, `SELECT id FROM time_entries ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	type event struct {
		Patient string
		Detail  struct {
			Program   care.Program    `json:"program"`
			Seconds   int64           `json:"seconds"`
			Source    timelog.Source  `json:"source"`
			TimeEntry timelog.EntryID `json:"time_entry"`
		}
	}
	var events []event
	var rows []struct {
		Patient string    `db:"ext_id"`
		Detail  []byte    `db:"detail"`
		Actor   string    `db:"actor"`
		At      time.Time `db:"at"`
	}
	err := d.Select(&rows, `SELECT p.ext_id, a.detail, a.actor, a.at FROM audit_log a
		JOIN patients p ON p.practice_id = a.practice_id AND p.id = a.entity_id::bigint
		WHERE a.action = 'time_entry.create' AND a.entity = 'patient' ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		ev := event{Patient: r.Patient}
		if err := json.Unmarshal(r.Detail, &ev.Detail); err != nil {
			t.Fatal(err)
		}
		if r.Actor != "cli" || !r.At.Equal(now) {
			t.Errorf("audit row %+v, want by cli at %s", r, now)
		}
		events = append(events, ev)
	}
	var wantEvents []event
	for i, id := range ids {
		e, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("line %d", i+2)
		w := want[line]
		if e.Note != line || !slices.Equal(e.Patients, w.patients) || e.Program != w.program || e.Seconds != w.seconds ||
			e.Source != timelog.SourceImport || e.CreatedBy != "cli" || !e.CreatedAt.Equal(now) {
			t.Errorf("entry %d = %+v, want %s: %+v", id, e, line, w)
		}
		for _, p := range w.patients {
			ev := event{Patient: p}
			ev.Detail.Program, ev.Detail.Seconds, ev.Detail.Source, ev.Detail.TimeEntry = w.program, w.seconds, timelog.SourceImport, id
			wantEvents = append(wantEvents, ev)
		}
	}
	if len(ids) != len(want) || !slices.Equal(events, wantEvents) {
		t.Errorf("entries %v, audit rows\n%+v\nwant\n%+v", ids, events, wantEvents)
	}
}

// A file longer than one statement's share of rows finds its repeats of stored entries
// wherever they are in the file, with the id of the entry each repeats.
func TestImportRepeatsInALongFile(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	end := now.Add(-time.Hour)
	first := timeFile(2500, end)
	if _, err := s.ImportFile(ctx, "first.csv", strings.NewReader(first), timelog.CLI); err != nil {
		t.Fatal(err)
	}
	// The second file repeats entries 0 and 2300 of the first at its lines 2 and 2302, between
	// entries of an earlier period.
	lines := strings.Split(strings.TrimSuffix(first, "\n"), "\n")
	second := strings.Split(strings.TrimSuffix(timeFile(2500, end.Add(-2500*15*time.Minute)), "\n"), "\n")
	second[1], second[2301] = lines[1], lines[2301]
	_, err := s.ImportFile(ctx, "second.csv", strings.NewReader(strings.Join(second, "\n")+"\n"), timelog.CLI)
	var want []string
	for _, note := range []string{"entry 0", "entry 2300"} {
		var id timelog.EntryID
		if err := d.Get(&id, `SELECT id FROM time_entries WHERE note = $1`, note); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("the same entry is already stored as entry %d", id))
	}
	if err == nil || !strings.Contains(err.Error(), "second.csv:2: "+want[0]) || !strings.Contains(err.Error(), "second.csv:2302: "+want[1]) {
		t.Errorf("error = %v, want lines 2 and 2302 refused: %q", err, want)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM time_entries`); err != nil || n != 2500 {
		t.Errorf("%d entries stored (%v), want the first file's 2500", n, err)
	}
}
