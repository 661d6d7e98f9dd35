package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbrole"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/history"
)

// testRole names a database role for one test and drops it when the test ends (its rights in
// the test's database first). Roles belong to the whole server: the name is the test's own.
func testRole(t *testing.T, conn string) string {
	t.Helper()
	role := fmt.Sprintf("outreach_test_role_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		if d, err := db.Open(ctx, conn); err == nil {
			_, _ = d.ExecContext(ctx, `DROP OWNED BY `+role)
			d.Close()
		}
		server, err := db.ReplaceDatabase(conn, "postgres")
		if err != nil {
			t.Error(err)
			return
		}
		d, err := db.Open(ctx, server)
		if err != nil {
			t.Error(err)
			return
		}
		defer d.Close()
		if _, err := d.ExecContext(ctx, `DROP ROLE IF EXISTS `+role); err != nil {
			t.Errorf("dropping the test role: %v", err)
		}
	})
	return role
}

// With OUTREACH_DATABASE_ROLE, migrate grants the role its rights, and every command then acts
// as the role: it cannot change or remove a row of the audit log, or the migrations, and the
// engine works as before (imports, tokens, the API, the pages' reads, the export).
func TestDatabaseRoleCannotRewriteTheAuditLog(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	role := testRole(t, conn)
	env := map[string]string{"DATABASE_URL": conn, "OUTREACH_DATABASE_ROLE": role}
	if _, _, err := runCmd(t, ctx, env, "migrate"); err != nil {
		t.Fatal(err)
	}
	// Twice: the grants are brought up to date, not refused.
	if _, _, err := runCmd(t, ctx, env, "migrate"); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(envFrom(env), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	for name, open := range map[string]func(context.Context, audit.Actor) (*sqlx.DB, error){"openMigrated": a.openMigrated, "openCurrent": a.openCurrent} {
		d, err := open(ctx, audit.ActorCLI)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var user string
		if err := d.Get(&user, `SELECT current_user`); err != nil || user != role {
			t.Errorf("%s acts as %q (%v), want %s", name, user, err, role)
		}
		d.Close()
	}

	asRole, err := dbrole.Conn(conn, role)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, asRole)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := audit.Record(ctx, d, audit.Event{PracticeID: 1, At: time.Now(), Actor: audit.ActorCLI, Action: "patient.read", Entity: "patient", EntityID: "1"}); err != nil {
		t.Fatalf("the role cannot add to the audit log: %v", err)
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`DROP TRIGGER audit_log_append_only ON audit_log`,
		`DELETE FROM audit_log_default`,
		`TRUNCATE audit_log_default`,
		`DELETE FROM ` + history.PartitionName("audit_log", history.MonthOf(time.Now())),
		`UPDATE schema_migrations SET checksum = 'x'`,
		`DELETE FROM schema_migrations`,
	} {
		_, err := d.ExecContext(ctx, stmt)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "42501" {
			t.Errorf("%s as the role: %v, want permission denied", stmt, err)
		}
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'patient.read'`); err != nil || n != 1 {
		t.Errorf("the role reads %d rows of its own (%v)", n, err)
	}

	// The engine works as the role: imports, a token, the API and the audit export.
	staffCSV := writeFile(t, "staff.csv", "id,name,credential,role,npi\nRN1,Rita,RN,clinical,\n")
	patients := writeFile(t, "patients.csv", "id,phone,programs,billing_npi,consent_at\nP1,+15550000001,ccm,1111111112,2026-01-15\n")
	for _, args := range [][]string{{"import", "staff", staffCSV}, {"import", "patients", patients}} {
		if out, _, err := runCmd(t, ctx, env, args...); err != nil {
			t.Fatalf("%v as the role: %v %s", args, err, out)
		}
	}
	if _, err := d.Exec(`UPDATE staff SET access = 'manager' WHERE ext_id = 'RN1'`); err != nil {
		t.Fatal(err)
	}
	token, _, err := runCmd(t, ctx, env, "staff", "token", "RN1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		senv := map[string]string{"OUTREACH_LISTEN": addr, "OUTREACH_CHANNEL": "simulator"}
		for k, v := range env {
			senv[k] = v
		}
		_, _, err := runCmd(t, sctx, senv, "serve")
		done <- err
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve as the role: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	for range 100 {
		var resp *http.Response
		if resp, err = http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("/readyz = %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := apiClient{t: t, base: "http://" + addr, token: strings.TrimSpace(token)}
	today := time.Now().Format(time.DateOnly)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1/time-entries", `{"patients": ["P1"], "program": "ccm", "started_at": "` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `", "minutes": 20, "activity": "coordination"}`},
		{"GET", "/api/v1/time-entries?month=" + time.Now().Format("2006-01"), ""},
		{"GET", "/api/v1/billing/report?month=" + time.Now().Format("2006-01"), ""},
		{"GET", "/api/v1/escalations", ""},
		{"GET", "/api/v1/audit/export?from=" + today + "&to=" + today, ""},
	} {
		if code, body := c.do(r.method, r.path, r.body); code >= 300 {
			t.Errorf("%s %s as the role: %d %s", r.method, r.path, code, body)
		}
	}
	for _, action := range []string{"time_entry.create", "time_entry.list", "billing.read", "queue.list", "audit_log.export"} {
		if err := d.Get(&n, `SELECT count(*) FROM audit_log WHERE action = $1`, action); err != nil || n == 0 {
			t.Errorf("no %s in the audit log (%v)", action, err)
		}
	}
}
