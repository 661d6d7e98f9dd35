package timelog

import (
	"context"
	"fmt"
	"time"
)

// Conflict is two current entries of one staff member that overlap: the overlapping seconds
// count for neither until one of them is amended.
type Conflict struct {
	Staff   string    `json:"staff"`
	First   EntryID   `json:"first_entry"`
	Second  EntryID   `json:"second_entry"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Seconds int64     `json:"seconds"`
}

const selectConflicts = `
WITH cur AS (
	SELECT e.id, e.staff_id, e.started_at, e.ended_at
	FROM time_entries e
	WHERE e.practice_id = $1 AND e.started_at < $3 AND e.ended_at > $2 AND NOT e.voided
	  AND NOT EXISTS (SELECT 1 FROM time_entries n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id)
)
SELECT s.ext_id AS staff, a.id AS first, b.id AS second,
	greatest(a.started_at, b.started_at) AS overlap_from, least(a.ended_at, b.ended_at) AS overlap_to
FROM cur a
JOIN cur b ON b.staff_id = a.staff_id AND b.id > a.id AND b.started_at < a.ended_at AND b.ended_at > a.started_at
JOIN staff s ON s.practice_id = $1 AND s.id = a.staff_id
ORDER BY overlap_from, a.id`

// Conflicts lists the overlapping pairs of current entries in [from, to), their instants in the
// practice's zone.
func (s *Service) Conflicts(ctx context.Context, from, to time.Time) ([]Conflict, error) {
	var rows []struct {
		Staff  string    `db:"staff"`
		First  EntryID   `db:"first"`
		Second EntryID   `db:"second"`
		From   time.Time `db:"overlap_from"`
		To     time.Time `db:"overlap_to"`
	}
	if err := s.DB.SelectContext(ctx, &rows, selectConflicts, int64(s.Practice), from, to); err != nil {
		return nil, fmt.Errorf("error finding conflicting entries: %w", err)
	}
	out := make([]Conflict, len(rows))
	for i, r := range rows {
		out[i] = Conflict{Staff: r.Staff, First: r.First, Second: r.Second, From: r.From.In(s.loc()), To: r.To.In(s.loc()), Seconds: int64(r.To.Sub(r.From) / time.Second)}
	}
	return out, nil
}
