package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/outreach"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fakeChannel answers sends with a scripted error.
type fakeChannel struct{ err error }

func (f fakeChannel) SendSMS(context.Context, outreach.SMS) (string, error)    { return "SM1", f.err }
func (f fakeChannel) StartCall(context.Context, outreach.Call) (string, error) { return "CA1", f.err }
func (f fakeChannel) FindSMS(context.Context, string, string, time.Time) (*outreach.Found, error) {
	return nil, f.err
}

// TestScrapeBillingAndRuntime fills a database with an RPM patient whose device sent data,
// scrapes the billing thresholds and the runtime metrics, and has promtool check the
// exposition.
func TestScrapeBillingAndRuntime(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`,
		// An RPM patient with consent, whose device data the billing store is handed below.
		`INSERT INTO patients (practice_id, ext_id, phone, timezone, programs, billing_npi, created_at, updated_at) VALUES
			(1, 'R1', '+15550000004', 'America/New_York', '{rpm}', '1111111112', $1, $1)`,
		`INSERT INTO consents (practice_id, patient_id, given_at, npi, method, documented, created_at, updated_at)
			SELECT 1, id, '2026-01-15', '1111111112', 'verbal', true, $1, $1 FROM patients WHERE ext_id = 'R1'`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}

	reg := prometheus.NewRegistry()
	rates, _ := billing.BundledRates()
	clock := now
	c := &metrics.Collector{Clock: func() time.Time { return clock }, Errors: dbgauge.NewErrors(reg),
		Billing: &billing.Store{DB: d, Practice: 1, Location: ny, Rates: rates, Clock: func() time.Time { return clock },
			Devices: func(context.Context, db.Querier, time.Time, time.Time) (map[string]billing.Device, error) {
				return map[string]billing.Device{"R1": {Days: 17}}, nil // the first month of R1's episode
			}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	reg.MustRegister(c)
	rt := metrics.NewRuntime(reg)
	ch := rt.Channel(fakeChannel{err: &outreach.SendError{Failure: outreach.Final, Code: 21211, Err: errors.New("invalid")}})
	ch.SendSMS(ctx, outreach.SMS{})
	rt.Tick(now, false)

	want := `
# HELP outreach_provider_errors_total Failed requests to the provider, by operation, failure class and the provider's error code (0: none given).
# TYPE outreach_provider_errors_total counter
outreach_provider_errors_total{error_code="21211",operation="send_sms",outcome="final"} 1
# HELP outreach_rpm_patients_device_code RPM patients billable this month for each device code (99453 set-up, 99454 16+ days of data, 99445 2 to 15 days); 0 for a code nobody reached.
# TYPE outreach_rpm_patients_device_code gauge
outreach_rpm_patients_device_code{code="99445"} 0
outreach_rpm_patients_device_code{code="99453"} 1
outreach_rpm_patients_device_code{code="99454"} 1
# HELP outreach_scheduler_last_tick_timestamp_seconds When the scheduler's minute last ran, in Unix seconds.
# TYPE outreach_scheduler_last_tick_timestamp_seconds gauge
outreach_scheduler_last_tick_timestamp_seconds 1.7969148e+09
# HELP outreach_metrics_query_errors_total Metric queries that failed (their metrics are left out of that scrape).
# TYPE outreach_metrics_query_errors_total counter
outreach_metrics_query_errors_total 0
`
	names := []string{"outreach_provider_errors_total", "outreach_rpm_patients_device_code",
		"outreach_scheduler_last_tick_timestamp_seconds", "outreach_metrics_query_errors_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// The whole exposition passes promtool's lint.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("OUTREACH_PROMTOOL") == "required" {
			t.Fatal("promtool is not installed (Debian package prometheus)")
		}
		t.Skip("promtool is not installed (Debian package prometheus)")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "metrics.txt")
	f, _ := os.Create(path)
	for _, mf := range families {
		if _, err := expfmt.MetricFamilyToText(f, mf); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	in, _ := os.Open(path)
	defer in.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
