package history_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/history"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a practice with a staff member, a patient and a check-in; its statements run on
// the schema before and after the partitioning alike.
const fixture = `
INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', '2020-01-01Z', '2020-01-01Z');
INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', '2020-01-01Z', '2020-01-01Z');
INSERT INTO patients (practice_id, ext_id, timezone, created_at, updated_at) VALUES (1, 'P1', 'UTC', '2020-01-01Z', '2020-01-01Z');
INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at)
VALUES (1, 1, 'bp', '2020-01-01', 'en', 'sms', 'open', '2020-01-01Z', '2020-01-01Z');`

func mustExec(t *testing.T, d *sqlx.DB, stmt string, args ...any) {
	t.Helper()
	if _, err := d.Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func count(t *testing.T, d *sqlx.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Get(&n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// partitions returns the names of table's attached partitions.
func partitions(t *testing.T, d *sqlx.DB, table string) []string {
	t.Helper()
	var names []string
	if err := d.Select(&names, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass ORDER BY 1`, table); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestEnsureMakesTheMonthsAheadOnce(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2031, 11, 20, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)) // 2031-11-21 in UTC

	const callers = 3
	made := make([][]history.Created, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { made[i], errs[i] = history.Ensure(ctx, d, now, 3) })
	}
	wg.Wait()
	total := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		total += len(made[i])
	}
	if want := 4 * len(history.Tables); total != want {
		t.Errorf("concurrent callers made %d partitions in all, want %d (4 months, once each)", total, want)
	}
	for _, tb := range history.Tables {
		got := partitions(t, d, tb.Name)
		for _, m := range []string{"203111", "203112", "203201", "203202"} {
			if !slices.Contains(got, tb.Name+"_p"+m) {
				t.Errorf("%s has partitions %v, want %s_p%s", tb.Name, got, tb.Name, m)
			}
		}
		if !slices.Contains(got, tb.Name+"_default") || slices.Contains(got, tb.Name+"_p203203") {
			t.Errorf("%s has partitions %v, want its DEFAULT one and nothing past 2032-02", tb.Name, got)
		}
	}
	again, err := history.Ensure(ctx, d, now, 3)
	if err != nil || len(again) != 0 {
		t.Errorf("Ensure again made %v, %v; want nothing", again, err)
	}
	// A month later, one more month each.
	later, err := history.Ensure(ctx, d, now.AddDate(0, 1, 0), 3)
	if err != nil || len(later) != len(history.Tables) || later[0].Partition != "messages_p203203" {
		t.Errorf("Ensure a month later made %v, %v; want the month of 2032-03 of each table", later, err)
	}
}

func TestEnsureMovesRowsOutOfTheDefaultPartition(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	mustExec(t, d, fixture)
	// Rows of months that have no partition land in the DEFAULT partitions.
	for _, at := range []string{"2033-02-03T10:00:00Z", "2033-02-28T23:59:59Z", "2019-07-01T00:00:00Z"} {
		mustExec(t, d, `INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, $1, 'cli', 'test.move', 'test')`, at)
		mustExec(t, d, `INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at, ended_at,
			activity, source, created_by, created_at) VALUES (1, 1, 'clinical', 'RN', 'ccm', $1, $1::timestamptz + interval '20 minutes',
			'other', 'manual', 'cli', $1)`, at)
	}
	mustExec(t, d, `INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, '2033-03-01T00:00:00Z', 'cli', 'test.move', 'test')`)
	if n := count(t, d, `SELECT count(*) FROM audit_log_default`); n != 4 {
		t.Fatalf("audit_log_default holds %d rows, want 4", n)
	}

	made, err := history.Ensure(ctx, d, time.Date(2033, 1, 10, 0, 0, 0, 0, time.UTC), 1)
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]int64{}
	for _, c := range made {
		moved[c.Partition] = c.Moved
	}
	want := map[string]int64{"audit_log_p201907": 1, "audit_log_p203302": 2, "time_entries_p201907": 1, "time_entries_p203302": 2,
		"audit_log_p203301": 0, "time_entries_p203301": 0, "audit_log_p203303": 1}
	for name, n := range want {
		if got, ok := moved[name]; !ok || got != n {
			t.Errorf("partition %s: made %v, moved %d rows; want made, %d rows moved (all made: %v)", name, ok, got, n, made)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM audit_log_default`) + count(t, d, `SELECT count(*) FROM time_entries_default`); n != 0 {
		t.Errorf("the DEFAULT partitions still hold %d rows", n)
	}
	if n := count(t, d, `SELECT count(*) FROM audit_log_p203302 WHERE action = 'test.move'`); n != 2 {
		t.Errorf("audit_log_p203302 holds %d rows, want 2", n)
	}
	if n := count(t, d, `SELECT count(*) FROM audit_log`) + count(t, d, `SELECT count(*) FROM time_entries`); n != 7 {
		t.Errorf("the tables hold %d rows after the move, want 7", n)
	}
	// The tables' guards hold on the moved rows and on the DEFAULT partition attached again.
	for _, stmt := range []string{`DELETE FROM audit_log WHERE at < '2020-01-01Z'`, `UPDATE time_entries SET note = 'x'`} {
		if _, err := d.Exec(stmt); err == nil {
			t.Errorf("%s succeeded on an append-only table", stmt)
		}
	}
	mustExec(t, d, `INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, '2040-01-01Z', 'cli', 'test.move', 'test')`)
	if _, err := d.Exec(`DELETE FROM audit_log_default`); err == nil {
		t.Error("a row of the DEFAULT partition attached again could be deleted")
	}
}

func TestRetainRetiresOnlyMonthsPastTheHorizon(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	mustExec(t, d, fixture)
	mustExec(t, d, `UPDATE practices SET message_retention_months = 24`)
	insert := func(at string) {
		mustExec(t, d, `INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, $1, 'cli', 'test.keep', 'test')`, at)
		mustExec(t, d, `WITH e AS (INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at,
			ended_at, activity, source, created_by, created_at) VALUES (1, 1, 'clinical', 'RN', 'ccm', $1,
			$1::timestamptz + interval '20 minutes', 'other', 'manual', 'cli', $1) RETURNING id)
			INSERT INTO time_entry_patients (practice_id, entry_id, patient_id) SELECT 1, id, 1 FROM e`, at)
		mustExec(t, d, `INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, created_at, updated_at)
			VALUES (1, 1, 'in', 'reply', '+15550001111', 'my words', 'received', $1, $1)`, at)
	}
	insert("2015-03-10T12:00:00Z")
	insert("2015-03-20T12:00:00Z")
	insert("2016-05-31T23:00:00Z") // its month ends after the horizon
	insert("2025-01-15T12:00:00Z")
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC) // horizon 2016-05-10
	if _, err := history.Ensure(ctx, d, now, 0); err != nil {
		t.Fatal(err)
	}
	opts := history.Options{Now: now, RecordYears: 10, Practice: 1, Actor: audit.ActorCLI}

	t.Run("a shorter record is refused", func(t *testing.T) {
		o := opts
		o.RecordYears = 9
		if _, err := history.Retain(ctx, d, o); err == nil {
			t.Error("Retain kept the record 9 years")
		}
	})
	t.Run("dry run", func(t *testing.T) {
		o := opts
		o.DryRun = true
		rep, err := history.Retain(ctx, d, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Partitions) != 3 || rep.Bodies != 3 {
			t.Errorf("dry run would retire %+v and clear %d bodies; want the three tables' 2015-03 and 3 bodies", rep.Partitions, rep.Bodies)
		}
		if !slices.Contains(partitions(t, d, "audit_log"), "audit_log_p201503") ||
			count(t, d, `SELECT count(*) FROM messages WHERE body = ''`) != 0 {
			t.Error("the dry run changed something")
		}
	})
	t.Run("detach", func(t *testing.T) {
		rep, err := history.Retain(ctx, d, opts)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rep.Partitions {
			names = append(names, r.Partition)
			if !r.Detached || r.Rows != 2 || r.File != "" {
				t.Errorf("retired %+v, want detached now with 2 rows and no archive", r)
			}
		}
		slices.Sort(names)
		if want := []string{"audit_log_p201503", "messages_p201503", "time_entries_p201503"}; !slices.Equal(names, want) {
			t.Errorf("retired %v, want %v", names, want)
		}
		for _, tb := range []string{"audit_log", "messages", "time_entries"} {
			ps := partitions(t, d, tb)
			if slices.Contains(ps, tb+"_p201503") || !slices.Contains(ps, tb+"_p201605") || !slices.Contains(ps, tb+"_p202501") {
				t.Errorf("%s has partitions %v after retention; want 2015-03 gone, 2016-05 and 2025-01 kept", tb, ps)
			}
		}
		if n := count(t, d, `SELECT count(*) FROM time_entries_p201503`); n != 2 {
			t.Errorf("the detached partition holds %d rows, want 2 (detaching deletes nothing)", n)
		}
		if rep.Bodies != 3 || count(t, d, `SELECT count(*) FROM messages WHERE body = ''`) != 1 ||
			count(t, d, `SELECT count(*) FROM messages_p201503 WHERE body = ''`) != 2 {
			t.Errorf("%d bodies cleared, want 3: those past 24 months, in the month detached too", rep.Bodies)
		}
		if n := count(t, d, `SELECT count(*) FROM messages WHERE body = 'my words'`); n != 1 {
			t.Errorf("%d texts of 2025 kept their words, want 1", n)
		}
		if n := count(t, d, `SELECT count(*) FROM audit_log WHERE action = 'history.retain'`); n != 1 {
			t.Errorf("%d retention events in the audit log, want 1", n)
		}
	})
	t.Run("archive", func(t *testing.T) {
		dir := t.TempDir()
		o := opts
		o.Archive = dir
		rep, err := history.Retain(ctx, d, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Partitions) != 3 {
			t.Fatalf("retired %+v, want the three partitions detached before", rep.Partitions)
		}
		for _, r := range rep.Partitions {
			if r.Detached || r.File != filepath.Join(dir, r.Partition+".jsonl.gz") {
				t.Errorf("retired %+v, want already detached, archived in %s", r, dir)
			}
			lines := readArchive(t, r.File)
			if len(lines) != 2 {
				t.Errorf("%s holds %d rows, want 2", r.File, len(lines))
			}
			if r.Table == "time_entries" && len(lines) > 0 {
				if ps, _ := lines[0]["patients"].([]any); len(ps) != 1 {
					t.Errorf("an archived time entry has patients %v, want one", lines[0]["patients"])
				}
			}
		}
		if n := count(t, d, `SELECT count(*) FROM pg_class WHERE relname = 'time_entries_p201503'`); n != 0 {
			t.Error("the archived partition was not dropped")
		}
		if n := count(t, d, `SELECT count(*) FROM time_entry_patients`); n != 2 {
			t.Errorf("%d time entry patients left, want 2 (those of the dropped entries removed)", n)
		}
		if _, err := d.Exec(`DELETE FROM time_entry_patients`); err == nil {
			t.Error("time_entry_patients is no longer append-only")
		}
	})
}

func readArchive(t *testing.T, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
