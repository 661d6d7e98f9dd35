package timelog

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Conflict is two current entries of one staff member that overlap: the overlapping seconds
// count for neither until one of them is amended. Each entry comes with its patients (the
// practice's ids), so that whoever settles the conflict knows whose records to open.
type Conflict struct {
	Staff          string    `json:"staff"`
	First          EntryID   `json:"first_entry"`
	FirstPatients  []string  `json:"first_patients"`
	Second         EntryID   `json:"second_entry"`
	SecondPatients []string  `json:"second_patients"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	Seconds        int64     `json:"seconds"`
}

const selectConflicts = `
WITH cur AS (
	SELECT e.id, e.staff_id, e.started_at, e.ended_at,
		ARRAY(SELECT p.ext_id FROM time_entry_patients tp
		      JOIN patients p ON p.practice_id = tp.practice_id AND p.id = tp.patient_id
		      WHERE tp.practice_id = e.practice_id AND tp.entry_id = e.id ORDER BY p.ext_id) AS patients
	FROM time_entries e
	WHERE e.practice_id = $1 AND e.started_at < $3 AND e.ended_at > $2 AND NOT e.voided
	  AND NOT EXISTS (SELECT 1 FROM time_entries n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id)
)
SELECT s.ext_id AS staff, a.id AS first, a.patients AS first_patients, b.id AS second, b.patients AS second_patients,
	greatest(a.started_at, b.started_at) AS overlap_from, least(a.ended_at, b.ended_at) AS overlap_to
FROM cur a
JOIN cur b ON b.staff_id = a.staff_id AND b.id > a.id AND b.started_at < a.ended_at AND b.ended_at > a.started_at
JOIN staff s ON s.practice_id = $1 AND s.id = a.staff_id
ORDER BY overlap_from, a.id`

// Conflicts lists the overlapping pairs of current entries in [from, to), their instants in the
// practice's zone.
func (s *Service) Conflicts(ctx context.Context, from, to time.Time) ([]Conflict, error) {
	var rows []struct {
		Staff          string         `db:"staff"`
		First          EntryID        `db:"first"`
		FirstPatients  pq.StringArray `db:"first_patients"`
		Second         EntryID        `db:"second"`
		SecondPatients pq.StringArray `db:"second_patients"`
		From           time.Time      `db:"overlap_from"`
		To             time.Time      `db:"overlap_to"`
	}
	if err := s.DB.SelectContext(ctx, &rows, selectConflicts, int64(s.Practice), from, to); err != nil {
		return nil, fmt.Errorf("error finding conflicting entries: %w", err)
	}
	out := make([]Conflict, len(rows))
	for i, r := range rows {
		out[i] = Conflict{Staff: r.Staff, First: r.First, FirstPatients: []string(r.FirstPatients),
			Second: r.Second, SecondPatients: []string(r.SecondPatients),
			From: r.From.In(s.loc()), To: r.To.In(s.loc()), Seconds: int64(r.To.Sub(r.From) / time.Second)}
	}
	return out, nil
}
