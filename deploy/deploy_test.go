// Package deploy holds the files that run the engine in containers: the Prometheus and Grafana
// provisioning used by docker-compose.yml. Its tests check those files.
package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeEnv is this process's environment without the variables docker-compose.yml reads, as
// on a machine where nothing is set, plus set.
func composeEnv(set ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "OUTREACH_") && !strings.HasPrefix(kv, "POSTGRES_") {
			env = append(env, kv)
		}
	}
	return append(env, set...)
}

// composeConfig returns the compose file as docker-compose (v1, as Debian 12 ships it) reads it.
func composeConfig(t *testing.T, env []string) map[string]any {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed (Debian package docker-compose; dev/test installs it)")
	}
	cmd := exec.Command(bin, "-f", "../docker-compose.yml", "config")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr.String())
	}
	if strings.Contains(strings.ToLower(stderr.String()), "warn") {
		t.Errorf("docker-compose config warns:\n%s", stderr.String())
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("docker-compose config printed no YAML: %v\n%s", err, out)
	}
	return cfg
}

func TestComposeFileIsValid(t *testing.T) {
	cfg := composeConfig(t, composeEnv())
	services, _ := cfg["services"].(map[string]any)
	for _, svc := range []string{"postgres", "outreach", "prometheus", "grafana"} {
		if services[svc] == nil {
			t.Errorf("service %s missing from docker-compose.yml", svc)
		}
	}
}

// The file runs with Compose v1 (docker-compose 1.29, Debian 12) and v2 (docker compose), which
// calls the top-level version key obsolete.
func TestComposeFileHasNoVersionKey(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["version"]; ok {
		t.Error("docker-compose.yml has a top-level version key: Compose v2 warns that it is obsolete")
	}
}

// Compose must never put the engine in the simulator by default: OUTREACH_CHANNEL is passed
// through, empty unless set, so that an unconfigured engine refuses to start.
func TestComposePassesTheChannelThrough(t *testing.T) {
	channel := func(env []string) any {
		services, _ := composeConfig(t, env)["services"].(map[string]any)
		engine, _ := services["outreach"].(map[string]any)
		vars, _ := engine["environment"].(map[string]any)
		v, ok := vars["OUTREACH_CHANNEL"]
		if !ok {
			t.Fatalf("the outreach service gets no OUTREACH_CHANNEL: %v", vars)
		}
		return v
	}
	if v := channel(composeEnv()); v != "" {
		t.Errorf("OUTREACH_CHANNEL with nothing set = %q, want empty", v)
	}
	if v := channel(composeEnv("OUTREACH_CHANNEL=simulator")); v != "simulator" {
		t.Errorf("OUTREACH_CHANNEL=simulator reaches the engine as %q", v)
	}
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^[^#]*simulator`).Match(b) {
		t.Error("docker-compose.yml names the simulator outside a comment")
	}
}

func TestComposeFileHasHealthchecksAndVolumes(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	compose := string(b)
	if n := strings.Count(compose, "healthcheck:"); n < 4 {
		t.Errorf("%d healthchecks, want one per service", n)
	}
	for _, vol := range []string{"pgdata:", "promdata:", "grafanadata:"} {
		if !strings.Contains(compose, vol) {
			t.Errorf("named volume %s missing", vol)
		}
	}
}

func TestDockerfileGoVersionMatchesModule(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	docker, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if want == nil {
		t.Fatal("no go directive in go.mod")
	}
	if !strings.Contains(string(docker), "FROM golang:"+string(want[1])) {
		t.Errorf("Dockerfile does not build with Go %s", want[1])
	}
}

func TestPrometheusScrapesTheEngine(t *testing.T) {
	b, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"outreach:8080"`) || !strings.Contains(string(b), "/metrics") {
		t.Errorf("prometheus.yml does not scrape outreach:8080/metrics:\n%s", b)
	}
}
