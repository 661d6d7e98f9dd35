package timelog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

// TestPermit is the rule of who records, amends and voids what, for whom, with which MDM.
func TestPermit(t *testing.T) {
	caller := func(id string, access staff.Access) timelog.Caller {
		return timelog.Caller{Actor: audit.Actor("staff:" + id), Staff: id, Access: access}
	}
	var (
		rn1, rn2 = caller("RN1", staff.AccessNurse), caller("RN2", staff.AccessNurse)
		md1, md2 = caller("MD1", staff.AccessPractitioner), caller("MD2", staff.AccessPractitioner)
		fd1      = caller("FD1", staff.AccessNurse) // the front desk: non-clinical
		mg1      = caller("MG1", staff.AccessManager)
		ad1      = caller("AD1", staff.AccessAdmin)
		cli      = timelog.CLI
	)
	of := func(id, role string, mdm timelog.MDM) timelog.Attribution {
		return timelog.Attribution{Staff: id, Role: role, MDM: mdm}
	}
	var (
		rn1Time   = of("RN1", "clinical", "none")
		rn1MDM    = of("RN1", "clinical", "low")
		rn2Time   = of("RN2", "clinical", "none")
		md1Time   = of("MD1", "practitioner", "none")
		md1High   = of("MD1", "practitioner", "high")
		md1Low    = of("MD1", "practitioner", "low")
		md2High   = of("MD2", "practitioner", "high")
		fd1Time   = of("FD1", "non_clinical", "none")
		mg1Time   = of("MG1", "non_clinical", "none")
		record    = func(e timelog.Attribution) timelog.Act { return timelog.Act{Verb: timelog.VerbRecord, Entry: e} }
		importRow = func(e timelog.Attribution) timelog.Act { return timelog.Act{Verb: timelog.VerbImport, Entry: e} }
		void      = func(e timelog.Attribution) timelog.Act { return timelog.Act{Verb: timelog.VerbVoid, Entry: e} }
		amend     = func(before, after timelog.Attribution) timelog.Act {
			return timelog.Act{Verb: timelog.VerbAmend, Entry: after, Before: &before}
		}
	)
	const (
		ok        = ""
		forbidden = "403 "
		invalid   = "400 "
	)
	tests := []struct {
		name string
		c    timelog.Caller
		act  timelog.Act
		want string // ok, or the kind and the start of the refusal
	}{
		{"a nurse records her own time", rn1, record(rn1Time), ok},
		{"a nurse records another nurse's time", rn1, record(rn2Time), forbidden + "RN1 may not record time for RN2: only RN2, a manager or an admin may"},
		{"the front desk records a physician's time with MDM", fd1, record(md1High), forbidden + "FD1 may not record time for MD1"},
		{"the front desk records its own time", fd1, record(fd1Time), forbidden + "FD1 is non-clinical staff"},
		{"a manager records for a nurse", mg1, record(rn1Time), ok},
		{"an admin records for a nurse", ad1, record(rn1Time), ok},
		{"a manager records for the front desk", mg1, record(fd1Time), forbidden + "FD1 is non-clinical staff"},
		{"a non-clinical manager records their own time", mg1, record(mg1Time), forbidden + "MG1 is non-clinical staff"},
		{"a nurse documents MDM", rn1, record(rn1MDM), invalid + `mdm "low" is documented by a practitioner; staff "RN1" is clinical`},
		{"a physician documents their own MDM", md1, record(md1High), ok},
		{"a physician records their own time without MDM", md1, record(md1Time), ok},
		{"a manager documents MDM for a physician", mg1, record(md1High), forbidden + "MG1 may not document medical decision-making for MD1"},
		{"a physician documents MDM for another", md2, record(md1High), forbidden + "MD2 may not record time for MD1"},
		{"the command line records MDM for a physician", cli, record(md1High), forbidden + "cli may not document medical decision-making for MD1"},
		{"the command line records a nurse's time", cli, record(rn1Time), ok},

		{"a file carries a physician's MDM", cli, importRow(md1High), ok},
		{"a file carries the front desk's time", cli, importRow(fd1Time), ok},
		{"a file carries a nurse's MDM", cli, importRow(rn1MDM), invalid + `mdm "low" is documented by a practitioner`},
		{"a nurse imports another nurse's time", rn1, importRow(rn2Time), forbidden + "RN1 may not record time for RN2"},

		{"a nurse amends her own entry", rn1, amend(rn1Time, rn1Time), ok},
		{"a nurse amends another nurse's entry", rn2, amend(rn1Time, rn1Time), forbidden + "RN2 may not amend RN1's time: only RN1, a manager or an admin may"},
		{"a physician amends a nurse's entry", md1, amend(rn1Time, rn1Time), forbidden + "MD1 may not amend RN1's time"},
		{"a nurse gives her entry to a physician", rn1, amend(rn1Time, md1Time), forbidden + "RN1 may not record time for MD1"},
		{"a nurse takes another nurse's entry", rn1, amend(rn2Time, rn1Time), forbidden + "RN1 may not amend RN2's time"},
		{"a manager gives a nurse's entry to another nurse", mg1, amend(rn1Time, rn2Time), ok},
		{"a manager corrects a physician's entry, MDM as it was", mg1, amend(md1High, md1High), ok},
		{"a manager changes a physician's MDM", mg1, amend(md1High, md1Low), forbidden + "MG1 may not document medical decision-making for MD1"},
		{"a manager removes a physician's MDM", mg1, amend(md1High, md1Time), forbidden + "MG1 may not document medical decision-making for MD1"},
		{"a manager adds MDM to a physician's entry", mg1, amend(md1Time, md1High), forbidden + "MG1 may not document medical decision-making for MD1"},
		{"a manager gives a physician's MDM to another", mg1, amend(md1High, md2High), forbidden + "MG1 may not document medical decision-making for MD2"},
		{"a physician changes their own MDM", md1, amend(md1High, md1Low), ok},
		{"a physician removes their own MDM", md1, amend(md1High, md1Time), ok},
		{"a manager gives a nurse's entry to the front desk", mg1, amend(rn1Time, fd1Time), forbidden + "FD1 is non-clinical staff"},
		{"a manager gives an imported front desk entry to a nurse", mg1, amend(fd1Time, rn1Time), ok},
		{"the front desk amends its own imported entry", fd1, amend(fd1Time, fd1Time), forbidden + "FD1 is non-clinical staff"},

		{"a nurse voids her own entry", rn1, void(rn1Time), ok},
		{"a nurse voids another nurse's entry", rn2, void(rn1Time), forbidden + "RN2 may not void RN1's time: only RN1, a manager or an admin may"},
		{"the front desk voids a nurse's entry", fd1, void(rn1Time), forbidden + "FD1 may not void RN1's time"},
		{"a manager voids a nurse's entry", mg1, void(rn1Time), ok},
		{"a manager voids a physician's entry with MDM", mg1, void(md1High), ok},
		{"a manager voids an imported front desk entry", mg1, void(fd1Time), ok},
		{"the front desk voids its own imported entry", fd1, void(fd1Time), ok},
		{"the command line voids an entry", cli, void(md1High), ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := timelog.Permit(tt.c, tt.act)
			got := ok
			var ie *timelog.InvalidError
			switch {
			case err == nil:
			case errors.Is(err, errkind.ErrForbidden):
				got = forbidden + err.Error()
			case errors.As(err, &ie) && errors.Is(err, errkind.ErrInvalid) && ie.Errs[0].Field == "mdm":
				got = invalid + err.Error()
			default:
				got = "unexpected " + err.Error()
			}
			if (tt.want == ok) != (got == ok) || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Permit = %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Clinical staff and practitioners record their own time, whatever their access; non-clinical
// staff do not.
func TestRecordsOwnTime(t *testing.T) {
	for _, tt := range []struct {
		role   staff.Role
		access staff.Access
		want   bool
	}{
		{"clinical", staff.AccessNurse, true},
		{"practitioner", staff.AccessPractitioner, true},
		{"clinical", staff.AccessManager, true},
		{"non_clinical", staff.AccessNurse, false},
		{"non_clinical", staff.AccessManager, false},
		{"non_clinical", staff.AccessAdmin, false},
	} {
		id := staff.Identity{StaffID: 7, Staff: "S7", Role: tt.role, Access: tt.access}
		if got := timelog.RecordsOwnTime(id); got != tt.want {
			t.Errorf("RecordsOwnTime(%s, %s) = %v, want %v", tt.role, tt.access, got, tt.want)
		}
	}
}

// A signed-in staff member acts under their internal id, own id and access.
func TestCallerOf(t *testing.T) {
	got := timelog.CallerOf(staff.Identity{PracticeID: 1, StaffID: 5, Staff: "RN1", Role: "clinical", Access: staff.AccessNurse})
	if want := (timelog.Caller{Actor: "staff:5", Staff: "RN1", Access: staff.AccessNurse}); got != want {
		t.Errorf("CallerOf = %+v, want %+v", got, want)
	}
}

// TestRuleThroughService applies the rule through the service, as the API, the pages, the
// timers and the import use it: what is refused stores nothing, and each version names who
// recorded it (the staff member, or a manager on their behalf).
func TestRuleThroughService(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	if _, err := d.Exec(`INSERT INTO staff (practice_id, ext_id, name, credential, role, access, created_at, updated_at)
		VALUES (1, 'RN2', 'Nora', 'RN', 'clinical', 'nurse', $1, $1), (1, 'MG1', 'Mia', '', 'non_clinical', 'manager', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	rn1, rn2, md1, fd1, mg1 := as(t, s, "RN1"), as(t, s, "RN2"), as(t, s, "MD1"), as(t, s, "FD1"), as(t, s, "MG1")
	// on is a draft of RN1's 20 minutes with P1 on March 2, from hour on, for staff with mdm.
	on := func(hour int, staff string, mdm timelog.MDM) timelog.Draft {
		d := draft("P1", 20)
		d.StartedAt, d.EndedAt = d.StartedAt.Add(time.Duration(hour-10)*time.Hour), d.EndedAt.Add(time.Duration(hour-10)*time.Hour)
		d.Staff, d.MDM = staff, mdm
		return d
	}
	mustRecord := func(c timelog.Caller, d timelog.Draft) timelog.Entry {
		t.Helper()
		e, err := s.Record(ctx, c, d, timelog.SourceManual)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	nurses := mustRecord(rn1, on(10, "RN1", "none"))
	amended, err := s.Amend(ctx, rn1, nurses.ID, timelog.Patch{Minutes: ptr[int64](25)}, "call ran long")
	if err != nil {
		t.Fatal(err)
	}
	doctors := mustRecord(md1, on(11, "MD1", "high"))
	onBehalf := mustRecord(mg1, on(12, "RN1", "none"))
	if onBehalf.Staff != "RN1" || onBehalf.CreatedBy != "MG1" || onBehalf.CreatedByName != "Mia" || nurses.CreatedBy != "RN1" || nurses.CreatedByName != "Rita" {
		t.Errorf("recorded on behalf: staff %s by %s (%s); by herself: by %s (%s)", onBehalf.Staff, onBehalf.CreatedBy, onBehalf.CreatedByName, nurses.CreatedBy, nurses.CreatedByName)
	}
	tm, err := s.StartTimer(ctx, md1, timelog.TimerStart{Patients: []string{"P2"}, Program: care.CCM})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := d.Get(&n, `SELECT count(*) FROM time_entries`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stored := count()
	tests := []struct {
		name string
		do   func() error
		want string // the refusal's kind (403, 400) and text
	}{
		{"the front desk records a physician's time with MDM", func() error { _, err := s.Record(ctx, fd1, on(13, "MD1", "high"), timelog.SourceManual); return err },
			"403 FD1 may not record time for MD1: only MD1, a manager or an admin may"},
		{"the front desk records its own time", func() error { _, err := s.Record(ctx, fd1, on(13, "FD1", "none"), timelog.SourceManual); return err },
			"403 FD1 is non-clinical staff"},
		{"the front desk starts a timer", func() error {
			_, err := s.StartTimer(ctx, fd1, timelog.TimerStart{Patients: []string{"P1"}, Program: care.CCM})
			return err
		}, "403 FD1 is non-clinical staff"},
		{"the command line starts a timer", func() error {
			_, err := s.StartTimer(ctx, timelog.CLI, timelog.TimerStart{Patients: []string{"P1"}, Program: care.CCM})
			return err
		}, "403 a timer times a staff member's own work"},
		{"a nurse voids another nurse's entry", func() error { _, err := s.Void(ctx, rn2, amended.ID, "mine"); return err },
			fmt.Sprintf("403 time entry %d: RN2 may not void RN1's time", amended.ID)},
		{"a nurse amends another nurse's entry", func() error {
			_, err := s.Amend(ctx, rn2, amended.ID, timelog.Patch{Minutes: ptr[int64](5)}, "x")
			return err
		}, fmt.Sprintf("403 time entry %d: RN2 may not amend RN1's time", amended.ID)},
		{"a nurse amends another nurse's superseded entry", func() error {
			_, err := s.Amend(ctx, rn2, nurses.ID, timelog.Patch{Minutes: ptr[int64](5)}, "x")
			return err
		}, fmt.Sprintf("403 time entry %d: RN2 may not amend RN1's time", nurses.ID)},
		{"a nurse gives her entry to a physician", func() error {
			_, err := s.Amend(ctx, rn1, amended.ID, timelog.Patch{Staff: ptr("MD1")}, "x")
			return err
		}, fmt.Sprintf("403 time entry %d: RN1 may not record time for MD1", amended.ID)},
		{"a nurse documents MDM", func() error { _, err := s.Record(ctx, rn1, on(13, "RN1", "low"), timelog.SourceManual); return err },
			`400 mdm "low" is documented by a practitioner; staff "RN1" is clinical`},
		{"a manager documents MDM for a physician", func() error { _, err := s.Record(ctx, mg1, on(13, "MD1", "high"), timelog.SourceManual); return err },
			"403 MG1 may not document medical decision-making for MD1"},
		{"a manager changes a physician's MDM", func() error {
			_, err := s.Amend(ctx, mg1, doctors.ID, timelog.Patch{MDM: ptr[timelog.MDM]("low")}, "x")
			return err
		}, fmt.Sprintf("403 time entry %d: MG1 may not document medical decision-making for MD1", doctors.ID)},
		{"a manager gives a nurse's entry to the front desk", func() error {
			_, err := s.Amend(ctx, mg1, onBehalf.ID, timelog.Patch{Staff: ptr("FD1")}, "x")
			return err
		}, fmt.Sprintf("403 time entry %d: FD1 is non-clinical staff", onBehalf.ID)},
		{"a nurse stops a physician's timer", func() error { _, err := s.StopTimer(ctx, rn1, tm.ID, timelog.TimerStop{}); return err },
			fmt.Sprintf("403 timer %d belongs to another staff member", tm.ID)},
		{"a nurse imports another nurse's time", func() error {
			_, err := s.ImportFile(ctx, "time.csv", strings.NewReader("patients,staff,program,started_at,minutes\nP1,RN2,ccm,2026-03-03T10:00:00-05:00,5\n"), rn1)
			return err
		}, "403 error importing time.csv: time.csv:2: RN1 may not record time for RN2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			got := fmt.Sprint(web.StatusOf(err), " ", err)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if n := count(); n != stored {
		t.Errorf("%d entries stored by refused acts", n-stored)
	}

	// What the rule lets through.
	if e, err := s.Amend(ctx, mg1, doctors.ID, timelog.Patch{Minutes: ptr[int64](16)}, "typo"); err != nil || e.MDM != "high" || e.CreatedBy != "MG1" {
		t.Errorf("a manager corrects a physician's minutes: %+v, %v", e, err)
	}
	if e, err := s.StopTimer(ctx, md1, tm.ID, timelog.TimerStop{MDM: "moderate"}); err != nil || e.MDM != "moderate" || e.CreatedBy != "MD1" {
		t.Errorf("a physician stops their timer with MDM: %+v, %v", e, err)
	}
	if e, err := s.Void(ctx, mg1, amended.ID, "entered twice"); err != nil || !e.Voided || e.Staff != "RN1" || e.CreatedBy != "MG1" {
		t.Errorf("a manager voids a nurse's entry: %+v, %v", e, err)
	}
	// A file imported at the command line keeps the front desk's time (never counted) and a
	// physician's MDM.
	if _, err := s.ImportFile(ctx, "desk.csv", strings.NewReader("patients,staff,program,started_at,minutes,mdm\nP1,FD1,ccm,2026-03-04T10:00:00-05:00,25,\nP1,MD1,ccm,2026-03-04T11:00:00-05:00,10,low\n"), timelog.CLI); err != nil {
		t.Errorf("importing the front desk's time: %v", err)
	}
	h, err := s.History(ctx, nurses.ID)
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, v := range h {
		by = append(by, v.CreatedBy+" ("+v.CreatedByName+")")
	}
	if got := strings.Join(by, ", "); got != "RN1 (Rita), RN1 (Rita), MG1 (Mia)" {
		t.Errorf("history recorded by %s", got)
	}
}
