package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Store loads a month's billing facts from the database, computes reports and keeps closed
// months.
type Store struct {
	DB          *sqlx.DB
	Practice    practice.ID
	Location    *time.Location // the practice's zone
	Rates       Rates
	FeeSchedule FeeSchedule
	// SamePractitioner decides which of PCM and CCM is billed when both are billable by the
	// same practitioner (zero: the one that pays more).
	SamePractitioner Choice
	// Devices loads the patients' device data for RPM's device codes (monitoring.BillingFacts);
	// nil: no patient has device data.
	Devices DeviceFacts
	Clock   func() time.Time
}

const selectPatientFacts = `
SELECT id, ext_id, coalesce(billing_npi, '') AS billing_npi,
	cardinality(chronic_conditions) AS conditions, cardinality(short_term_conditions) AS short_term,
	programs, ccm_track, pcm_track, initiating_visit_on, care_plan_on
FROM patients WHERE practice_id = $1`

const selectConsents = `
SELECT patient_id, given_at, revoked_at, npi, documented FROM consents WHERE practice_id = $1`

// selectMonthEntries loads the current entries (not superseded, not voided) that overlap the
// month, one row per entry and patient, in no particular order: grouping them by staff member
// here costs far less than having the database sort a month of rows. An entry lasts at most 24
// hours, which bounds its start. An entry is superseded when time_entry_successors, a small
// table, holds its claim. Instants come as whole microseconds since the Unix epoch (exact:
// date_part's epoch is the stored microseconds divided by a million), which both sides encode
// and decode far more cheaply than timestamps as text. $4 and $5 take a share of the staff
// members: those whose id is $5 modulo $4.
//
// The entries' patients are joined by hash over the range of the month's entry ids, which
// bounds the read of time_entry_patients (not partitioned) by the month, whatever the years
// of history before it; run with nested loops off (see entrySettings), since the planner cannot
// tell how many entries a share holds and would otherwise probe the index once per entry.
const selectMonthEntries = `
WITH m AS MATERIALIZED (
	SELECT e.id, e.staff_id, e.staff_role, coalesce(e.staff_npi, '') AS staff_npi, e.program,
		CAST(round(date_part('epoch', e.started_at) * 1000000) AS bigint) AS started,
		CAST(round(date_part('epoch', e.ended_at) * 1000000) AS bigint) AS ended,
		e.mdm, e.interactive
	FROM time_entries e
	WHERE e.practice_id = $1 AND e.started_at < $3 AND e.started_at > CAST($2 AS timestamptz) - interval '24 hours'
	  AND e.ended_at > $2 AND NOT e.voided AND e.staff_id % $4 = $5
	  AND NOT EXISTS (SELECT 1 FROM time_entry_successors n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id))
SELECT m.id, m.staff_id, m.staff_role, m.staff_npi, m.program, m.started, m.ended, m.mdm, m.interactive, tp.patient_id
FROM m JOIN time_entry_patients tp ON tp.practice_id = $1 AND tp.entry_id = m.id
WHERE tp.entry_id BETWEEN (SELECT min(id) FROM m) AND (SELECT max(id) FROM m)`

// entrySettings are the settings of the transactions that read the month's entries (see
// selectMonthEntries): no nested loops, and no JIT compilation, which takes longer than it
// saves on a read of every entry once.
const entrySettings = `SET LOCAL enable_nestloop = off; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off`

// selectServices loads the services of the month, and earlier G0506 (billed once per initiation).
const selectServices = `
SELECT p.ext_id, s.code, s.service_date, s.npi
FROM billed_services s
JOIN patients p ON p.practice_id = s.practice_id AND p.id = s.patient_id
WHERE s.practice_id = $1 AND s.service_date <= $3 AND (s.service_date >= $2 OR s.code = 'G0506')`

// facts loads what the month's report is computed from, but the entries (see monthEntries), and
// the patients' places in the input by internal id.
func (s *Store) facts(ctx context.Context, q db.Querier, m Month) (Input, map[int64]int32, error) {
	in := Input{Month: m, Location: s.Location, Rates: s.Rates, FeeSchedule: s.FeeSchedule, SamePractitioner: s.SamePractitioner}
	var patients []struct {
		ID         int64          `db:"id"`
		ExtID      string         `db:"ext_id"`
		BillingNPI string         `db:"billing_npi"`
		Conditions int            `db:"conditions"`
		ShortTerm  int            `db:"short_term"`
		Programs   pq.StringArray `db:"programs"`
		Track      string         `db:"ccm_track"`
		PCMTrack   string         `db:"pcm_track"`
		Visit      *time.Time     `db:"initiating_visit_on"`
		CarePlan   *time.Time     `db:"care_plan_on"`
	}
	if err := q.SelectContext(ctx, &patients, selectPatientFacts, int64(s.Practice)); err != nil {
		return Input{}, nil, fmt.Errorf("error loading patients: %w", err)
	}
	var consents []struct {
		PatientID  int64      `db:"patient_id"`
		GivenAt    time.Time  `db:"given_at"`
		RevokedAt  *time.Time `db:"revoked_at"`
		NPI        string     `db:"npi"`
		Documented bool       `db:"documented"`
	}
	if err := q.SelectContext(ctx, &consents, selectConsents, int64(s.Practice)); err != nil {
		return Input{}, nil, fmt.Errorf("error loading consents: %w", err)
	}
	byID := map[int64][]Consent{}
	for _, c := range consents {
		cons := Consent{GivenAt: c.GivenAt, NPI: c.NPI, Documented: c.Documented}
		if c.RevokedAt != nil {
			cons.RevokedAt = *c.RevokedAt
		}
		byID[c.PatientID] = append(byID[c.PatientID], cons)
	}
	in.Patients = make([]Patient, len(patients))
	index := make(map[int64]int32, len(patients))
	for i, p := range patients {
		index[p.ID] = int32(i)
		pt := Patient{ID: p.ExtID, BillingNPI: p.BillingNPI, ChronicConditions: p.Conditions,
			ShortTermConditions: p.ShortTerm, PractitionerTrack: p.Track == "practitioner",
			PCMPractitionerTrack: p.PCMTrack == "practitioner", Consents: byID[p.ID]}
		for _, prog := range p.Programs {
			pt.Programs = append(pt.Programs, care.Program(prog))
		}
		if p.Visit != nil {
			pt.InitiatingVisit = dateOnly(*p.Visit)
		}
		if p.CarePlan != nil {
			pt.CarePlan = dateOnly(*p.CarePlan)
		}
		in.Patients[i] = pt
	}
	if s.Devices != nil {
		// Device codes are billed per calendar month in the practice's zone (see device.go).
		from, to := m.Bounds(s.Location)
		devices, err := s.Devices(ctx, q, from, to)
		if err != nil {
			return Input{}, nil, err
		}
		for i := range in.Patients {
			in.Patients[i].Device = devices[in.Patients[i].ID]
		}
	}
	var services []struct {
		Patient string    `db:"ext_id"`
		Code    string    `db:"code"`
		Date    time.Time `db:"service_date"`
		NPI     string    `db:"npi"`
	}
	if err := q.SelectContext(ctx, &services, selectServices, int64(s.Practice), m.FirstDay().Format(time.DateOnly), m.LastDay().Format(time.DateOnly)); err != nil {
		return Input{}, nil, fmt.Errorf("error loading billed services: %w", err)
	}
	in.Services = make([]BilledService, len(services))
	for i, sv := range services {
		in.Services[i] = BilledService{Patient: sv.Patient, Code: Code(sv.Code), Date: dateOnly(sv.Date), NPI: sv.NPI}
	}
	return in, index, nil
}

// compute computes the month's report from what tx holds.
func (s *Store) compute(ctx context.Context, tx *sqlx.Tx, m Month) (Report, error) {
	in, entries, err := s.load(ctx, tx, m)
	if err != nil {
		return Report{}, err
	}
	return run(in, entries)
}

// entryParts is how many connections read a month's entries at once, each the entries of a
// share of the staff members: a connection's rows are sent by one server process and decoded
// by one goroutine, and a large month has millions.
const entryParts = 2

// load reads what the month's report is computed from in tx's snapshot, which must be of
// repeatable read: the facts over tx and, at the same time, the entries over further
// connections of the pool that take up its snapshot, each a share of the staff members.
func (s *Store) load(ctx context.Context, tx *sqlx.Tx, m Month) (Input, *monthEntries, error) {
	if err := s.Rates.Covers(m); err != nil {
		return Input{}, nil, err
	}
	start, end := m.Bounds(s.Location)
	var snapshot string
	if err := tx.GetContext(ctx, &snapshot, `SELECT pg_export_snapshot()`); err != nil {
		return Input{}, nil, fmt.Errorf("error sharing the report's snapshot: %w", err)
	}
	me := &monthEntries{parts: make([]*entryPart, entryParts)}
	errs := make([]error, entryParts)
	var wg sync.WaitGroup
	for part := range entryParts {
		wg.Go(func() { me.parts[part], errs[part] = s.loadShared(ctx, snapshot, start, end, part) })
	}
	in, index, err := s.facts(ctx, tx, m)
	// The parts read in tx's snapshot, which lives as long as tx: they are waited for whatever
	// happened here.
	wg.Wait()
	if err := errors.Join(append(errs, err)...); err != nil {
		return Input{}, nil, err
	}
	me.index = index
	return in, me, nil
}

// loadShared reads a part of the month's entries (see load) over a connection of its own, in the
// snapshot exported as snapshot.
func (s *Store) loadShared(ctx context.Context, snapshot string, start, end time.Time, part int) (*entryPart, error) {
	conn, err := s.DB.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("error connecting to load time entries: %w", err)
	}
	defer conn.Close()
	var me *entryPart
	err = db.WithTxOptions(ctx, conn, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET TRANSACTION SNAPSHOT "+pq.QuoteLiteral(snapshot)); err != nil {
			return fmt.Errorf("error taking up the report's snapshot: %w", err)
		}
		if _, err := tx.ExecContext(ctx, entrySettings); err != nil {
			return fmt.Errorf("error preparing the report: %w", err)
		}
		var err error
		me, err = loadMonthEntries(ctx, tx, s.Practice, start, end, entryParts, part)
		return err
	})
	return me, err
}

// run applies the rules to what load read, handing the engine the entries one staff member at
// a time.
func run(in Input, entries *monthEntries) (Report, error) {
	return ComputeFrom(in, func(add func([]Entry)) error {
		entries.each(in.Patients, add)
		return nil
	})
}

// dateOnly keeps a date's calendar day at UTC midnight, whatever zone the driver gave it.
func dateOnly(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// MonthReport is a report as served: computed live, or the snapshot of a closed month with the
// changes made to its time after the close.
type MonthReport struct {
	Report
	ClosedAt          *time.Time   `json:"closed_at,omitempty"`
	AmendedAfterClose []LateChange `json:"amended_after_close,omitempty"`
	// HiddenRows counts the idle rows left out of the report as shown (see WithoutIdle).
	HiddenRows int `json:"hidden_rows,omitempty"`
}

// Idle reports whether a row says nothing but that a patient enrolled in its program has no
// time this month: below threshold, no time counted or uncounted, no days of device data, and
// no reason but below_threshold. A row with any other reason (not eligible, excluded, a time
// conflict, a missing interactive contact) is never idle.
func (r Row) Idle() bool {
	if r.Status != BelowThreshold || r.Seconds != 0 || r.UncountedSeconds != 0 || (r.Days != nil && *r.Days > 0) {
		return false
	}
	for _, reason := range r.Reasons {
		if reason != ReasonBelowThreshold {
			return false
		}
	}
	return true
}

// WithoutIdle returns the report as shown by default: without its idle rows, counted in
// HiddenRows. The computed report and a closed month's snapshot keep every row.
func (mr MonthReport) WithoutIdle() MonthReport {
	rows := make([]Row, 0, len(mr.Rows))
	for _, r := range mr.Rows {
		if r.Idle() {
			mr.HiddenRows++
			continue
		}
		rows = append(rows, r)
	}
	mr.Rows = rows
	return mr
}

// LateChange is a time entry recorded after its month was closed: it is not in the closed
// report, and needs a corrected claim if it matters.
type LateChange struct {
	Entry      int64     `json:"entry_id"`
	Supersedes *int64    `json:"supersedes"`
	Voided     bool      `json:"voided"`
	Patients   []string  `json:"patients"`
	CreatedAt  time.Time `json:"created_at"`
}

const selectClose = `
SELECT closed_at, report FROM billing_closes WHERE practice_id = $1 AND month = $2`

// selectLateChanges finds entries recorded after closedAt that touch the month: new entries
// overlapping it, and amendments or voids of entries that did.
const selectLateChanges = `
SELECT e.id, e.supersedes, e.voided, e.created_at,
	ARRAY(SELECT p.ext_id FROM time_entry_patients tp JOIN patients p ON p.practice_id = tp.practice_id AND p.id = tp.patient_id
	      WHERE tp.practice_id = e.practice_id AND tp.entry_id = e.id ORDER BY p.ext_id) AS patients
FROM time_entries e
LEFT JOIN time_entries old ON old.practice_id = e.practice_id AND old.id = e.supersedes
WHERE e.practice_id = $1 AND e.created_at > $4
  AND ((e.started_at < $3 AND e.ended_at > $2) OR (old.started_at < $3 AND old.ended_at > $2))
ORDER BY e.id`

// Report returns the month's report: the stored snapshot when the month is closed (with the
// entries recorded since), else computed now.
func (s *Store) Report(ctx context.Context, m Month) (MonthReport, error) {
	var closed struct {
		At     time.Time `db:"closed_at"`
		Report []byte    `db:"report"`
	}
	err := s.DB.GetContext(ctx, &closed, selectClose, int64(s.Practice), m.FirstDay().Format(time.DateOnly))
	if db.IsNoRows(err) {
		// The facts are read in one snapshot; the rules run after it has ended, so that a large
		// month's rules never hold a transaction open.
		var in Input
		var entries *monthEntries
		err := db.WithTxOptions(ctx, s.DB, db.Snapshot, func(tx *sqlx.Tx) error {
			var err error
			in, entries, err = s.load(ctx, tx, m)
			return err
		})
		if err != nil {
			return MonthReport{}, err
		}
		rep, err := run(in, entries)
		return MonthReport{Report: rep}, err
	}
	if err != nil {
		return MonthReport{}, fmt.Errorf("error loading closed month %s: %w", m, err)
	}
	var mr MonthReport
	if err := json.Unmarshal(closed.Report, &mr.Report); err != nil {
		return MonthReport{}, fmt.Errorf("error reading closed month %s: %w", m, err)
	}
	at := closed.At
	mr.ClosedAt = &at
	loc, err := time.LoadLocation(mr.Timezone)
	if err != nil {
		return MonthReport{}, fmt.Errorf("error reading closed month %s: %w", m, err)
	}
	start, end := m.Bounds(loc)
	var late []struct {
		ID         int64          `db:"id"`
		Supersedes *int64         `db:"supersedes"`
		Voided     bool           `db:"voided"`
		CreatedAt  time.Time      `db:"created_at"`
		Patients   pq.StringArray `db:"patients"`
	}
	if err := s.DB.SelectContext(ctx, &late, selectLateChanges, int64(s.Practice), start, end, closed.At); err != nil {
		return MonthReport{}, fmt.Errorf("error loading changes after the close of %s: %w", m, err)
	}
	for _, l := range late {
		mr.AmendedAfterClose = append(mr.AmendedAfterClose, LateChange{Entry: l.ID, Supersedes: l.Supersedes, Voided: l.Voided, Patients: l.Patients, CreatedAt: l.CreatedAt})
	}
	return mr, nil
}

// ClosedMonth is a closed billing month: its report is a stored snapshot that entries
// recorded later do not change.
type ClosedMonth struct {
	Month      Month
	Start, End time.Time // its bounds in the zone it was closed in
	ClosedAt   time.Time
}

const selectClosedMonths = `
SELECT month, timezone, closed_at FROM billing_closes
WHERE practice_id = $1 AND month BETWEEN $2 AND $3
ORDER BY month`

// ClosedMonths returns the practice's closed months that overlap [from, to), oldest first.
func ClosedMonths(ctx context.Context, q db.Querier, practiceID practice.ID, from, to time.Time) ([]ClosedMonth, error) {
	// A month's bounds are in the zone it was closed in, less than a day from UTC: a month
	// either side of the UTC months is enough to look at.
	first := MonthOf(from, time.UTC).FirstDay().AddDate(0, -1, 0)
	last := MonthOf(to, time.UTC).Next().FirstDay()
	var rows []struct {
		Month    time.Time `db:"month"`
		Timezone string    `db:"timezone"`
		ClosedAt time.Time `db:"closed_at"`
	}
	if err := q.SelectContext(ctx, &rows, selectClosedMonths, int64(practiceID), first.Format(time.DateOnly), last.Format(time.DateOnly)); err != nil {
		return nil, fmt.Errorf("error loading closed months: %w", err)
	}
	var out []ClosedMonth
	for _, r := range rows {
		loc, err := time.LoadLocation(r.Timezone)
		if err != nil {
			return nil, fmt.Errorf("error reading closed month %s: %w", r.Month.Format("2006-01"), err)
		}
		m := Month{Year: r.Month.Year(), Month: r.Month.Month()}
		start, end := m.Bounds(loc)
		if start.Before(to) && end.After(from) {
			out = append(out, ClosedMonth{Month: m, Start: start, End: end, ClosedAt: r.ClosedAt})
		}
	}
	return out, nil
}

const insertClose = `
INSERT INTO billing_closes (practice_id, month, timezone, closed_at, closed_by, report)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (practice_id, month) DO NOTHING`

// Close stores the month's report as an immutable snapshot. A month can be closed once, and
// only after it has ended.
func (s *Store) Close(ctx context.Context, actor audit.Actor, m Month) (MonthReport, error) {
	now := s.Clock()
	if _, end := m.Bounds(s.Location); now.Before(end) {
		return MonthReport{}, errkind.Errorf(errkind.ErrConflict, "%s has not ended yet in %s", m, s.Location)
	}
	err := db.WithTxOptions(ctx, s.DB, db.Snapshot, func(tx *sqlx.Tx) error {
		rep, err := s.compute(ctx, tx, m)
		if err != nil {
			return err
		}
		body, err := json.Marshal(rep)
		if err != nil {
			return fmt.Errorf("error encoding report: %w", err)
		}
		res, err := tx.ExecContext(ctx, insertClose, int64(s.Practice), m.FirstDay().Format(time.DateOnly), s.Location.String(), now, string(actor), string(body))
		if err != nil {
			return fmt.Errorf("error closing %s: %w", m, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.Errorf(errkind.ErrConflict, "%s is already closed", m)
		}
		var total int64
		for _, r := range rep.Rows {
			total += r.AmountCents
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: int64(s.Practice), At: now, Actor: actor,
			Action: "billing.close", Entity: "billing_month", EntityID: m.String(),
			Detail: map[string]any{"rows": len(rep.Rows), "amount_cents": total}})
	})
	if err != nil {
		return MonthReport{}, err
	}
	return s.Report(ctx, m)
}

// AuditRead records that actor read the month's report in a view described by detail (the
// view and format, never a patient's data).
func (s *Store) AuditRead(ctx context.Context, actor audit.Actor, m Month, detail map[string]any) error {
	return audit.Record(ctx, s.DB, audit.Event{PracticeID: int64(s.Practice), At: s.Clock(), Actor: actor,
		Action: "billing.read", Entity: "billing_month", EntityID: m.String(), Detail: detail})
}
