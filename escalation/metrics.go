package escalation

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Metrics count the queue's events as this process records them, once the transaction that
// records each commits: items opened, resolved, and the time to their first claim. Every
// process counts its own: sum them over replicas. A nil *Metrics counts nothing.
type Metrics struct {
	opened   *prometheus.CounterVec
	resolved *prometheus.CounterVec
	toClaim  *prometheus.HistogramVec
}

// ClaimBuckets are the upper bounds of the time-to-claim histogram, in seconds: 1, 5, 15 and
// 30 minutes, 1, 4 and 24 hours, 2 and 5 days.
var ClaimBuckets = []float64{60, 300, 900, 1800, 3600, 14400, 86400, 172800, 432000}

// NewMetrics registers the queue's event metrics on reg, every severity, source and outcome
// at 0.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: "escalations_opened_total",
			Help: "Escalation items opened, by severity and source."}, []string{"severity", "source"}),
		resolved: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: "escalations_resolved_total",
			Help: "Escalation items resolved, by outcome."}, []string{"outcome"}),
		toClaim: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "outreach", Name: "escalation_time_to_claim_seconds",
			Help: "Time from an item's opening to its first claim, by severity.", Buckets: ClaimBuckets}, []string{"severity"}),
	}
	for _, sev := range Severities {
		m.toClaim.WithLabelValues(string(sev))
		for _, src := range Sources {
			m.opened.WithLabelValues(string(sev), string(src))
		}
	}
	for _, o := range Outcomes {
		m.resolved.WithLabelValues(o)
	}
	reg.MustRegister(m.opened, m.resolved, m.toClaim)
	return m
}

// Raised counts the item r opened for it, once the transaction of ctx commits; a firing that
// joined an open item counts nothing. Call it after Raise or AddText.
func (m *Metrics) Raised(ctx context.Context, it Item, r Raised) {
	if m == nil || !r.Created {
		return
	}
	aftercommit.Do(ctx, func() { m.opened.WithLabelValues(string(it.Severity), string(it.Source)).Inc() })
}

// firstClaim counts an item's first claim, once the transaction of ctx commits.
func (m *Metrics) firstClaim(ctx context.Context, severity string, wait time.Duration) {
	if m == nil {
		return
	}
	aftercommit.Do(ctx, func() { m.toClaim.WithLabelValues(severity).Observe(wait.Seconds()) })
}

// resolvedWith counts an item resolved, once the transaction of ctx commits.
func (m *Metrics) resolvedWith(ctx context.Context, outcome string) {
	if m == nil {
		return
	}
	aftercommit.Do(ctx, func() { m.resolved.WithLabelValues(outcome).Inc() })
}

// Gauge descriptions of the queue's current state.
var (
	openDesc = prometheus.NewDesc("outreach_escalations_open",
		"Unresolved escalation items, by severity and whether someone holds a claim.", []string{"severity", "claimed"}, nil)
	overdueDesc = prometheus.NewDesc("outreach_escalations_overdue",
		"Unresolved escalation items past their due time, by severity.", []string{"severity"}, nil)
	oldestUrgentDesc = prometheus.NewDesc("outreach_escalation_oldest_unclaimed_urgent_seconds",
		"Age of the oldest urgent item nobody holds; 0 when there is none.", nil, nil)
)

// The gauges read the unresolved items only, through the partial index escalations_unresolved.
const (
	selectOpen = `
SELECT severity AS l1, CAST(status = 'claimed' AND claim_expires_at > $2 AS text) AS l2, '' AS l3, count(*) AS v
FROM escalations WHERE practice_id = $1 AND status <> 'resolved' GROUP BY 1, 2`
	selectOverdue = `
SELECT severity AS l1, '' AS l2, '' AS l3, count(*) AS v
FROM escalations WHERE practice_id = $1 AND status <> 'resolved' AND due_at < $2 GROUP BY 1`
	selectOldestUrgent = `
SELECT '' AS l1, '' AS l2, '' AS l3, COALESCE(extract(epoch FROM $2 - min(created_at)), 0) AS v
FROM escalations WHERE practice_id = $1 AND severity = 'urgent' AND status <> 'resolved'
	AND NOT (status = 'claimed' AND claim_expires_at > $2)`
)

// Gauges returns the collector of the queue's current state: items open and overdue, by
// severity, and the oldest urgent item nobody holds. Register it where the metrics are served.
func Gauges(d *sqlx.DB, p practice.ID, clock func() time.Time, errs prometheus.Counter, log *slog.Logger) *dbgauge.Set {
	return &dbgauge.Set{DB: d, Practice: p, Clock: clock, Errors: errs, Log: log, Queries: []dbgauge.Query{
		{Desc: openDesc, Labels: 2, SQL: selectOpen, UsesNow: true, Zeros: dbgauge.Cross(Severities, []string{"false", "true"})},
		{Desc: overdueDesc, Labels: 1, SQL: selectOverdue, UsesNow: true, Zeros: dbgauge.Each(Severities)},
		{Desc: oldestUrgentDesc, Labels: 0, SQL: selectOldestUrgent, UsesNow: true},
	}}
}
