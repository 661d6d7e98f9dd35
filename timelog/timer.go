package timelog

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// TimerID is a timer's id.
type TimerID int64

// Timer is a running (or stopped) stopwatch of a staff member's work for patients.
type Timer struct {
	ID        TimerID      `json:"id"`
	Staff     string       `json:"staff"`
	Patients  []string     `json:"patients"`
	Program   care.Program `json:"program"`
	Activity  Activity     `json:"activity"`
	StartedAt time.Time    `json:"started_at"`
	StoppedAt *time.Time   `json:"stopped_at"`
	Entry     *EntryID     `json:"entry_id"`
}

// TimerStart is what starting a timer needs.
type TimerStart struct {
	Patients []string     `json:"patients"`
	Program  care.Program `json:"program"`
	Activity Activity     `json:"activity"`
}

// TimerStop is what stopping a timer adds to the entry it records.
type TimerStop struct {
	Note        string `json:"note"`
	Changed     Change `json:"changed"`
	MDM         MDM    `json:"mdm"`
	Interactive bool   `json:"interactive"`
}

const insertTimer = `
INSERT INTO timers (practice_id, staff_id, patient_ids, program, activity, started_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id`

// StartTimer starts the caller's own timer (a timer times one's own work: nobody starts one for
// someone else, and the command line has none); a staff member has one running at a time. What
// the timer will record must be theirs to record (see Permit).
func (s *Service) StartTimer(ctx context.Context, c Caller, st TimerStart) (Timer, error) {
	if c.Staff == "" {
		return Timer{}, errkind.Errorf(errkind.ErrForbidden, "a timer times a staff member's own work: %s has none", c.Actor)
	}
	now := s.Clock().Truncate(time.Second)
	d := Draft{Patients: st.Patients, Staff: c.Staff, Program: st.Program, Activity: st.Activity,
		StartedAt: now, EndedAt: now.Add(time.Second)}
	if errs := d.Normalize(now); len(errs) > 0 {
		return Timer{}, &InvalidError{errs}
	}
	var id TimerID
	err := db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		e, err := s.resolveOne(ctx, tx, c, VerbRecord, d, nil)
		if err != nil {
			return err
		}
		err = tx.GetContext(ctx, &id, insertTimer, int64(s.Practice), e.staffID, pq.Array(e.patientIDs), string(d.Program), string(d.Activity), now)
		if db.IsUniqueViolation(err) {
			return errkind.Errorf(errkind.ErrConflict, "staff %q already has a running timer; stop it first", d.Staff)
		}
		if err != nil {
			return fmt.Errorf("error starting timer: %w", err)
		}
		return nil
	})
	if err != nil {
		return Timer{}, err
	}
	return s.timer(ctx, s.DB, id, false)
}

const selectTimer = `
SELECT t.id, s.ext_id AS staff, t.program, t.activity, t.started_at, t.stopped_at, t.entry_id,
	ARRAY(SELECT p.ext_id FROM patients p WHERE p.practice_id = t.practice_id AND p.id = ANY(t.patient_ids) ORDER BY p.ext_id) AS patients
FROM timers t
JOIN staff s ON s.practice_id = t.practice_id AND s.id = t.staff_id
WHERE t.practice_id = $1 AND t.id = $2`

type timerRow struct {
	ID        TimerID        `db:"id"`
	Staff     string         `db:"staff"`
	Program   care.Program   `db:"program"`
	Activity  Activity       `db:"activity"`
	StartedAt time.Time      `db:"started_at"`
	StoppedAt *time.Time     `db:"stopped_at"`
	Entry     *EntryID       `db:"entry_id"`
	Patients  pq.StringArray `db:"patients"`
}

func (s *Service) timer(ctx context.Context, q db.Querier, id TimerID, lock bool) (Timer, error) {
	query := selectTimer
	if lock {
		query += " FOR UPDATE OF t"
	}
	var r timerRow
	err := q.GetContext(ctx, &r, query, int64(s.Practice), int64(id))
	if db.IsNoRows(err) {
		return Timer{}, errkind.Errorf(errkind.ErrNotFound, "timer %d not found", id)
	}
	if err != nil {
		return Timer{}, fmt.Errorf("error loading timer %d: %w", id, err)
	}
	t := Timer{ID: r.ID, Staff: r.Staff, Patients: []string(r.Patients), Program: r.Program,
		Activity: r.Activity, StartedAt: r.StartedAt.In(s.loc()), Entry: r.Entry}
	if r.StoppedAt != nil {
		stopped := r.StoppedAt.In(s.loc())
		t.StoppedAt = &stopped
	}
	return t, nil
}

// Timer loads a timer.
func (s *Service) Timer(ctx context.Context, id TimerID) (Timer, error) {
	return s.timer(ctx, s.DB, id, false)
}

const stopTimer = `
UPDATE timers SET stopped_at = $3, entry_id = $4 WHERE practice_id = $1 AND id = $2`

// StopTimer stops the caller's running timer and records its time as their entry (source
// timer), with warnings as Record gives. Only the staff member who started it may stop it.
func (s *Service) StopTimer(ctx context.Context, c Caller, id TimerID, st TimerStop) (Entry, error) {
	now := s.Clock().Truncate(time.Second)
	var entryID EntryID
	var ws []Warning
	err := db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		t, err := s.timer(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if t.Staff != c.Staff {
			return errkind.Errorf(errkind.ErrForbidden, "timer %d belongs to another staff member", id)
		}
		if t.StoppedAt != nil {
			return errkind.Errorf(errkind.ErrConflict, "timer %d was already stopped", id)
		}
		end := now
		if !end.After(t.StartedAt) {
			end = t.StartedAt.Add(time.Second)
		}
		d := Draft{Patients: t.Patients, Staff: t.Staff, Program: t.Program, Activity: t.Activity,
			StartedAt: t.StartedAt, EndedAt: end, Note: st.Note, Changed: st.Changed, MDM: st.MDM, Interactive: st.Interactive}
		if errs := d.Normalize(end); len(errs) > 0 {
			return &InvalidError{errs}
		}
		e, err := s.resolveOne(ctx, tx, c, VerbRecord, d, nil)
		if err != nil {
			return err
		}
		if entryID, ws, err = s.store(ctx, tx, e, SourceTimer, amendment{}, c.Actor, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, stopTimer, int64(s.Practice), int64(id), now, int64(entryID)); err != nil {
			return fmt.Errorf("error stopping timer %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Entry{}, err
	}
	return s.recorded(ctx, entryID, ws)
}

const selectRunningTimer = `
SELECT t.id FROM timers t JOIN staff s ON s.practice_id = t.practice_id AND s.id = t.staff_id
WHERE t.practice_id = $1 AND s.ext_id = $2 AND t.stopped_at IS NULL`

// RunningTimer returns the staff member's running timer, or nil when none runs.
func (s *Service) RunningTimer(ctx context.Context, staff string) (*Timer, error) {
	var id TimerID
	err := s.DB.GetContext(ctx, &id, selectRunningTimer, s.Practice, staff)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error finding the running timer of %s: %w", staff, err)
	}
	t, err := s.Timer(ctx, id)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
