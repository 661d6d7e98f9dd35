package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestServer(ready error) (*Server, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	s.Health(func(context.Context) error { return ready }, reg)
	s.HandleFunc("GET /patients/{id}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"id": r.PathValue("id")})
	})
	s.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	return s, reg
}

func get(s http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHealthAndReadiness(t *testing.T) {
	s, _ := newTestServer(nil)
	if rec := get(s, "/healthz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Errorf("/healthz = %d %s", rec.Code, rec.Body)
	}
	if rec := get(s, "/readyz"); rec.Code != 200 {
		t.Errorf("/readyz = %d", rec.Code)
	}
	down, _ := newTestServer(errors.New("database: connection refused"))
	if rec := get(down, "/readyz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("/readyz when not ready = %d %s", rec.Code, rec.Body)
	}
}

// Metrics label requests by route pattern, never by the raw path that carries ids.
func TestRequestMetricsUseRoutePatterns(t *testing.T) {
	s, reg := newTestServer(nil)
	get(s, "/patients/P001")
	get(s, "/patients/P002")
	get(s, "/nowhere")
	if rec := get(s, "/boom"); rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Errorf("/boom = %d %s, want a JSON 500", rec.Code, rec.Body)
	}
	want := `
# HELP outreach_http_requests_total HTTP requests served, by route pattern and status code.
# TYPE outreach_http_requests_total counter
outreach_http_requests_total{code="200",route="GET /patients/{id}"} 2
outreach_http_requests_total{code="404",route="unmatched"} 1
outreach_http_requests_total{code="500",route="GET /boom"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "outreach_http_requests_total"); err != nil {
		t.Error(err)
	}
	rec := get(s, "/metrics")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "P001") {
		t.Errorf("/metrics = %d, or it shows a patient id", rec.Code)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}
