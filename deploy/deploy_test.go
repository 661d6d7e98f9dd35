// Package deploy holds the files that run the engine in containers: the Prometheus and Grafana
// provisioning used by docker-compose.yml. Its tests check those files.
package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestComposeFileIsValid(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed (Debian package docker-compose; dev/test installs it)")
	}
	cmd := exec.Command(bin, "-f", "../docker-compose.yml", "config", "-q")
	cmd.Env = append(os.Environ(), "TWILIO_ACCOUNT_SID=", "POSTGRES_PASSWORD=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-f", "../docker-compose.yml", "config", "--services").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"postgres", "outreach", "prometheus", "grafana"} {
		if !strings.Contains(string(out), svc) {
			t.Errorf("service %s missing from docker-compose.yml (have %q)", svc, out)
		}
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
