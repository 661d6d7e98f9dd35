package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/simulator"
	"github.com/outreach-engine/outreach/timelog"
)

// shutdownGrace bounds how long requests in flight may take once a stop is asked for.
const shutdownGrace = 20 * time.Second

func (a *app) serve(ctx context.Context, args []string) error {
	if _, err := a.parse(serveUsage, nil, args); err != nil {
		return err
	}
	ln, d, err := a.listenAndOpen(ctx)
	if err != nil {
		return err
	}
	defer d.Close()

	lib, err := a.loadScripts()
	if err != nil {
		ln.Close()
		return err
	}
	eng := a.engine(d, lib, a.channel(ctx, simulator.Hooks{}))
	srv, rt := a.newServer(d, eng)
	a.routes(srv, d, eng)
	return a.run(ctx, srv, ln, eng, rt)
}

// listenAndOpen checks the channel, takes the listen address and opens the migrated database:
// everything that can fail is done before anything starts.
func (a *app) listenAndOpen(ctx context.Context) (net.Listener, *sqlx.DB, error) {
	if err := a.checkChannel(); err != nil {
		return nil, nil, err
	}
	if err := a.checkPublicURL(); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("error listening on %s: %w", a.cfg.Listen, err)
	}
	d, err := a.openMigrated(ctx, audit.ActorSystem)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, d, nil
}

// checkPublicURL refuses to serve Twilio on a public URL that Twilio can never reach (the
// default http://localhost:8080, or any loopback address): every webhook and callback would be
// lost without a word. A provider on this machine (TWILIO_API_URL on a loopback address, a
// local fake) can reach it; the simulator needs none.
func (a *app) checkPublicURL() error {
	if a.cfg.Channel != channelTwilio {
		return nil
	}
	if api := a.cfg.Twilio.APIURL; api != nil && loopback(api.Hostname()) {
		return nil
	}
	if loopback(a.cfg.PublicURL.Hostname()) {
		return fmt.Errorf("OUTREACH_PUBLIC_URL is %s, which Twilio cannot reach: set it to the engine's public address, like https://outreach.example.org",
			a.cfg.PublicURL)
	}
	return nil
}

// loopback reports whether host names this machine only.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// newServer returns the HTTP server with its health routes and metrics: the Go and process
// collectors; the events this process records, counted by the engine, the queue and remote
// monitoring; the gauges of the current state each package reads from the database; the
// billing month figures; and the runtime metrics, whose provider timing wraps the engine's channel.
func (a *app) newServer(d *sqlx.DB, eng *outreach.Engine) (*web.Server, *metrics.Runtime) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pid, scripts := a.cfg.practiceSettings().ID, eng.Scripts.IDs()
	errs := dbgauge.NewErrors(reg)
	eng.Metrics = outreach.NewMetrics(reg, scripts)
	a.escalations = escalation.NewMetrics(reg)
	eng.Escalations = a.escalations
	a.gauges = []*dbgauge.Set{outreach.Gauges(d, pid, scripts, a.now, errs, a.log), escalation.Gauges(d, pid, a.now, errs, a.log),
		timelog.Gauges(d, pid, a.now, errs, a.log)}
	for _, g := range a.gauges {
		reg.MustRegister(g)
	}
	a.figures = billing.NewMetrics(a.billingStore(d), 0, a.log)
	reg.MustRegister(a.figures)
	rt := metrics.NewRuntime(reg)
	a.readings = monitoring.NewMetrics(reg, a.monitoring(d).SilentDevices)
	eng.Channel = rt.Channel(eng.Channel)
	srv := web.NewServer(a.log, reg)
	srv.Health(func(ctx context.Context) error {
		st, err := db.CheckSchema(ctx, d)
		if err != nil {
			return &web.Unready{Reason: "database unavailable", Err: err}
		}
		if !st.Current() {
			return &web.Unready{Reason: "database schema not current",
				Err: fmt.Errorf("database schema at version %d, want %d", st.Applied, st.Known)}
		}
		return nil
	}, reg)
	return srv, rt
}

// run serves HTTP and runs the scheduler, the dispatcher and the computation of billing's month
// figures until ctx ends, then stops them in order: no new ticks, the dispatcher's sends in
// flight recorded, requests in flight answered.
func (a *app) run(ctx context.Context, srv *web.Server, ln net.Listener, eng *outreach.Engine, rt *metrics.Runtime) error {
	a.log.Info("serving", "public_url", a.cfg.PublicURL.String(), "channel", a.cfg.Channel,
		"timezone", a.cfg.Location.String(), "quiet_hours", a.cfg.Quiet.String(), "scripts", eng.Scripts.IDs())
	c := startCron(ctx, eng, a.notifier(eng), rt, a.log)
	acc := a.accounts(eng.DB)
	if _, err := c.AddFunc("*/10 * * * *", func() { purgeAccounts(ctx, acc, a.log) }); err != nil {
		panic(err) // a constant spec
	}
	rpm := a.monitoring(eng.DB)
	if _, err := c.AddFunc("*/15 * * * *", func() { followUpSilence(ctx, rpm, a.log) }); err != nil {
		panic(err) // a constant spec
	}
	if _, err := c.AddFunc("41 3 * * *", func() { a.keepPartitions(ctx) }); err != nil {
		panic(err) // a constant spec
	}
	// The gauges are read once before the first request, then in the background: a scrape,
	// the first one too, answers from what was read.
	var wg sync.WaitGroup
	for _, g := range a.gauges {
		wg.Go(func() { g.Refresh(ctx) })
	}
	wg.Wait()
	for _, g := range a.gauges {
		wg.Go(func() { g.Keep(ctx) })
	}
	wg.Go(func() { dispatchLoop(ctx, eng, rt, a.log) })
	wg.Go(func() { a.figures.Run(ctx) })
	err := srv.Serve(ctx, ln, shutdownGrace)
	<-c.Stop().Done()
	wg.Wait()
	a.log.Info("stopped")
	return err
}

// followUpSilence reminds the RPM patients whose device went silent and raises items for the
// longer silences; every replica may run it, each silence is followed up once.
func followUpSilence(ctx context.Context, svc *monitoring.Service, log *slog.Logger) {
	res, err := svc.FollowUpSilence(ctx)
	if err != nil {
		log.Error("silent-device follow-up failed", "err", err)
	}
	if res.Reminded+res.Escalated > 0 {
		log.Info("silent devices", "reminded", res.Reminded, "escalated", res.Escalated)
	}
}

// purgeAccounts deletes the sessions that have ended and the login counts nobody added to
// for a day; every replica may run it, the deletes are the same.
func purgeAccounts(ctx context.Context, acc *web.Accounts, log *slog.Logger) {
	sessions, counts, err := acc.Purge(ctx)
	if err != nil {
		log.Error("purging sessions and login counts failed", "err", err)
		return
	}
	if sessions+counts > 0 {
		log.Info("purged", "sessions", sessions, "login_counts", counts)
	}
}

func (a *app) healthcheck(ctx context.Context, args []string) error {
	if _, err := a.parse(healthcheckUsage, nil, args); err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(a.cfg.Listen)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("error asking /healthz: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", resp.Status)
	}
	return nil
}
