package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// queryErrorsMetric counts the metric queries of a scrape that failed (their series are left
// out of it).
const queryErrorsMetric = "outreach_metrics_query_errors_total"

// scrape is one GET /metrics.
type scrape struct {
	took        time.Duration
	series      int     // sample lines
	queryErrors float64 // queryErrorsMetric; -1 when the scrape has no such series
}

// scrapeMetrics gets /metrics from a running serve and reads what it says of itself.
func scrapeMetrics(ctx context.Context, base string) (scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return scrape{}, err
	}
	client := &http.Client{Timeout: time.Minute}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return scrape{}, fmt.Errorf("error scraping /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	s := scrape{took: time.Since(start), queryErrors: -1}
	if err != nil {
		return s, fmt.Errorf("error scraping /metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s.series++
		if v, ok := strings.CutPrefix(line, queryErrorsMetric+" "); ok {
			if s.queryErrors, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
				return s, fmt.Errorf("reading %s: %w", queryErrorsMetric, err)
			}
		}
	}
	return s, sc.Err()
}

// scrapePair scrapes a serve twice in a row: the first scrape runs the collector's queries,
// the second may be answered from its cache.
func scrapePair(ctx context.Context, base string) (first, again scrape, err error) {
	if first, err = scrapeMetrics(ctx, base); err != nil {
		return first, again, err
	}
	again, err = scrapeMetrics(ctx, base)
	return first, again, err
}

// describeScrapes writes a pair of scrapes as the bench reports them.
func describeScrapes(first, again scrape) string {
	errs := "no " + queryErrorsMetric + " series"
	if first.queryErrors >= 0 {
		errs = fmt.Sprintf("%s %g", queryErrorsMetric, first.queryErrors)
		if again.queryErrors != first.queryErrors {
			errs += fmt.Sprintf(", then %g", again.queryErrors)
		}
	}
	return fmt.Sprintf("first scrape %.1f ms (%s series), the next %.1f ms; %s", ms(first.took), thousands(first.series), ms(again.took), errs)
}

// scrapeIdle starts serve on the database before any phase's load and times its scrapes.
func (b *benchRun) scrapeIdle(ctx context.Context) error {
	srv, err := b.serve(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	first, again, err := scrapePair(ctx, srv.base)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%-9s /metrics of a serve just started, before the load: %s\n", "metrics", describeScrapes(first, again))
	return nil
}
