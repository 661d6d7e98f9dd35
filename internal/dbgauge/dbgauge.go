// Package dbgauge reads gauges of the current state from the database for Prometheus: one
// statement per metric, each bounded by what is open or due (never a scan of history), their
// answers cached for a few seconds whatever the scrapes (or kept read in the background, see
// Set.Keep, so that a scrape does not wait for them), known label values shown as 0 when a
// statement has no row for them, and failed statements counted in
// outreach_metrics_query_errors_total and left out of that scrape.
//
// A Set's statements run in one read-only transaction (on one connection: its catalog caches
// and prepared statements serve them all) whose planner settings keep them on the indexes they
// were written for (see planSettings): statistics that describe a table as it was (the current
// month's texts analyzed when all were queued, just before the month's first run sent them)
// otherwise make the planner scan whole tables.
//
// The gauges are the same on every replica: aggregate them with max(), not sum().
package dbgauge

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/practice"
)

// DefaultCache is how long answers are kept when Set.CacheFor is 0.
const DefaultCache = 15 * time.Second

// queryTimeout bounds all the statements of one refresh.
const queryTimeout = 10 * time.Second

// NewErrors registers the counter of failed metric statements on reg: one per process, shared
// by every Set.
func NewErrors(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "outreach", Name: "metrics_query_errors_total",
		Help: "Metric queries that failed (their metrics are left out of that scrape)."})
	reg.MustRegister(c)
	return c
}

// Query is one gauge's statement. It takes $1, the practice, and, when UsesNow, $2, now; it
// returns the columns l1, l2 and l3 (the label values; empty strings past Labels) and v.
type Query struct {
	Desc    *prometheus.Desc
	Labels  int // how many labels Desc has
	SQL     string
	UsesNow bool
	Zeros   [][]string // the label values every scrape shows, 0 when the statement has no row for them
}

// Set is a collector of gauges read by Queries.
type Set struct {
	DB       *sqlx.DB
	Practice practice.ID
	Clock    func() time.Time
	CacheFor time.Duration // 0: DefaultCache
	Errors   prometheus.Counter
	Log      *slog.Logger
	Queries  []Query

	reading sync.Mutex // held by the one read at a time
	mu      sync.Mutex // guards at and metrics
	at      time.Time
	metrics []prometheus.Metric
}

// Describe sends the gauges' descriptions.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	for _, q := range s.Queries {
		ch <- q.Desc
	}
}

// Collect sends the gauges, read again when the last answers are older than CacheFor.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	metrics, fresh := s.latest()
	if !fresh {
		metrics = s.refresh(context.Background(), false)
	}
	for _, m := range metrics {
		ch <- m
	}
}

// latest returns the last answers, and whether they are younger than CacheFor.
func (s *Set) latest() ([]prometheus.Metric, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Clock()
	return s.metrics, s.metrics != nil && now.Sub(s.at) < s.cacheFor() && !now.Before(s.at)
}

func (s *Set) cacheFor() time.Duration {
	if s.CacheFor <= 0 {
		return DefaultCache
	}
	return s.CacheFor
}

// refresh reads the answers, one read at a time; unless force, answers read meanwhile by
// another caller, younger than CacheFor, are returned instead.
func (s *Set) refresh(ctx context.Context, force bool) []prometheus.Metric {
	s.reading.Lock()
	defer s.reading.Unlock()
	if metrics, fresh := s.latest(); fresh && !force {
		return metrics
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	now := s.Clock()
	metrics := s.read(ctx, now)
	s.mu.Lock()
	s.metrics, s.at = metrics, now
	s.mu.Unlock()
	return metrics
}

// Refresh reads the answers now, whatever their age.
func (s *Set) Refresh(ctx context.Context) {
	s.refresh(ctx, true)
}

// Keep refreshes the answers every half of CacheFor until ctx ends, so that scrapes are
// answered at once from what was read in the background, never waiting for the statements
// unless the last answers are older than CacheFor (the database did not answer in time). Its
// first refresh is half a CacheFor from now: call Refresh before for answers at once.
func (s *Set) Keep(ctx context.Context) {
	t := time.NewTicker(s.cacheFor() / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ctx.Err() == nil {
				s.Refresh(ctx)
			}
		}
	}
}

// planSettings are the planner settings of the transaction a Set's statements run in. Every
// statement is an index read of the open or due rows, or of a month's rollup row: sequential
// scans are off, so that stale statistics (a partition analyzed when most of its rows were
// queued) cannot turn the read of a partial index into a scan of the partition; parallel
// workers and JIT compilation, which cost more to start than these reads take, are off too.
// The statements (prepared once per connection) keep their generic plan: planning one over
// every monthly partition and its indexes takes longer than running it, and the plan does not
// depend on the arguments.
const planSettings = `SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off;
SET LOCAL plan_cache_mode = force_generic_plan`

// begin opens the read-only transaction of a Set's statements, with planSettings.
func (s *Set) begin(ctx context.Context) (*sqlx.Tx, error) {
	tx, err := s.DB.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("error beginning the metric statements' transaction: %w", err)
	}
	if _, err := tx.ExecContext(ctx, planSettings); err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("error setting the metric statements' planner settings: %w", err)
	}
	return tx, nil
}

// row is one labelled value of a statement.
type row struct {
	L1 string  `db:"l1"`
	L2 string  `db:"l2"`
	L3 string  `db:"l3"`
	V  float64 `db:"v"`
}

// read runs every statement in a transaction (see begin); one that fails is logged, counted
// and left out, and the statements after it run in a new transaction.
func (s *Set) read(ctx context.Context, now time.Time) []prometheus.Metric {
	out := []prometheus.Metric{}
	var tx *sqlx.Tx
	defer func() {
		if tx != nil {
			_ = tx.Rollback() // read only: nothing to commit
		}
	}()
	for _, q := range s.Queries {
		var rows []row
		args := []any{s.Practice}
		if q.UsesNow {
			args = append(args, now)
		}
		err := error(nil)
		if tx == nil {
			tx, err = s.begin(ctx)
		}
		if err == nil {
			if err = tx.SelectContext(ctx, &rows, q.SQL, args...); err != nil {
				_ = tx.Rollback() // a failed statement ends its transaction
				tx = nil
			}
		}
		if err != nil {
			s.Errors.Inc()
			s.Log.Error("metric query failed", "metric", q.Desc.String(), "err", err)
			continue
		}
		seen := make(map[string]bool, len(rows))
		for _, r := range rows {
			labels := []string{r.L1, r.L2, r.L3}[:q.Labels]
			seen[strings.Join(labels, "\x00")] = true
			out = append(out, prometheus.MustNewConstMetric(q.Desc, prometheus.GaugeValue, r.V, labels...))
		}
		for _, labels := range q.Zeros {
			if !seen[strings.Join(labels, "\x00")] {
				out = append(out, prometheus.MustNewConstMetric(q.Desc, prometheus.GaugeValue, 0, labels...))
			}
		}
	}
	return out
}

// Each is one label tuple per value.
func Each[T ~string](vs []T) [][]string {
	out := make([][]string, len(vs))
	for i, v := range vs {
		out[i] = []string{string(v)}
	}
	return out
}

// Cross is every pair of a value of a and one of b.
func Cross[A, B ~string](a []A, b []B) [][]string {
	var out [][]string
	for _, x := range a {
		for _, y := range b {
			out = append(out, []string{string(x), string(y)})
		}
	}
	return out
}

// Month is SQL for the first day of the month of $2 (now) in the practice's ($1) zone, the
// key of the monthly rollups.
const Month = `(SELECT (date_trunc('month', $2::timestamptz AT TIME ZONE p.timezone))::date FROM practices p WHERE p.id = $1)`
