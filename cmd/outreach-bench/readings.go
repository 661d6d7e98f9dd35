package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/loadstat"
	"github.com/outreach-engine/outreach/monitoring"
)

// readingsBatch is how many readings a vendor's webhook carries.
const readingsBatch = 100

// dayOfReadings is a day of each patient's readings, in batches of readingsBatch as vendors
// send them: a blood pressure in the morning and in the evening and a weight, one pressure in
// fifty out of range (an item on the queue).
func dayOfReadings(patients int, day time.Time) [][]byte {
	var all []monitoring.Input
	f := func(v float64) *float64 { return &v }
	for i := range patients {
		p := fmt.Sprintf("B%07d", i)
		for k, at := range []time.Duration{7 * time.Hour, 19 * time.Hour} {
			sys := 118 + float64((i+k)%30)
			if (i*2+k)%50 == 0 {
				sys = 168
			}
			all = append(all, monitoring.Input{Patient: p, Device: "BP-" + p, Type: "blood_pressure",
				TakenAt: day.Add(at + time.Duration(i%600)*time.Second).Format(time.RFC3339), Systolic: f(sys), Diastolic: f(78)})
		}
		all = append(all, monitoring.Input{Patient: p, Device: "SC-" + p, Type: "weight",
			TakenAt: day.Add(7*time.Hour + 5*time.Minute).Format(time.RFC3339), Value: f(70 + float64(i%40)), Unit: "kg"})
	}
	var out [][]byte
	for start := 0; start < len(all); start += readingsBatch {
		b, _ := json.Marshal(all[start:min(start+readingsBatch, len(all))]) // plain values: it cannot fail
		out = append(out, b)
	}
	return out
}

// vendors is how many webhook deliveries are in flight at once, as several vendors (or one
// vendor's several workers) send.
const vendors = 16

// sendAll posts every batch to url with vendors deliveries in flight, each as soon as the last
// one of its worker was answered: the rate is the highest the receiver sustains. It returns the
// batches' latencies, how long it took and how many were not answered 200.
func sendAll(ctx context.Context, url, token string, batches [][]byte) (*loadstat.Latencies, time.Duration, int) {
	var lat loadstat.Latencies
	var next, failed atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: vendors}, Timeout: 60 * time.Second}
	bar := loadstat.NewProgress(os.Stderr, "readings", len(batches))
	start := time.Now()
	var wg sync.WaitGroup
	for range vendors {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(batches) || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(batches[i]))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				lat.Add(time.Since(t0))
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				bar.Set(i + 1)
			}
		})
	}
	wg.Wait()
	bar.Done()
	return &lat, time.Since(start), int(failed.Load())
}

// readings starts "serve" and delivers a day of every patient's readings as vendor webhooks
// (batches of 100, 16 in flight), then delivers the same day again (a vendor re-sending: nothing
// new may be stored), then the same batches to a bare handler that stores each batch with one
// INSERT.
func (b *benchRun) readings(ctx context.Context) error {
	token, err := newBenchToken(ctx, b.d, b.practice, "N0000")
	if err != nil {
		return err
	}
	now := time.Now().In(b.loc) // the engine refuses readings from its future
	day := time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, b.loc)
	batches := dayOfReadings(b.c.patients, day)
	total := 3 * b.c.patients
	srv, err := b.serve(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	cpu, vacuum := startCPU(), b.watchVacuum(ctx)
	lat, took, failed := sendAll(ctx, srv.base+"/api/v1/readings", token, batches)
	split, background := cpu.split(srv.ch.cmd.Process.Pid, 0), vacuum.end()
	var stored, items int
	if err := b.d.GetContext(ctx, &stored, `SELECT count(*) FROM readings WHERE practice_id = $1`, b.practice); err != nil {
		return fmt.Errorf("error counting readings: %w", err)
	}
	if err := b.d.GetContext(ctx, &items, `SELECT count(*) FROM escalations WHERE practice_id = $1 AND source = 'reading'`, b.practice); err != nil {
		return fmt.Errorf("error counting items: %w", err)
	}
	fmt.Fprintf(b.out, "%-9s %s readings of %s patients in %s webhooks of %d, %d in flight: %s readings/s (%s webhooks/s), %s; %d errors; serve peak RSS %s\n",
		"readings", thousands(total), thousands(b.c.patients), thousands(len(batches)), readingsBatch, vendors,
		thousands(int(float64(total)/took.Seconds())), thousands(int(float64(len(batches))/took.Seconds())), lat.Summary(), failed,
		loadstat.MB(srv.ch.peak.Load()))
	fmt.Fprintf(b.out, "%-9s stored %s readings, %s items out of range; CPU: %s; %s\n", "", thousands(stored), thousands(items),
		split.per(total, "reading"), background)
	again, tookAgain, failedAgain := sendAll(ctx, srv.base+"/api/v1/readings", token, batches)
	var after int
	if err := b.d.GetContext(ctx, &after, `SELECT count(*) FROM readings WHERE practice_id = $1`, b.practice); err != nil {
		return fmt.Errorf("error counting readings: %w", err)
	}
	fmt.Fprintf(b.out, "%-9s the same day sent again: %s readings/s, %s; %d errors; %d stored twice\n", "",
		thousands(int(float64(total)/tookAgain.Seconds())), again.Summary(), failedAgain, after-stored)

	srv.stop() // its work must not slow the comparison down
	bare, err := startBareReadings(ctx, b.conn)
	if err != nil {
		return err
	}
	defer bare.close()
	blat, btook, bfailed := sendAll(ctx, bare.url, "", batches)
	fmt.Fprintf(b.out, "%-9s bare handler, one INSERT of the batch per request: %s readings/s, %s; %d errors; engine/bare = %.2fx\n", "",
		thousands(int(float64(total)/btook.Seconds())), blat.Summary(), bfailed, btook.Seconds()/took.Seconds())
	return nil
}

// startBareReadings is the comparison for the readings webhook: an HTTP handler that decodes
// the batch and stores it with one INSERT … SELECT FROM unnest (the same unique key), with the
// engine's connection pool size, and nothing else: no token, no checks, no limits, no items.
func startBareReadings(ctx context.Context, conn string) (*bareHandler, error) {
	return startBare(ctx, conn, "bench_bare_readings", []string{`CREATE TABLE IF NOT EXISTS bench_bare_readings (id bigserial PRIMARY KEY, patient text,
		device text, type text, taken_at timestamptz, systolic smallint, diastolic smallint, value numeric(7, 2), unit text,
		UNIQUE (patient, type, taken_at, device))`}, func(d *sqlx.DB) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var rs []monitoring.Input
			if err := json.NewDecoder(r.Body).Decode(&rs); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			n := len(rs)
			patients, devices, types, at, units := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			sys, dia, vals := make([]float64, n), make([]float64, n), make([]float64, n)
			for i, x := range rs {
				patients[i], devices[i], types[i], at[i], units[i] = x.Patient, x.Device, x.Type, x.TakenAt, x.Unit
				if x.Systolic != nil {
					sys[i], dia[i] = *x.Systolic, *x.Diastolic
				}
				if x.Value != nil {
					vals[i] = *x.Value
				}
			}
			if _, err := d.ExecContext(r.Context(), `INSERT INTO bench_bare_readings (patient, device, type, taken_at, systolic, diastolic, value, unit)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::smallint[], $6::smallint[], $7::numeric[], $8::text[])
			ON CONFLICT DO NOTHING`, pq.Array(patients), pq.Array(devices), pq.Array(types), pq.Array(at), pq.Array(sys), pq.Array(dia),
				pq.Array(vals), pq.Array(units)); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{}`)
		}
	})
}
