// Package metrics exports what managers watch: check-ins, messages, the queue, staff time and
// billing thresholds, computed from the database by a collector that caches its answers for a
// few seconds (a scrape never runs the queries twice within the cache time), and the timing of
// the engine's work (sends, dispatch passes, scheduler ticks). Labels are bounded: script,
// channel, status, severity, program, code, outcome, error code; never a patient or staff id.
//
// The database-derived counters are the same on every replica: aggregate them with max(), not
// sum().
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Collector computes the database-derived metrics of one practice.
type Collector struct {
	DB       *sqlx.DB
	Practice practice.ID
	Location *time.Location
	Billing  *billing.Store // threshold counts; nil leaves them out
	Clock    func() time.Time
	CacheFor time.Duration // 0: 15 seconds
	// BillingEvery is how often the threshold counts are recomputed (0: 5 minutes): they run
	// the month's billing report, far heavier than the other queries and slow to change.
	BillingEvery time.Duration
	Log          *slog.Logger

	mu       sync.Mutex
	at       time.Time
	metrics  []prometheus.Metric
	billedAt time.Time
	billed   []prometheus.Metric
	errors   float64 // queries failed so far
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("outreach", "", name), help, labels, nil)
}

var (
	checkinsCreated   = desc("checkins_created_total", "Check-ins started, by script and channel.", "script", "channel")
	checkinsEnded     = desc("checkins_ended_total", "Check-ins ended, by script, channel and how (completed, expired, cancelled, handed_off).", "script", "channel", "status")
	completionRatio   = desc("checkin_completion_ratio", "Share of this month's check-ins that were completed, by script.", "script")
	messagesSent      = desc("messages_sent_total", "Texts accepted by the provider, by kind.", "kind")
	messagesDelivered = desc("messages_delivered_total", "Texts reported delivered.")
	messagesFailed    = desc("messages_failed_total", "Texts that failed or were undelivered, by provider error code.", "error_code")
	inbound           = desc("inbound_messages_total", "Texts received from patients.")
	parseFailures     = desc("answer_parse_failures_total", "Questions given up on after the re-asks (replies that could not be read), by script.", "script")
	optedOut          = desc("patients_opted_out", "Patients opted out of outreach, by how (sms, voice, carrier, staff).", "source")
	calls             = desc("calls_total", "Calls of voice check-ins, by final status.", "status")
	escalationsOpened = desc("escalations_opened_total", "Escalation items opened, by severity and source.", "severity", "source")
	escalationsDone   = desc("escalations_resolved_total", "Escalation items resolved, by outcome.", "outcome")
	escalationsOpen   = desc("escalations_open", "Unresolved escalation items, by severity and whether someone holds a claim.", "severity", "claimed")
	escalationsLate   = desc("escalations_overdue", "Unresolved escalation items past their due time, by severity.", "severity")
	oldestUrgent      = desc("escalation_oldest_unclaimed_urgent_seconds", "Age of the oldest urgent item nobody holds; 0 when there is none.")
	outboxDepth       = desc("outbox_depth", "Texts and calls waiting to go out (due or not), by kind.", "kind")
	outboxAge         = desc("outbox_oldest_due_seconds", "How long the oldest due text or call has waited, by kind; 0 when none is due.", "kind")
	outboxUnknown     = desc("outbox_unknown", "Sends whose outcome is not known yet, by kind.", "kind")
	careTime          = desc("care_time_seconds", "Staff time logged this month (current versions), by program.", "program")
	atThreshold       = desc("billing_patients", "Patients billable this month, by program and code.", "program", "code")
	nearNext          = desc("billing_patients_near_next", "Patients within 10 minutes of their next code this month, by program and code.", "program", "code")
	deviceCodes       = desc("rpm_patients_device_code", "RPM patients billable this month for each device code (99453 set-up, 99454 16+ days of data, 99445 2 to 15 days); 0 for a code nobody reached.", "code")
	expectedRevenue   = desc("billing_expected_dollars", "What this month's billable codes are worth so far, by program.", "program")
	timeToClaim       = desc("escalation_time_to_claim_seconds", "Time from an item's opening to its first claim, by severity.", "severity")
	scrapeErrors      = desc("metrics_query_errors_total", "Metric queries that failed (their metrics are left out of that scrape).")
)

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{checkinsCreated, checkinsEnded, completionRatio, messagesSent, messagesDelivered,
		messagesFailed, inbound, parseFailures, optedOut, calls, escalationsOpened, escalationsDone, escalationsOpen,
		escalationsLate, oldestUrgent, outboxDepth, outboxAge, outboxUnknown, careTime, atThreshold, nearNext,
		deviceCodes, expectedRevenue, timeToClaim, scrapeErrors} {
		ch <- d
	}
}

// Collect sends the metrics, recomputed when the cache is older than CacheFor.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cache := c.CacheFor
	if cache <= 0 {
		cache = 15 * time.Second
	}
	if now := c.Clock(); c.metrics == nil || now.Sub(c.at) >= cache || now.Before(c.at) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.metrics = c.compute(ctx, now)
		cancel()
		c.at = now
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

// row is one labelled value of a query.
type row struct {
	L1 string  `db:"l1"`
	L2 string  `db:"l2"`
	L3 string  `db:"l3"`
	V  float64 `db:"v"`
}

// queries are the metrics read with one statement each, with named arguments :practice, :now
// and :month (the start of the practice's month).
var queries = []struct {
	desc   *prometheus.Desc
	kind   prometheus.ValueType
	labels int
	sql    string
	zeros  [][]string // the label values every scrape shows, 0 when the query has no row for them
}{
	{checkinsCreated, prometheus.CounterValue, 2, `SELECT script_id AS l1, channel AS l2, '' AS l3, count(*) AS v FROM checkins WHERE practice_id = :practice GROUP BY 1, 2`, nil},
	{checkinsEnded, prometheus.CounterValue, 3, `SELECT script_id AS l1, channel AS l2, status AS l3, count(*) AS v FROM checkins WHERE practice_id = :practice AND status <> 'open' GROUP BY 1, 2, 3`, nil},
	{completionRatio, prometheus.GaugeValue, 1, `SELECT script_id AS l1, '' AS l2, '' AS l3, avg(CAST(status = 'completed' AS int)) AS v FROM checkins WHERE practice_id = :practice AND started_at >= :month AND started_at <= :now GROUP BY 1`, nil},
	{messagesSent, prometheus.CounterValue, 1, `SELECT kind AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = :practice AND direction = 'out' AND sent_at IS NOT NULL GROUP BY 1`, nil},
	{messagesDelivered, prometheus.CounterValue, 0, `SELECT '' AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = :practice AND status = 'delivered'`, nil},
	{messagesFailed, prometheus.CounterValue, 1, `SELECT COALESCE(CAST(error_code AS text), 'none') AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = :practice AND status IN ('failed', 'undelivered') GROUP BY 1`, nil},
	{inbound, prometheus.CounterValue, 0, `SELECT '' AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = :practice AND direction = 'in'`, nil},
	{parseFailures, prometheus.CounterValue, 1, `SELECT c.script_id AS l1, '' AS l2, '' AS l3, count(*) AS v FROM checkin_answers a JOIN checkins c ON c.practice_id = a.practice_id AND c.id = a.checkin_id WHERE a.practice_id = :practice AND a.value = '' GROUP BY 1`, nil},
	{optedOut, prometheus.GaugeValue, 1, `SELECT opt_out_source AS l1, '' AS l2, '' AS l3, count(*) AS v FROM patients WHERE practice_id = :practice AND opted_out_at IS NOT NULL GROUP BY 1`, nil},
	{calls, prometheus.CounterValue, 1, `SELECT status AS l1, '' AS l2, '' AS l3, count(*) AS v FROM calls WHERE practice_id = :practice AND call_status_rank(status) = 6 GROUP BY 1`, nil},
	{escalationsOpened, prometheus.CounterValue, 2, `SELECT severity AS l1, source AS l2, '' AS l3, count(*) AS v FROM escalations WHERE practice_id = :practice GROUP BY 1, 2`, cross(severities, sources)},
	{escalationsDone, prometheus.CounterValue, 1, `SELECT outcome AS l1, '' AS l2, '' AS l3, count(*) AS v FROM escalations WHERE practice_id = :practice AND status = 'resolved' GROUP BY 1`, each(escalation.Outcomes)},
	{escalationsOpen, prometheus.GaugeValue, 2, `SELECT severity AS l1, CAST(status = 'claimed' AND claim_expires_at > :now AS text) AS l2, '' AS l3, count(*) AS v FROM escalations WHERE practice_id = :practice AND status <> 'resolved' GROUP BY 1, 2`, cross(severities, []string{"false", "true"})},
	{escalationsLate, prometheus.GaugeValue, 1, `SELECT severity AS l1, '' AS l2, '' AS l3, count(*) AS v FROM escalations WHERE practice_id = :practice AND status <> 'resolved' AND due_at < :now GROUP BY 1`, each(severities)},
	{oldestUrgent, prometheus.GaugeValue, 0, `SELECT '' AS l1, '' AS l2, '' AS l3, COALESCE(extract(epoch FROM :now - min(created_at)), 0) AS v FROM escalations WHERE practice_id = :practice AND severity = 'urgent' AND status <> 'resolved' AND NOT (status = 'claimed' AND claim_expires_at > :now)`, nil},
	{outboxDepth, prometheus.GaugeValue, 1, `SELECT 'message' AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = :practice AND status = 'queued' UNION ALL SELECT 'call', '', '', count(*) FROM calls WHERE practice_id = :practice AND status = 'queued'`, nil},
	{outboxAge, prometheus.GaugeValue, 1, `SELECT 'message' AS l1, '' AS l2, '' AS l3, COALESCE(extract(epoch FROM :now - min(next_attempt_at)), 0) AS v FROM messages WHERE practice_id = :practice AND status = 'queued' AND next_attempt_at <= :now UNION ALL SELECT 'call', '', '', COALESCE(extract(epoch FROM :now - min(next_attempt_at)), 0) FROM calls WHERE practice_id = :practice AND status = 'queued' AND next_attempt_at <= :now`, nil},
	{outboxUnknown, prometheus.GaugeValue, 1, `SELECT 'message' AS l1, '' AS l2, '' AS l3, count(*) AS v FROM messages WHERE practice_id = :practice AND status = 'unknown' UNION ALL SELECT 'call', '', '', count(*) FROM calls WHERE practice_id = :practice AND status = 'unknown'`, nil},
	{careTime, prometheus.GaugeValue, 1, `SELECT program AS l1, '' AS l2, '' AS l3, COALESCE(sum(extract(epoch FROM ended_at - started_at)), 0) AS v FROM time_entries e WHERE practice_id = :practice AND started_at >= :month AND started_at <= :now AND NOT voided AND NOT EXISTS (SELECT 1 FROM time_entries n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id) GROUP BY 1`, each(programs)},
}

// Label values that every scrape shows, as label tuples.
var (
	severities = names(escalation.Severities)
	sources    = names(escalation.Sources)
	programs   = names(care.Programs)
)

// names turns a list of string-typed values into strings.
func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// each is one tuple per value; cross is every pair of a value of a and one of b.
func each(a []string) [][]string {
	out := make([][]string, len(a))
	for i, v := range a {
		out[i] = []string{v}
	}
	return out
}

func cross(a, b []string) [][]string {
	var out [][]string
	for _, x := range a {
		for _, y := range b {
			out = append(out, []string{x, y})
		}
	}
	return out
}

// compute runs every query; one that fails is logged, counted and left out.
func (c *Collector) compute(ctx context.Context, now time.Time) []prometheus.Metric {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	month := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	var out []prometheus.Metric
	for _, q := range queries {
		var rows []row
		query, args, err := sqlx.Named(q.sql, map[string]any{"practice": c.Practice, "now": now, "month": month})
		if err == nil {
			err = c.DB.SelectContext(ctx, &rows, c.DB.Rebind(query), args...)
		}
		if err != nil {
			c.errors++
			c.Log.Error("metric query failed", "metric", q.desc.String(), "err", err)
			continue
		}
		seen := make(map[string]bool, len(rows))
		for _, r := range rows {
			labels := []string{r.L1, r.L2, r.L3}[:q.labels]
			seen[strings.Join(labels, "\x00")] = true
			out = append(out, prometheus.MustNewConstMetric(q.desc, q.kind, r.V, labels...))
		}
		for _, labels := range q.zeros {
			if !seen[strings.Join(labels, "\x00")] {
				out = append(out, prometheus.MustNewConstMetric(q.desc, q.kind, 0, labels...))
			}
		}
	}
	out = append(out, c.claimTimes(ctx)...)
	if c.Billing != nil {
		every := c.BillingEvery
		if every <= 0 {
			every = 5 * time.Minute
		}
		if c.billed == nil || now.Sub(c.billedAt) >= every || now.Before(c.billedAt) {
			c.billed, c.billedAt = c.billing(ctx, now), now
		}
		out = append(out, c.billed...)
	}
	return append(out, prometheus.MustNewConstMetric(scrapeErrors, prometheus.CounterValue, c.errors))
}

// billing counts this month's patients at each code and near the next one, and the RPM
// patients at each device code (every device code, 0 when nobody reached it).
func (c *Collector) billing(ctx context.Context, now time.Time) []prometheus.Metric {
	m := billing.MonthOf(now, c.Billing.Location)
	rep, err := c.Billing.Report(ctx, m)
	if err != nil {
		c.errors++
		c.Log.Error("metric query failed", "metric", "billing", "err", err)
		return nil
	}
	type key struct{ program, code string }
	at, near := map[key]int{}, map[key]int{}
	revenue := map[string]int64{}
	device := map[billing.Code]int{}
	for _, c := range billing.DeviceCodes() {
		device[c] = 0
	}
	for _, r := range rep.Rows {
		for _, cl := range r.Codes {
			at[key{string(r.Program), string(cl.Code)}]++
			if _, ok := device[cl.Code]; ok && r.Program == care.RPM {
				device[cl.Code]++
			}
		}
		revenue[string(r.Program)] += r.AmountCents
	}
	for _, w := range billing.Worklist(rep.Report, now, c.Billing.Location, 10) {
		near[key{string(w.Program), string(w.Code)}]++
	}
	var out []prometheus.Metric
	for k, n := range at {
		out = append(out, prometheus.MustNewConstMetric(atThreshold, prometheus.GaugeValue, float64(n), k.program, k.code))
	}
	for k, n := range near {
		out = append(out, prometheus.MustNewConstMetric(nearNext, prometheus.GaugeValue, float64(n), k.program, k.code))
	}
	for code, n := range device {
		out = append(out, prometheus.MustNewConstMetric(deviceCodes, prometheus.GaugeValue, float64(n), string(code)))
	}
	for p, cents := range revenue {
		out = append(out, prometheus.MustNewConstMetric(expectedRevenue, prometheus.GaugeValue, float64(cents)/100, p))
	}
	return out
}

// claimBuckets are the upper bounds of the time-to-claim histogram, in seconds: 1, 5, 15 and
// 30 minutes, 1, 4 and 24 hours, 2 and 5 days.
var claimBuckets = []float64{60, 300, 900, 1800, 3600, 14400, 86400, 172800, 432000}

// selectClaimTimes counts the first claims per severity into the buckets, in the database.
var selectClaimTimes = func() string {
	var b strings.Builder
	b.WriteString("SELECT severity, count(*) AS n, COALESCE(sum(w), 0) AS total, ARRAY[")
	for i, le := range claimBuckets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "count(*) FILTER (WHERE w <= %g)", le)
	}
	b.WriteString(`] AS counts
FROM (SELECT severity, extract(epoch FROM first_claimed_at - created_at) AS w FROM escalations
	WHERE practice_id = $1 AND first_claimed_at IS NOT NULL) x
GROUP BY 1`)
	return b.String()
}()

// claimTimes builds the time-to-claim histogram from the items' first claims: the same on every
// replica, and complete across restarts.
func (c *Collector) claimTimes(ctx context.Context) []prometheus.Metric {
	var rows []struct {
		Severity string        `db:"severity"`
		N        uint64        `db:"n"`
		Total    float64       `db:"total"`
		Counts   pq.Int64Array `db:"counts"`
	}
	if err := c.DB.SelectContext(ctx, &rows, selectClaimTimes, c.Practice); err != nil {
		c.errors++
		c.Log.Error("metric query failed", "metric", "escalation_time_to_claim_seconds", "err", err)
		return nil
	}
	var out []prometheus.Metric
	for _, r := range rows {
		buckets := make(map[float64]uint64, len(claimBuckets))
		for i, le := range claimBuckets {
			if i < len(r.Counts) {
				buckets[le] = uint64(r.Counts[i])
			}
		}
		out = append(out, prometheus.MustNewConstHistogram(timeToClaim, r.N, r.Total, buckets, r.Severity))
	}
	return out
}
