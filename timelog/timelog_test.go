package timelog_test

import (
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var (
	newYork = mustZone("America/New_York")
	now     = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

const patientsCSV = `id,programs,billing_npi,chronic_conditions,consent_at
P1,ccm;rpm,1111111112,I10;E11.9,2026-01-15
P2,ccm,1111111112,I10;E11.9,2026-01-15
P3,ccm,1111111112,I10;E11.9,2026-01-15
P4,pcm,1111111112,E11.9,2026-01-15
`

const staffCSV = `id,name,credential,role,npi
RN1,Rita,RN,clinical,
MD1,Dr. Ada,MD,practitioner,1111111112
FD1,Front Desk,,non_clinical,
`

// setup returns a service on a fresh database with patients and staff.
func setup(t testing.TB) (*timelog.Service, *sqlx.DB) {
	t.Helper()
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	ps := practice.Settings{ID: practice.Default, Location: newYork}
	if _, err := outreach.ImportPatients(ctx, d, "p.csv", strings.NewReader(patientsCSV), imports.Options{Practice: ps, Actor: audit.ActorCLI, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.ImportFile(ctx, d, "s.csv", strings.NewReader(staffCSV), imports.Options{Practice: ps, Actor: audit.ActorCLI, Now: now}); err != nil {
		t.Fatal(err)
	}
	return &timelog.Service{DB: d, Practice: practice.Default, Location: newYork, Clock: func() time.Time { return now }}, d
}

// as returns a staff member signed in, with their access level.
func as(t *testing.T, s *timelog.Service, member string) timelog.Caller {
	t.Helper()
	var row struct {
		ID     int64        `db:"id"`
		Access staff.Access `db:"access"`
	}
	if err := s.DB.Get(&row, `SELECT id, access FROM staff WHERE ext_id = $1`, member); err != nil {
		t.Fatal(err)
	}
	return timelog.Caller{Actor: audit.Staff(row.ID), Staff: member, Access: row.Access}
}

func ptr[T any](v T) *T { return &v }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func draft(patients string, minutes int) timelog.Draft {
	start := at("2026-03-02T10:00:00-05:00")
	return timelog.Draft{Patients: strings.Split(patients, ";"), Staff: "RN1", Program: care.CCM,
		StartedAt: start, EndedAt: start.Add(time.Duration(minutes) * time.Minute), Activity: "patient_call", Note: "reviewed BP log"}
}

func TestRecordAmendVoidHistory(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	actor := as(t, s, "RN1")
	e, err := s.Record(ctx, actor, draft("P1", 20), timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	if e.Seconds != 1200 || e.StaffRole != "clinical" || e.StaffCredential != "RN" || e.Changed != "no_change" || e.MDM != "none" || e.Patients[0] != "P1" {
		t.Errorf("recorded %+v", e)
	}
	if _, err := s.Record(ctx, actor, draft("P1", 20), timelog.SourceManual); !errors.Is(err, errkind.ErrConflict) {
		t.Errorf("recording the same entry twice: error %v, want conflict", err)
	}

	fix := timelog.Patch{Minutes: ptr[int64](25)}
	a, err := s.Amend(ctx, actor, e.ID, fix, "call ran longer")
	if err != nil {
		t.Fatal(err)
	}
	if *a.Supersedes != e.ID || *a.AmendReason != "call ran longer" || a.Seconds != 1500 {
		t.Errorf("amendment %+v", a)
	}
	if _, err := s.Amend(ctx, actor, e.ID, fix, "again"); !errors.Is(err, errkind.ErrConflict) || !strings.Contains(err.Error(), "already amended by entry") {
		t.Errorf("amending a superseded entry: %v, want conflict", err)
	}
	if _, err := s.Amend(ctx, actor, a.ID, fix, " "); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("amending without a reason: %v, want invalid", err)
	}
	v, err := s.Void(ctx, actor, a.ID, "entered for the wrong patient")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Voided || *v.Supersedes != a.ID {
		t.Errorf("void %+v", v)
	}
	if _, err := s.Amend(ctx, actor, v.ID, fix, "undo"); !errors.Is(err, errkind.ErrConflict) {
		t.Errorf("amending a void: %v, want conflict", err)
	}

	for _, id := range []timelog.EntryID{e.ID, a.ID, v.ID} {
		h, err := s.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 3 || h[0].ID != e.ID || h[1].ID != a.ID || h[2].ID != v.ID || *h[0].SupersededBy != a.ID {
			t.Errorf("History(%d) = %d versions", id, len(h))
		}
	}
	month := timelog.ListFilter{From: at("2026-03-01T00:00:00-05:00"), To: at("2026-04-01T00:00:00-04:00")}
	if cur, err := s.List(ctx, month); err != nil || len(cur) != 0 {
		t.Errorf("current entries after the void: %d, %v; want none", len(cur), err)
	}
	month.AllVersion = true
	if all, err := s.List(ctx, month); err != nil || len(all) != 3 {
		t.Errorf("all versions: %d, %v; want 3", len(all), err)
	}
	if _, err := d.Exec(`UPDATE time_entries SET note = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE time_entries: %v, want append-only refusal", err)
	}
	if _, err := s.History(ctx, 999999); !errors.Is(err, errkind.ErrNotFound) {
		t.Errorf("History(missing) = %v", err)
	}
}

func TestConcurrentAmendmentsOneWins(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	e, err := s.Record(ctx, timelog.CLI, draft("P2", 20), timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Amend(ctx, timelog.CLI, e.ID, timelog.Patch{Minutes: ptr(int64(21 + i))}, "fix")
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, errkind.ErrConflict):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d amendments won, want exactly 1", wins)
	}
}

func TestRecordValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	tests := []struct {
		name  string
		edit  func(*timelog.Draft)
		field string
		msg   string
	}{
		{"stop before start", func(d *timelog.Draft) { d.EndedAt = d.StartedAt.Add(-time.Minute) }, "ended_at", "is not after started_at"},
		{"too long", func(d *timelog.Draft) { d.EndedAt = d.StartedAt.Add(13 * time.Hour) }, "ended_at", "at most 12h0m0s"},
		{"in the future", func(d *timelog.Draft) { d.StartedAt = now.Add(time.Hour); d.EndedAt = now.Add(2 * time.Hour) }, "ended_at", "in the future"},
		{"unknown staff", func(d *timelog.Draft) { d.Staff = "NOPE" }, "staff", `staff "NOPE" is not a known staff id`},
		{"unknown patient", func(d *timelog.Draft) { d.Patients = []string{"P1", "P9"} }, "patients", `patient "P9" is not a known patient id`},
		{"not enrolled", func(d *timelog.Draft) { d.Program = care.BHI }, "program", `patient "P1" is not enrolled in bhi`},
		{"pcm patient in ccm", func(d *timelog.Draft) { d.Patients = []string{"P4"} }, "program", `patient "P4" is not enrolled in ccm`},
		{"unknown program", func(d *timelog.Draft) { d.Program = "xyz" }, "program", `program "xyz" is not one of`},
		{"unknown activity", func(d *timelog.Draft) { d.Activity = "golf" }, "activity", `activity "golf" is not one of`},
		{"mdm by clinical staff", func(d *timelog.Draft) { d.MDM = "moderate" }, "mdm", "documented by a practitioner"},
		{"patient twice", func(d *timelog.Draft) { d.Patients = []string{"P1", "P1"} }, "patients", "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := draft("P1", 20)
			tt.edit(&d)
			_, err := s.Record(ctx, timelog.CLI, d, timelog.SourceManual)
			var ie *timelog.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, errkind.ErrInvalid) {
				t.Fatalf("error = %v, want invalid", err)
			}
			if ie.Errs[0].Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q on %q, want %q on %q", err, ie.Errs[0].Field, tt.msg, tt.field)
			}
		})
	}
	// TCM and G0506 need no enrolment.
	for _, p := range []care.Program{care.TCM, care.G0506} {
		d := draft("P4", 15)
		d.Program = p
		if _, err := s.Record(ctx, timelog.CLI, d, timelog.SourceManual); err != nil {
			t.Errorf("%s entry for a patient not enrolled: %v", p, err)
		}
	}
}

const timeCSV = `patients,staff,program,started_at,ended_at,minutes,activity,note,mdm,interactive
P1,RN1,ccm,2026-03-02T10:00:00-05:00,2026-03-02T10:20:00-05:00,,patient_call,called about BP,,
P1;P2;P3,RN1,ccm,2026-03-03T09:00:00-05:00,,30,education,group class,,
P1,MD1,ccm,2026-03-04T09:00:00-05:00,,15,care_plan,revised plan,moderate,
P1,RN1,rpm,2026-03-05T09:00:00-05:00,,25,data_review,reviewed readings,,true
`

func TestImportTime(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	res, err := s.ImportFile(ctx, "time.csv", strings.NewReader(timeCSV), timelog.CLI)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 || res.Seconds != (20+30+15+25)*60 {
		t.Errorf("import = %+v", res)
	}
	// The same file again is refused whole.
	_, err = s.ImportFile(ctx, "time.csv", strings.NewReader(timeCSV), timelog.CLI)
	if !errors.Is(err, errkind.ErrConflict) || !strings.Contains(err.Error(), "already imported") {
		t.Errorf("re-import error = %v", err)
	}
	// A different file that repeats a stored entry is refused at that line.
	again := "patients,staff,program,started_at,minutes\nP2,RN1,ccm,2026-03-10T10:00:00-04:00,5\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,20\n"
	_, err = s.ImportFile(ctx, "again.csv", strings.NewReader(again), timelog.CLI)
	if err == nil || !strings.HasPrefix(err.Error(), "again.csv:3: the same entry is already stored as entry") {
		t.Errorf("repeated entry error = %v", err)
	}
	entries, err := s.List(ctx, timelog.ListFilter{From: at("2026-03-01T00:00:00-05:00"), To: at("2026-04-01T00:00:00-04:00")})
	if err != nil || len(entries) != 4 {
		t.Fatalf("entries after imports: %d, %v; want 4", len(entries), err)
	}
	if e := entries[1]; len(e.Patients) != 3 || e.Seconds != 1800 || e.Source != timelog.SourceImport {
		t.Errorf("shared entry = %+v", e)
	}
	if e := entries[2]; e.MDM != "moderate" || e.StaffRole != "practitioner" || *e.StaffNPI != "1111111112" {
		t.Errorf("practitioner entry = %+v", e)
	}
	if e := entries[3]; !e.Interactive || e.Program != care.RPM {
		t.Errorf("rpm entry = %+v", e)
	}

	var buf strings.Builder
	if err := s.Export(ctx, &buf, at("2026-03-01T00:00:00-05:00"), at("2026-04-01T00:00:00-04:00"), newYork); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil || len(recs) != 5 {
		t.Fatalf("export: %d records, %v", len(recs), err)
	}
	shared := map[string]string{}
	for i, h := range recs[0] {
		shared[h] = recs[2][i]
	}
	if shared["patient_seconds"] != "P1:600;P2:600;P3:600" || shared["started_at"] != "2026-03-03T09:00:00-05:00" ||
		shared["credential"] != "RN" || shared["status"] != "current" || shared["timezone"] != "America/New_York" {
		t.Errorf("exported shared entry = %v", shared)
	}
}

func TestImportTimeErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, content string
		line          int
		column, msg   string
	}{
		{"stop before start", "patients,staff,program,started_at,ended_at\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,2026-03-02T09:00:00-05:00\n", 2, "ended_at", "is not after started_at"},
		{"unknown staff", "patients,staff,program,started_at,minutes\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,5\nP1,XX,ccm,2026-03-02T11:00:00-05:00,5\n", 3, "staff", `staff "XX" is not a known staff id`},
		{"unknown patient", "patients,staff,program,started_at,minutes\nP1;P77,RN1,ccm,2026-03-02T10:00:00-05:00,5\n", 2, "patients", `patient "P77" is not a known patient id`},
		{"not enrolled", "patients,staff,program,started_at,minutes\nP2,RN1,rpm,2026-03-02T10:00:00-05:00,5\n", 2, "program", `patient "P2" is not enrolled in rpm`},
		{"bad minutes", "patients,staff,program,started_at,minutes\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,ten\n", 2, "minutes", `minutes "ten" is not a whole number`},
		{"both end and minutes", "patients,staff,program,started_at,ended_at,minutes\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,2026-03-02T10:10:00-05:00,10\n", 2, "minutes", "not both"},
		{"no end column", "patients,staff,program,started_at\nP1,RN1,ccm,2026-03-02T10:00:00-05:00\n", 1, "ended_at", `missing column "ended_at" or "minutes"`},
		{"no offset", "patients,staff,program,started_at,minutes\nP1,RN1,ccm,2026-03-02 10:00,5\n", 2, "started_at", "is not an RFC 3339 time"},
		{"duplicate row", "patients,staff,program,started_at,minutes\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,5\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,5\n", 3, "started_at", "the same entry appears on line 2"},
		{"unknown column", "patients,staff,program,started_at,minutes,billable\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,5,yes\n", 1, "billable", `unknown column "billable"`},
		{"mdm by nurse", "patients,staff,program,started_at,minutes,mdm\nP1,RN1,ccm,2026-03-02T10:00:00-05:00,5,high\n", 2, "mdm", "documented by a practitioner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := setup(t)
			_, err := s.ImportFile(ctx, "time.csv", strings.NewReader(tt.content), timelog.CLI)
			var ces csvfile.Errors
			var ce *csvfile.Error
			switch {
			case errors.As(err, &ces):
				ce = ces[0]
			case errors.As(err, &ce):
			default:
				t.Fatalf("error = %v, want a csv error", err)
			}
			if ce.Line != tt.line || ce.Column != tt.column || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q (line %d column %q), want line %d column %q %q", err, ce.Line, ce.Column, tt.line, tt.column, tt.msg)
			}
			var n int
			d.Get(&n, `SELECT count(*) FROM time_entries`)
			if n != 0 {
				t.Errorf("%d entries stored after a failed import", n)
			}
		})
	}
}

func TestTimer(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	clock := now
	s.Clock = func() time.Time { return clock }
	tm, err := s.StartTimer(ctx, as(t, s, "RN1"), timelog.TimerStart{Patients: []string{"P1"}, Program: care.CCM, Activity: "patient_call"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartTimer(ctx, as(t, s, "RN1"), timelog.TimerStart{Patients: []string{"P2"}, Program: care.CCM}); !errors.Is(err, errkind.ErrConflict) {
		t.Errorf("second running timer: %v, want conflict", err)
	}
	clock = clock.Add(17*time.Minute + 30*time.Second)
	if _, err := s.StopTimer(ctx, as(t, s, "MD1"), tm.ID, timelog.TimerStop{}); !errors.Is(err, errkind.ErrForbidden) {
		t.Errorf("stopping another's timer: %v, want forbidden", err)
	}
	e, err := s.StopTimer(ctx, as(t, s, "RN1"), tm.ID, timelog.TimerStop{Note: "discussed meds", Changed: "medication_change"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seconds != 1050 || e.Source != timelog.SourceTimer || e.Changed != "medication_change" || !e.StartedAt.Equal(now) {
		t.Errorf("timer entry = %+v", e)
	}
	if _, err := s.StopTimer(ctx, as(t, s, "RN1"), tm.ID, timelog.TimerStop{}); !errors.Is(err, errkind.ErrConflict) {
		t.Errorf("stopping twice: %v, want conflict", err)
	}
	if _, err := s.StartTimer(ctx, as(t, s, "RN1"), timelog.TimerStart{Patients: []string{"P2"}, Program: care.CCM}); err != nil {
		t.Errorf("a new timer after stopping: %v", err)
	}
}

func TestSplitSeconds(t *testing.T) {
	tests := []struct {
		seconds int64
		n       int
		want    []int64
	}{
		{1800, 3, []int64{600, 600, 600}},
		{1001, 3, []int64{334, 334, 333}},
		{2, 3, []int64{1, 1, 0}},
		{60, 1, []int64{60}},
	}
	for _, tt := range tests {
		got := timelog.SplitSeconds(tt.seconds, tt.n)
		var sum int64
		for i := range got {
			sum += got[i]
			if got[i] != tt.want[i] {
				t.Errorf("SplitSeconds(%d, %d) = %v, want %v", tt.seconds, tt.n, got, tt.want)
				break
			}
		}
		if sum != tt.seconds {
			t.Errorf("shares of %d add up to %d", tt.seconds, sum)
		}
	}
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	a := draft("P1", 30)
	b := draft("P3", 30)
	b.Patients = []string{"P3", "P2"} // a shared activity
	b.StartedAt, b.EndedAt = a.StartedAt.Add(20*time.Minute), a.StartedAt.Add(50*time.Minute)
	c := draft("P3", 10)
	c.StartedAt, c.EndedAt = a.EndedAt.Add(20*time.Minute), a.EndedAt.Add(30*time.Minute) // after b: no overlap
	var ids []timelog.EntryID
	for _, d := range []timelog.Draft{a, b, c} {
		e, err := s.Record(ctx, timelog.CLI, d, timelog.SourceManual)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	month := [2]time.Time{at("2026-03-01T00:00:00-05:00"), at("2026-04-01T00:00:00-04:00")}
	cs, err := s.Conflicts(ctx, month[0], month[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].First != ids[0] || cs[0].Second != ids[1] || cs[0].Seconds != 600 || cs[0].Staff != "RN1" ||
		!slices.Equal(cs[0].FirstPatients, []string{"P1"}) || !slices.Equal(cs[0].SecondPatients, []string{"P2", "P3"}) {
		t.Fatalf("conflicts = %+v", cs)
	}
	// Amending one entry so that it no longer overlaps settles the conflict.
	if _, err := s.Amend(ctx, timelog.CLI, ids[1], timelog.Patch{StartedAt: &a.EndedAt, Minutes: ptr[int64](20)}, "started after the first call"); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.Conflicts(ctx, month[0], month[1]); err != nil || len(cs) != 0 {
		t.Errorf("conflicts after the amendment: %+v, %v", cs, err)
	}
}
