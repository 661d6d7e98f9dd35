// Package web is the HTTP server: routing with explicit timeouts, request metrics, health and
// readiness, the metrics endpoint and JSON error replies.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the engine's HTTP server.
type Server struct {
	mux      *http.ServeMux
	log      *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewServer returns a server whose request metrics are registered on reg.
func NewServer(log *slog.Logger, reg prometheus.Registerer) *Server {
	s := &Server{
		mux: http.NewServeMux(),
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "outreach", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "outreach", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(s.requests, s.duration)
	return s
}

// Handle registers a handler for a ServeMux pattern ("GET /healthz").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers a handler function for a ServeMux pattern.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// ServeHTTP serves a request, recording its route (the matched pattern, never the raw path,
// which may carry ids), status and duration, and turning a panic into a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "route", r.Pattern, "panic", p)
			if !rec.wrote {
				WriteError(rec, http.StatusInternalServerError, "internal error")
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}()
	s.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Run serves on addr until ctx is done, then shuts down, letting requests in flight finish
// within grace.
func (s *Server) Run(ctx context.Context, addr string, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln, grace)
}

// Serve is Run on a listener the caller opened. The stop ends within grace whatever the
// requests in flight wait for: those still running after nine tenths of it have their contexts
// cancelled (their database work stops at once and they answer an error), and the connections
// left at its end are closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	base, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	end := time.Now().Add(grace)
	soft, cancel := context.WithDeadline(context.Background(), end.Add(-grace/10))
	defer cancel()
	if err := srv.Shutdown(soft); err != nil {
		s.log.Warn("requests still running near the end of the stop's grace period: cancelling them", "grace", grace)
		abandon()
		hard, cancel := context.WithDeadline(context.Background(), end)
		defer cancel()
		if err := srv.Shutdown(hard); err != nil {
			s.log.Warn("requests still running at the end of the stop's grace period: closing their connections", "grace", grace)
			srv.Close()
		}
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readyWithin bounds the readiness check, so that /readyz answers within 3 seconds whatever the
// database does.
const readyWithin = 2 * time.Second

// Unready is why the engine is not ready: Reason is what /readyz answers; Err, which may name
// internal addresses, is only logged.
type Unready struct {
	Reason string
	Err    error
}

func (u *Unready) Error() string { return u.Reason + ": " + u.Err.Error() }
func (u *Unready) Unwrap() error { return u.Err }

// Health registers GET /healthz (the process answers, whatever the database does), GET /readyz
// (ready reports no error within 2 seconds) and GET /metrics (the gatherer's metrics in the
// Prometheus text format). /readyz answers 503 with the Reason of an Unready error, otherwise
// "not ready", and logs the error itself.
func (s *Server) Health(ready func(context.Context) error, g prometheus.Gatherer) {
	s.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyWithin)
		defer cancel()
		if err := ready(ctx); err != nil {
			reason := "not ready"
			var u *Unready
			if errors.As(err, &u) {
				reason = u.Reason
			}
			s.log.Warn("not ready", "err", err)
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": reason})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
}

// Within answers 503 {"error": msg} when h has not answered within d, whatever h waits for; h
// goes on with its request's context cancelled, and what it writes afterwards is dropped.
func Within(d time.Duration, msg string, h http.Handler) http.Handler {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return http.TimeoutHandler(h, d, string(body))
}

// WriteJSON writes v as JSON with the status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": msg} with the status code.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, map[string]string{"error": msg})
}
