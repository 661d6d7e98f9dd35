package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// query is one PromQL expression of a dashboard panel or an alert rule, with where it is.
type query struct {
	where string
	expr  string
}

// dashboardFiles lists the provisioned dashboards.
func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in grafana/dashboards: %v", err)
	}
	return files
}

// queries returns every expression of the dashboards and the alert rules.
func queries(t *testing.T) []query {
	t.Helper()
	var out []query
	for _, file := range dashboardFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &dash); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range dash.Panels {
			for _, q := range p.Targets {
				out = append(out, query{where: file + ": panel " + p.Title, expr: q.Expr})
			}
		}
	}
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, query{where: "alerts.yml: " + r.Alert, expr: r.Expr})
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d queries found", len(out))
	}
	return out
}

var (
	engineMetric = regexp.MustCompile(`\boutreach_[a-z_]+`)
	// A counter or a histogram's series: counted by each replica, from 0 at each start.
	counterName = regexp.MustCompile(`_(total|bucket|count|sum)$`)
	// What may stand right before a counter: rate( or increase(, which treat a drop as a
	// restart.
	beforeCounter = regexp.MustCompile(`\b(rate|increase)\(\s*$`)
	// What may stand right before a gauge read from the database, the same on every replica:
	// max, over the replicas or over time.
	beforeGauge = regexp.MustCompile(`(\bmax(\s+by\s*\([^()]*\))?\s*\(|\bmax_over_time\(|\babsent_over_time\()\s*$`)
	// rate( or increase( and what stands before it: a sum over the replicas.
	rateCall   = regexp.MustCompile(`\b(rate|increase)\(`)
	beforeRate = regexp.MustCompile(`\bsum(\s+by\s*\([^()]*\))?\s*\(\s*$`)
)

// problems tells how expr misreads the engine's metrics. Counters are per replica and start
// again from 0 when a replica restarts: they are read with rate() or increase(), and the result
// is summed over the replicas. Gauges read from the database are the same on every replica: they
// are taken with max(), never summed.
func problems(expr string) []string {
	var out []string
	for _, loc := range engineMetric.FindAllStringIndex(expr, -1) {
		name, before := expr[loc[0]:loc[1]], expr[:loc[0]]
		if counterName.MatchString(name) {
			if !beforeCounter.MatchString(before) {
				out = append(out, "counter "+name+" is not read with rate() or increase()")
			}
		} else if !beforeGauge.MatchString(before) {
			out = append(out, "gauge "+name+" is not taken with max()")
		}
	}
	for _, loc := range rateCall.FindAllStringIndex(expr, -1) {
		if !beforeRate.MatchString(expr[:loc[0]]) {
			out = append(out, strings.TrimSuffix(expr[loc[0]:loc[1]], "(")+"() is not summed over the replicas")
		}
	}
	return out
}

func TestQueriesSumCountersAndTakeTheMaxOfGauges(t *testing.T) {
	for _, q := range queries(t) {
		for _, p := range problems(q.expr) {
			t.Errorf("%s: %s: %s", q.where, p, q.expr)
		}
	}
}

func TestProblemsCatchCountersNotSummed(t *testing.T) {
	for expr, want := range map[string]int{
		`sum by (kind) (rate(outreach_messages_sent_total[5m])) * 3600`:                                   0,
		`histogram_quantile(0.9, sum by (le) (rate(outreach_dispatch_pass_duration_seconds_bucket[5m])))`: 0,
		`time() - max(max_over_time(outreach_scheduler_last_tick_timestamp_seconds[10m]))`:                0,
		`sum by (severity) (max by (severity, claimed) (outreach_escalations_open))`:                      0,
		`max by (kind) (increase(outreach_messages_sent_total[1h]))`:                                      1,
		`sum(outreach_messages_sent_total)`:                                                               1,
		`sum(outreach_escalations_overdue)`:                                                               1,
		`increase(sum(outreach_messages_sent_total)[1h:1m])`:                                              2,
	} {
		if got := problems(expr); len(got) != want {
			t.Errorf("%s: %d problems %q, want %d", expr, len(got), got, want)
		}
	}
}

// TestDashboardLint runs Grafana's dashboard linter over each dashboard, when it is installed
// (see README, "Dashboards and alerts"); OUTREACH_DASHBOARD_LINTER=required makes its absence a
// failure.
func TestDashboardLint(t *testing.T) {
	bin, err := exec.LookPath("dashboard-linter")
	if err != nil {
		if os.Getenv("OUTREACH_DASHBOARD_LINTER") == "required" {
			t.Fatal("dashboard-linter is not installed")
		}
		t.Skip("dashboard-linter is not installed")
	}
	for _, file := range dashboardFiles(t) {
		out, err := exec.Command(bin, "lint", "--strict", file).CombinedOutput()
		if err != nil || strings.Contains(string(out), "❌") || strings.Contains(string(out), "⚠") {
			t.Errorf("dashboard-linter lint --strict %s: %v\n%s", file, err, out)
		}
	}
}
