// Package metrics measures this process's own work that belongs to no domain package: requests
// to the messaging provider, dispatch passes and scheduler ticks. The engine's events are
// counted by the packages where they happen (outreach, escalation, monitoring), their gauges
// and month figures read by the owners of the tables (outreach, escalation, timelog, billing);
// cmd/outreach registers them all.
//
// Counters are per process: aggregate them with sum(rate(...)) over replicas. Gauges read from
// the database are the same on every replica: aggregate them with max().
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/outreach"
)

// Runtime measures this replica's own work: requests to the provider, dispatch passes and
// scheduler ticks. Sum these over replicas.
type Runtime struct {
	requests *prometheus.HistogramVec
	failures *prometheus.CounterVec
	dispatch prometheus.Histogram
	lastTick prometheus.Gauge
	ticks    *prometheus.CounterVec
}

// NewRuntime registers the runtime metrics on reg.
func NewRuntime(reg prometheus.Registerer) *Runtime {
	r := &Runtime{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "outreach", Name: "provider_request_duration_seconds",
			Help:    "Time of requests to the messaging provider, by operation (send_sms, start_call, find_sms) and outcome (ok, retry, final, ambiguous).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 15}}, []string{"operation", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: "provider_errors_total",
			Help: "Failed requests to the provider, by operation, failure class and the provider's error code (0: none given)."},
			[]string{"operation", "outcome", "error_code"}),
		dispatch: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "outreach", Name: "dispatch_pass_duration_seconds",
			Help: "Time of one pass of the outbox (claim, send, record).", Buckets: prometheus.ExponentialBuckets(.005, 3, 9)}),
		lastTick: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "outreach", Name: "scheduler_last_tick_timestamp_seconds",
			Help: "When the scheduler's minute last ran, in Unix seconds."}),
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: "scheduler_ticks_total",
			Help: "Scheduler minutes run, by result (ok, error)."}, []string{"result"}),
	}
	reg.MustRegister(r)
	return r
}

// Describe sends the runtime metrics' descriptions.
func (r *Runtime) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.collectors() {
		c.Describe(ch)
	}
}

// Collect sends the runtime metrics.
func (r *Runtime) Collect(ch chan<- prometheus.Metric) {
	for _, c := range r.collectors() {
		c.Collect(ch)
	}
}

func (r *Runtime) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.requests, r.failures, r.dispatch, r.lastTick, r.ticks}
}

// Tick records a scheduler minute that ended at t.
func (r *Runtime) Tick(t time.Time, failed bool) {
	r.lastTick.Set(float64(t.Unix()))
	result := "ok"
	if failed {
		result = "error"
	}
	r.ticks.WithLabelValues(result).Inc()
}

// Dispatched records one pass of the outbox.
func (r *Runtime) Dispatched(d time.Duration) { r.dispatch.Observe(d.Seconds()) }

// Channel wraps a channel so that each request to the provider is timed and its failures
// counted by class and code.
func (r *Runtime) Channel(ch outreach.Channel) outreach.Channel {
	return &timedChannel{next: ch, rt: r}
}

type timedChannel struct {
	next outreach.Channel
	rt   *Runtime
}

func (t *timedChannel) observe(op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		se := outreach.AsSendError(err)
		outcome = map[outreach.Failure]string{outreach.Retry: "retry", outreach.Final: "final", outreach.Ambiguous: "ambiguous"}[se.Failure]
		t.rt.failures.WithLabelValues(op, outcome, strconv.Itoa(se.Code)).Inc()
	}
	t.rt.requests.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

func (t *timedChannel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	start := time.Now()
	sid, err := t.next.SendSMS(ctx, m)
	t.observe("send_sms", start, err)
	return sid, err
}

func (t *timedChannel) StartCall(ctx context.Context, c outreach.Call) (string, error) {
	start := time.Now()
	sid, err := t.next.StartCall(ctx, c)
	t.observe("start_call", start, err)
	return sid, err
}

func (t *timedChannel) FindSMS(ctx context.Context, to, body string, since time.Time) (*outreach.Found, error) {
	start := time.Now()
	f, err := t.next.FindSMS(ctx, to, body, since)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		t.rt.failures.WithLabelValues("find_sms", outcome, "0").Inc()
	}
	t.rt.requests.WithLabelValues("find_sms", outcome).Observe(time.Since(start).Seconds())
	return f, err
}
