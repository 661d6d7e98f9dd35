package main

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestBenchSmallRun runs every phase of the load tool on a small scale, its commands in child
// processes (this test binary, which runs the command it is given), and reads its report: every
// patient got one first text, every reply was recorded once, no item was claimed twice, the
// billing report has its rows.
func TestBenchSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the engine's commands in child processes")
	}
	ctx := context.Background()
	conn := dbtest.Empty(t)
	name, err := db.DatabaseName(conn)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": conn, "OUTREACH_LOG_LEVEL": "warn"}
	// A database the bench did not make is never dropped.
	if _, _, err := runCmd(t, ctx, env, "bench", "--patients", "5", "--database", name); err == nil ||
		!strings.Contains(err.Error(), "did not make it") {
		t.Fatalf("bench on a database it did not make: %v", err)
	}
	scratch := name + "_bench"
	scratchConn, err := db.ReplaceDatabase(conn, scratch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Drop(ctx, scratchConn) })
	args := []string{"bench", "--patients", "40", "--entries", "3", "--rate", "100", "--duration", "1s",
		"--nurses", "4", "--items", "20", "--database", scratch}
	out, _, err := runCmd(t, ctx, env, args...)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	t.Logf("bench report:\n%s", out)
	for _, want := range []string{
		`import patients: 40 rows`,
		`checkins run: 40 check-ins and first texts .*; 0 patients without a text, 0 doubled`,
		`engine/bare = [0-9.]+x`,
		`100 signed replies offered at 100/s: .* 0 errors`,
		`recorded 100 of 100 \(0 lost, 0 duplicated\)`,
		`bare handler, one INSERT per request: .* 0 errors`,
		`4 nurses, 20 items, each claimed by 2 at once: 20 claims won`,
		`20 refused \(409\), 0 errors, 0 double claims; 20 items held`,
		`generated 120 time entries`,
		`billing report: 4[4-9] rows from 120 entries`, // 40 CCM rows, 4 RPM enrolments, RPM time of others
		`CPU .*engine .*database`,
		`database +[0-9]+ MB after the run`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("the report has no line matching %q", want)
		}
	}
	// A database the bench made is made anew on the next run.
	if _, _, err := runCmd(t, ctx, env, "bench", "--patients", "5", "--phases", "billing", "--entries", "1", "--database", scratch); err != nil {
		t.Errorf("a second run on the bench's own database: %v", err)
	}
}

func TestBenchFlags(t *testing.T) {
	a := &app{stdout: io.Discard}
	for _, args := range [][]string{
		{"--patients", "0"},
		{"--rate", "0"},
		{"--phases", "dispatch,teleport"},
		{"--items", "50", "--patients", "10"},
		{"--database", "a b"},
		{"extra"},
	} {
		_, err := a.parseBench(args)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("parseBench(%q) = %v, want a usage error", args, err)
		}
	}
	c, err := a.parseBench([]string{"--patients", "500"})
	if err != nil || c.items != 500 || c.staff != 10 || len(c.phases) != 4 {
		t.Errorf("parseBench(--patients 500) = %+v, %v; want 500 items, 10 staff, every phase", c, err)
	}
}
