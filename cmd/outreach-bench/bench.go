package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/loadstat"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
	"github.com/outreach-engine/outreach/internal/tz"
)

// bench runs a load run in a scratch database against a local fake Twilio, each measured step
// in a child process running a command of the outreach binary, and prints what it measured.
func bench(ctx context.Context, c benchConfig, out io.Writer) error {
	exe, err := outreachBinary(c.outreach)
	if err != nil {
		return err
	}
	conn, err := db.ReplaceDatabase(c.databaseURL, c.database)
	if err != nil {
		return err
	}
	if err := checkScratch(ctx, conn, c.database); err != nil {
		return err
	}
	if err := db.Drop(ctx, conn); err != nil {
		return fmt.Errorf("error resetting the bench database: %w", err)
	}
	if err := db.CreateIfMissing(ctx, conn); err != nil {
		return err
	}
	// The bench's own statements work in bulk (a minute and more at 100,000 patients): its pool
	// gets the long statement timeout of migrations; the engine it runs has its own.
	d, err := db.OpenWith(ctx, conn, db.MigrationSession)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, "COMMENT ON DATABASE "+pq.QuoteIdentifier(c.database)+" IS "+pq.QuoteLiteral(scratchMark)); err != nil {
		return fmt.Errorf("error marking the bench database: %w", err)
	}
	b := &benchRun{c: c, exe: exe, d: d, conn: conn, out: out, practice: int64(practice.Default)}
	b.sid, b.token = "AC"+randomHex(16), randomHex(16)
	b.fake = twiliofake.New(b.sid, b.token)
	defer b.fake.Close()
	b.fake.SetClock(func() time.Time { return c.at })
	if b.dir, err = os.MkdirTemp("", "outreach-bench-"); err != nil {
		return fmt.Errorf("error making a scratch directory: %w", err)
	}
	defer os.RemoveAll(b.dir)

	b.phase = "setup"
	fmt.Fprintf(b.out, "outreach-bench: %d patients, %d staff, database %q; each command of %s runs in its own process\n",
		c.patients, c.staff, c.database, exe)
	if err := b.migrate(ctx); err != nil {
		return err
	}
	if err := b.setup(ctx); err != nil {
		return err
	}
	if err := b.history(ctx); err != nil {
		return err
	}
	if err := b.scrapeIdle(ctx); err != nil {
		return err
	}
	for _, p := range c.phases {
		var err error
		b.phase = p
		switch p {
		case "dispatch":
			if err = b.dispatch(ctx); err == nil {
				err = b.minute(ctx)
			}
		case "inbound":
			err = b.inbound(ctx)
		case "claims":
			err = b.claims(ctx)
		case "billing":
			err = b.billing(ctx)
		case "readings":
			err = b.readings(ctx)
		case "pace":
			err = b.pace(ctx)
		}
		if err != nil {
			return fmt.Errorf("bench %s: %w", p, err)
		}
	}
	var size int64
	if err := d.GetContext(ctx, &size, `SELECT pg_database_size(current_database())`); err != nil {
		return fmt.Errorf("error reading the database size: %w", err)
	}
	fmt.Fprintf(b.out, "%-9s %s after the run\n", "database", loadstat.MB(size))
	return nil
}

// outreachBinary returns the outreach binary the bench runs: path when given (a file, or a
// name on PATH), else "outreach" in this program's own directory, else the one on PATH.
func outreachBinary(path string) (string, error) {
	self, _ := os.Executable()
	return findOutreach(path, filepath.Dir(self))
}

// findOutreach is outreachBinary with this program's directory given.
func findOutreach(path, dir string) (string, error) {
	if path == "" {
		sibling := filepath.Join(dir, "outreach")
		if st, err := os.Stat(sibling); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return sibling, nil
		}
		path = "outreach"
	}
	found, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("error finding the outreach binary (build it next to this one with 'go build -o bin/ ./cmd/outreach ./cmd/outreach-bench', or name it with --outreach): %w", err)
	}
	abs, err := filepath.Abs(found)
	if err != nil {
		return "", fmt.Errorf("error finding the outreach binary: %w", err)
	}
	return abs, nil
}

// migrate runs "outreach migrate" on the scratch database, checks that it left the schema this
// bench knows (a binary built from other source is refused: the fixtures are written with this
// source's functions) and reads the practice's zone.
func (b *benchRun) migrate(ctx context.Context) error {
	if _, _, err := b.runChild(ctx, "migrate"); err != nil {
		return err
	}
	st, err := db.CheckSchema(ctx, b.d)
	if err != nil {
		return fmt.Errorf("%s migrated the bench database to a schema this bench does not know (build both from the same source): %w", b.exe, err)
	}
	if !st.Current() {
		return fmt.Errorf("%s migrated the bench database to schema version %d and this bench needs %d: build both from the same source", b.exe, st.Applied, st.Known)
	}
	var zone string
	if err := b.d.GetContext(ctx, &zone, `SELECT timezone FROM practices WHERE id = $1`, b.practice); err != nil {
		return fmt.Errorf("error reading the practice's zone: %w", err)
	}
	if b.loc, err = tz.Load(zone); err != nil {
		return fmt.Errorf("error loading the practice's zone: %w", err)
	}
	return nil
}

// scratchMark is the comment on the databases the bench makes: the only ones it drops.
const scratchMark = "outreach bench scratch database"

// checkScratch refuses to go on when the database named exists and the bench did not make it: a
// mistyped --database must never drop a practice's data.
func checkScratch(ctx context.Context, conn, name string) error {
	maint, err := db.ReplaceDatabase(conn, "postgres")
	if err != nil {
		return err
	}
	d, err := sqlx.Open("postgres", maint)
	if err != nil {
		return fmt.Errorf("error opening the maintenance database: %w", err)
	}
	defer d.Close()
	var comment *string
	err = d.QueryRowContext(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name).Scan(&comment)
	switch {
	case db.IsNoRows(err):
		return nil
	case err != nil:
		return fmt.Errorf("error looking for database %q: %w", name, err)
	case comment == nil || *comment != scratchMark:
		return fmt.Errorf("database %q exists and outreach-bench did not make it, so it is not dropped: name another with --database", name)
	}
	return nil
}

// benchRun is one load run's shared state.
type benchRun struct {
	c          benchConfig
	exe        string // the outreach binary
	loc        *time.Location
	d          *sqlx.DB
	conn       string
	out        io.Writer
	practice   int64
	fake       *twiliofake.Server
	sid, token string
	dir        string
	phase      string
}

const benchFrom = "+15550001111"

// forgetSent has the fake Twilio drop what it was sent, and this process let go of it, so that
// its memory and garbage collector stay out of the next measures.
func (b *benchRun) forgetSent() {
	b.fake.Forget()
	runtime.GC()
	debug.FreeOSMemory()
}

func benchPhone(i int) string { return fmt.Sprintf("+1558%07d", i) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// env is the children's environment: this one, with the scratch database and the fake Twilio.
// Of the engine's settings only the practice's zone (OUTREACH_TIMEZONE) is kept.
func (b *benchRun) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OUTREACH_TIMEZONE=") ||
			!strings.HasPrefix(kv, "DATABASE_URL") && !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "OUTREACH_") {
			env = append(env, kv)
		}
	}
	env = append(env, "DATABASE_URL="+b.conn, "OUTREACH_CHANNEL=twilio", "TWILIO_ACCOUNT_SID="+b.sid,
		"TWILIO_AUTH_TOKEN="+b.token, "TWILIO_FROM_NUMBER="+benchFrom, "TWILIO_API_URL="+b.fake.URL(),
		"OUTREACH_SEND_RATE=0", "OUTREACH_LOG_LEVEL=error")
	return append(env, extra...)
}

// child is a command of the outreach binary running in its own process.
type child struct {
	cmd    *exec.Cmd
	stdout strings.Builder
	stderr strings.Builder
	start  time.Time
	peak   atomic.Int64  // the highest resident memory seen, bytes
	exited chan struct{} // closed when the process has ended
	polled chan struct{} // closed when the memory poll has stopped
}

func (b *benchRun) start(ctx context.Context, env []string, args ...string) (*child, error) {
	cmd := exec.CommandContext(ctx, b.exe, args...)
	ch := &child{cmd: cmd, exited: make(chan struct{}), polled: make(chan struct{})}
	cmd.Env = append(cmd.Env, env...)
	if b.c.profile != "" {
		name := strings.Join(append([]string{b.phase}, args[:min(2, len(args))]...), "-") + ".pprof"
		cmd.Env = append(cmd.Env, "OUTREACH_CPU_PROFILE="+filepath.Join(b.c.profile, name))
	}
	cmd.Stdout, cmd.Stderr = &ch.stdout, &ch.stderr
	ch.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("error starting %q: %w", strings.Join(args, " "), err)
	}
	go ch.pollMemory()
	return ch, nil
}

// pollMemory follows the child's peak resident memory until it ends. The kernel's own count at
// the end (rusage) cannot serve: it starts from this process's peak, which the child inherits
// across the fork.
func (ch *child) pollMemory() {
	defer close(ch.polled)
	for {
		if rss, err := loadstat.PeakRSS(ch.cmd.Process.Pid); err == nil && rss > ch.peak.Load() {
			ch.peak.Store(rss)
		}
		select {
		case <-ch.exited:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// childUsage is what a child process used.
type childUsage struct {
	took time.Duration // wall time
	rss  int64         // peak resident memory, bytes
	cpu  time.Duration // user and system
}

// wait waits for the child and returns what it used.
func (ch *child) wait() (childUsage, error) {
	err := ch.cmd.Wait()
	close(ch.exited)
	<-ch.polled
	u := childUsage{took: time.Since(ch.start), rss: ch.peak.Load()}
	if st := ch.cmd.ProcessState; st != nil {
		u.cpu = st.UserTime() + st.SystemTime()
	}
	if err != nil {
		return u, fmt.Errorf("%q failed: %w: %s", strings.Join(ch.cmd.Args[1:], " "), err, strings.TrimSpace(ch.stderr.String()))
	}
	return u, nil
}

// runChild runs a command of the outreach binary to its end.
func (b *benchRun) runChild(ctx context.Context, args ...string) (*child, childUsage, error) {
	ch, err := b.start(ctx, b.env(), args...)
	if err != nil {
		return nil, childUsage{}, err
	}
	u, err := ch.wait()
	return ch, u, err
}

// setup imports the patients and staff through the import commands.
func (b *benchRun) setup(ctx context.Context) error {
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	enrolled, carePlan := b.enrolment()
	var p strings.Builder
	p.WriteString("id,first_name,last_name,phone,timezone,language,channel,chronic_conditions,billing_npi,programs,consent_at,consent_method,initiating_visit_on,care_plan_on\n")
	for i := range b.c.patients {
		lang, programs := "en", "ccm"
		if i%5 == 4 {
			lang = "es"
		}
		if i%10 == 0 {
			programs = "ccm;rpm"
		}
		fmt.Fprintf(&p, "B%07d,Pat,Bench%d,%s,%s,%s,sms,I10;E11.9,1234567893,%s,%s,verbal,%s,%s\n",
			i, i, benchPhone(i), zones[i%len(zones)], lang, programs, enrolled, enrolled, carePlan)
	}
	var s strings.Builder
	s.WriteString("id,name,credential,role\n")
	for i := range b.c.staff {
		fmt.Fprintf(&s, "S%05d,Staff %d,RN,clinical\n", i, i)
	}
	for i := range b.c.nurses {
		fmt.Fprintf(&s, "N%04d,Nurse %d,RN,clinical\n", i, i)
	}
	for _, f := range []struct{ kind, name, body string }{{"patients", "patients.csv", p.String()}, {"staff", "staff.csv", s.String()}} {
		path := filepath.Join(b.dir, f.name)
		if err := os.WriteFile(path, []byte(f.body), 0o600); err != nil {
			return fmt.Errorf("error writing %s: %w", path, err)
		}
		_, u, err := b.runChild(ctx, "import", f.kind, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(b.out, "%-9s import %s: %s rows in %.1f s, peak RSS %s\n", "setup", f.kind,
			thousands(strings.Count(f.body, "\n")-1), u.took.Seconds(), loadstat.MB(u.rss))
	}
	return nil
}

// dispatch runs "checkins run" at the first of the month, then sends as many texts with the
// bare twilio-go client against the same fake.
func (b *benchRun) dispatch(ctx context.Context) error {
	n := b.c.patients
	before := b.fake.Count()
	bar := loadstat.NewProgress(os.Stderr, "dispatch", n)
	cpu, vacuum := startCPU(), b.watchVacuum(ctx)
	ch, err := b.start(ctx, b.env(), "checkins", "run", "--at", b.c.at.Format(time.RFC3339))
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
				bar.Set(b.fake.Count() - before)
			}
		}
	}()
	u, err := ch.wait()
	split, background := cpu.split(0, u.cpu), vacuum.end()
	close(done)
	bar.Set(b.fake.Count() - before)
	bar.Done()
	if err != nil {
		return err
	}
	sent := b.fake.Count() - before
	recipients := map[string]int{}
	for _, r := range b.fake.Requests()[before:] {
		recipients[r.To]++
	}
	doubled := 0
	for _, k := range recipients {
		doubled += k - 1
	}
	engineRate := float64(sent) / u.took.Seconds()
	fmt.Fprintf(b.out, "%-9s checkins run: %s check-ins and first texts in %.1f s: %s texts/s, peak RSS %s; %d patients without a text, %d doubled\n",
		"dispatch", thousands(sent), u.took.Seconds(), thousands(int(engineRate)), loadstat.MB(u.rss), n-len(recipients), doubled)
	fmt.Fprintf(b.out, "%-9s CPU %s; %s\n", "", split.per(sent, "text"), background)

	b.forgetSent()
	bareTook, err := bareSends(ctx, b.fake.URL(), b.sid, b.token, n)
	if err != nil {
		return err
	}
	b.forgetSent()
	bareRate := float64(n) / bareTook.Seconds()
	fmt.Fprintf(b.out, "%-9s bare twilio-go, 8 workers, same fake: %s texts in %.1f s: %s texts/s; engine/bare = %.2fx\n",
		"", thousands(n), bareTook.Seconds(), thousands(int(bareRate)), engineRate/bareRate)
	return nil
}

// inbound starts "serve" and fires signed replies at it, then the same load at a bare handler
// that does one INSERT per request.
func (b *benchRun) inbound(ctx context.Context) error {
	srv, err := b.serve(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	var before int
	if err := b.d.GetContext(ctx, &before, `SELECT count(*) FROM messages WHERE direction = 'in'`); err != nil {
		return fmt.Errorf("error counting replies: %w", err)
	}
	total := int(float64(b.c.rate) * b.c.duration.Seconds())
	bodies := []string{"8", "no", "yes, all", "no"}
	hook := srv.base + "/webhooks/twilio/sms"
	// Encoded and signed before the clock starts: the load costs the engine's CPU as little as
	// it can. The replies come twice: alone, as on a first month, then with the care team's
	// pages, from the next patients.
	replies := make([]signedForm, 2*total)
	for i := range replies {
		v := url.Values{"MessageSid": {"SM" + randomHex(16)}, "AccountSid": {b.sid}, "From": {benchPhone(i % b.c.patients)},
			"To": {benchFrom}, "Body": {bodies[(i/b.c.patients)%len(bodies)]}, "NumMedia": {"0"}}
		replies[i] = signedForm{body: v.Encode(), signature: twiliofake.Sign(b.token, hook, v)}
	}
	cpu, vacuum := startCPU(), b.watchVacuum(ctx)
	res := fire(ctx, "replies", b.c.rate, total, func(i int) (*http.Request, error) {
		return replies[i].request(hook)
	})
	split, background := cpu.split(srv.ch.cmd.Process.Pid, 0), vacuum.end()
	side, err := b.startBeside(ctx, srv)
	if err != nil {
		return err
	}
	cpu, vacuum = startCPU(), b.watchVacuum(ctx)
	withPages := fire(ctx, "replies and pages", b.c.rate, total, func(i int) (*http.Request, error) {
		return replies[total+i].request(hook)
	})
	side.stop()
	splitPages, backgroundPages := cpu.split(srv.ch.cmd.Process.Pid, 0), vacuum.end()
	drained, err := b.drainOutbox(ctx, 2*time.Minute)
	if err != nil {
		return fmt.Errorf("%w; serve said: %s", err, lastLine(srv.ch.stderr.String()))
	}
	rss := srv.ch.peak.Load()
	var after, distinct int
	if err := b.d.GetContext(ctx, &after, `SELECT count(*) FROM messages WHERE direction = 'in'`); err != nil {
		return fmt.Errorf("error counting replies: %w", err)
	}
	if err := b.d.GetContext(ctx, &distinct, `SELECT count(DISTINCT twilio_sid) FROM messages WHERE direction = 'in'`); err != nil {
		return fmt.Errorf("error counting replies: %w", err)
	}
	fmt.Fprintf(b.out, "%-9s %s signed replies offered at %d/s: %s/s answered, %s; %d errors; serve peak RSS %s\n",
		"inbound", thousands(total), b.c.rate, thousands(int(res.rate())), res.lat.Summary(), res.errors(), loadstat.MB(rss))
	fmt.Fprintf(b.out, "%-9s CPU while replies came: %s; %s\n", "", split.per(total, "reply"), background)
	fmt.Fprintf(b.out, "%-9s with the pages below, %s more: %s/s answered, %s; %d errors\n",
		"", thousands(total), thousands(int(withPages.rate())), withPages.lat.Summary(), withPages.errors())
	fmt.Fprintf(b.out, "%-9s CPU while replies and pages came: %s; %s\n", "", splitPages.per(total, "reply"), backgroundPages)
	fmt.Fprintf(b.out, "%-9s recorded %s of %s (%d lost, %d duplicated); the answers' next messages all sent %.1f s after the last reply\n",
		"", thousands(after-before), thousands(2*total), 2*total-(after-before), (after-before)-(distinct-before), drained.Seconds())
	side.report(b.out, withPages.lat.Summary())

	srv.stop() // its work must not slow the comparison down
	bare, err := startBareHandler(ctx, b.conn)
	if err != nil {
		return err
	}
	defer bare.close()
	cpu = startCPU()
	bres := fire(ctx, "bare", b.c.rate, total, func(i int) (*http.Request, error) {
		return replies[i].request(bare.url)
	})
	split = cpu.split(0, 0)
	fmt.Fprintf(b.out, "%-9s bare handler, one INSERT per request: %s/s answered, %s; %d errors\n",
		"", thousands(int(bres.rate())), bres.lat.Summary(), bres.errors())
	fmt.Fprintf(b.out, "%-9s CPU (the bare handler runs in this process): %s\n", "", split.per(total, "reply"))
	return nil
}

// drainOutbox waits until no message waits to be sent, and returns how long that took.
func (b *benchRun) drainOutbox(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		var waiting int
		if err := b.d.GetContext(ctx, &waiting, `SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')`); err != nil {
			return 0, fmt.Errorf("error counting the outbox: %w", err)
		}
		if waiting == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("%d messages still wait to be sent %v after the load", waiting, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signedForm is a webhook's body and its signature.
type signedForm struct{ body, signature string }

func (f signedForm) request(to string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, to, strings.NewReader(f.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", f.signature)
	return req, nil
}

// benchServer is "serve" running in a child process.
type benchServer struct {
	ch   *child
	base string
	stop func()
}

func (b *benchRun) serve(ctx context.Context) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("error finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	ctx, cancel := context.WithCancel(ctx)
	ch, err := b.start(ctx, b.env("OUTREACH_LISTEN="+addr, "OUTREACH_PUBLIC_URL="+base), "serve")
	if err != nil {
		cancel()
		return nil, err
	}
	ch.cmd.Cancel = func() error { return ch.cmd.Process.Signal(syscall.SIGTERM) }
	ch.cmd.WaitDelay = 30 * time.Second
	s := &benchServer{ch: ch, base: base, stop: sync.OnceFunc(func() { cancel(); _, _ = ch.wait() })}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ch.cmd.ProcessState != nil {
			s.stop()
			return nil, fmt.Errorf("serve did not become ready: %s", strings.TrimSpace(ch.stderr.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// claims raises queue items and has nurses claim them through the API, two nurses racing for
// each item.
func (b *benchRun) claims(ctx context.Context) error {
	if err := raiseQueueItems(ctx, b.d, b.practice, b.c.items, time.Now(), b.loc); err != nil {
		return err
	}
	var ids []int64
	if err := b.d.SelectContext(ctx, &ids, `SELECT id FROM escalations WHERE practice_id = $1 AND status = 'open' ORDER BY random() LIMIT $2`,
		b.practice, b.c.items); err != nil {
		return fmt.Errorf("error listing queue items: %w", err)
	}
	tokens := make([]string, b.c.nurses)
	for i := range tokens {
		var err error
		if tokens[i], err = newBenchToken(ctx, b.d, b.practice, fmt.Sprintf("N%04d", i)); err != nil {
			return err
		}
	}
	srv, err := b.serve(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	// Item k is offered to nurse k and to the next nurse (mod the number of nurses), each nurse
	// going through their items in order, so that two nurses race for each item: one must win,
	// the other get 409. A lone nurse has no one to race.
	n := b.c.nurses
	rivals := min(n, 2)
	mine := make([][]int64, n)
	for k, id := range ids {
		for r := range rivals {
			nurse := (k + r) % n
			mine[nurse] = append(mine[nurse], id)
		}
	}
	offers := rivals * len(ids)
	var done atomic.Int64
	var mu sync.Mutex
	winners := map[int64][]int{}
	refused, failed := 0, 0
	var lat loadstat.Latencies
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 30 * time.Second}
	bar := loadstat.NewProgress(os.Stderr, "claims", offers)
	cpu, vacuum := startCPU(), b.watchVacuum(ctx)
	start := time.Now()
	var wg sync.WaitGroup
	for nurse := range n {
		wg.Go(func() {
			for _, id := range mine[nurse] {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/escalations/%d/claim", srv.base, id), nil)
				req.Header.Set("Authorization", "Bearer "+tokens[nurse])
				t0 := time.Now()
				resp, err := client.Do(req)
				lat.Add(time.Since(t0))
				mu.Lock()
				switch {
				case err != nil:
					failed++
				case resp.StatusCode == http.StatusOK:
					winners[id] = append(winners[id], nurse)
				case resp.StatusCode == http.StatusConflict:
					refused++
				default:
					failed++
				}
				mu.Unlock()
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				bar.Set(int(done.Add(1)))
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	split, background := cpu.split(srv.ch.cmd.Process.Pid, 0), vacuum.end()
	bar.Done()
	double := 0
	for _, ws := range winners {
		if len(ws) > 1 {
			double++
		}
	}
	var held int
	if err := b.d.GetContext(ctx, &held, `SELECT count(*) FROM escalations WHERE practice_id = $1 AND status = 'claimed'`, b.practice); err != nil {
		return fmt.Errorf("error counting claimed items: %w", err)
	}
	fmt.Fprintf(b.out, "%-9s %d nurses, %s items, each claimed by %d at once: %s claims won in %.1f s: %s claims/s (%s requests/s), %s\n",
		"claims", n, thousands(len(ids)), rivals, thousands(len(winners)), took.Seconds(), thousands(int(float64(len(winners))/took.Seconds())),
		thousands(int(float64(offers)/took.Seconds())), lat.Summary())
	fmt.Fprintf(b.out, "%-9s %s refused (409), %d errors, %d double claims; %s items held in the database\n",
		"", thousands(refused), failed, double, thousands(held))
	fmt.Fprintf(b.out, "%-9s CPU: %s; %s\n", "", split.per(offers, "request"), background)
	return nil
}

// billing imports the month's time entries through the time log, then times "billing report"
// (with --all: every row, those of enrolled patients with no time included) against a bare
// GROUP BY over the same rows.
func (b *benchRun) billing(ctx context.Context) error {
	month := time.Date(b.c.at.Year(), b.c.at.Month(), 1, 0, 0, 0, 0, b.loc)
	start := time.Now()
	n, files, err := importEntries(ctx, b.d, b.practice, b.loc, entryPlan{patients: b.c.patients, staff: b.c.staff,
		perPatient: b.c.entries, month: month})
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%-9s imported %s time entries (%d files, time log import) in %.1f s\n", "billing", thousands(n), files, time.Since(start).Seconds())
	// What autovacuum does after a bulk insert on a server that runs it: statistics of the
	// month just written, and the visibility map of its pages.
	start = time.Now()
	if _, err := b.d.ExecContext(ctx, "VACUUM (ANALYZE) time_entries, time_entry_patients"); err != nil {
		return fmt.Errorf("error vacuuming the time entries: %w", err)
	}
	fmt.Fprintf(b.out, "%-9s VACUUM ANALYZE of the time entries in %.1f s\n", "", time.Since(start).Seconds())
	cpu := startCPU()
	ch, u, err := b.runChild(ctx, "billing", "report", "--month", month.Format("2006-01"), "--format", "csv", "--all")
	if err != nil {
		return err
	}
	split := cpu.split(0, u.cpu)
	rows := strings.Count(ch.stdout.String(), "\n") - 1
	bare := time.Now()
	var groups int
	if err := b.d.GetContext(ctx, &groups, bareBillingSQL, b.practice, month, month.AddDate(0, 1, 0)); err != nil {
		return fmt.Errorf("error running the bare GROUP BY: %w", err)
	}
	bareTook := time.Since(bare)
	fmt.Fprintf(b.out, "%-9s billing report: %s rows from %s entries in %.1f s, peak RSS %s; bare GROUP BY (%s sums) %.1f s; report/bare = %.1fx\n",
		"", thousands(rows), thousands(n), u.took.Seconds(), loadstat.MB(u.rss), thousands(groups), bareTook.Seconds(), u.took.Seconds()/bareTook.Seconds())
	fmt.Fprintf(b.out, "%-9s CPU of the report: %s\n", "", split.per(n/1000, "thousand entries"))
	return nil
}

// bareBillingSQL is the comparison for the billing report: the seconds per patient and program
// with no rules, every group read.
const bareBillingSQL = `
SELECT count(*) FROM (
	SELECT tp.patient_id, e.program, sum(extract(epoch FROM e.ended_at - e.started_at))
	FROM time_entries e JOIN time_entry_patients tp ON tp.practice_id = e.practice_id AND tp.entry_id = e.id
	WHERE e.practice_id = $1 AND e.started_at < $3 AND e.ended_at > $2
	GROUP BY tp.patient_id, e.program) s`

// vacuumWatch notes the autovacuum work the database server does during a phase: on a large
// first month it follows the bulk writes and shares the machine with the load.
type vacuumWatch struct {
	stop chan struct{}
	done chan struct{}
	seen map[string]bool
}

func (b *benchRun) watchVacuum(ctx context.Context) *vacuumWatch {
	w := &vacuumWatch{stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]bool{}}
	go func() {
		defer close(w.done)
		for {
			var running []string
			_ = b.d.SelectContext(ctx, &running, `SELECT query FROM pg_stat_activity
				WHERE backend_type = 'autovacuum worker' AND datname = current_database()`)
			for _, q := range running {
				w.seen[strings.TrimPrefix(q, "autovacuum: ")] = true
			}
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

// end stops the watch and describes what it saw.
func (w *vacuumWatch) end() string {
	close(w.stop)
	<-w.done
	if len(w.seen) == 0 {
		return "no autovacuum ran"
	}
	work := slices.Sorted(maps.Keys(w.seen))
	return "autovacuum ran: " + strings.Join(work, ", ")
}

// cpuStart is the CPU use at the start of a phase.
type cpuStart struct{ at loadstat.CPUSample }

// startCPU samples the machine's CPU use; a machine without /proc gives no figures.
func startCPU() cpuStart {
	at, _ := loadstat.SampleCPU()
	return cpuStart{at}
}

// cpuSplit is where the machine's CPU time went during a phase.
type cpuSplit struct {
	engine, database, bench, other time.Duration
	busy                           float64 // share of the machine's capacity used
	cpus                           int
}

// split divides the CPU time used since the start between the engine, the database server
// when it runs on this machine, this process (the load and the fake Twilio) and the rest. The
// engine is the running process enginePid, or, when it is 0, a child that ended after using
// engine.
func (c cpuStart) split(enginePid int, engine time.Duration) cpuSplit {
	end, err := loadstat.SampleCPU()
	if err != nil {
		return cpuSplit{}
	}
	if enginePid != 0 {
		engine = end.Process(enginePid) - c.at.Process(enginePid)
	}
	self := os.Getpid()
	s := cpuSplit{engine: engine, database: end.Server("postgres") - c.at.Server("postgres"),
		bench: end.Process(self) - c.at.Process(self), cpus: end.CPUs}
	busy := end.Busy() - c.at.Busy()
	s.other = max(0, busy-s.engine-s.database-s.bench)
	if capacity := end.Capacity() - c.at.Capacity(); capacity > 0 {
		s.busy = float64(busy) / float64(capacity)
	}
	return s
}

// per writes the split with each part's time per unit of work, n units.
func (s cpuSplit) per(n int, unit string) string {
	if s.cpus == 0 {
		return "not measured (no /proc)"
	}
	each := func(d time.Duration) string {
		return fmt.Sprintf("%.1f s (%.2f ms a %s)", d.Seconds(), float64(d)/1e6/float64(max(n, 1)), unit)
	}
	return fmt.Sprintf("machine %.0f%% busy of %d CPUs: engine %s, database %s, bench (load, fake Twilio) %s, other %.1f s",
		100*s.busy, s.cpus, each(s.engine), each(s.database), each(s.bench), s.other.Seconds())
}

// lastLine returns the last line of a child's output.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// thousands writes n with thousands separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
