package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
)

// selectRange reads the entries of [from, to), oldest first.
const selectRange = readEntries + `
WHERE a.practice_id = $1 AND a.at >= $2 AND a.at < $3
ORDER BY a.at, a.id`

// Export writes the entries of [from, to), oldest first, as JSON lines: one Entry object a line.
// The rows are streamed from the database, so that a year of the log needs no more memory than
// a line; each written line is passed to wrote (nil: none), which may extend a deadline. It
// returns how many lines it wrote.
func Export(ctx context.Context, q db.Querier, practiceID int64, from, to time.Time, w io.Writer, wrote func(n int)) (int, error) {
	rows, err := q.QueryxContext(ctx, selectRange, practiceID, from, to)
	if err != nil {
		return 0, fmt.Errorf("error reading the audit log: %w", err)
	}
	defer rows.Close()
	enc := json.NewEncoder(w)
	n := 0
	for rows.Next() {
		var e Entry
		if err := rows.StructScan(&e); err != nil {
			return n, fmt.Errorf("error reading the audit log: %w", err)
		}
		if err := enc.Encode(e); err != nil {
			return n, fmt.Errorf("error writing the audit export: %w", err)
		}
		n++
		if wrote != nil {
			wrote(n)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("error reading the audit log: %w", err)
	}
	return n, nil
}

// DayRange returns the instants that bound the calendar days from and to (both "YYYY-MM-DD",
// both included) in loc: [from's midnight, the midnight after to). An error says which date is
// wrong.
func DayRange(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	var days [2]time.Time
	for i, s := range []string{from, to} {
		name := [2]string{"from", "to"}[i]
		if s == "" {
			return time.Time{}, time.Time{}, fmt.Errorf("%s is missing: give a date, YYYY-MM-DD", name)
		}
		d, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%s %q is not a date (YYYY-MM-DD)", name, s)
		}
		days[i] = d
	}
	if days[1].Before(days[0]) {
		return time.Time{}, time.Time{}, fmt.Errorf("to %s is before from %s", to, from)
	}
	end := days[1].AddDate(0, 0, 1)
	return days[0], time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc), nil
}
