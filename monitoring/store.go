package monitoring

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Service stores a practice's readings, raises the items of those out of range and follows up
// silent devices.
type Service struct {
	DB       *sqlx.DB
	Practice practice.ID
	Location *time.Location // the practice's zone: data days, and the times items show
	Clock    func() time.Time
	Due      escalation.DueTimes // zero: escalation.DefaultDueTimes
	Metrics  *Metrics            // nil: nothing is counted
	// Escalations counts the items readings and silences open (nil: not counted).
	Escalations *escalation.Metrics
	Log         *slog.Logger
}

func (s *Service) now() time.Time { return s.Clock().UTC().Truncate(time.Microsecond) }

func (s *Service) pid() int64 { return int64(s.Practice) }

func (s *Service) due() escalation.DueTimes {
	if s.Due == (escalation.DueTimes{}) {
		return escalation.DefaultDueTimes
	}
	return s.Due
}

// Result says what storing a batch of readings did.
type Result struct {
	Received   int            `json:"received"`     // readings in the batch
	New        int            `json:"new"`          // stored now; the others were stored before
	OutOfRange int            `json:"out_of_range"` // new readings out of the patient's limits (each raised or joined an item)
	byType     map[Type]int   // new readings, by type
	breaches   map[Type]int   // new readings out of range, by type
	items      map[int64]bool // the items raised or joined
}

// insertReadings stores a batch in one statement; a reading stored before (same patient, type,
// instant and device) is skipped, and only the new ones come back.
const insertReadings = `
INSERT INTO readings (practice_id, patient_id, type, device, taken_at, systolic, diastolic, value, unit, manual, received_at)
SELECT $1, u.patient_id, u.type, u.device, u.taken_at, NULLIF(u.systolic, 0), NULLIF(u.diastolic, 0),
	CASE WHEN u.unit <> '' THEN u.value END, NULLIF(u.unit, ''), u.manual, $2
FROM unnest($3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::smallint[], $8::smallint[], $9::numeric[],
	$10::text[], $11::boolean[]) AS u (patient_id, type, device, taken_at, systolic, diastolic, value, unit, manual)
ON CONFLICT (practice_id, patient_id, type, taken_at, device) DO NOTHING
RETURNING patient_id, type, device, taken_at, coalesce(systolic, 0) AS systolic, coalesce(diastolic, 0) AS diastolic,
	coalesce(value, 0) AS value, coalesce(unit, '') AS unit, manual`

// touchDevices moves each patient's last device reading forward, patients in id order so that
// concurrent batches lock them in the same order.
const touchDevices = `
INSERT INTO device_status AS d (practice_id, patient_id, last_reading_at)
SELECT $1, u.patient_id, max(u.taken_at) FROM unnest($2::bigint[], $3::timestamptz[]) AS u (patient_id, taken_at)
GROUP BY u.patient_id ORDER BY u.patient_id
ON CONFLICT (practice_id, patient_id) DO UPDATE SET last_reading_at = EXCLUDED.last_reading_at
WHERE d.last_reading_at < EXCLUDED.last_reading_at`

const selectLimitsOf = `SELECT patient_id, limits FROM reading_limits WHERE practice_id = $1 AND patient_id = ANY ($2)`

// stored is a reading as the insert returns it.
type stored struct {
	Patient   int64     `db:"patient_id"`
	Type      Type      `db:"type"`
	Device    string    `db:"device"`
	TakenAt   time.Time `db:"taken_at"`
	Systolic  int       `db:"systolic"`
	Diastolic int       `db:"diastolic"`
	Value     float64   `db:"value"`
	Unit      Unit      `db:"unit"`
	Manual    bool      `db:"manual"`
}

// store writes a batch of checked readings of known patients (ids maps each reading's patient)
// in tx, moves the patients' last device readings, and raises an item for each new reading out
// of its patient's limits (a repeat joins the patient's open item for that type of reading).
func (s *Service) store(ctx context.Context, tx *sqlx.Tx, rs []Reading, ids map[string]int64, now time.Time) (Result, error) {
	res := Result{Received: len(rs), byType: map[Type]int{}, breaches: map[Type]int{}, items: map[int64]bool{}}
	if len(rs) == 0 {
		return res, nil
	}
	// Sorted by the unique key, so that concurrent batches take its locks in one order.
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b Reading) int {
		return cmp.Or(cmp.Compare(ids[a.Patient], ids[b.Patient]), cmp.Compare(a.Type, b.Type), a.TakenAt.Compare(b.TakenAt),
			cmp.Compare(a.Device, b.Device))
	})
	n := len(sorted)
	patients, devices, types, units := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	at, sys, dia, vals, manual := make([]time.Time, n), make([]int64, n), make([]int64, n), make([]float64, n), make([]bool, n)
	for i, r := range sorted {
		patients[i], types[i], devices[i], at[i], units[i], manual[i] = ids[r.Patient], string(r.Type), r.Device, r.TakenAt, string(r.Unit), r.Manual
		sys[i], dia[i], vals[i] = int64(r.Systolic), int64(r.Diastolic), r.Value
	}
	var fresh []stored
	err := tx.SelectContext(ctx, &fresh, insertReadings, s.pid(), now, pq.Array(patients), pq.Array(types), pq.Array(devices),
		pq.Array(at), pq.Array(sys), pq.Array(dia), pq.Array(vals), pq.Array(units), pq.Array(manual))
	if err != nil {
		return Result{}, fmt.Errorf("error storing readings: %w", err)
	}
	res.New = len(fresh)
	if len(fresh) == 0 {
		return res, nil
	}
	var devPatients []int64
	var devAt []time.Time
	var withLimits []int64
	for _, f := range fresh {
		res.byType[f.Type]++
		if !f.Manual {
			devPatients, devAt = append(devPatients, f.Patient), append(devAt, f.TakenAt)
		}
		withLimits = append(withLimits, f.Patient)
	}
	if len(devPatients) > 0 {
		if _, err := tx.ExecContext(ctx, touchDevices, s.pid(), pq.Array(devPatients), pq.Array(devAt)); err != nil {
			return Result{}, fmt.Errorf("error updating the devices' last readings: %w", err)
		}
	}
	own, err := limitsOf(ctx, tx, s.pid(), withLimits)
	if err != nil {
		return Result{}, err
	}
	defaults := DefaultLimits()
	for _, f := range fresh {
		r := Reading{Device: f.Device, Type: f.Type, TakenAt: f.TakenAt, Systolic: f.Systolic, Diastolic: f.Diastolic,
			Value: f.Value, Unit: f.Unit, Manual: f.Manual}
		b, out := defaults.With(own[f.Patient]).Assess(r)
		if !out {
			continue
		}
		res.OutOfRange++
		res.breaches[f.Type]++
		it := escalation.Item{PracticeID: s.pid(), PatientID: f.Patient, Severity: b.Severity,
			Reason: f.Type.Label() + " out of range", Source: escalation.SourceReading, Question: string(f.Type),
			Answer: r.Text(), Text: s.alertText(r, b)}
		raised, err := escalation.Raise(ctx, tx, it, s.due(), now, s.Location)
		if err != nil {
			return Result{}, err
		}
		s.Escalations.Raised(ctx, it, raised)
		res.items[raised.ID] = true
	}
	return res, nil
}

// alertText is an out-of-range reading as the item shows it.
func (s *Service) alertText(r Reading, b Breach) string {
	by := "typed in by the patient"
	if !r.Manual {
		by = "device " + r.Device
	}
	return fmt.Sprintf("%s (%s), taken %s, %s", r.Text(), b.Why, r.TakenAt.In(s.Location).Format("Jan 2 15:04 MST"), by)
}

// limitsOf returns the limits of their own of those of patients that have some.
func limitsOf(ctx context.Context, q db.Querier, practice int64, patients []int64) (map[int64]Limits, error) {
	var rows []struct {
		Patient int64  `db:"patient_id"`
		Limits  []byte `db:"limits"`
	}
	if err := q.SelectContext(ctx, &rows, selectLimitsOf, practice, pq.Array(patients)); err != nil {
		return nil, fmt.Errorf("error loading patients' limits: %w", err)
	}
	out := make(map[int64]Limits, len(rows))
	for _, r := range rows {
		var l Limits
		if err := json.Unmarshal(r.Limits, &l); err != nil {
			return nil, fmt.Errorf("error reading patient %d's limits: %w", r.Patient, err)
		}
		out[r.Patient] = l
	}
	return out, nil
}

// UnknownPatient is a reading of a batch whose patient matches no patient of the practice.
type UnknownPatient struct {
	Index   int
	Patient string
}

// Receive stores a batch of checked readings in one transaction, all or none: it returns the
// readings whose patient is unknown, storing nothing, when there are any. The batch is
// recorded in the audit log as who's.
func (s *Service) Receive(ctx context.Context, rs []Reading, who audit.Actor) (Result, []UnknownPatient, error) {
	ext := make([]string, 0, len(rs))
	for _, r := range rs {
		ext = append(ext, r.Patient)
	}
	now := s.now()
	var res Result
	var unknown []UnknownPatient
	err := aftercommit.WithTx(ctx, s.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		ids, err := patients.IDs(ctx, tx, s.pid(), ext)
		if err != nil {
			return err
		}
		for i, r := range rs {
			if _, ok := ids[r.Patient]; !ok {
				unknown = append(unknown, UnknownPatient{Index: i, Patient: r.Patient})
			}
		}
		if len(unknown) > 0 {
			return nil
		}
		if res, err = s.store(ctx, tx, rs, ids, now); err != nil {
			return err
		}
		if res.New == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: s.pid(), At: now, Actor: who, Action: "readings.receive",
			Entity: "readings", Detail: map[string]any{"received": res.Received, "new": res.New, "out_of_range": res.OutOfRange,
				"items": itemIDs(res.items)}})
	})
	if err != nil {
		return Result{}, nil, fmt.Errorf("error receiving readings: %w", err)
	}
	if len(unknown) > 0 {
		return Result{}, unknown, nil
	}
	s.counted(res)
	return res, nil, nil
}

// counted adds a committed batch to the metrics.
func (s *Service) counted(res Result) {
	if s.Metrics == nil {
		return
	}
	for t, n := range res.byType {
		s.Metrics.received.WithLabelValues(string(t)).Add(float64(n))
	}
	for t, n := range res.breaches {
		s.Metrics.outOfRange.WithLabelValues(string(t)).Add(float64(n))
	}
}

func itemIDs(items map[int64]bool) []string {
	out := make([]string, 0, len(items))
	for id := range items {
		out = append(out, strconv.FormatInt(id, 10))
	}
	slices.Sort(out)
	return out
}
