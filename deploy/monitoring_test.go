package deploy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/timelog"
)

// promtool returns promtool's path, failing when the project's test command requires it.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("OUTREACH_PROMTOOL") == "required" {
			t.Fatal("promtool is not installed (Debian package prometheus)")
		}
		t.Skip("promtool is not installed (Debian package prometheus)")
	}
	return path
}

func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}, {"check", "config", "prometheus.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert has a unit test.
	rules, _ := os.ReadFile("prometheus/alerts.yml")
	tests, _ := os.ReadFile("prometheus/alerts_test.yml")
	for _, m := range regexp.MustCompile(`(?m)^\s+- alert: (\w+)`).FindAllStringSubmatch(string(rules), -1) {
		if !strings.Contains(string(tests), "alertname: "+m[1]) {
			t.Errorf("alert %s has no test in alerts_test.yml", m[1])
		}
	}
}

// capture is a Registerer that keeps what is registered, to list the metrics' names.
type capture struct{ collectors []prometheus.Collector }

func (c *capture) Register(col prometheus.Collector) error {
	c.collectors = append(c.collectors, col)
	return nil
}
func (c *capture) MustRegister(cs ...prometheus.Collector) {
	c.collectors = append(c.collectors, cs...)
}
func (c *capture) Unregister(prometheus.Collector) bool { return false }

// exported lists the names of the metrics the engine exports.
func exported(t *testing.T) map[string]bool {
	reg := &capture{}
	reg.MustRegister(billing.NewMetrics(&billing.Store{}, 0, nil))
	metrics.NewRuntime(reg)
	errs := dbgauge.NewErrors(reg)
	outreach.NewMetrics(reg, []string{outreach.DefaultScript})
	escalation.NewMetrics(reg)
	reg.MustRegister(outreach.Gauges(nil, 0, nil, nil, errs, nil), escalation.Gauges(nil, 0, nil, errs, nil), timelog.Gauges(nil, 0, nil, errs, nil))
	monitoring.NewMetrics(reg, func(context.Context) (int, error) { return 0, nil })
	web.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	names := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for _, c := range reg.collectors {
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := fq.FindStringSubmatch(d.String()); m != nil {
				names[m[1]] = true
			}
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d metric names found: %v", len(names), names)
	}
	return names
}

func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/dashboards/outreach.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Datasource  struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Panels) < 10 {
		t.Fatalf("dashboard uid %q with %d panels", dash.UID, len(dash.Panels))
	}
	// The data source is a variable of the dashboard, so that it works with any Prometheus data
	// source, whatever its uid in the Grafana it is imported into.
	if l := dash.Templating.List; len(l) == 0 || l[0].Name != "datasource" || l[0].Type != "datasource" || l[0].Query != "prometheus" {
		t.Errorf("the dashboard has no datasource variable of type prometheus: %+v", dash.Templating.List)
	}
	if strings.Contains(string(b), `"uid": "prometheus"`) {
		t.Error("the dashboard names a data source by a fixed uid")
	}
	names := exported(t)
	metric := regexp.MustCompile(`\boutreach_[a-z_]+`)
	for _, p := range dash.Panels {
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q, %d queries", p.Title, p.Datasource.UID, len(p.Targets))
		}
		if len(p.Description) < 20 {
			t.Errorf("panel %q has no description saying what it shows", p.Title)
		}
		for _, q := range p.Targets {
			found := metric.FindAllString(q.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: query %q names no engine metric", p.Title, q.Expr)
			}
			for _, m := range found {
				if !exports(names, m) {
					t.Errorf("panel %q: the engine exports no metric %s", p.Title, m)
				}
			}
		}
	}
	// Every metric an alert uses is exported too.
	rules, _ := os.ReadFile("prometheus/alerts.yml")
	for _, m := range metric.FindAllString(string(rules), -1) {
		if !exports(names, m) {
			t.Errorf("alerts.yml uses %s, which the engine does not export", m)
		}
	}
	provider, err := os.ReadFile("grafana/provisioning/dashboards/outreach.yml")
	if err != nil || !strings.Contains(string(provider), "/var/lib/grafana/dashboards/outreach") {
		t.Errorf("the dashboards provider does not point at the mounted folder: %v", err)
	}
}

// exports tells whether names, the engine's metrics, has series m: a metric's own name, or a
// histogram's _bucket, _sum or _count.
func exports(names map[string]bool, m string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
	return names[m] || names[base]
}
