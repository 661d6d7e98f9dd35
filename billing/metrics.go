package billing

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
)

// Metrics exports the current month's billing figures (patients at each code and near the next
// one, the RPM device codes, what the codes are worth) from billing_month_figures, so that a
// scrape reads a few rows. Refresh keeps them up to date: the database marks them stale when a
// fact of the report changes, and one replica at a time recomputes a stale month's report at
// most every Every. They are the same on every replica: aggregate them with max().
type Metrics struct {
	Store *Store
	// Every is the least time between two computations of the report (0: 5 minutes).
	Every time.Duration
	Log   *slog.Logger

	errors prometheus.Counter
}

var (
	atThreshold = prometheus.NewDesc("outreach_billing_patients",
		"Patients billable this month, by program and code.", []string{"program", "code"}, nil)
	nearNext = prometheus.NewDesc("outreach_billing_patients_near_next",
		"Patients within 10 minutes of their next code this month, by program and code.", []string{"program", "code"}, nil)
	deviceCodes = prometheus.NewDesc("outreach_rpm_patients_device_code",
		"RPM patients billable this month for each device code (99453 set-up, 99454 16+ days of data, 99445 2 to 15 days); 0 for a code nobody reached.",
		[]string{"code"}, nil)
	expectedRevenue = prometheus.NewDesc("outreach_billing_expected_dollars",
		"What this month's billable codes are worth so far, by program.", []string{"program"}, nil)
)

// NewMetrics returns the month figures' metrics of store's practice.
func NewMetrics(store *Store, every time.Duration, log *slog.Logger) *Metrics {
	return &Metrics{Store: store, Every: every, Log: log,
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "outreach", Name: "billing_figures_errors_total",
			Help: "Reads and computations of the billing month figures that failed (a failed read leaves the figures out of that scrape)."})}
}

// Describe sends the metrics' descriptions.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- atThreshold
	ch <- nearNext
	ch <- deviceCodes
	ch <- expectedRevenue
	m.errors.Describe(ch)
}

const selectFigures = `
SELECT program, code, patients, near_next, cents FROM billing_month_figures
WHERE practice_id = $1 AND month = $2`

// Collect sends the figures of the month of now: every program and code the engine bills, 0
// until the figures of the month are computed.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	defer m.errors.Collect(ch)
	s := m.Store
	now := s.Clock()
	month := MonthOf(now, s.Location)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stored []struct {
		Program  string `db:"program"`
		Code     string `db:"code"`
		Patients int    `db:"patients"`
		NearNext int    `db:"near_next"`
		Cents    int64  `db:"cents"`
	}
	if err := s.DB.SelectContext(ctx, &stored, selectFigures, int64(s.Practice), month.FirstDay().Format(time.DateOnly)); err != nil {
		m.errors.Inc()
		m.Log.Error("metric query failed", "metric", "billing", "err", err)
		return
	}
	figures := MonthFigures(Report{}, now, s.Location) // every program and code at 0
	index := map[[2]string]int{}
	for i, f := range figures {
		index[[2]string{string(f.Program), string(f.Code)}] = i
	}
	for _, r := range stored {
		f := Figure{Program: care.Program(r.Program), Code: Code(r.Code), Patients: r.Patients, NearNext: r.NearNext, Cents: r.Cents}
		if i, ok := index[[2]string{r.Program, r.Code}]; ok {
			figures[i] = f
		} else {
			figures = append(figures, f)
		}
	}
	dollars := map[care.Program]float64{}
	var programs []care.Program
	for _, f := range figures {
		ch <- prometheus.MustNewConstMetric(atThreshold, prometheus.GaugeValue, float64(f.Patients), string(f.Program), string(f.Code))
		ch <- prometheus.MustNewConstMetric(nearNext, prometheus.GaugeValue, float64(f.NearNext), string(f.Program), string(f.Code))
		if _, ok := dollars[f.Program]; !ok {
			programs = append(programs, f.Program)
		}
		dollars[f.Program] += float64(f.Cents) / 100
	}
	for _, c := range DeviceCodes() {
		ch <- prometheus.MustNewConstMetric(deviceCodes, prometheus.GaugeValue, float64(figures[index[[2]string{string(care.RPM), string(c)}]].Patients), string(c))
	}
	for _, p := range programs {
		ch <- prometheus.MustNewConstMetric(expectedRevenue, prometheus.GaugeValue, dollars[p], string(p))
	}
}

// figuresLock is the first key of the session advisory lock (the second is the practice) that
// lets one replica at a time compute a practice's figures.
const figuresLock = 0x62696c6c // "bill"

const selectFiguresState = `
SELECT stale, month, attempted_at FROM billing_figures_state WHERE practice_id = $1`

// claimFigures marks the figures fresh as their computation begins, and returns the transactions
// of the database that are writing then: a change they made while the figures were already
// stale marked nothing, so the computation must see them committed (see writing).
const claimFigures = `
INSERT INTO billing_figures_state (practice_id, stale, attempted_at) VALUES ($1, false, $2)
ON CONFLICT (practice_id) DO UPDATE SET stale = false, attempted_at = $2
RETURNING (SELECT CAST(coalesce(array_agg(backend_xid), '{}') AS text) FROM pg_stat_activity
           WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid())`

// writing reports whether any of the transactions is still in progress.
const writing = `
SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_xid = ANY(CAST($1 AS xid[])))`

const deleteFigures = `DELETE FROM billing_month_figures WHERE practice_id = $1`

const insertFigures = `
INSERT INTO billing_month_figures (practice_id, month, program, code, patients, near_next, cents)
SELECT $1, CAST($2 AS date), * FROM unnest(CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS int[]), CAST($6 AS int[]), CAST($7 AS bigint[]))`

const updateFiguresState = `
UPDATE billing_figures_state SET stale = stale OR $2, month = $3, computed_at = $4 WHERE practice_id = $1`

const markStale = `UPDATE billing_figures_state SET stale = true WHERE practice_id = $1`

// MarkStale marks the practice's figures stale, as a change of their facts does: the rates, the
// fee schedule or the practice's choices may have changed since they were computed.
func (m *Metrics) MarkStale(ctx context.Context) error {
	if _, err := m.Store.DB.ExecContext(ctx, markStale, int64(m.Store.Practice)); err != nil {
		return fmt.Errorf("error marking the billing figures stale: %w", err)
	}
	return nil
}

// Refresh computes the figures of the current month when they are stale or of another month,
// unless a computation began less than Every ago or another replica is computing them; it
// reports whether it computed them.
func (m *Metrics) Refresh(ctx context.Context) (bool, error) {
	s := m.Store
	conn, err := s.DB.Connx(ctx)
	if err != nil {
		return false, fmt.Errorf("error connecting to compute the billing figures: %w", err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.GetContext(ctx, &locked, `SELECT pg_try_advisory_lock($1, $2)`, figuresLock, int32(s.Practice)); err != nil {
		return false, fmt.Errorf("error taking the billing figures lock: %w", err)
	}
	if !locked {
		return false, nil
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, figuresLock, int32(s.Practice)); err != nil {
			// The session keeps the lock: close it rather than hand it back to the pool.
			m.Log.Error("error releasing the billing figures lock", "err", err)
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	now := s.Clock()
	month := MonthOf(now, s.Location)
	var state struct {
		Stale       bool       `db:"stale"`
		Month       *time.Time `db:"month"`
		AttemptedAt *time.Time `db:"attempted_at"`
	}
	err = conn.GetContext(ctx, &state, selectFiguresState, int64(s.Practice))
	switch {
	case db.IsNoRows(err):
		state.Stale = true
	case err != nil:
		return false, fmt.Errorf("error reading the billing figures' state: %w", err)
	}
	every := m.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	current := state.Month != nil && dateOnly(*state.Month).Equal(month.FirstDay())
	if !state.Stale && current || state.AttemptedAt != nil && now.Sub(*state.AttemptedAt) < every && !now.Before(*state.AttemptedAt) {
		return false, nil
	}
	if err := m.compute(ctx, conn, month, now); err != nil {
		m.errors.Inc()
		if _, merr := conn.ExecContext(context.WithoutCancel(ctx), markStale, int64(s.Practice)); merr != nil {
			m.Log.Error("error marking the billing figures stale again", "err", merr)
		}
		return false, err
	}
	return true, nil
}

// compute computes the month's figures at now on conn and stores them.
func (m *Metrics) compute(ctx context.Context, conn *sqlx.Conn, month Month, now time.Time) error {
	s := m.Store
	var claimed string
	if err := conn.GetContext(ctx, &claimed, claimFigures, int64(s.Practice), now); err != nil {
		return fmt.Errorf("error claiming the billing figures: %w", err)
	}
	// Wait a little for the transactions writing at the claim to end, so that the snapshot
	// sees what they wrote; the figures of a computation that could not wait stay stale.
	var missed bool
	for deadline := time.Now().Add(2 * time.Second); ; {
		if err := conn.GetContext(ctx, &missed, writing, claimed); err != nil {
			return fmt.Errorf("error checking the transactions in progress: %w", err)
		}
		if !missed || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	var in Input
	var entries *monthEntries
	err := db.WithTxOptions(ctx, conn, db.Snapshot, func(tx *sqlx.Tx) error {
		var err error
		in, entries, err = s.load(ctx, tx, month)
		return err
	})
	if err != nil {
		return err
	}
	rep, err := run(in, entries)
	if err != nil {
		return err
	}
	figures := MonthFigures(rep, now, s.Location)
	var programs, codes []string
	var patients, near []int64
	var cents []int64
	for _, f := range figures {
		programs, codes = append(programs, string(f.Program)), append(codes, string(f.Code))
		patients, near, cents = append(patients, int64(f.Patients)), append(near, int64(f.NearNext)), append(cents, f.Cents)
	}
	first := month.FirstDay().Format(time.DateOnly)
	return db.WithTxOptions(ctx, conn, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteFigures, int64(s.Practice)); err != nil {
			return fmt.Errorf("error replacing the billing figures: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insertFigures, int64(s.Practice), first, pq.Array(programs), pq.Array(codes),
			pq.Array(patients), pq.Array(near), pq.Array(cents)); err != nil {
			return fmt.Errorf("error storing the billing figures: %w", err)
		}
		if _, err := tx.ExecContext(ctx, updateFiguresState, int64(s.Practice), missed, first, now); err != nil {
			return fmt.Errorf("error storing the billing figures' state: %w", err)
		}
		return nil
	})
}

// Run marks the figures stale (the configuration they are computed with may have changed),
// then refreshes them every minute until ctx ends, the first time a minute after it starts:
// a server just started answers its first requests and scrapes before it computes a month's
// report. Failures are logged and counted.
func (m *Metrics) Run(ctx context.Context) {
	if err := m.MarkStale(ctx); err != nil {
		m.errors.Inc()
		m.Log.Error("billing figures", "err", err)
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
			m.Log.Error("error computing the billing figures", "err", err)
		}
	}
}
