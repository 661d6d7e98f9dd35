// Command outreach-bench is a load run to size a machine for the outreach engine. It drops and
// recreates a scratch database on the server of DATABASE_URL (only one it made itself), starts a
// fake Twilio in its own process, runs the outreach command's own commands (import, checkins run,
// serve, billing report) in child processes against them and prints what it measured.
//
// It runs the outreach binary named by --outreach; by default the one in its own directory
// (go build -o bin/ ./cmd/outreach ./cmd/outreach-bench), else the one on PATH. That binary must
// be built from the same source: the bench refuses one whose database schema differs from its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "outreach-bench: "+err.Error())
		if errors.As(err, new(usageError)) {
			fmt.Fprintln(os.Stderr, "Run 'outreach-bench --help' for usage.")
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a command line the bench cannot run.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

const about = `Usage: outreach-bench [--patients N] [--history MONTHS] [--phases dispatch,inbound,claims,billing,readings,pace] ...

A load run to size a machine: it drops and recreates a scratch database on the server of
DATABASE_URL (only one it made itself), starts a fake Twilio, runs the outreach command's own
commands in child processes against them and prints what it measured. The outreach binary is
--outreach, by default the one next to this program, else the one on PATH; it must be built
from the same source.

With --history, months of a clinic's history are written before the phases (with SQL, a few
statements a month), and every phase runs on top of them. Each run also times /metrics before
the load and under the replies, the scheduler's minute once the month's check-ins are sent,
and the queue, item and patient pages while the replies come: the replies are fired twice,
alone and then with the pages, from different patients.

Flags:
`

// defaultDatabaseURL is the outreach command's own default.
const defaultDatabaseURL = "postgres://postgres@localhost:5432/outreach?sslmode=disable"

// benchConfig is what a load run does.
type benchConfig struct {
	patients, entries, staff int
	history                  int // months of history filled before the phases
	rate                     int
	sendRate                 int           // the pace phase's OUTREACH_SEND_RATE
	latency                  time.Duration // how long the fake Twilio takes to answer in the pace phase
	duration                 time.Duration
	nurses, items            int
	phases                   []string
	database                 string
	databaseURL              string    // the server's URL, from DATABASE_URL
	outreach                 string    // the outreach binary the children run
	profile                  string    // a directory for the children's CPU profiles; empty: none
	at                       time.Time // the instant the check-ins are due at
}

var benchPhases = []string{"dispatch", "inbound", "claims", "billing", "readings", "pace"}

// run runs the bench with the command line args; --help prints the usage and succeeds.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c, err := parseBench(args, stdout, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return bench(ctx, c, stdout)
}

// parseBench reads the command line and the environment; --help prints the usage to out and
// returns flag.ErrHelp.
func parseBench(args []string, out io.Writer, getenv func(string) string) (benchConfig, error) {
	fs := flag.NewFlagSet("outreach-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := benchConfig{at: time.Date(2026, 12, 1, 18, 30, 0, 0, time.UTC)}
	fs.IntVar(&c.patients, "patients", 100000, "`N` synthetic patients")
	fs.IntVar(&c.history, "history", 0, "`MONTHS` of history (check-ins, texts, answers, items, time, audit) filled before the month the phases run in")
	fs.IntVar(&c.entries, "entries", 20, "`N` time entries per patient in the billing month")
	fs.IntVar(&c.rate, "rate", 1000, "`N` signed inbound replies per second")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long replies are fired, alone and again with the pages, a `DURATION` like 10s or 2m")
	fs.IntVar(&c.sendRate, "send-rate", 50, "the pace phase's OUTREACH_SEND_RATE, `N` texts a second per sender")
	fs.DurationVar(&c.latency, "latency", 150*time.Millisecond, "how long the fake Twilio takes to answer a send in the pace phase, a `DURATION`")
	fs.IntVar(&c.nurses, "nurses", 20, "`N` nurses claiming queue items at once")
	fs.IntVar(&c.items, "items", 0, "`N` queue items to claim (default 10,000, at most --patients)")
	phases := fs.String("phases", strings.Join(benchPhases, ","), "the `PHASES` to run, comma-separated")
	fs.StringVar(&c.database, "database", "outreach_bench", "the scratch database's `NAME` (dropped and made anew)")
	fs.StringVar(&c.outreach, "outreach", "", "the outreach `BINARY` to run (default: the one next to this program, else on PATH)")
	fs.StringVar(&c.profile, "profile", "", "a `DIR` where each command run writes its CPU profile")
	fs.Usage = func() {}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(out, about)
		fs.SetOutput(out)
		fs.PrintDefaults()
		return c, flag.ErrHelp
	} else if err != nil {
		return c, usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return c, usageErrorf("takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	if c.items == 0 {
		c.items = min(10_000, c.patients)
	}
	switch {
	case c.patients < 1 || c.patients > 10_000_000:
		return c, usageErrorf("--patients must be from 1 to 10000000")
	case c.history < 0 || c.history > 120:
		return c, usageErrorf("--history must be from 0 to 120 months")
	case c.entries < 0 || c.entries > 1000:
		return c, usageErrorf("--entries must be from 0 to 1000")
	case c.rate < 1 || c.rate > 100_000:
		return c, usageErrorf("--rate must be from 1 to 100000 replies a second")
	case c.duration <= 0 || c.duration > time.Hour:
		return c, usageErrorf("--duration must be positive and at most 1h")
	case c.sendRate < 1 || c.sendRate > 1000:
		return c, usageErrorf("--send-rate must be from 1 to 1000 texts a second")
	case c.latency < 0 || c.latency > time.Minute:
		return c, usageErrorf("--latency must be from 0 to 1m")
	case c.nurses < 1 || c.nurses > 1000 || c.items < 1 || c.items > c.patients:
		return c, usageErrorf("--nurses must be from 1 to 1000, and --items from 1 to --patients")
	case c.database == "" || strings.ContainsAny(c.database, `"'\/ `):
		return c, usageErrorf("--database must be a plain database name")
	}
	for _, p := range strings.Split(*phases, ",") {
		if !slices.Contains(benchPhases, p) {
			return c, usageErrorf("--phases: unknown phase %q (phases: %s)", p, strings.Join(benchPhases, ", "))
		}
		c.phases = append(c.phases, p)
	}
	c.staff = max(10, c.patients/100)
	var err error
	if c.databaseURL, err = databaseURL(getenv); err != nil {
		return c, err
	}
	return c, nil
}

// databaseURL reads DATABASE_URL (or the file DATABASE_URL_FILE names) as the outreach command
// does, with its default.
func databaseURL(getenv func(string) string) (string, error) {
	v, file := strings.TrimSpace(getenv("DATABASE_URL")), getenv("DATABASE_URL_FILE")
	switch {
	case file != "" && v != "":
		return "", errors.New("DATABASE_URL and DATABASE_URL_FILE are both set: use one")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("DATABASE_URL_FILE: %w", err)
		}
		v = strings.TrimSpace(string(b))
	}
	if v == "" {
		v = defaultDatabaseURL
	}
	return v, nil
}
