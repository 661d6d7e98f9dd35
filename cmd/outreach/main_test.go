package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestMain runs the tests, or the outreach command itself in a child process a test started
// (OUTREACH_TEST_CHILD set to the arguments), which that test may kill.
func TestMain(m *testing.M) {
	if args := os.Getenv("OUTREACH_TEST_CHILD"); args != "" {
		os.Args = append([]string{"outreach"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	dbtest.Main(m)
}

// runCmd runs the command line with env on top of a fresh database's URL.
func runCmd(t *testing.T, ctx context.Context, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(ctx, args, strings.NewReader(""), &stdout, &stderr, envFrom(env))
	return stdout.String(), stderr.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportCommands(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	staffCSV := writeFile(t, "staff.csv", "id,name,credential,role,npi\nS1,Rita,RN,clinical,\nS2,Dr A,MD,practitioner,1111111112\n")
	out, _, err := runCmd(t, ctx, env, "import", "staff", staffCSV)
	if err != nil || !strings.Contains(out, "2 rows: 2 created") {
		t.Fatalf("import staff: %q, %v", out, err)
	}
	patients := writeFile(t, "patients.csv", "id,phone,programs,billing_npi,consent_at\nP1,+15550000001,ccm,1111111112,2026-01-15\n")
	out, _, err = runCmd(t, ctx, env, "import", "patients", patients)
	if err != nil || !strings.Contains(out, "1 rows: 1 created") || !strings.Contains(out, "1 added") {
		t.Fatalf("import patients: %q, %v", out, err)
	}
	out, _, err = runCmd(t, ctx, env, "import", "patients", patients)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 1 unchanged") {
		t.Fatalf("re-import patients: %q, %v", out, err)
	}
	services := writeFile(t, "services.csv", "patient,code,date,npi\nP1,G0181,2026-03-04,2222222228\n")
	out, _, err = runCmd(t, ctx, env, "import", "services", services)
	if err != nil || !strings.Contains(out, "1 rows: 1 added") {
		t.Fatalf("import services: %q, %v", out, err)
	}
	bad := writeFile(t, "bad.csv", "id,phone\nP2,555-1234\n")
	_, _, err = runCmd(t, ctx, env, "import", "patients", bad)
	if err == nil || !strings.Contains(err.Error(), `bad.csv:2: phone "555-1234" is not a phone number`) {
		t.Fatalf("bad import error = %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	if _, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": conn}, "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": conn}, "migrate", "now"); err == nil {
		t.Error("migrate with an argument succeeded")
	}
	// migrate creates a database that does not exist yet.
	name, err := db.DatabaseName(conn)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := db.ReplaceDatabase(conn, name+"_new")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropDatabase(t, name+"_new") })
	if _, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": missing}, "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": missing}, "billing", "report", "--month", "2026-03"); err != nil {
		t.Errorf("billing report after migrate: %v", err)
	}
}

// Only migrate, serve and demo create or migrate a database: any other command refuses a
// missing database (a mistyped name), one without the schema, or one whose schema is behind,
// with one line naming the database and what to do; it creates and changes nothing.
func TestCommandsRefuseMissingOrUnmigratedDatabase(t *testing.T) {
	ctx := context.Background()
	empty := dbtest.Empty(t)
	emptyName, err := db.DatabaseName(empty)
	if err != nil {
		t.Fatal(err)
	}
	missingName := emptyName + "_typo"
	missing, err := db.ReplaceDatabase(empty, missingName)
	if err != nil {
		t.Fatal(err)
	}
	behind, behindConn := dbtest.Fresh(t)
	if _, err := behind.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	behindName, err := db.DatabaseName(behindConn)
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "staff.csv", "id,name,credential,role\nRN1,Rita,RN,clinical\n")
	commands := [][]string{
		{"billing", "report", "--month", "2026-03"},
		{"billing", "close", "--month", "2026-03"},
		{"billing", "worklist"},
		{"import", "staff", file},
		{"time", "export", "--month", "2026-03"},
		{"time", "history", "1"},
		{"staff", "token", "RN1"},
		{"checkins", "run"},
	}
	states := []struct {
		name, conn, want string
	}{
		{"missing", missing, fmt.Sprintf(`database %q does not exist: check DATABASE_URL, or create it with 'outreach migrate'`, missingName)},
		{"empty", empty, fmt.Sprintf(`database %q has no outreach schema: check DATABASE_URL, or set it up with 'outreach migrate'`, emptyName)},
		{"behind", behindConn, fmt.Sprintf(`database %q is at schema version %d and this binary needs %d: run 'outreach migrate'`, behindName, len(ms)-1, len(ms))},
	}
	for _, st := range states {
		for _, args := range commands {
			t.Run(st.name+" "+strings.Join(args, " "), func(t *testing.T) {
				env := map[string]string{"DATABASE_URL": st.conn, "OUTREACH_CHANNEL": "simulator"}
				out, _, err := runCmd(t, ctx, env, args...)
				if err == nil || err.Error() != st.want {
					t.Errorf("error = %v, want %q (output %q)", err, st.want, out)
				}
			})
		}
	}
	var created bool
	if err := dbtest.DB(t).Get(&created, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, missingName); err != nil || created {
		t.Errorf("the mistyped database exists afterwards (%v)", err)
	}
	d, err := db.Open(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var tables int
	if err := d.Get(&tables, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); err != nil || tables != 0 {
		t.Errorf("the empty database has %d tables afterwards (%v)", tables, err)
	}
}

// dropDatabase drops a database a test made on the test server.
func dropDatabase(t *testing.T, name string) {
	if _, err := dbtest.DB(t).Exec(`DROP DATABASE IF EXISTS ` + pq.QuoteIdentifier(name) + ` WITH (FORCE)`); err != nil {
		t.Errorf("error dropping %s: %v", name, err)
	}
}

// serve and checkins run send: without Twilio settings they refuse to start rather than fall
// back on the simulator, before touching the database; with OUTREACH_CHANNEL=simulator they
// run and say so, in the log and on standard error.
func TestSendingCommandsNeedAChannel(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	for _, args := range [][]string{{"serve"}, {"checkins", "run"}} {
		env := map[string]string{"DATABASE_URL": conn, "OUTREACH_LISTEN": "127.0.0.1:0"}
		_, _, err := runCmd(t, ctx, env, args...)
		if !errors.Is(err, errNoChannel) {
			t.Errorf("%s without a channel: error = %v, want a refusal", args, err)
		}
		for _, name := range []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID", "OUTREACH_CHANNEL=simulator"} {
			if err != nil && !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error %q does not name %s", args, err, name)
			}
		}
	}
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if st, err := db.CheckSchema(ctx, d); err != nil || st.Applied != 0 {
		t.Errorf("the refused commands migrated the database: %+v, %v", st, err)
	}

	_, fresh := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": fresh, "OUTREACH_CHANNEL": "simulator", "OUTREACH_LOG_FORMAT": "text"}
	out, stderr, err := runCmd(t, ctx, env, "checkins", "run")
	if err != nil || !strings.Contains(out, "check-ins: 0 started") {
		t.Fatalf("checkins run with the simulator: %q, %v", out, err)
	}
	if !strings.Contains(stderr, "outreach: SIMULATION (OUTREACH_CHANNEL=simulator): no text or call reaches any patient\n") ||
		!strings.Contains(stderr, "level=WARN msg=\"simulation: OUTREACH_CHANNEL=simulator, no text or call reaches a patient\"") {
		t.Errorf("stderr does not say it is a simulation:\n%s", stderr)
	}
}

func TestServeAnswersAndStops(t *testing.T) {
	_, conn := dbtest.Fresh(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, stderr, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": conn, "OUTREACH_LISTEN": addr, "OUTREACH_CHANNEL": "simulator"}, "serve")
		if !strings.Contains(stderr, "SIMULATION") {
			t.Errorf("serve in simulation does not say so:\n%s", stderr)
		}
		done <- err
	}()
	var resp *http.Response
	for range 100 {
		if resp, err = http.Get("http://" + addr + "/readyz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %v, %v", path, resp, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The process and Go runtime metrics keep their standard names, which dashboards and
		// alert rules shared across services expect.
		// On an empty database every known label shows 0 (a few of each metric here), and no
		// metric query failed.
		for _, name := range []string{"\nprocess_resident_memory_bytes ", "\nprocess_cpu_seconds_total ", "\ngo_goroutines ",
			"\noutreach_checkins_created_total{channel=\"voice\",script=\"ccm-monthly\"} 0\n",
			"\noutreach_checkins_ended_total{channel=\"sms\",script=\"diabetes\",status=\"handed_off\"} 0\n",
			"\noutreach_messages_sent_total{kind=\"question\"} 0\n", "\noutreach_messages_delivered_total 0\n",
			"\noutreach_inbound_messages_total 0\n", "\noutreach_answer_parse_failures_total{script=\"copd\"} 0\n",
			"\noutreach_calls_total{status=\"no-answer\"} 0\n", "\noutreach_escalations_opened_total{severity=\"urgent\",source=\"reading\"} 0\n",
			"\noutreach_escalations_resolved_total{outcome=\"referred\"} 0\n",
			"\noutreach_escalation_time_to_claim_seconds_count{severity=\"high\"} 0\n",
			"\noutreach_escalations_open{claimed=\"false\",severity=\"urgent\"} 0\n", "\noutreach_patients_opted_out{source=\"carrier\"} 0\n",
			"\noutreach_outbox_depth{kind=\"message\"} 0\n", "\noutreach_checkin_completion_ratio{script=\"hypertension\"} 0\n",
			"\noutreach_care_time_seconds{program=\"g0506\"} 0\n", "\noutreach_metrics_query_errors_total 0\n"} {
			if path == "/metrics" && !strings.Contains(string(body), name) {
				t.Errorf("/metrics has no %s", strings.TrimSpace(name))
			}
		}
		// Billing's month figures show from 0 on a new install.
		if name := "\noutreach_billing_patients{code=\"99490\",program=\"ccm\"} 0\n"; path == "/metrics" && !strings.Contains(string(body), name) {
			t.Errorf("/metrics has no %s", strings.TrimSpace(name))
		}
	}
	if _, _, err := runCmd(t, context.Background(), map[string]string{"OUTREACH_LISTEN": addr}, "healthcheck"); err != nil {
		t.Errorf("healthcheck: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	d, conn := dbtest.Fresh(t)
	if _, err := d.Exec(`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', now())`); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, context.Background(), map[string]string{"DATABASE_URL": conn, "OUTREACH_LISTEN": "127.0.0.1:0", "OUTREACH_CHANNEL": "simulator"}, "serve")
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("serve error = %v, want a refusal", err)
	}
}

func writeFileIn(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}
