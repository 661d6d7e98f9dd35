package monitoring

import (
	"context"
	"fmt"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
)

// Stored is one stored reading with its id, for the views that list a patient's readings one
// by one (the FHIR adapter's Observations).
type Stored struct {
	ID        int64     `db:"id"`
	Device    string    `db:"device"`
	Type      Type      `db:"type"`
	TakenAt   time.Time `db:"taken_at"`
	Systolic  int       `db:"systolic"`
	Diastolic int       `db:"diastolic"`
	Value     float64   `db:"value"`
	Unit      Unit      `db:"unit"`
	Manual    bool      `db:"manual"`
}

const selectStored = `
SELECT id, device, type, taken_at, coalesce(systolic, 0) AS systolic, coalesce(diastolic, 0) AS diastolic,
	coalesce(value, 0) AS value, coalesce(unit, '') AS unit, manual
FROM readings
WHERE practice_id = $1 AND patient_id = $2
ORDER BY taken_at DESC, id DESC
LIMIT $3 OFFSET $4`

// History returns a patient's readings, newest first, at most limit after skipping offset.
// Reading it is a read of the patient's record: the caller audits it.
func (s *Service) History(ctx context.Context, q db.Querier, patient int64, limit, offset int) ([]Stored, error) {
	out := []Stored{}
	if err := q.SelectContext(ctx, &out, selectStored, s.pid(), patient, limit, offset); err != nil {
		return nil, fmt.Errorf("error listing patient %d's readings: %w", patient, err)
	}
	return out, nil
}

const selectStoredID = `
SELECT id FROM readings
WHERE practice_id = $1 AND patient_id = $2 AND type = $3 AND taken_at = $4 AND device = $5`

// StoredID returns the id of a patient's stored reading (the same patient, type, instant and
// device); db.IsNoRows reports one not stored.
func (s *Service) StoredID(ctx context.Context, q db.Querier, patient int64, r Reading) (int64, error) {
	var id int64
	if err := q.GetContext(ctx, &id, selectStoredID, s.pid(), patient, string(r.Type), r.TakenAt, r.Device); err != nil {
		return 0, fmt.Errorf("error finding patient %d's reading: %w", patient, err)
	}
	return id, nil
}

const selectStoredByID = `
SELECT id, device, type, taken_at, coalesce(systolic, 0) AS systolic, coalesce(diastolic, 0) AS diastolic,
	coalesce(value, 0) AS value, coalesce(unit, '') AS unit, manual, patient_id
FROM readings
WHERE practice_id = $1 AND id = $2`

// Read returns one stored reading and the (internal) id of its patient; db.IsNoRows reports
// none. Reading it is a read of the patient's record: the caller audits it.
func (s *Service) Read(ctx context.Context, q db.Querier, id int64) (Stored, int64, error) {
	var row struct {
		Stored
		Patient int64 `db:"patient_id"`
	}
	if err := q.GetContext(ctx, &row, selectStoredByID, s.pid(), id); err != nil {
		return Stored{}, 0, fmt.Errorf("error reading reading %d: %w", id, err)
	}
	return row.Stored, row.Patient, nil
}
