package timelog

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// The overlap look-up of a time file (whose answer also holds the stored entries a line
// repeats) probes the staff member's index for each of its entries, whether the log is new (no
// rows, no statistics), large with statistics behind it, or analyzed. A plan that reads the
// practice's whole log for each entry, or every staff member's entries of the day, or merges
// every entry of a staff member with every line of the file, makes a file of thousands of
// entries take minutes once the log holds a few hundred thousand.
func TestImportOverlapsProbeTheStaffIndex(t *testing.T) {
	staffIndexRE := regexp.MustCompile(`Index Scan using time_entries_\w*(by_staff|practice_id_staff_id_started_at_idx) on time_entries\w* e|` +
		`Bitmap Index Scan on time_entries_\w*(by_staff|practice_id_staff_id_started_at_idx)`)
	otherIndexRE := regexp.MustCompile(`time_entries_\w*(by_start|_practice_id_started_at_idx|pkey)`)
	d, _ := dbtest.Fresh(t)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const staffCount, spans = 20, 10000
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1)`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at)
		SELECT 1, 'S' || i, 'clinical', $1, $1 FROM generate_series(1, 20) i`,
	} {
		if _, err := d.Exec(q, at); err != nil {
			t.Fatal(err)
		}
	}
	var staffIDs []int64
	if err := d.Select(&staffIDs, `SELECT id FROM staff ORDER BY id`); err != nil || len(staffIDs) != staffCount {
		t.Fatalf("staff %v, %v", staffIDs, err)
	}
	lines, staff := make([]int64, spans), make([]int64, spans)
	from, to := make([]string, spans), make([]string, spans)
	for i := range spans {
		start := at.Add(time.Duration(i/staffCount) * 8 * time.Minute)
		lines[i], staff[i] = int64(i+2), staffIDs[i%staffCount]
		from[i], to[i] = start.Format(time.RFC3339), start.Add(5*time.Minute).Format(time.RFC3339)
	}
	check := func(state string) {
		t.Helper()
		var plan []string
		err := d.Select(&plan, "EXPLAIN "+selectOverlapping, 1, pq.Array(lines), pq.Array(staff), pq.Array(from), pq.Array(to), 0)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		// The log is partitioned by month: a partition's copy of an index is named for its columns.
		staffIndex := staffIndexRE.MatchString(text)
		if !staffIndex || otherIndexRE.MatchString(text) ||
			strings.Contains(text, "Merge Join") || strings.Contains(text, "Hash Join") {
			t.Errorf("%s: plan\n%s\nwant a probe of time_entries_by_staff per entry", state, text)
		}
	}
	check("new log")
	// Entries of 20 staff members, 8 minutes apart through the day and night, from day start
	// on, n each.
	insert := func(start time.Time, n int) {
		t.Helper()
		_, err := d.Exec(`INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program,
				started_at, ended_at, activity, source, created_by, created_at)
			SELECT 1, s.id, 'clinical', 'RN', 'ccm', $1::timestamptz + i * interval '8 minutes',
				$1::timestamptz + i * interval '8 minutes' + interval '5 minutes', 'other', 'import', 'cli', $1
			FROM staff s, generate_series(1, $2) i`, start, n)
		if err != nil {
			t.Fatal(err)
		}
	}
	// A day of entries, and statistics taken then.
	insert(at.AddDate(0, 0, -28), 180)
	if _, err := d.Exec(`ANALYZE time_entries`); err != nil {
		t.Fatal(err)
	}
	check("analyzed log of a day")
	// Four weeks more, up to the file's start, that the statistics do not know of yet (as while a
	// month is loaded).
	insert(at.AddDate(0, 0, -27), 27*180)
	check("log of four weeks, statistics of its first day")
	if _, err := d.Exec(`ANALYZE time_entries`); err != nil {
		t.Fatal(err)
	}
	check("analyzed log of four weeks")
}
