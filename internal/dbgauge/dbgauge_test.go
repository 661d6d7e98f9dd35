package dbgauge_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestSetCachesZeroFillsAndCountsErrors: a scrape within the cache time reuses the last
// answers, the next one after it reads again; known labels show 0 when no row has them; a
// failing statement is counted and its gauge left out, the others still shown, those after it
// too, with the planner settings of a Set's statements (sequential scans off, read only).
func TestSetCachesZeroFillsAndCountsErrors(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`, now); err != nil {
		t.Fatal(err)
	}
	clock := now
	reg := prometheus.NewPedanticRegistry()
	errs := dbgauge.NewErrors(reg)
	optedOut := prometheus.NewDesc("test_opted_out", "Patients opted out, by source.", []string{"source"}, nil)
	broken := prometheus.NewDesc("test_broken", "A statement that fails.", nil, nil)
	settings := prometheus.NewDesc("test_settings", "1 when the planner settings hold.", nil, nil)
	reg.MustRegister(&dbgauge.Set{DB: d, Practice: 1, Clock: func() time.Time { return clock }, CacheFor: time.Minute,
		Errors: errs, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Queries: []dbgauge.Query{
			{Desc: optedOut, Labels: 1, Zeros: dbgauge.Each([]string{"sms", "voice"}),
				SQL: `SELECT opt_out_source AS l1, '' AS l2, '' AS l3, count(*) AS v FROM patients
					WHERE practice_id = $1 AND opted_out_at IS NOT NULL GROUP BY 1`},
			{Desc: broken, SQL: `SELECT 1/0 AS v WHERE $1::bigint > 0`},
			{Desc: settings, SQL: `SELECT '' AS l1, '' AS l2, '' AS l3,
				CASE WHEN current_setting('enable_seqscan') = 'off' AND current_setting('transaction_read_only') = 'on'
					AND current_setting('max_parallel_workers_per_gather') = '0' THEN 1 ELSE 0 END AS v
				WHERE $1::bigint > 0`},
		}})
	gauge := func(source string) float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range families {
			if mf.GetName() == "test_broken" {
				t.Errorf("the failing gauge was shown")
			}
			for _, m := range mf.Metric {
				if mf.GetName() == "test_opted_out" && m.Label[0].GetValue() == source {
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no test_opted_out{source=%q}", source)
		return 0
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	held := false
	for _, mf := range families {
		if mf.GetName() == "test_settings" {
			held = mf.Metric[0].GetGauge().GetValue() == 1
		}
	}
	if !held {
		t.Errorf("the statement after a failed one did not run with the planner settings")
	}
	if v := gauge("sms"); v != 0 || gauge("voice") != 0 {
		t.Errorf("empty: sms %v, want 0", v)
	}
	if v := testutil.ToFloat64(errs); v != 1 {
		t.Errorf("errors = %v after one read, want 1", v)
	}
	if _, err := d.Exec(`INSERT INTO patients (practice_id, ext_id, timezone, opted_out_at, opt_out_source, created_at, updated_at)
		VALUES (1, 'P1', 'America/New_York', $1, 'voice', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(59 * time.Second)
	if v := gauge("voice"); v != 0 {
		t.Errorf("a scrape within the cache time read again: voice %v", v)
	}
	clock = now.Add(time.Minute)
	if v := gauge("voice"); v != 1 {
		t.Errorf("a scrape after the cache time did not read again: voice %v", v)
	}
	if v := testutil.ToFloat64(errs); v != 2 {
		t.Errorf("errors = %v after two reads, want 2", v)
	}
}

// TestSetKeep: Refresh reads at once whatever the cache; Keep reads again every half of
// CacheFor, so that a scrape finds answers read in the background; a scrape while a read is
// under way answers from the last one rather than wait.
func TestSetKeep(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`CREATE TABLE gauge_source (v int NOT NULL, pause float8 NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO gauge_source VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	desc := prometheus.NewDesc("test_value", "A value.", nil, nil)
	set := &dbgauge.Set{DB: d, Practice: 1, Clock: time.Now, CacheFor: time.Second,
		Errors: dbgauge.NewErrors(prometheus.NewRegistry()), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Queries: []dbgauge.Query{{Desc: desc,
			SQL: `SELECT '' AS l1, '' AS l2, '' AS l3, v AS v FROM gauge_source, pg_sleep(pause) WHERE $1::bigint > 0`}}}
	value := func() float64 {
		t.Helper()
		return testutil.ToFloat64(set)
	}
	set.Refresh(context.Background())
	if v := value(); v != 1 {
		t.Fatalf("after Refresh: %v, want 1", v)
	}
	if _, err := d.Exec(`UPDATE gauge_source SET v = 2`); err != nil {
		t.Fatal(err)
	}
	set.Refresh(context.Background())
	if v := value(); v != 2 {
		t.Fatalf("Refresh within the cache time: %v, want 2 (read again)", v)
	}

	ctx, cancel := context.WithCancel(context.Background())
	kept := make(chan struct{})
	go func() { set.Keep(ctx); close(kept) }()
	defer func() { cancel(); <-kept }()
	if _, err := d.Exec(`UPDATE gauge_source SET v = 3`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for value() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("Keep did not read the new value within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The next reads take 3 s: a scrape meanwhile answers from the last read (at most half a
	// CacheFor old when the slow read began) at once.
	if _, err := d.Exec(`UPDATE gauge_source SET v = 4, pause = 3`); err != nil {
		t.Fatal(err)
	}
	for {
		var sleeping bool
		if err := d.Get(&sleeping, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database())`); err != nil {
			t.Fatal(err)
		}
		if sleeping {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Keep did not begin a read within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if v := value(); v != 3 {
		t.Errorf("a scrape during a read: %v, want 3 (the last read)", v)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a scrape during a read took %s: it waited for the read", took)
	}
}
