package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/loadstat"
)

// fireResult is what an open-loop load run measured.
type fireResult struct {
	lat    loadstat.Latencies
	codes  sync.Map // HTTP status → *atomic.Int64; 0 for a transport error
	took   time.Duration
	served atomic.Int64
}

func (r *fireResult) count(code int) {
	v, _ := r.codes.LoadOrStore(code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// rate is the requests answered with 2xx per second.
func (r *fireResult) rate() float64 { return float64(r.served.Load()) / r.took.Seconds() }

// errors counts the requests not answered with 2xx.
func (r *fireResult) errors() int {
	n := 0
	r.codes.Range(func(k, v any) bool {
		if c := k.(int); c < 200 || c > 299 {
			n += int(v.(*atomic.Int64).Load())
		}
		return true
	})
	return n
}

// fire sends n requests, built by build, at rate per second, open loop: each request is due at its
// place in the schedule, and its latency counts from then, so that a server falling behind shows
// in the percentiles instead of slowing the load down.
func fire(ctx context.Context, label string, rate, n int, build func(i int) (*http.Request, error)) *fireResult {
	const inFlight = 256
	res := &fireResult{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight, MaxConnsPerHost: inFlight}, Timeout: 30 * time.Second}
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, inFlight)
	bar := loadstat.NewProgress(os.Stderr, label, n)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for j := range jobs {
				req, err := build(j.i)
				code := 0
				if err == nil {
					var resp *http.Response
					resp, err = client.Do(req.WithContext(ctx))
					if err == nil {
						code = resp.StatusCode
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				res.lat.Add(time.Since(j.due))
				res.count(code)
				if code >= 200 && code <= 299 {
					res.served.Add(1)
				}
				bar.Set(int(done.Add(1)))
			}
		})
	}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- job{i, due}
	}
	close(jobs)
	wg.Wait()
	res.took = time.Since(start)
	bar.Done()
	client.CloseIdleConnections()
	return res
}

// bareSends sends n texts with the bare twilio-go client, 8 at a time like the dispatcher,
// against the fake at apiURL; it returns how long they took.
func bareSends(ctx context.Context, apiURL, sid, token string, n int) (time.Duration, error) {
	to, err := url.Parse(apiURL)
	if err != nil {
		return 0, err
	}
	c := &client.Client{Credentials: client.NewCredentials(sid, token),
		HTTPClient: &http.Client{Transport: rewriteHost{to: to, base: http.DefaultTransport}, Timeout: 15 * time.Second}}
	c.SetAccountSid(sid)
	api := openapi.NewApiServiceWithClient(c)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	bar := loadstat.NewProgress(os.Stderr, "bare", n)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > n {
					return
				}
				p := &openapi.CreateMessageParams{}
				p.SetTo(benchPhone(i - 1)).SetFrom(benchFrom).SetBody("Hello from your care team. This is your monthly check-in.")
				if _, err := api.CreateMessage(p); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("bare twilio-go send failed: %w", err) })
					return
				}
				bar.Set(i)
			}
		})
	}
	wg.Wait()
	bar.Done()
	return time.Since(start), firstErr
}

// rewriteHost sends twilio-go's requests to the fake instead of api.twilio.com.
type rewriteHost struct {
	to   *url.URL
	base http.RoundTripper
}

func (t rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.to.Scheme, t.to.Host, t.to.Host
	return t.base.RoundTrip(r)
}

// bareHandler is the comparison for inbound webhooks: an HTTP handler that does one INSERT per
// request, with the engine's connection pool size.
type bareHandler struct {
	url   string
	srv   *http.Server
	db    *sql.DB
	close func()
}

func startBareHandler(ctx context.Context, conn string) (*bareHandler, error) {
	// The table is made unlogged and then logged only so that it leaves nothing behind; commits
	// still wait for the WAL of a logged row, as the engine's do.
	return startBare(ctx, conn, "bench_bare", []string{
		`CREATE UNLOGGED TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, sid text, sender text, body text, at timestamptz)`,
		`ALTER TABLE bench_bare SET LOGGED`,
	}, func(d *sqlx.DB) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if _, err := d.ExecContext(r.Context(), `INSERT INTO bench_bare (sid, sender, body, at) VALUES ($1, $2, $3, now())`,
				r.PostForm.Get("MessageSid"), r.PostForm.Get("From"), r.PostForm.Get("Body")); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/xml")
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
		}
	})
}

// startBare serves handle's handler on a local port, over its own pool with the engine's size,
// after making its table with create; closing it drops the table.
func startBare(ctx context.Context, conn, table string, create []string, handle func(d *sqlx.DB) http.HandlerFunc) (*bareHandler, error) {
	d, err := db.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, stmt := range create {
		if _, err := d.ExecContext(ctx, stmt); err != nil {
			d.Close()
			return nil, fmt.Errorf("error making the bare handler's table: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		d.Close()
		return nil, err
	}
	h := &bareHandler{url: "http://" + ln.Addr().String() + "/", db: d.DB}
	h.srv = &http.Server{Handler: handle(d), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.srv.Serve(ln) }()
	h.close = func() {
		_ = h.srv.Close()
		_, _ = d.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+table)
		d.Close()
	}
	return h, nil
}
