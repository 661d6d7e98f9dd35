package monitoring

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are remote monitoring's metrics: readings stored and out of range, counted by this
// replica as they are stored (sum them over replicas), and the patients whose device is silent
// now, read from the database (the same on every replica: take max()).
type Metrics struct {
	received   *prometheus.CounterVec
	outOfRange *prometheus.CounterVec
	silent     *prometheus.Desc
	errors     prometheus.Counter
	count      func(ctx context.Context) (int, error) // nil: the gauge is left out
	cacheFor   time.Duration

	mu      sync.Mutex
	at      time.Time
	patient float64
	ok      bool
}

// NewMetrics registers the metrics on reg. silent counts the patients whose device is silent
// (Service.SilentDevices); it runs at most once every 15 seconds, whatever the scrapes.
func NewMetrics(reg prometheus.Registerer, silent func(ctx context.Context) (int, error)) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: "readings_received_total",
			Help: "Remote monitoring readings stored (a reading sent again is not counted), by type."}, []string{"type"}),
		outOfRange: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "outreach", Name: "readings_out_of_range_total",
			Help: "Readings stored that were out of the patient's limits (each raised or joined an item), by type."}, []string{"type"}),
		silent: prometheus.NewDesc("outreach_rpm_patients_device_silent",
			"RPM patients whose device has sent no reading for 3 days or more.", nil, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "outreach", Name: "rpm_silent_query_errors_total",
			Help: "Counts of silent devices that failed (the gauge is left out of that scrape)."}),
		count:    silent,
		cacheFor: 15 * time.Second,
	}
	for _, t := range Types {
		m.received.WithLabelValues(string(t))
		m.outOfRange.WithLabelValues(string(t))
	}
	reg.MustRegister(m)
	return m
}

// Describe sends the metrics' descriptions.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.received.Describe(ch)
	m.outOfRange.Describe(ch)
	m.errors.Describe(ch)
	ch <- m.silent
}

// Collect sends the metrics; the silent devices are counted again when the last count is older
// than 15 seconds.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.received.Collect(ch)
	m.outOfRange.Collect(ch)
	if m.count != nil {
		m.mu.Lock()
		if now := time.Now(); !m.ok || now.Sub(m.at) >= m.cacheFor {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, err := m.count(ctx)
			cancel()
			m.at, m.ok, m.patient = now, err == nil, float64(n)
			if err != nil {
				m.errors.Inc()
			}
		}
		if m.ok {
			ch <- prometheus.MustNewConstMetric(m.silent, prometheus.GaugeValue, m.patient)
		}
		m.mu.Unlock()
	}
	m.errors.Collect(ch)
}
