package outreach

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Label values that every scrape shows from the start.
var (
	// Channels are how check-ins reach patients.
	Channels = []string{"sms", "voice"}
	// EndStatuses are the ways a check-in ends.
	EndStatuses = []string{"completed", "expired", "cancelled", "handed_off"}
	// OutgoingKinds are the kinds of the texts we send.
	OutgoingKinds = []string{"intro", "question", "reask", "reminder", "closing", "safety", "notice", "alert",
		"staff", "confirmation"}
	// CallEndStatuses are the final statuses of a call.
	CallEndStatuses = []string{"completed", "busy", "no-answer", "failed", "cancelled"}
)

// Metrics count the engine's events as this process records them, once the transaction that
// records each commits, and only when a row really changed (a webhook sent twice counts once).
// Every process counts its own: sum them over replicas (sum(rate(...))). A nil *Metrics counts
// nothing.
type Metrics struct {
	created       *prometheus.CounterVec
	ended         *prometheus.CounterVec
	sent          *prometheus.CounterVec
	delivered     prometheus.Counter
	failed        *prometheus.CounterVec
	inbound       prometheus.Counter
	parseFailures *prometheus.CounterVec
	calls         *prometheus.CounterVec
}

// NewMetrics registers the engine's event counters on reg, every check-in counter at 0 for each
// of scripts (the loaded library's ids) and every channel and status.
func NewMetrics(reg prometheus.Registerer, scripts []string) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: name, Help: help}, labels)
	}
	m := &Metrics{
		created: counter("checkins_created_total", "Check-ins started, by script and channel.", "script", "channel"),
		ended: counter("checkins_ended_total", "Check-ins ended, by script, channel and how (completed, expired, cancelled, handed_off).",
			"script", "channel", "status"),
		sent: counter("messages_sent_total", "Texts accepted by the provider, by kind.", "kind"),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "outreach", Name: "messages_delivered_total",
			Help: "Texts reported delivered."}),
		failed: counter("messages_failed_total", "Texts that failed or were undelivered, by provider error code.", "error_code"),
		inbound: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "outreach", Name: "inbound_messages_total",
			Help: "Texts received from patients."}),
		parseFailures: counter("answer_parse_failures_total",
			"Questions given up on after the re-asks (replies that could not be read), by script.", "script"),
		calls: counter("calls_total", "Calls of voice check-ins, by final status.", "status"),
	}
	for _, s := range scripts {
		m.parseFailures.WithLabelValues(s)
		for _, ch := range Channels {
			m.created.WithLabelValues(s, ch)
			for _, st := range EndStatuses {
				m.ended.WithLabelValues(s, ch, st)
			}
		}
	}
	for _, k := range OutgoingKinds {
		m.sent.WithLabelValues(k)
	}
	for _, s := range CallEndStatuses {
		m.calls.WithLabelValues(s)
	}
	reg.MustRegister(m.created, m.ended, m.sent, m.delivered, m.failed, m.inbound, m.parseFailures, m.calls)
	return m
}

// add counts n on the counter c once the transaction of ctx commits.
func (m *Metrics) add(ctx context.Context, n int, c func(m *Metrics) prometheus.Counter) {
	if m == nil || n == 0 {
		return
	}
	aftercommit.Do(ctx, func() { c(m).Add(float64(n)) })
}

// checkinRow is a check-in that a statement ended (or did not: status open).
type checkinRow struct {
	Script  string `db:"script_id"`
	Channel string `db:"channel"`
	Status  string `db:"status"`
}

// checkinsEnded counts check-ins ended; rows still open are not counted.
func (m *Metrics) checkinsEnded(ctx context.Context, rows []checkinRow) {
	for _, r := range rows {
		if r.Status != "open" {
			m.add(ctx, 1, func(m *Metrics) prometheus.Counter { return m.ended.WithLabelValues(r.Script, r.Channel, r.Status) })
		}
	}
}

// textSent counts a text the provider took, of a kind.
func (m *Metrics) textSent(ctx context.Context, kind string) {
	m.add(ctx, 1, func(m *Metrics) prometheus.Counter { return m.sent.WithLabelValues(kind) })
}

// textSettled counts a text that reached a final delivery status: delivered, failed or
// undelivered (with the provider's error code, 0 for none); other statuses count nothing.
func (m *Metrics) textSettled(ctx context.Context, status string, code int) {
	switch status {
	case "delivered":
		m.add(ctx, 1, func(m *Metrics) prometheus.Counter { return m.delivered })
	case "failed", "undelivered":
		label := "none"
		if code != 0 {
			label = strconv.Itoa(code)
		}
		m.add(ctx, 1, func(m *Metrics) prometheus.Counter { return m.failed.WithLabelValues(label) })
	}
}

// textsReceived counts texts stored from patients (or from numbers no patient has).
func (m *Metrics) textsReceived(ctx context.Context, n int) {
	m.add(ctx, n, func(m *Metrics) prometheus.Counter { return m.inbound })
}

// answerGivenUp counts a question of a script given up on.
func (m *Metrics) answerGivenUp(ctx context.Context, script string) {
	m.add(ctx, 1, func(m *Metrics) prometheus.Counter { return m.parseFailures.WithLabelValues(script) })
}

// callsEnded counts calls that reached a final status, by status; others count nothing.
func (m *Metrics) callsEnded(ctx context.Context, statuses []string) {
	for _, s := range statuses {
		if callEnded(s) {
			m.add(ctx, 1, func(m *Metrics) prometheus.Counter { return m.calls.WithLabelValues(s) })
		}
	}
}

// Gauge descriptions of the outreach's current state.
var (
	optedOutDesc = prometheus.NewDesc("outreach_patients_opted_out",
		"Patients opted out of outreach, by how (sms, voice, carrier, staff).", []string{"source"}, nil)
	outboxDepthDesc = prometheus.NewDesc("outreach_outbox_depth",
		"Texts and calls waiting to go out (due or not), by kind.", []string{"kind"}, nil)
	outboxAgeDesc = prometheus.NewDesc("outreach_outbox_oldest_due_seconds",
		"How long the oldest due text or call has waited, by kind; 0 when none is due.", []string{"kind"}, nil)
	outboxUnknownDesc = prometheus.NewDesc("outreach_outbox_unknown",
		"Sends whose outcome is not known yet, by kind.", []string{"kind"}, nil)
	completionDesc = prometheus.NewDesc("outreach_checkin_completion_ratio",
		"Share of this month's check-ins that were completed, by script.", []string{"script"}, nil)
)

// OptOutSources are how patients opt out.
var OptOutSources = []string{"sms", "voice", "carrier", "staff"}

// Each statement reads only the rows that are open or due, through a partial index, or a
// month's rollup row: none grows with history.
const (
	selectOptedOut = `
SELECT opt_out_source AS l1, '' AS l2, '' AS l3, count(*) AS v
FROM patients WHERE practice_id = $1 AND opted_out_at IS NOT NULL GROUP BY 1`
	selectOutboxDepth = `
SELECT 'message' AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = $1 AND status = 'queued'
UNION ALL SELECT 'call', '', '', count(*) FROM calls WHERE practice_id = $1 AND status = 'queued'`
	selectOutboxAge = `
SELECT 'message' AS l1, '' AS l2, '' AS l3, COALESCE(extract(epoch FROM $2 - min(next_attempt_at)), 0) AS v
FROM messages WHERE practice_id = $1 AND status = 'queued' AND next_attempt_at <= $2
UNION ALL SELECT 'call', '', '', COALESCE(extract(epoch FROM $2 - min(next_attempt_at)), 0)
FROM calls WHERE practice_id = $1 AND status = 'queued' AND next_attempt_at <= $2`
	selectOutboxUnknown = `
SELECT 'message' AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = $1 AND status = 'unknown'
UNION ALL SELECT 'call', '', '', count(*) FROM calls WHERE practice_id = $1 AND status = 'unknown'`
	// selectCompletion reads this month's rollup (checkin_months, kept by triggers on checkins).
	selectCompletion = `
SELECT script_id AS l1, '' AS l2, '' AS l3, sum(completed)::float8 / sum(started) AS v
FROM checkin_months WHERE practice_id = $1 AND month = ` + dbgauge.Month + `
GROUP BY 1 HAVING sum(started) > 0`
)

// Gauges returns the collector of the outreach's current state: patients opted out, the
// outboxes, and this month's completion per script (each of scripts shown from 0). Register it
// where the metrics are served.
func Gauges(d *sqlx.DB, p practice.ID, scripts []string, clock func() time.Time, errs prometheus.Counter, log *slog.Logger) *dbgauge.Set {
	kinds := dbgauge.Each([]string{"message", "call"})
	return &dbgauge.Set{DB: d, Practice: p, Clock: clock, Errors: errs, Log: log, Queries: []dbgauge.Query{
		{Desc: optedOutDesc, Labels: 1, SQL: selectOptedOut, Zeros: dbgauge.Each(OptOutSources)},
		{Desc: outboxDepthDesc, Labels: 1, SQL: selectOutboxDepth, Zeros: kinds},
		{Desc: outboxAgeDesc, Labels: 1, SQL: selectOutboxAge, UsesNow: true, Zeros: kinds},
		{Desc: outboxUnknownDesc, Labels: 1, SQL: selectOutboxUnknown, Zeros: kinds},
		{Desc: completionDesc, Labels: 1, SQL: selectCompletion, UsesNow: true, Zeros: dbgauge.Each(scripts)},
	}}
}
