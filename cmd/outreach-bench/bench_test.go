package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// buildOutreach builds the outreach command from this source into a temporary directory and
// returns its path.
func buildOutreach(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	exe := filepath.Join(t.TempDir(), "outreach")
	if out, err := exec.Command(goTool, "build", "-o", exe, "../outreach").CombinedOutput(); err != nil {
		t.Fatalf("go build ../outreach: %v\n%s", err, out)
	}
	return exe
}

// runBench runs the bench's command line with env.
func runBench(ctx context.Context, env map[string]string, args ...string) (string, error) {
	var stdout bytes.Buffer
	err := run(ctx, args, &stdout, io.Discard, func(k string) string { return env[k] })
	return stdout.String(), err
}

// TestBenchSmallRun runs every phase of the load tool on a small scale, the outreach commands
// in child processes (the outreach binary built from this source), and reads its report: every
// patient got one first text, every reply was recorded once, no item was claimed twice, the
// billing report has its rows.
func TestBenchSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the outreach command and starts its commands in child processes")
	}
	ctx := context.Background()
	exe := buildOutreach(t)
	conn := dbtest.Empty(t)
	name, err := db.DatabaseName(conn)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": conn}
	// A database the bench did not make is never dropped.
	if _, err := runBench(ctx, env, "--outreach", exe, "--patients", "5", "--database", name); err == nil ||
		!strings.Contains(err.Error(), "did not make it") {
		t.Fatalf("bench on a database it did not make: %v", err)
	}
	scratch := name + "_bench"
	scratchConn, err := db.ReplaceDatabase(conn, scratch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Drop(ctx, scratchConn) })
	args := []string{"--outreach", exe, "--patients", "40", "--history", "2", "--entries", "3", "--rate", "100", "--duration", "1s",
		"--nurses", "4", "--items", "20", "--database", scratch}
	out, err := runBench(ctx, env, args...)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	t.Logf("bench report:\n%s", out)
	for _, want := range []string{
		`each command of ` + regexp.QuoteMeta(exe) + ` runs in its own process`,
		`import patients: 40 rows`,
		`history +2 months before 2026-12 in .* the tables hold 80 check-ins, .* 160 time entries \(160 patient rows\)`,
		`sizes with indexes: checkins [0-9]+ MB, .* messages [0-9]+ MB`,
		`metrics +/metrics of a serve just started, before the load: first scrape [0-9.]+ ms \([0-9,]+ series\), the next [0-9.]+ ms; outreach_metrics_query_errors_total 0`,
		`checkins run: 40 check-ins and first texts .*; 0 patients without a text, 0 doubled`,
		`minute +the scheduler's minute with nothing due .*: first [0-9.]+ ms, then median [0-9.]+ ms of 5`,
		`pages +queue page, up to 5/s, one at a time in a nurse's session while replies came: [0-9]+ pages \([0-9.]+/s\), p50 .*; 0 errors; replies p99 [0-9.]+ ms`,
		`item page, up to 5/s, .*; 0 errors`,
		`patient page, up to 5/s, .*; 0 errors`,
		`/metrics under the replies, 500ms in: first scrape .*outreach_metrics_query_errors_total 0`,
		`engine/bare = [0-9.]+x`,
		`100 signed replies offered at 100/s: .* 0 errors`,
		`with the pages below, 100 more: .* 0 errors`,
		`recorded 200 of 200 \(0 lost, 0 duplicated\)`,
		`bare handler, one INSERT per request: .* 0 errors`,
		`4 nurses, 20 items, each claimed by 2 at once: 20 claims won`,
		`20 refused \(409\), 0 errors, 0 double claims; 20 items held`,
		`imported 120 time entries \(1 files, time log import\)`,
		`billing report: 44 rows from 120 entries`, // 40 CCM rows and 4 RPM enrolments
		`CPU .*engine .*database`,
		`120 readings of 40 patients in 2 webhooks of 100, 16 in flight: .* 0 errors`,
		`stored 120 readings, 2 items out of range`,
		`the same day sent again: .* 0 errors; 0 stored twice`,
		`bare handler, one INSERT of the batch per request: .* 0 errors`,
		`database +[0-9]+ MB after the run`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("the report has no line matching %q", want)
		}
	}
	// A database the bench made is made anew on the next run.
	if _, err := runBench(ctx, env, "--outreach", exe, "--patients", "5", "--phases", "billing", "--entries", "1", "--database", scratch); err != nil {
		t.Errorf("a second run on the bench's own database: %v", err)
	}
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--patients", "0"},
		{"--rate", "0"},
		{"--history", "-1"},
		{"--history", "121"},
		{"--phases", "dispatch,teleport"},
		{"--items", "50", "--patients", "10"},
		{"--database", "a b"},
		{"--outreach"},
		{"extra"},
	} {
		_, err := parseBench(args, io.Discard, func(string) string { return "" })
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("parseBench(%q) = %v, want a usage error", args, err)
		}
	}
	c, err := parseBench([]string{"--patients", "500"}, io.Discard, func(string) string { return "" })
	if err != nil || c.items != 500 || c.staff != 10 || len(c.phases) != 6 || c.databaseURL != defaultDatabaseURL || c.history != 0 {
		t.Errorf("parseBench(--patients 500) = %+v, %v; want 500 items, 10 staff, every phase, the default database", c, err)
	}
	var help bytes.Buffer
	if _, err := parseBench([]string{"--help"}, &help, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(help.String(), "Usage: outreach-bench") || !strings.Contains(help.String(), "-outreach BINARY") {
		t.Errorf("--help: %v, %q", err, help.String())
	}
}

// The outreach binary is the one named, else the one next to the bench, else the one on PATH;
// with none, the error says how to build one.
func TestOutreachBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "outreach")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := outreachBinary(exe); err != nil || got != exe {
		t.Errorf("outreachBinary(%q) = %q, %v", exe, got, err)
	}
	t.Setenv("PATH", dir)
	if got, err := outreachBinary(""); err != nil || got != exe {
		t.Errorf("outreachBinary on PATH = %q, %v; want %q", got, err, exe)
	}
	// One next to the bench comes before the one on PATH.
	mine := t.TempDir()
	sibling := filepath.Join(mine, "outreach")
	if err := os.WriteFile(sibling, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findOutreach("", mine); err != nil || got != sibling {
		t.Errorf("findOutreach next to the bench = %q, %v; want %q", got, err, sibling)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := outreachBinary(""); err == nil || !strings.Contains(err.Error(), "go build -o bin/ ./cmd/outreach ./cmd/outreach-bench") {
		t.Errorf("outreachBinary with none = %v", err)
	}
	if _, err := outreachBinary(filepath.Join(dir, "missing")); err == nil {
		t.Error("outreachBinary of a missing file succeeded")
	}
}
