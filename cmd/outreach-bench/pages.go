package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/loadstat"
	"github.com/outreach-engine/outreach/staff"
)

// pagesPerSecond is how often each of the care team's pages is asked for, at most, while the
// replies come: a few nurses at work.
const pagesPerSecond = 5

// pageNurse is the staff member whose browser session asks for the pages.
const pageNurse = "S00000"

// scrapeAfter is how long into the replies /metrics is scraped, at most: a short run scrapes
// halfway.
const scrapeAfter = 2 * time.Second

// pageLoad is one page asked for again and again (see run).
type pageLoad struct {
	name   string
	paths  []string
	lat    loadstat.Latencies
	failed atomic.Int64
}

// beside is what the bench does while the replies come: the care team's pages in a nurse's
// browser session, and a scrape of /metrics.
type beside struct {
	pages     []*pageLoad
	started   time.Time
	took      time.Duration // how long the pages were asked for
	after     time.Duration // when the scrape was, into the replies
	done      chan struct{}
	wg        sync.WaitGroup
	scraped   bool
	first     scrape
	again     scrape
	scrapeErr error
}

// startBeside logs a nurse in to the serve srv and starts asking for the queue, items and
// patients' pages, and the scrape; stop ends them.
func (b *benchRun) startBeside(ctx context.Context, srv *benchServer) (*beside, error) {
	cookies, err := b.pageSession(ctx, srv.base)
	if err != nil {
		return nil, err
	}
	var items []int64
	if err := b.d.SelectContext(ctx, &items, `SELECT id FROM escalations WHERE practice_id = $1 ORDER BY created_at DESC, id LIMIT 100`,
		b.practice); err != nil {
		return nil, fmt.Errorf("error listing items for their pages: %w", err)
	}
	s := &beside{done: make(chan struct{}), after: min(scrapeAfter, b.c.duration/2), started: time.Now()}
	s.pages = append(s.pages, &pageLoad{name: "queue", paths: []string{"/"}})
	if len(items) > 0 {
		p := &pageLoad{name: "item"}
		for _, id := range items {
			p.paths = append(p.paths, fmt.Sprintf("/items/%d", id))
		}
		s.pages = append(s.pages, p)
	}
	patients := &pageLoad{name: "patient"}
	for i := range min(100, b.c.patients) {
		patients.paths = append(patients.paths, "/patients/"+benchPatient(i*b.c.patients/min(100, b.c.patients)))
	}
	s.pages = append(s.pages, patients)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range s.pages {
		s.wg.Go(func() { p.run(ctx, client, srv.base, cookies, s.done) })
	}
	s.wg.Go(func() {
		select {
		case <-s.done:
			return
		case <-time.After(s.after):
		}
		s.first, s.again, s.scrapeErr = scrapePair(ctx, srv.base)
		s.scraped = true
	})
	return s, nil
}

// pageSession gives the page nurse a password and logs them in as a browser does; it returns
// the session's cookies.
func (b *benchRun) pageSession(ctx context.Context, base string) ([]*http.Cookie, error) {
	password := "bench-" + randomHex(12)
	if err := staff.SetPassword(ctx, b.d, b.practice, pageNurse, password, "", audit.ActorCLI, time.Now()); err != nil {
		return nil, fmt.Errorf("error giving %s a password: %w", pageNurse, err)
	}
	form := "staff=" + pageNurse + "&password=" + password + "&next=%2F"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("error logging in: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		return nil, fmt.Errorf("logging in as %s: %s with no session", pageNurse, resp.Status)
	}
	return resp.Cookies(), nil
}

// run asks for the page's paths in turn, as a nurse at a browser does: each page when the last
// has come, pagesPerSecond at most, until done is closed. A slow page slows the nurse down
// rather than piling requests up on the server; its latency is the page's own.
func (p *pageLoad) run(ctx context.Context, client *http.Client, base string, cookies []*http.Cookie, done <-chan struct{}) {
	interval := time.Second / pagesPerSecond
	next := time.Now()
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(interval)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p.paths[i%len(p.paths)], nil)
		if err != nil {
			p.failed.Add(1)
			continue
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		p.lat.Add(time.Since(start))
		if err != nil || resp.StatusCode != http.StatusOK {
			p.failed.Add(1)
		}
	}
}

// stop ends the pages and waits for those asked for.
func (s *beside) stop() {
	close(s.done)
	s.wg.Wait()
	s.took = time.Since(s.started)
}

// report writes the pages' latencies next to the replies' p99, and the scrape under the load.
func (s *beside) report(out io.Writer, replies loadstat.Summary) {
	for i, p := range s.pages {
		label := ""
		if i == 0 {
			label = "pages"
		}
		sum := p.lat.Summary()
		fmt.Fprintf(out, "%-9s %s page, up to %d/s, one at a time in a nurse's session while replies came: %s pages (%.1f/s), p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms; %d errors; replies p99 %.1f ms\n",
			label, p.name, pagesPerSecond, thousands(sum.N), float64(sum.N)/s.took.Seconds(), ms(sum.P50), ms(sum.P95), ms(sum.P99), ms(sum.Max),
			p.failed.Load(), ms(replies.P99))
	}
	switch {
	case !s.scraped:
		fmt.Fprintf(out, "%-9s /metrics under the replies: not scraped (the replies ended within %v)\n", "", s.after)
	case s.scrapeErr != nil:
		fmt.Fprintf(out, "%-9s /metrics under the replies, %v in: %v\n", "", s.after, s.scrapeErr)
	default:
		fmt.Fprintf(out, "%-9s /metrics under the replies, %v in: %s\n", "", s.after, describeScrapes(s.first, s.again))
	}
}
