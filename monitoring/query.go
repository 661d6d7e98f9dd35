package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/staff"
)

// selectDataDays counts each patient's days with device data in a period, the days taken in
// the zone $4: one pass over the period's device readings (readings_device_days).
const selectDataDays = `
SELECT p.ext_id, d.days FROM (
	SELECT patient_id, count(DISTINCT CAST(timezone($4, taken_at) AS date)) AS days
	FROM readings
	WHERE practice_id = $1 AND NOT manual AND taken_at >= $2 AND taken_at < $3
	GROUP BY patient_id
) d JOIN patients p ON p.practice_id = $1 AND p.id = d.patient_id`

// DataDaysByPatient returns, for each patient with any, the days of the period that hold a
// reading that is not manual, the days taken in loc (the practice's zone), by the practice's
// patient id: the count DataDays makes, for every patient in one query.
func DataDaysByPatient(ctx context.Context, q db.Querier, practice int64, loc *time.Location, p Period) (map[string]int, error) {
	var rows []struct {
		Patient string `db:"ext_id"`
		Days    int    `db:"days"`
	}
	if err := q.SelectContext(ctx, &rows, selectDataDays, practice, p.From, p.To, loc.String()); err != nil {
		return nil, fmt.Errorf("error counting days with device data: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Patient] = r.Days
	}
	return out, nil
}

// Point is one stored reading, as a chart draws it.
type Point struct {
	TakenAt   time.Time `db:"taken_at"`
	Type      Type      `db:"type"`
	Systolic  int       `db:"systolic"`
	Diastolic int       `db:"diastolic"`
	Value     float64   `db:"value"`
	Unit      Unit      `db:"unit"`
	Manual    bool      `db:"manual"`
}

// Values returns the point's measures and their values, in the limits' units.
func (p Point) Values() []MeasureValue {
	return Reading{Type: p.Type, Systolic: p.Systolic, Diastolic: p.Diastolic, Value: p.Value, Unit: p.Unit}.Values()
}

const selectPoints = `
SELECT taken_at, type, coalesce(systolic, 0) AS systolic, coalesce(diastolic, 0) AS diastolic, coalesce(value, 0) AS value,
	coalesce(unit, '') AS unit, manual
FROM readings
WHERE practice_id = $1 AND patient_id = $2 AND type = $3 AND taken_at >= $4 AND taken_at < $5
ORDER BY taken_at
LIMIT $6`

// MaxPoints is the most readings of one type a chart is drawn with.
const MaxPoints = 2000

// Points returns a patient's readings of a type taken in [from, to), oldest first, at most
// MaxPoints.
func (s *Service) Points(ctx context.Context, patient int64, t Type, from, to time.Time) ([]Point, error) {
	var out []Point
	if err := s.DB.SelectContext(ctx, &out, selectPoints, s.pid(), patient, string(t), from, to, MaxPoints); err != nil {
		return nil, fmt.Errorf("error reading patient %d's %s readings: %w", patient, t, err)
	}
	return out, nil
}

const selectOwnLimits = `SELECT limits FROM reading_limits WHERE practice_id = $1 AND patient_id = $2`

// PatientLimits returns a patient's own limits (empty when a practitioner set none) and the
// limits in force: the practice's defaults with the patient's own.
func (s *Service) PatientLimits(ctx context.Context, q db.Querier, patient int64) (own, effective Limits, err error) {
	var raw []byte
	err = q.GetContext(ctx, &raw, selectOwnLimits, s.pid(), patient)
	switch {
	case db.IsNoRows(err):
		own = Limits{}
	case err != nil:
		return nil, nil, fmt.Errorf("error loading patient %d's limits: %w", patient, err)
	default:
		if err := json.Unmarshal(raw, &own); err != nil {
			return nil, nil, fmt.Errorf("error reading patient %d's limits: %w", patient, err)
		}
	}
	return own, DefaultLimits().With(own), nil
}

const upsertLimits = `
INSERT INTO reading_limits (practice_id, patient_id, limits, set_by, set_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (practice_id, patient_id) DO UPDATE SET limits = EXCLUDED.limits, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at`

// CanSetLimits reports whether a staff member may set a patient's limits: practitioners only,
// since a patient's normal is a clinical judgement.
func CanSetLimits(who staff.Identity) bool { return who.Role == staff.RolePractitioner }

// SetLimits replaces a patient's own limits (each measure given replaces the practice's
// default; an empty set returns the patient to the defaults), as a practitioner's decision,
// recorded in the audit log. errkind.ErrForbidden for anyone else; errkind.ErrInvalid for
// limits that make no sense, naming the measure and the bound.
func (s *Service) SetLimits(ctx context.Context, who staff.Identity, patient int64, own Limits) error {
	if !CanSetLimits(who) {
		return errkind.Errorf(errkind.ErrForbidden, "only a practitioner may set a patient's limits")
	}
	if errs := own.Check(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return errkind.Errorf(errkind.ErrInvalid, "%s", strings.Join(msgs, "; "))
	}
	raw, err := json.Marshal(own)
	if err != nil {
		return fmt.Errorf("error writing limits: %w", err)
	}
	now := s.now()
	err = db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, upsertLimits, s.pid(), patient, string(raw), who.StaffID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: s.pid(), At: now, Actor: who.Actor(), Action: "patient.limits",
			Entity: "patient", EntityID: strconv.FormatInt(patient, 10), Detail: map[string]any{"limits": json.RawMessage(raw)}})
	})
	if err != nil {
		return fmt.Errorf("error setting patient %d's limits: %w", patient, err)
	}
	return nil
}
