package metrics_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/outreach"
)

// fakeChannel answers sends with a scripted error.
type fakeChannel struct{ err error }

func (f fakeChannel) SendSMS(context.Context, outreach.SMS) (string, error)    { return "SM1", f.err }
func (f fakeChannel) StartCall(context.Context, outreach.Call) (string, error) { return "CA1", f.err }
func (f fakeChannel) FindSMS(context.Context, string, string, time.Time) (*outreach.Found, error) {
	return nil, f.err
}

// TestScrapeRuntime scrapes the runtime metrics after a failed send and a scheduler minute, and
// has promtool check the exposition.
func TestScrapeRuntime(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)

	reg := prometheus.NewRegistry()
	rt := metrics.NewRuntime(reg)
	ch := rt.Channel(fakeChannel{err: &outreach.SendError{Failure: outreach.Final, Code: 21211, Err: errors.New("invalid")}})
	ch.SendSMS(ctx, outreach.SMS{})
	rt.Tick(now, false)

	want := `
# HELP outreach_provider_errors_total Failed requests to the provider, by operation, failure class and the provider's error code (0: none given).
# TYPE outreach_provider_errors_total counter
outreach_provider_errors_total{error_code="21211",operation="send_sms",outcome="final"} 1
# HELP outreach_scheduler_last_tick_timestamp_seconds When the scheduler's minute last ran, in Unix seconds.
# TYPE outreach_scheduler_last_tick_timestamp_seconds gauge
outreach_scheduler_last_tick_timestamp_seconds 1.7969148e+09
`
	names := []string{"outreach_provider_errors_total", "outreach_scheduler_last_tick_timestamp_seconds"}
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
