package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

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
	// The error behind the answer names internal addresses: it is logged, never told.
	detail := errors.New("dial tcp 10.0.3.7:5432: connect: connection refused")
	down, _ := newTestServer(&Unready{Reason: "database unavailable", Err: detail})
	rec := get(down, "/readyz")
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"error":"database unavailable","status":"unavailable"}` {
		t.Errorf("/readyz when not ready = %d %s", rec.Code, rec.Body)
	}
	other, _ := newTestServer(detail)
	if rec := get(other, "/readyz"); rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "10.0.3.7") ||
		!strings.Contains(rec.Body.String(), "not ready") {
		t.Errorf("/readyz for another error = %d %s", rec.Code, rec.Body)
	}
}

// /readyz answers within 3 seconds even when the check never returns by itself.
func TestReadinessIsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	s.Health(func(ctx context.Context) error {
		<-ctx.Done()
		return &Unready{Reason: "database unavailable", Err: ctx.Err()}
	}, reg)
	start := time.Now()
	rec := get(s, "/readyz")
	took := time.Since(start)
	t.Logf("/readyz answered %d after %s", rec.Code, took.Round(time.Millisecond))
	if rec.Code != http.StatusServiceUnavailable || took >= 3*time.Second {
		t.Errorf("/readyz = %d after %s, want 503 within 3 s", rec.Code, took)
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

// Within answers 503 at its deadline, even when the handler ignores its context.
func TestWithinAnswersAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := Within(200*time.Millisecond, "try again", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	start := time.Now()
	rec := get(h, "/")
	took := time.Since(start)
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"error":"try again"}` || took > 2*time.Second {
		t.Errorf("= %d %s after %s, want 503 after 200 ms", rec.Code, rec.Body, took)
	}
	quick := Within(time.Second, "try again", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	if rec := get(quick, "/"); rec.Code != http.StatusOK {
		t.Errorf("a quick handler = %d", rec.Code)
	}
}

// A stop ends within its grace period whatever the requests in flight wait for: those that
// honour their context answer an error once it is cancelled; the others lose their connection.
func TestServeStopsWithinGrace(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	started := make(chan struct{}, 2)
	forever := make(chan struct{})
	defer close(forever)
	s.HandleFunc("GET /polite", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		WriteError(w, http.StatusServiceUnavailable, "stopping")
	})
	s.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-forever
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 2*time.Second) }()
	codes := make(chan int, 2)
	for _, path := range []string{"/polite", "/stuck"} {
		go func() {
			resp, err := http.Get("http://" + ln.Addr().String() + path)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	<-started
	<-started
	begin := time.Now()
	stop()
	select {
	case err := <-served:
		took := time.Since(begin)
		t.Logf("stopped after %s with a grace of 2 s", took.Round(time.Millisecond))
		if err != nil || took > 3*time.Second {
			t.Errorf("Serve = %v after %s", err, took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	got := []int{<-codes, <-codes}
	if !slices.Contains(got, http.StatusServiceUnavailable) || !slices.Contains(got, 0) {
		t.Errorf("answers %v, want a 503 for the polite request and a closed connection for the stuck one", got)
	}
}
