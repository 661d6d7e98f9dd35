package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

// stallEnv is the environment of a serve that sends through the fake Twilio and reaches the
// database at conn.
func stallEnv(t *testing.T, conn string) map[string]string {
	t.Helper()
	account := "AC" + strings.Repeat("0", 31) + "9"
	fake := twiliofake.New(account, e2eToken)
	t.Cleanup(fake.Close)
	return map[string]string{"DATABASE_URL": conn, "OUTREACH_LISTEN": freeAddr(t), "TWILIO_ACCOUNT_SID": account,
		"TWILIO_AUTH_TOKEN": e2eToken, "TWILIO_FROM_NUMBER": "+15550001111", "TWILIO_API_URL": fake.URL(),
		"OUTREACH_PUBLIC_URL": e2ePublic, "OUTREACH_LOG_FORMAT": "text", "OUTREACH_LOG_LEVEL": "warn"}
}

// startChild starts the outreach command in a child process, as an operator runs it; its
// standard error goes to stderr.
func startChild(t *testing.T, env map[string]string, stderr io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "OUTREACH_TEST_CHILD="+strings.Join(args, " "))
	for k, v := range env {
		child.Env = append(child.Env, k+"="+v)
	}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if child.ProcessState == nil {
			child.Process.Kill()
			child.Wait()
		}
	})
	return child
}

// timed is one request's answer and how long it took.
type timed struct {
	code int
	body string
	took time.Duration
	err  error
}

func timedDo(client *http.Client, req *http.Request) timed {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return timed{err: err, took: time.Since(start)}
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return timed{code: resp.StatusCode, body: string(b), took: time.Since(start)}
}

// TestServeWhileTheDatabaseStalls runs serve in a child process, then makes its database stop
// answering without closing anything (a proxy that swallows all traffic both ways). The
// process still answers /healthz, /readyz says 503 "database unavailable" within 3 s, a
// webhook gets 503 within its deadline, and SIGTERM ends the process within the stop's grace
// period although a request is still waiting for the database.
func TestServeWhileTheDatabaseStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	if _, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": conn}, "import", "staff",
		writeFile(t, "staff.csv", "id,name,credential,role\nRN1,Rita,RN,clinical\n")); err != nil {
		t.Fatal(err)
	}
	token, err := staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	proxy, through := dbtest.NewStallProxy(t, conn)
	// A connection opened after the stall waits for its handshake until the stop, as one opened
	// before it does for its answer.
	env := stallEnv(t, through+" connect_timeout=60")
	base := "http://" + env["OUTREACH_LISTEN"]
	logs := &lockedBuffer{}
	child := startChild(t, env, logs, "serve")
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log (last lines):\n%s", lastLines(logs.String(), 30))
		}
	})
	client := &http.Client{Timeout: 60 * time.Second}
	get := func(path string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		return req
	}
	ready := time.Now().Add(30 * time.Second)
	for {
		if r := timedDo(client, get("/readyz")); r.code == http.StatusOK {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("serve ended before it was ready: %v", err)
		default:
		}
		if time.Now().After(ready) {
			t.Fatal("serve was not ready within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	api := get("/api/v1/escalations")
	api.Header.Set("Authorization", "Bearer "+token)
	if r := timedDo(client, api.Clone(ctx)); r.code != http.StatusOK {
		t.Fatalf("the API before the stall: %d %s %v", r.code, r.body, r.err)
	}

	proxy.Stall()
	const hook = "/webhooks/twilio/sms"
	form := url.Values{"MessageSid": {"SMstall0000000000000000000000001"}, "AccountSid": {env["TWILIO_ACCOUNT_SID"]},
		"From": {"+15550009999"}, "To": {"+15550001111"}, "Body": {"5"}}
	webhook, _ := http.NewRequest(http.MethodPost, base+hook, strings.NewReader(form.Encode()))
	webhook.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	webhook.Header.Set("X-Twilio-Signature", sign(e2eToken, e2ePublic+hook, form))
	hooked := make(chan timed, 1)
	go func() { hooked <- timedDo(client, webhook) }()
	stuck := make(chan timed, 1)
	go func() { stuck <- timedDo(client, api) }() // no deadline of its own: it waits until the stop

	readyz := timedDo(client, get("/readyz"))
	t.Logf("/readyz with the database stalled: %d %s after %s", readyz.code, strings.TrimSpace(readyz.body), readyz.took.Round(time.Millisecond))
	if readyz.code != http.StatusServiceUnavailable || readyz.took >= 3*time.Second ||
		!strings.Contains(readyz.body, `"error":"database unavailable"`) || strings.Contains(readyz.body, "127.0.0.1") || strings.Contains(readyz.body, "tcp") {
		t.Errorf("/readyz = %d %q after %s, want 503 \"database unavailable\" within 3 s", readyz.code, readyz.body, readyz.took)
	}
	healthz := timedDo(client, get("/healthz"))
	t.Logf("/healthz with the database stalled: %d after %s", healthz.code, healthz.took.Round(time.Millisecond))
	if healthz.code != http.StatusOK || healthz.took > time.Second {
		t.Errorf("/healthz = %d after %s, want 200 at once", healthz.code, healthz.took)
	}
	h := <-hooked
	t.Logf("webhook with the database stalled: %d after %s (deadline %s)", h.code, h.took.Round(time.Millisecond), outreach.WebhookDeadline)
	if h.code != http.StatusServiceUnavailable || h.took > outreach.WebhookDeadline+2*time.Second {
		t.Errorf("webhook = %d %v after %s, want 503 within %s", h.code, h.err, h.took, outreach.WebhookDeadline)
	}

	select {
	case r := <-stuck:
		t.Fatalf("the API request ended before the stop: %d %v after %s", r.code, r.err, r.took)
	default:
	}
	stopAt := time.Now()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		took := time.Since(stopAt)
		t.Logf("SIGTERM with the database stalled and a request waiting for it: exited (%v) after %s (grace %s)",
			err, took.Round(time.Millisecond), shutdownGrace)
		if err != nil || took > shutdownGrace+3*time.Second {
			t.Errorf("exit %v after %s, want 0 within %s", err, took, shutdownGrace)
		}
	case <-time.After(shutdownGrace + 30*time.Second):
		t.Fatalf("still running %s after SIGTERM", shutdownGrace+30*time.Second)
	}
	r := <-stuck
	t.Logf("the request waiting for the database at the stop: %d %s %v after %s", r.code, strings.TrimSpace(r.body), r.err, r.took.Round(time.Millisecond))
}

// TestServeAgainstAStalledDatabase starts serve against a database server that accepts
// connections and never answers: it exits with status 1 and the reason, within connect_timeout
// (10 s), rather than hang without opening its port.
func TestServeAgainstAStalledDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	proxy, through := dbtest.NewStallProxy(t, dbtest.Empty(t))
	proxy.Stall()
	env := stallEnv(t, through)
	var stderr lockedBuffer
	start := time.Now()
	child := startChild(t, env, &stderr, "serve")
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	select {
	case err := <-exited:
		took := time.Since(start)
		line := lastLines(stderr.String(), 1)
		t.Logf("serve against a stalled database: %v after %s: %s", err, took.Round(time.Millisecond), line)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit = %v, want status 1", err)
		}
		if took > 60*time.Second || took > time.Duration(db.DefaultConnectTimeout+10)*time.Second {
			t.Errorf("took %s, want about %d s", took, db.DefaultConnectTimeout)
		}
		if !strings.HasPrefix(line, "outreach: error connecting to database: the server did not answer in time") {
			t.Errorf("last line %q does not say why", line)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("serve still running after 90 s")
	}
}

// serve with Twilio refuses a public URL Twilio cannot reach, in one line naming the variable,
// before it touches the database; the simulator starts on the default (TestServeAnswersAndStops),
// and so does a provider on this machine (the bench's fake Twilio, TestBenchSmallRun).
func TestServeWithTwilioNeedsAPublicURL(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	for _, public := range []string{"", "http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080", "http://app.localhost"} {
		env := stallEnv(t, conn)
		delete(env, "TWILIO_API_URL") // Twilio's own
		env["OUTREACH_PUBLIC_URL"] = public
		_, _, err := runCmd(t, ctx, env, "serve")
		if err == nil || !strings.HasPrefix(err.Error(), "OUTREACH_PUBLIC_URL is ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("OUTREACH_PUBLIC_URL=%q: error = %v, want a one-line refusal naming OUTREACH_PUBLIC_URL", public, err)
		}
	}
	for _, api := range []string{"https://api.example.net", "http://localhost.example.net:9000"} {
		env := stallEnv(t, conn)
		env["TWILIO_API_URL"] = api
		env["OUTREACH_PUBLIC_URL"] = "http://127.0.0.1:8080"
		if _, _, err := runCmd(t, ctx, env, "serve"); err == nil || !strings.HasPrefix(err.Error(), "OUTREACH_PUBLIC_URL is ") {
			t.Errorf("TWILIO_API_URL=%s: error = %v, want the refusal", api, err)
		}
	}
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if st, err := db.CheckSchema(ctx, d); err != nil || st.Applied != 0 {
		t.Errorf("the refused serve migrated the database: %+v, %v", st, err)
	}
}
