package timelog

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/db"
)

// WarningKind is what a warning is about.
type WarningKind string

// Warning kinds.
const (
	// WarnOverlap: the entry overlaps another current entry of the same staff member; the
	// overlapping seconds count for neither until one of them is amended or voided.
	WarnOverlap WarningKind = "overlap"
	// WarnClosedMonth: the entry falls in a closed billing month, whose report is a snapshot
	// that will not include it.
	WarnClosedMonth WarningKind = "closed_month"
)

// Warning is something to know about an entry that was stored all the same.
type Warning struct {
	Kind    WarningKind `json:"kind"`
	File    string      `json:"file,omitempty"`    // the file of an imported entry
	Line    int         `json:"line,omitempty"`    // and its line
	Entries []EntryID   `json:"entries,omitempty"` // the stored entries it overlaps
	Lines   []int       `json:"lines,omitempty"`   // the lines of the same file it overlaps
	Month   string      `json:"month,omitempty"`   // the closed month, YYYY-MM
	Message string      `json:"message"`
}

// String gives the warning with its file and line, if any.
func (w Warning) String() string {
	if w.File == "" {
		return w.Message
	}
	return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
}

// span is the time of one entry, stored or on a line of a file, by one staff member.
type span struct {
	line     int
	staffID  int64
	staff    string
	from, to time.Time
}

// overlapsWithin returns, for each line of a file, the other lines of the same staff member
// whose time overlaps its own.
func overlapsWithin(spans []span) map[int][]int {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.staffID, b.staffID), a.from.Compare(b.from), cmp.Compare(a.line, b.line))
	})
	out := map[int][]int{}
	for i, a := range sorted {
		for _, b := range sorted[i+1:] {
			if b.staffID != a.staffID || !b.from.Before(a.to) {
				break
			}
			if b.to.After(a.from) && a.to.After(b.from) {
				out[a.line] = append(out[a.line], b.line)
				out[b.line] = append(out[b.line], a.line)
			}
		}
	}
	for _, lines := range out {
		slices.Sort(lines)
	}
	return out
}

// warningsFor returns an entry's warnings: the stored entries and the lines it overlaps, and
// the closed months it falls in.
func warningsFor(e span, entries []EntryID, lines []int, closed []billing.ClosedMonth, loc *time.Location) []Warning {
	var out []Warning
	if len(entries)+len(lines) > 0 {
		var what []string
		for _, id := range entries {
			what = append(what, fmt.Sprintf("entry %d", id))
		}
		for _, l := range lines {
			what = append(what, fmt.Sprintf("line %d", l))
		}
		out = append(out, Warning{Kind: WarnOverlap, Entries: entries, Lines: lines, Message: fmt.Sprintf(
			"%s overlaps %s of staff %s: the overlapping time counts for neither until one is amended or voided",
			localSpan(e.from, e.to, loc), strings.Join(what, ", "), e.staff)})
	}
	for _, c := range closed {
		if e.from.Before(c.End) && e.to.After(c.Start) {
			out = append(out, Warning{Kind: WarnClosedMonth, Month: c.Month.String(), Message: fmt.Sprintf(
				"%s falls in %s, whose billing was closed on %s: the closed report does not reflect it (it is listed under amended_after_close)",
				localTime(e.from, loc), c.Month, localTime(c.ClosedAt, loc))})
		}
	}
	return out
}

// selectOverlapping finds the current entries of the same staff member that overlap each span
// (line, staff, from, to), other than the entry excluded. An entry lasts at most 24 hours,
// which bounds its start.
//
// The look-up is a subquery per span: a range scan of the staff member's index
// (time_entries_by_staff) from 24 hours before the span's start to its end, however large the
// log. OFFSET 0 keeps the planner from flattening it: joined flat, it merges a file's spans
// with every entry of the same staff member, comparing each with each. The staff member and the
// range are written as row comparisons on (staff_id, started_at), which that index alone can
// use, and in its order: with plain comparisons, statistics that lag behind a large import
// (or a new log, with none) make the primary key or the index by start look as good, and
// those read the whole practice's log, or every staff member's entries of the day, for each
// span.
//
// An entry is superseded when time_entry_successors holds its claim: a probe of that small
// table, where looking for an entry whose supersedes names it probes every month's index, and
// was planned as a hash of every entry of the log once overlaps were found.
const selectOverlapping = `
SELECT s.line, o.id
FROM unnest($2::int[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) AS s(line, staff_id, started_at, ended_at)
CROSS JOIN LATERAL (
	SELECT e.id FROM time_entries e
	WHERE e.practice_id = $1
		AND (e.staff_id, e.started_at) > (s.staff_id, s.started_at - interval '24 hours')
		AND (e.staff_id, e.started_at) < (s.staff_id, s.ended_at)
		AND e.ended_at > s.started_at AND e.id <> $6 AND NOT e.voided
		AND NOT EXISTS (SELECT 1 FROM time_entry_successors n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id)
	ORDER BY e.staff_id, e.started_at OFFSET 0
) o
ORDER BY s.line, o.id`

// overlapping returns, by line, the current stored entries that overlap each span.
func (s *Service) overlapping(ctx context.Context, q db.Querier, spans []span, exclude EntryID) (map[int][]EntryID, error) {
	lines, staff := make([]int64, len(spans)), make([]int64, len(spans))
	from, to := make([]string, len(spans)), make([]string, len(spans))
	for i, sp := range spans {
		lines[i], staff[i] = int64(sp.line), sp.staffID
		from[i], to[i] = sp.from.Format(time.RFC3339Nano), sp.to.Format(time.RFC3339Nano)
	}
	var rows []struct {
		Line  int     `db:"line"`
		Entry EntryID `db:"id"`
	}
	err := q.SelectContext(ctx, &rows, selectOverlapping, int64(s.Practice), pq.Array(lines), pq.Array(staff), pq.Array(from), pq.Array(to), int64(exclude))
	if err != nil {
		return nil, fmt.Errorf("error looking for overlapping entries: %w", err)
	}
	out := map[int][]EntryID{}
	for _, r := range rows {
		out[r.Line] = append(out[r.Line], r.Entry)
	}
	return out, nil
}

// fileWarnings returns the warnings of a file's entries, before they are stored: each line that
// overlaps a current entry (stored, by line, as overlapping found them) or another line of the
// same staff member, and each that falls in a closed billing month.
func (s *Service) fileWarnings(ctx context.Context, q db.Querier, name string, spans []span, stored map[int][]EntryID) ([]Warning, error) {
	if len(spans) == 0 {
		return nil, nil
	}
	from := slices.MinFunc(spans, func(a, b span) int { return a.from.Compare(b.from) }).from
	to := slices.MaxFunc(spans, func(a, b span) int { return a.to.Compare(b.to) }).to
	closed, err := billing.ClosedMonths(ctx, q, s.Practice, from, to)
	if err != nil {
		return nil, err
	}
	within := overlapsWithin(spans)
	var out []Warning
	for _, sp := range spans {
		for _, w := range warningsFor(sp, stored[sp.line], within[sp.line], closed, s.loc()) {
			w.File, w.Line = name, sp.line
			out = append(out, w)
		}
	}
	return out, nil
}

// warnings returns what to know about an entry just stored (id, a void or not): the current
// entries of the same staff member it overlaps, and the closed billing month it falls in. A
// void overlaps nothing.
func (s *Service) warnings(ctx context.Context, q db.Querier, e resolved, id EntryID, voided bool) ([]Warning, error) {
	sp := span{staffID: e.staffID, staff: e.Staff, from: e.StartedAt, to: e.EndedAt}
	var entries []EntryID
	if !voided {
		stored, err := s.overlapping(ctx, q, []span{sp}, id)
		if err != nil {
			return nil, err
		}
		entries = stored[0]
	}
	closed, err := billing.ClosedMonths(ctx, q, s.Practice, e.StartedAt, e.EndedAt)
	if err != nil {
		return nil, err
	}
	return warningsFor(sp, entries, nil, closed, s.loc()), nil
}

// localSpan formats a period for people, in the practice's zone: its date once when it starts
// and ends on the same day in the same zone offset.
func localSpan(from, to time.Time, loc *time.Location) string {
	f, t := from.In(loc), to.In(loc)
	if f.Format("2006-01-02 MST") == t.Format("2006-01-02 MST") {
		return f.Format("2006-01-02 15:04") + "–" + t.Format("15:04 MST")
	}
	return localTime(f, loc) + " – " + localTime(t, loc)
}
