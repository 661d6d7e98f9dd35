package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

// The bench writes its fixtures through the engine's own functions (the import commands, the
// escalation queue, the time log import, API tokens); it reads figures with SQL.

// newBenchToken makes an API token for a staff member of the scratch database.
func newBenchToken(ctx context.Context, d *sqlx.DB, practice int64, member string) (string, error) {
	return staff.NewToken(ctx, d, practice, member, audit.ActorCLI, time.Now())
}

// raiseQueueItems raises a routine queue item (the patient asked for a call back, due in a day)
// for each of the first n patients, as the engine raises one for a text outside a check-in.
func raiseQueueItems(ctx context.Context, d *sqlx.DB, practice int64, n int, now time.Time, loc *time.Location) error {
	var patients []int64 // read with SQL: the engine has no function listing patients' ids
	if err := d.SelectContext(ctx, &patients, `SELECT id FROM patients WHERE practice_id = $1 ORDER BY id LIMIT $2`, practice, n); err != nil {
		return fmt.Errorf("error listing patients: %w", err)
	}
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		for _, p := range patients {
			it := escalation.Item{PracticeID: practice, PatientID: p, Severity: escalation.Routine,
				Reason: "Asked for a call back", Source: escalation.SourceMessage, DueAt: now.Add(24 * time.Hour)}
			if _, err := escalation.Raise(ctx, tx, it, escalation.DefaultDueTimes, now, loc); err != nil {
				return fmt.Errorf("error making queue items: %w", err)
			}
		}
		return nil
	})
}

// entryPlan lays out the month's time entries: perPatient for each of the patients
// (B0000000…), each patient with one nurse (staff S00000…, one for patient i is i mod staff),
// whose entries follow one another through the working day, from 08:00, 8 minutes apart, 2 to 5
// minutes each. One entry in 100 runs into the next (a time conflict) and one in 100 is shared
// with the next patient. A patient enrolled in RPM (one in ten, as setup imports them) has every
// other entry as RPM time, with an interactive contact.
type entryPlan struct {
	patients, staff, perPatient int
	month                       time.Time // its first instant, in the practice's zone
}

// plannedEntry is one entry of the plan.
type plannedEntry struct {
	patients       string // ;-separated, as a time file lists them
	staff          string
	rpm            bool
	started, ended time.Time
}

// perDay is how many entries a nurse records a day, for the month's to fit in 28 days.
func (p entryPlan) perDay() int {
	total := p.patients * p.perPatient
	return max(1, (total+p.staff*28-1)/(p.staff*28))
}

// entry returns the g-th entry of the plan (0 ≤ g < patients × perPatient).
func (p entryPlan) entry(g int) plannedEntry {
	pt, round := g%p.patients, g/p.patients
	perStaff := (p.patients + p.staff - 1) / p.staff // the most patients a nurse has
	j := round*perStaff + pt/p.staff                 // the nurse's j-th entry of the month
	start := p.month.AddDate(0, 0, j/p.perDay()).Add(8*time.Hour + time.Duration(j%p.perDay())*8*time.Minute)
	length := time.Duration(2+g%4) * time.Minute
	if g%100 == 7 {
		length += 8 * time.Minute
	}
	e := plannedEntry{patients: benchPatient(pt), staff: fmt.Sprintf("S%05d", pt%p.staff), rpm: pt%10 == 0 && g%2 == 0,
		started: start, ended: start.Add(length)}
	if next := (pt + 1) % p.patients; g%100 == 1 && next != pt {
		e.patients += ";" + benchPatient(next)
	}
	return e
}

func benchPatient(i int) string { return fmt.Sprintf("B%07d", i) }

// entriesPerFile bounds a time file's size: each is imported in one transaction.
const entriesPerFile = 10_000

// importWorkers is how many time files are imported at once.
const importWorkers = 4

// importEntries imports the plan's entries through the time log's import, as "outreach import
// time" does, a file per group of nurses (so that the conflicts each file's import finds are the
// same however the files run), several at once. The time log's clock is the end of the plan's
// last entry, so that none is in its future. It returns how many entries and files it imported.
func importEntries(ctx context.Context, d *sqlx.DB, pid int64, loc *time.Location, p entryPlan) (entries, files int, err error) {
	if p.patients*p.perPatient == 0 {
		return 0, 0, nil
	}
	// The entries of nurse k are those of patients k, k+staff, k+2·staff… in every round.
	byStaff := make([][]int, p.staff)
	last := p.month.AddDate(0, 1, 0)
	for g := range p.patients * p.perPatient {
		k := (g % p.patients) % p.staff
		byStaff[k] = append(byStaff[k], g)
		if end := p.entry(g).ended; end.After(last) {
			last = end
		}
	}
	var groups [][]int
	var cur []int
	for _, gs := range byStaff {
		if len(cur) > 0 && len(cur)+len(gs) > entriesPerFile {
			groups = append(groups, cur)
			cur = nil
		}
		cur = append(cur, gs...)
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	svc := &timelog.Service{DB: d, Practice: practice.ID(pid), Location: loc, Clock: func() time.Time { return last }}
	work := make(chan int)
	errs := make(chan error, len(groups))
	var wg sync.WaitGroup
	for range importWorkers {
		wg.Go(func() {
			for i := range work {
				if err := importGroup(ctx, svc, p, i, groups[i]); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range groups {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	// Fresh statistics for the report's plans, as after a night of autovacuum: maintenance, no
	// rows written (the time log has no function for it).
	if _, err := d.ExecContext(ctx, `ANALYZE time_entries; ANALYZE time_entry_patients`); err != nil {
		return 0, 0, fmt.Errorf("error analyzing time entries: %w", err)
	}
	return p.patients * p.perPatient, len(groups), nil
}

// importGroup writes the entries gs of the plan as a time file and imports it.
func importGroup(ctx context.Context, svc *timelog.Service, p entryPlan, file int, gs []int) error {
	var f strings.Builder
	f.WriteString("patients,staff,program,started_at,ended_at,activity,interactive\n")
	for _, g := range gs {
		e := p.entry(g)
		program := "ccm"
		if e.rpm {
			program = "rpm"
		}
		fmt.Fprintf(&f, "%s,%s,%s,%s,%s,patient_call,%t\n", e.patients, e.staff, program,
			e.started.UTC().Format(time.RFC3339), e.ended.UTC().Format(time.RFC3339), e.rpm)
	}
	name := fmt.Sprintf("time-%04d.csv", file)
	if _, err := svc.ImportFile(ctx, name, strings.NewReader(f.String()), timelog.CLI); err != nil {
		return fmt.Errorf("error importing time entries: %w", err)
	}
	return nil
}
