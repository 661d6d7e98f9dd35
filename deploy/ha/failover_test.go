package ha

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
)

const (
	account = "AC" + "0000000000000000000000000000000a"
	token   = "hatest0token"
	public  = "https://outreach.example.org/engine"
	hook    = "/webhooks/twilio/sms"
	from    = "+15550009999"

	rounds    = 3                // a SIGKILL failover and a switchover in each
	replyRate = 20               // replies a second, over both replicas
	deadline  = 10 * time.Second // every reply answered 2xx within this
	twilio    = 15 * time.Second // how long Twilio waits for an answer
	settle    = 3 * time.Second  // replies before each event
	// burst is how long replies are sent around each event: from settle before it until well
	// after a new primary takes writes. Between bursts, the old primary rejoins as a standby.
	burst    = settle + 20*time.Second
	patients = replyRate * 24 * 2 * rounds // more than the replies the test sends
)

// answer is what one reply's first and only attempt got, as Twilio sends it: no second try
// after a 5xx.
type answer struct {
	i       int
	start   time.Time
	latency time.Duration
	status  int // 0: no HTTP answer
	err     error
}

// event is a failover or a switchover, and what it cost.
type event struct {
	what    string
	at      time.Time
	healthy time.Time // the cluster healthy again: a leader, its synchronous standby running
	ended   time.Time // the burst of replies around it ended
}

// TestFailoverLosesNoReply runs two engine replicas against a two-node Patroni cluster (etcd,
// synchronous replication) through a multi-host DATABASE_URL, sends them 20 signed replies a
// second while the closing texts are dispatched, and in each of three rounds kills the
// primary's postmaster with SIGKILL, then makes a planned switchover. Every reply must be
// answered 2xx at its first attempt (Twilio does not send a 5xx'd webhook again) within 10 s,
// stored once, and answer its check-in once; no text may go twice.
//
// It needs etcd, patroni and PostgreSQL's server programs. Without OUTREACH_HA_TEST it is
// skipped; with OUTREACH_HA_TEST=required it fails when it cannot run.
func TestFailoverLosesNoReply(t *testing.T) {
	mode := os.Getenv("OUTREACH_HA_TEST")
	if mode == "" {
		t.Skip("starts a Patroni cluster: set OUTREACH_HA_TEST=1 to run it (=required to fail when it cannot)")
	}
	pgBin, missing := tools()
	if len(missing) > 0 {
		msg := "missing " + strings.Join(missing, ", ") + " (Debian: apt-get install etcd-server patroni postgresql)"
		if mode == "required" {
			t.Fatal(msg + ", and OUTREACH_HA_TEST=required")
		}
		t.Skip(msg)
	}
	began := time.Now()
	bin := buildEngine(t)
	c := startCluster(t, pgBin)
	conn := fmt.Sprintf("postgres://postgres@127.0.0.1,127.0.0.1/outreach_ha?port=%d,%d&target_session_attrs=read-write&sslmode=disable&connect_timeout=2",
		c.nodes[0].pgPort, c.nodes[1].pgPort)
	t.Logf("cluster up after %v", time.Since(began).Round(time.Millisecond))

	fake := twiliofake.New(account, token)
	t.Cleanup(fake.Close)
	env := map[string]string{"DATABASE_URL": conn, "TWILIO_ACCOUNT_SID": account, "TWILIO_AUTH_TOKEN": token,
		"TWILIO_FROM_NUMBER": from, "TWILIO_API_URL": fake.URL(), "OUTREACH_PUBLIC_URL": public,
		"OUTREACH_SEND_RATE": "0", "OUTREACH_QUIET_HOURS": "off", "OUTREACH_SCRIPTS_DIR": writeScript(t),
		"OUTREACH_LOG_LEVEL": "info", "OUTREACH_LOG_FORMAT": "text"}
	phones := make([]string, patients)
	var csv strings.Builder
	csv.WriteString("id,phone,timezone,language,programs,script,billing_npi,consent_at\n")
	for i := range patients {
		phones[i] = fmt.Sprintf("+1555700%04d", i)
		fmt.Fprintf(&csv, "H%04d,%s,America/New_York,en,ccm,failover,1111111112,2025-01-01\n", i, phones[i])
	}
	csvFile := filepath.Join(t.TempDir(), "patients.csv")
	if err := os.WriteFile(csvFile, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	runEngine(t, bin, env, "migrate")
	runEngine(t, bin, env, "import", "patients", csvFile)
	runEngine(t, bin, env, "checkins", "run")

	ports := freePorts(t, 2)
	var replicas []string
	var logs []string
	for r := range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[r])
		logs = append(logs, filepath.Join(c.dir, fmt.Sprintf("serve%d.log", r+1)))
		serve(t, bin, env, addr, logs[r])
		replicas = append(replicas, "http://"+addr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s (last lines):\n%s", l, lastLines(string(b), 30))
			}
			t.Log(c.logs())
		}
	})
	client := &http.Client{Timeout: twilio, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(client.CloseIdleConnections)
	get := func(u string) int {
		resp, err := client.Get(u)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, base := range replicas {
		c.waitFor(t, 60*time.Second, base+"/readyz 200", func() bool { return get(base+"/readyz") == http.StatusOK })
	}
	d, err := db.Open(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Every first question out, and every check-in open and waiting for its answer.
	checkinOf := map[string]int64{}
	c.waitFor(t, 180*time.Second, "first questions all sent", func() bool {
		var open []struct {
			ID    int64  `db:"id"`
			Phone string `db:"phone"`
		}
		var queued int
		if err := d.Get(&queued, `SELECT count(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending')`); err != nil || queued > 0 {
			return false
		}
		if err := d.Select(&open, `SELECT c.id, p.phone FROM checkins c JOIN patients p ON p.practice_id = c.practice_id AND p.id = c.patient_id
			WHERE c.status = 'open' AND c.question_id IS NOT NULL`); err != nil {
			return false
		}
		for _, o := range open {
			checkinOf[o.Phone] = o.ID
		}
		return len(open) == patients
	})
	firstSends := len(fake.Requests())
	t.Logf("%d patients, %d first texts sent, engine ready after %v", patients, firstSends, time.Since(began).Round(time.Millisecond))

	// Background: the probe of the primary, /readyz of each replica.
	bg, stopBG := context.WithCancel(context.Background())
	var probed []time.Time
	var readyDown [2]time.Duration // the longest /readyz non-200 of each replica
	var bgWG sync.WaitGroup
	bgWG.Go(func() { probed = probeWrites(bg, conn, 100*time.Millisecond) })
	for r, base := range replicas {
		bgWG.Go(func() {
			var since time.Time
			for bg.Err() == nil {
				at := time.Now()
				if get(base+"/readyz") == http.StatusOK {
					if !since.IsZero() {
						readyDown[r] = max(readyDown[r], at.Sub(since))
					}
					since = time.Time{}
				} else if since.IsZero() {
					since = at
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopBG()
			bgWG.Wait()
		}
	}
	defer stop()

	// The replies: replyRate a second, each to the next patient, alternately to each replica,
	// one attempt each.
	var (
		mu      sync.Mutex
		answers []answer
		sends   sync.WaitGroup
	)
	sidOf := func(i int) string { return fmt.Sprintf("SMha%030x", i+1) }
	send := func(i int) {
		defer sends.Done()
		form := url.Values{"MessageSid": {sidOf(i)}, "AccountSid": {account}, "From": {phones[i]}, "To": {from},
			"Body": {strconv.Itoa(i % 11)}, "NumMedia": {"0"}}
		req, err := http.NewRequest(http.MethodPost, replicas[i%2]+hook, strings.NewReader(form.Encode()))
		if err != nil {
			panic(err) // a constant URL
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliofake.Sign(token, public+hook, form))
		a := answer{i: i, start: time.Now()}
		resp, err := client.Do(req)
		a.latency = time.Since(a.start)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			a.status = resp.StatusCode
		}
		a.err = err
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
	}
	// replies sends replies for d, each to the next patient, and is done when the last is sent.
	sent := 0
	replies := func(d time.Duration) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(time.Second / replyRate)
			defer tick.Stop()
			for end := time.Now().Add(d); time.Now().Before(end) && sent < patients; {
				<-tick.C
				sends.Add(1)
				go send(sent)
				sent++
			}
		}()
		return done
	}

	// The events, one after the other, each in a burst of replies.
	var events []event
	// during runs act amid a burst of replies; act hands the primary from leader to the other
	// node, by a crash or a switchover.
	during := func(what string, act func(leader, other string)) {
		leader := c.waitHealthy(t, 120*time.Second)
		other := c.nodes[0].name
		if other == leader {
			other = c.nodes[1].name
		}
		load := replies(burst)
		time.Sleep(settle)
		ev := event{what: what, at: time.Now()}
		act(leader, other)
		c.waitFor(t, 120*time.Second, other+" leading, "+leader+" its synchronous standby", func() bool {
			l, ok := c.healthy()
			return ok && l == other
		})
		ev.healthy = time.Now()
		<-load
		ev.ended = time.Now()
		events = append(events, ev)
	}
	for range rounds {
		during("SIGKILL of the primary's postmaster", func(leader, _ string) { c.killPostmaster(t, c.node(leader)) })
		during("switchover", func(leader, other string) { c.switchover(t, leader, other) })
	}
	sends.Wait()
	stop()
	loadEnded := time.Now()
	if sent == patients {
		t.Error("the replies ran out before the events ended: raise patients")
	}

	// What the replies got.
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(answers, func(a, b answer) int { return a.start.Compare(b.start) })
	var bad []string
	var longest time.Duration
	for _, a := range answers {
		longest = max(longest, a.latency)
		if a.err != nil || a.status < 200 || a.status > 299 || a.latency > deadline {
			bad = append(bad, fmt.Sprintf("reply %d at %s: status %d after %v (err %v)", a.i,
				a.start.Format("15:04:05.000"), a.status, a.latency.Round(time.Millisecond), a.err))
		}
	}
	for _, ev := range events {
		var worst time.Duration
		non2xx := 0
		for _, a := range answers {
			if a.start.Before(ev.at.Add(-deadline)) || a.start.After(ev.ended) {
				continue
			}
			worst = max(worst, a.latency)
			if a.status < 200 || a.status > 299 {
				non2xx++
			}
		}
		t.Logf("%s: primary gone %v, cluster healthy again after %v; longest webhook %v; %d non-2xx",
			ev.what, longestGap(probed, ev.at, ev.ended).Round(10*time.Millisecond), ev.healthy.Sub(ev.at).Round(10*time.Millisecond),
			worst.Round(time.Millisecond), non2xx)
	}
	t.Logf("%d replies sent over %v, %d answered otherwise than 2xx within %v; longest webhook %v; longest /readyz not 200: %v and %v",
		len(answers), loadEnded.Sub(answers[0].start).Round(time.Second), len(bad), deadline, longest.Round(time.Millisecond),
		readyDown[0].Round(10*time.Millisecond), readyDown[1].Round(10*time.Millisecond))
	if len(answers) != sent {
		t.Errorf("%d replies sent, %d answers recorded", sent, len(answers))
	}
	if len(bad) > 0 {
		t.Errorf("%d replies not answered 2xx within %v at their first attempt:\n%s", len(bad), deadline, strings.Join(bad[:min(20, len(bad))], "\n"))
	}

	// What the database holds: every reply once, its check-in answered once.
	checkStored(t, d, answers, sidOf, phones, checkinOf)

	// The closings: none sent twice, every one sent or, when the dispatcher could not tell
	// whether its claim committed, in doubt (the lease and a lookup settle it later, and it goes
	// once); no send whose record was lost.
	var doubt []int64
	c.waitFor(t, 120*time.Second, "the outbox sent", func() bool {
		var queued int
		if err := d.Get(&queued, `SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'queued'`); err != nil || queued > 0 {
			return false
		}
		doubt = nil
		return d.Select(&doubt, `SELECT id FROM messages WHERE direction = 'out' AND status IN ('sending', 'unknown') ORDER BY id`) == nil
	})
	sentIDs := map[int64]int{}
	seen := map[string]int{}
	for _, r := range fake.Requests() {
		if r.Status < 200 || r.Status > 299 {
			continue
		}
		seen[r.To+"\x00"+r.Body]++
		if u, err := url.Parse(r.StatusCallback); err == nil {
			if id, err := strconv.ParseInt(u.Query().Get("message"), 10, 64); err == nil {
				sentIDs[id]++
			}
		}
	}
	doubled := 0
	for k, n := range seen {
		if n > 1 {
			doubled++
			t.Errorf("text to %s sent %d times", strings.SplitN(k, "\x00", 2)[0], n)
		}
	}
	var unrecorded []int64
	for _, id := range doubt {
		if sentIDs[id] > 0 {
			unrecorded = append(unrecorded, id)
		}
	}
	closings := len(fake.Requests()) - firstSends
	t.Logf("%d texts sent in all (%d closings), %d sent twice; %d claims in doubt, %d sends unrecorded; test took %v",
		len(fake.Requests()), closings, doubled, len(doubt)-len(unrecorded), len(unrecorded), time.Since(began).Round(time.Second))
	if len(unrecorded) > 0 {
		t.Errorf("messages %v went out but their record was lost: left to the lease", unrecorded)
	}
	if closings+len(doubt) != len(answers) {
		t.Errorf("%d closing texts sent and %d in doubt for %d answered check-ins", closings, len(doubt), len(answers))
	}
}

// checkStored checks that each reply answered is stored once and answered its check-in once.
func checkStored(t *testing.T, d interface {
	Select(any, string, ...any) error
}, answers []answer, sidOf func(int) string, phones []string, checkinOf map[string]int64) {
	t.Helper()
	var inbound []struct {
		SID     string `db:"twilio_sid"`
		Checkin *int64 `db:"checkin_id"`
	}
	if err := d.Select(&inbound, `SELECT twilio_sid, checkin_id FROM messages WHERE direction = 'in'`); err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, m := range inbound {
		rows[m.SID]++
	}
	var answered []struct {
		ID     int64  `db:"id"`
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := d.Select(&answered, `SELECT c.id, c.status, count(a.checkin_id) AS n FROM checkins c
		LEFT JOIN checkin_answers a ON a.practice_id = c.practice_id AND a.checkin_id = c.id GROUP BY c.id, c.status`); err != nil {
		t.Fatal(err)
	}
	byCheckin := map[int64]int{}
	statusOf := map[int64]string{}
	for _, a := range answered {
		byCheckin[a.ID], statusOf[a.ID] = a.N, a.Status
	}
	lost, doubled := 0, 0
	var problems []string
	for _, a := range answers {
		sid, c := sidOf(a.i), checkinOf[phones[a.i]]
		switch n, k := rows[sid], byCheckin[c]; {
		case n == 0 || k == 0:
			lost++
			problems = append(problems, fmt.Sprintf("%s: %d rows, check-in %d has %d answers", sid, n, c, k))
		case n > 1 || k > 1:
			doubled++
			problems = append(problems, fmt.Sprintf("%s: %d rows, check-in %d has %d answers", sid, n, c, k))
		case statusOf[c] != "completed":
			problems = append(problems, fmt.Sprintf("%s: check-in %d is %s, want completed", sid, c, statusOf[c]))
		}
	}
	if len(inbound) != len(answers) {
		problems = append(problems, fmt.Sprintf("%d inbound rows for %d replies", len(inbound), len(answers)))
	}
	t.Logf("%d replies stored: %d lost, %d doubled", len(answers), lost, doubled)
	if len(problems) > 0 {
		t.Errorf("%d lost, %d doubled:\n%s", lost, doubled, strings.Join(problems[:min(20, len(problems))], "\n"))
	}
}

// writeScript writes a yearly check-in script whose slot was half an hour ago: due now, and not
// again during the test.
func writeScript(t *testing.T) string {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	slot := time.Now().In(ny).Add(-30 * time.Minute)
	dir := t.TempDir()
	script := fmt.Sprintf(`
id: failover
schedule: "%d %d %d %d *"
languages: [en]
intro: {en: "Your check-in."}
questions:
  - id: feel
    type: scale
    text: {en: "How do you feel today, from 0 to 10?"}
closing: {en: "Thank you."}
`, slot.Minute(), slot.Hour(), slot.Day(), int(slot.Month()))
	if err := os.WriteFile(filepath.Join(dir, "failover.yaml"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildEngine builds the outreach command.
func buildEngine(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "outreach")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command builds the engine: %v", err)
	}
	out, err := exec.Command(goCmd, "build", "-o", bin, "../../cmd/outreach").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// engineEnv is this process's environment without what configures the engine, plus env.
func engineEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OUTREACH_") && !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "DATABASE_URL=") &&
			!strings.HasPrefix(kv, "PG") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runEngine runs one engine command to its end.
func runEngine(t *testing.T, bin string, env map[string]string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = engineEnv(env)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("outreach %s: %v\n%s", strings.Join(args, " "), err, lastLines(string(out), 20))
	}
}

// serve runs `outreach serve` on addr until the test ends, its log in logFile.
func serve(t *testing.T, bin string, env map[string]string, addr, logFile string) {
	t.Helper()
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(engineEnv(env), "OUTREACH_LISTEN="+addr)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("serve did not stop within 30 s of SIGTERM")
		}
		log.Close()
	})
}
