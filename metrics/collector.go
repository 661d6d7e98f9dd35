// Package metrics holds what the domain packages' metrics share no home for: this process's
// own work (Runtime: requests to the provider, dispatch passes, scheduler ticks) and the billing
// thresholds (Collector). The engine's events are counted by the packages where they happen
// (outreach, escalation, monitoring) and their gauges read by the owners of the tables
// (outreach, escalation, timelog); cmd/outreach registers them all.
//
// Counters are per process: aggregate them with sum(rate(...)) over replicas. Gauges read from
// the database are the same on every replica: aggregate them with max().
package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/care"
)

// Collector computes this month's billing thresholds of one practice from its billing report.
type Collector struct {
	Billing *billing.Store
	Clock   func() time.Time
	// BillingEvery is how often the threshold counts are recomputed (0: 5 minutes): they run
	// the month's billing report, far heavier than the other queries and slow to change.
	BillingEvery time.Duration
	Errors       prometheus.Counter // failed reports (outreach_metrics_query_errors_total)
	Log          *slog.Logger

	mu       sync.Mutex
	billedAt time.Time
	billed   []prometheus.Metric
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("outreach", "", name), help, labels, nil)
}

var (
	atThreshold     = desc("billing_patients", "Patients billable this month, by program and code.", "program", "code")
	nearNext        = desc("billing_patients_near_next", "Patients within 10 minutes of their next code this month, by program and code.", "program", "code")
	deviceCodes     = desc("rpm_patients_device_code", "RPM patients billable this month for each device code (99453 set-up, 99454 16+ days of data, 99445 2 to 15 days); 0 for a code nobody reached.", "code")
	expectedRevenue = desc("billing_expected_dollars", "What this month's billable codes are worth so far, by program.", "program")
)

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{atThreshold, nearNext, deviceCodes, expectedRevenue} {
		ch <- d
	}
}

// Collect sends the threshold counts, recomputed when they are older than BillingEvery.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	every := c.BillingEvery
	if every <= 0 {
		every = 5 * time.Minute
	}
	if now := c.Clock(); c.billed == nil || now.Sub(c.billedAt) >= every || now.Before(c.billedAt) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.billed, c.billedAt = c.billing(ctx, now), now
		cancel()
	}
	for _, m := range c.billed {
		ch <- m
	}
}

// billing counts this month's patients at each code and near the next one, and the RPM
// patients at each device code (every device code, 0 when nobody reached it).
func (c *Collector) billing(ctx context.Context, now time.Time) []prometheus.Metric {
	m := billing.MonthOf(now, c.Billing.Location)
	rep, err := c.Billing.Report(ctx, m)
	if err != nil {
		c.Errors.Inc()
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
