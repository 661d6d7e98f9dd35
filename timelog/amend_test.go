package timelog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/timelog"
)

// TestAmendOnlyWhatChanges amends fresh entries (20 minutes of RN1's call with P1, "reviewed
// BP log") with patches: what a patch leaves out keeps the current version's value.
func TestAmendOnlyWhatChanges(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	tests := []struct {
		name  string
		patch timelog.Patch
		want  string // the amended entry's patients, seconds, start (local), note, activity
		err   error
		msg   string
	}{
		{"minutes", timelog.Patch{Minutes: ptr[int64](25)}, "[P1] 1500 10:00 reviewed BP log patient_call", nil, ""},
		{"note", timelog.Patch{Note: ptr("reviewed BP log and meds")}, "[P1] 1200 10:00 reviewed BP log and meds patient_call", nil, ""},
		{"patients", timelog.Patch{Patients: []string{"P2", "P1"}}, "[P1 P2] 1200 10:00 reviewed BP log patient_call", nil, ""},
		{"start keeps the end", timelog.Patch{StartedAt: ptr(at("2026-03-02T10:05:00-05:00"))}, "[P1] 900 10:05 reviewed BP log patient_call", nil, ""},
		{"seconds", timelog.Patch{Seconds: ptr[int64](90), Activity: ptr[timelog.Activity]("education")}, "[P1] 90 10:00 reviewed BP log education", nil, ""},
		{"nothing", timelog.Patch{}, "", errkind.ErrInvalid, "the amendment changes nothing in time entry"},
		{"the same values", timelog.Patch{Note: ptr(" reviewed BP log "), Minutes: ptr[int64](20)}, "", errkind.ErrInvalid, "changes nothing"},
		{"seconds against the end", timelog.Patch{EndedAt: ptr(at("2026-03-02T10:30:00-05:00")), Seconds: ptr[int64](600)}, "", errkind.ErrInvalid, "seconds 600 does not agree"},
		{"end before start", timelog.Patch{EndedAt: ptr(at("2026-03-02T09:30:00-05:00"))}, "", errkind.ErrInvalid, "is not after started_at"},
		{"no patients", timelog.Patch{Patients: []string{}}, "", errkind.ErrInvalid, "patients is empty"},
		{"unknown patient", timelog.Patch{Patients: []string{"P9"}}, "", errkind.ErrInvalid, `patient "P9" is not a known patient id`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One entry a day, the patch's instants moved along.
			d, p := draft("P1", 20), tt.patch
			d.StartedAt, d.EndedAt = d.StartedAt.AddDate(0, 0, i), d.EndedAt.AddDate(0, 0, i)
			if p.StartedAt != nil {
				p.StartedAt = ptr(p.StartedAt.AddDate(0, 0, i))
			}
			if p.EndedAt != nil {
				p.EndedAt = ptr(p.EndedAt.AddDate(0, 0, i))
			}
			e, err := s.Record(ctx, timelog.CLI, d, timelog.SourceManual)
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.Amend(ctx, timelog.CLI, e.ID, p, "correction")
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error = %v, want %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%v %d %s %s %s", a.Patients, a.Seconds, a.StartedAt.Format("15:04"), a.Note, a.Activity)
			if got != tt.want || *a.Supersedes != e.ID || a.Staff != "RN1" || a.Program != care.CCM {
				t.Errorf("amended entry = %s (supersedes %d, staff %s, %s), want %s", got, *a.Supersedes, a.Staff, a.Program, tt.want)
			}
		})
	}
}

// TestVoidAndAmendSayWhyNot: voiding twice, amending a void or a voided entry and amending an
// amended entry name the entry in the way and when it was recorded, in the practice's zone.
func TestVoidAndAmendSayWhyNot(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	e, err := s.Record(ctx, timelog.CLI, draft("P1", 20), timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Void(ctx, timelog.CLI, e.ID, "wrong patient")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Record(ctx, timelog.CLI, draft("P2", 20), timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Amend(ctx, timelog.CLI, f.ID, timelog.Patch{Minutes: ptr[int64](30)}, "call ran long")
	if err != nil {
		t.Fatal(err)
	}
	when := "2026-03-20 08:00 EDT" // the pinned clock, 12:00 UTC
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"void twice", func() error { _, err := s.Void(ctx, timelog.CLI, e.ID, "again"); return err },
			fmt.Sprintf("time entry %d is already voided: entry %d voided it on %s", e.ID, v.ID, when)},
		{"void the void", func() error { _, err := s.Void(ctx, timelog.CLI, v.ID, "again"); return err },
			fmt.Sprintf("time entry %d is itself a void: it voided entry %d on %s", v.ID, e.ID, when)},
		{"amend a voided entry", func() error {
			_, err := s.Amend(ctx, timelog.CLI, e.ID, timelog.Patch{Minutes: ptr[int64](5)}, "fix")
			return err
		}, fmt.Sprintf("time entry %d was voided and cannot be amended (entry %d voided it on %s); record a new entry instead", e.ID, v.ID, when)},
		{"amend a void", func() error {
			_, err := s.Amend(ctx, timelog.CLI, v.ID, timelog.Patch{Minutes: ptr[int64](5)}, "fix")
			return err
		}, fmt.Sprintf("time entry %d is a void (of entry %d, on %s) and cannot be amended; record a new entry instead", v.ID, e.ID, when)},
		{"amend an amended entry", func() error {
			_, err := s.Amend(ctx, timelog.CLI, f.ID, timelog.Patch{Minutes: ptr[int64](5)}, "fix")
			return err
		}, fmt.Sprintf("time entry %d was already amended by entry %d on %s: amend that one", f.ID, g.ID, when)},
		{"void an amended entry", func() error { _, err := s.Void(ctx, timelog.CLI, f.ID, "dup"); return err },
			fmt.Sprintf("time entry %d was already amended by entry %d on %s: void that one", f.ID, g.ID, when)},
		{"void a missing entry", func() error { _, err := s.Void(ctx, timelog.CLI, 999999, "dup"); return err },
			"time entry 999999 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestInstantsInPracticeZone: entries, conflicts and timers give their instants in the
// practice's zone, with its offset.
func TestInstantsInPracticeZone(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	a, err := s.Record(ctx, timelog.CLI, draft("P1", 30), timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	b := draft("P2", 30)
	b.StartedAt, b.EndedAt = at("2026-03-02T15:10:00Z"), at("2026-03-02T15:40:00Z")
	if _, err := s.Record(ctx, timelog.CLI, b, timelog.SourceManual); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, timelog.ListFilter{From: at("2026-03-01T00:00:00-05:00"), To: at("2026-04-01T00:00:00-04:00")})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.Conflicts(ctx, at("2026-03-01T00:00:00-05:00"), at("2026-04-01T00:00:00-04:00"))
	if err != nil || len(cs) != 1 {
		t.Fatalf("conflicts = %+v, %v", cs, err)
	}
	tm, err := s.StartTimer(ctx, as(t, s, "MD1"), timelog.TimerStart{Patients: []string{"P1"}, Program: care.CCM})
	if err != nil {
		t.Fatal(err)
	}
	for name, ts := range map[string][2]time.Time{
		"Get":       {got.StartedAt, got.CreatedAt},
		"History":   {hist[0].EndedAt, hist[0].CreatedAt},
		"List":      {list[1].StartedAt, list[1].EndedAt},
		"Conflicts": {cs[0].From, cs[0].To},
		"Timer":     {tm.StartedAt, tm.StartedAt},
	} {
		for _, t1 := range ts {
			if t1.Location() != newYork {
				t.Errorf("%s gives %s, not in the practice's zone", name, t1.Format(time.RFC3339))
			}
		}
	}
	if f := cs[0].From.Format(time.RFC3339); f != "2026-03-02T10:10:00-05:00" {
		t.Errorf("conflict from %s, want 2026-03-02T10:10:00-05:00", f)
	}
	if c := got.CreatedAt.Format(time.RFC3339); c != "2026-03-20T08:00:00-04:00" {
		t.Errorf("created at %s, want 2026-03-20T08:00:00-04:00", c)
	}
}
