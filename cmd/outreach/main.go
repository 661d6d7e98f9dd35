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
	"syscall"
	"time"
	_ "time/tzdata" // zones for minimal containers without /usr/share/zoneinfo

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/monitoring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "outreach: "+errorText(err))
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, ue.hint())
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
	stderr io.Writer
	// readings counts the readings this process stores, escalations the items it opens, claims
	// and resolves (set with the server's metrics; nil elsewhere: not counted).
	readings    *monitoring.Metrics
	escalations *escalation.Metrics
	// figures are billing's month figures (set with the server's metrics), kept computed by run.
	figures *billing.Metrics
	// gauges are the gauges read from the database (set with the server's metrics), kept read
	// by run.
	gauges []*dbgauge.Set
}

// run runs the command line args. A command's --help succeeds without reading the
// configuration, so that it works before anything is set up.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{msg: "no command given"}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printOverview(stdout)
		return nil
	case "help":
		if len(args) == 1 {
			printOverview(stdout)
			return nil
		}
		args = append(args[1:], "--help")
	}
	a := &app{now: time.Now, stdin: stdin, stdout: stdout, stderr: stderr}
	if !wantsHelp(args) {
		cfg, err := LoadConfig(getenv, os.ReadFile)
		if err != nil {
			return err
		}
		a.cfg, a.log = cfg, newLogger(cfg, stderr)
		if cfg.CPUProfile != "" {
			stop, err := startCPUProfile(cfg.CPUProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
	}
	err := a.command(ctx, args[0], args[1:])
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// commands runs each command of the command line, by its first word.
var commandRunners = map[string]func(a *app, ctx context.Context, args []string) error{
	"serve":       (*app).serve,
	"migrate":     (*app).migrate,
	"import":      (*app).importFile,
	"billing":     (*app).billingCmd,
	"staff":       (*app).staffCmd,
	"time":        (*app).timeCmd,
	"audit":       (*app).auditCmd,
	"history":     (*app).historyCmd,
	"checkins":    (*app).checkinsCmd,
	"scripts":     func(a *app, _ context.Context, args []string) error { return a.scriptsCmd(args) },
	"demo":        (*app).demo,
	"healthcheck": (*app).healthcheck,
}

// command runs one command.
func (a *app) command(ctx context.Context, cmd string, rest []string) error {
	run, ok := commandRunners[cmd]
	if !ok {
		return usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
	}
	return run(a, ctx, rest)
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
