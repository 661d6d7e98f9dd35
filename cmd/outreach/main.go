// Command outreach runs the patient outreach engine: the HTTP server, scheduler and
// dispatcher, and the command-line tools for migrations, imports and billing.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zones for minimal containers without /usr/share/zoneinfo
)

const usage = `usage: outreach COMMAND [ARGS]

commands:
  serve                          HTTP server, cron scheduler and dispatcher (migrates first)
  demo                           a tour with no setup: demo database, simulated patients, the server
  migrate                        apply pending migrations and exit
  import patients|staff|services|time FILE.csv
                                 import a CSV file (- reads standard input)
  billing report --month YYYY-MM [--format json|csv|text]
                                 the month's billing report (a closed month's snapshot)
  billing close --month YYYY-MM  store the month's report as an immutable snapshot
  billing worklist [--month YYYY-MM] [--within MINUTES]
                                 patients close to their next threshold, most valuable first
  time history ENTRY_ID          an entry's versions: the original, amendments, a void
  time export --month YYYY-MM    the month's entries with every audit element, as CSV
  time conflicts --month YYYY-MM overlapping entries of one staff member
  checkins run [--at RFC3339]    one scheduling pass and dispatch until nothing is due, then exit;
                                 --at pins the clock used for "due" and quiet hours
  scripts validate FILE.yaml     check a check-in script and print what is wrong
  staff token STAFF_ID           print a new API token for that staff member
  healthcheck                    ask the local server's /healthz (for container health checks)
  bench [--patients N] [--phases dispatch,inbound,claims,billing] …
                                 a load run in a scratch database against a local fake Twilio

Configuration comes from the environment; see the README.`

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "outreach: "+errorText(err))
		if errors.As(err, new(usageError)) {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// app is what every command gets: configuration, logger, clock and standard streams.
type app struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	stdin  io.Reader
	stdout io.Writer
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{"no command given"}
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	cfg, err := LoadConfig(getenv, os.ReadFile)
	if err != nil {
		return err
	}
	a := &app{cfg: cfg, log: newLogger(cfg, stderr), now: time.Now, stdin: stdin, stdout: stdout}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	return a.command(ctx, args[0], args[1:])
}

// command runs one command.
func (a *app) command(ctx context.Context, cmd string, rest []string) error {
	switch cmd {
	case "serve":
		return a.serve(ctx, rest)
	case "migrate":
		return a.migrate(ctx, rest)
	case "import":
		return a.importFile(ctx, rest)
	case "billing":
		return a.billingCmd(ctx, rest)
	case "staff":
		return a.staffCmd(ctx, rest)
	case "time":
		return a.timeCmd(ctx, rest)
	case "checkins":
		return a.checkinsCmd(ctx, rest)
	case "scripts":
		return a.scriptsCmd(rest)
	case "demo":
		return a.demo(ctx, rest)
	case "healthcheck":
		return a.healthcheck(ctx, rest)
	case "bench":
		return a.bench(ctx, rest)
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// startCPUProfile writes a CPU profile of this process to path until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("error creating OUTREACH_CPU_PROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("error starting the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// noArgs fails when a command that takes no arguments got some.
func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments, got %q", cmd, strings.Join(args, " "))}
	}
	return nil
}
