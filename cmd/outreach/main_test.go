package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestMain runs the tests, or the outreach command itself in a child process: one a test
// started (OUTREACH_TEST_CHILD set to the arguments), which that test may kill, or one the
// bench started, with the command's own arguments instead of the test flags.
func TestMain(m *testing.M) {
	if args := os.Getenv("OUTREACH_TEST_CHILD"); args != "" {
		os.Args = append([]string{"outreach"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-test.") {
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
	if _, _, err := runCmd(t, ctx, env, "import", "pets", bad); err == nil || !strings.Contains(err.Error(), `unknown import kind "pets"`) {
		t.Errorf("unknown kind error = %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	conn := dbtest.Empty(t)
	if _, _, err := runCmd(t, context.Background(), map[string]string{"DATABASE_URL": conn}, "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, context.Background(), map[string]string{"DATABASE_URL": conn}, "migrate", "now"); err == nil {
		t.Error("migrate with an argument succeeded")
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
		_, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": conn, "OUTREACH_LISTEN": addr}, "serve")
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
		resp.Body.Close()
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
	_, _, err := runCmd(t, context.Background(), map[string]string{"DATABASE_URL": conn, "OUTREACH_LISTEN": "127.0.0.1:0"}, "serve")
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("serve error = %v, want a refusal", err)
	}
}

func TestUsage(t *testing.T) {
	if _, _, err := runCmd(t, context.Background(), nil, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("error = %v", err)
	}
	out, _, err := runCmd(t, context.Background(), nil, "help")
	if err != nil || !strings.Contains(out, "usage: outreach") {
		t.Errorf("help = %q, %v", out, err)
	}
}

func writeFileIn(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}
