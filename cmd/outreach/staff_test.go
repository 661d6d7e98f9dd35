package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// staffWithPassword imports staff member RN1 into a fresh database and returns its environment
// and a function reading RN1's password hash.
func staffWithPassword(t *testing.T) (map[string]string, func() string) {
	t.Helper()
	d, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	if _, _, err := runCmd(t, context.Background(), env, "import", "staff", writeFile(t, "s.csv", "id,name,credential,role\nRN1,Rita,RN,clinical\n")); err != nil {
		t.Fatal(err)
	}
	return env, func() string {
		var hash string
		if err := d.Get(&hash, `SELECT COALESCE(password_hash, '') FROM staff WHERE ext_id = 'RN1'`); err != nil {
			t.Fatal(err)
		}
		return hash
	}
}

// From a pipe, staff password reads one line and asks nothing.
func TestStaffPasswordFromPipe(t *testing.T) {
	env, hash := staffWithPassword(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"staff", "password", "RN1"}, strings.NewReader("a long enough password\n"), &stdout, &stderr, envFrom(env))
	if err != nil || stdout.String() != "password set for RN1\n" {
		t.Fatalf("staff password: %q, %v", stdout.String(), err)
	}
	if strings.Contains(stderr.String(), "password") {
		t.Errorf("it prompted on a pipe: %q", stderr.String())
	}
	if bcrypt.CompareHashAndPassword([]byte(hash()), []byte("a long enough password")) != nil {
		t.Error("the password read is not the one stored")
	}
}

// staff token makes a token that expires after --ttl (90 days unless given); staff revoke
// revokes every token and session of the staff member, and the audit log says who did it.
func TestStaffTokenTTLAndRevoke(t *testing.T) {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	if _, _, err := runCmd(t, ctx, env, "import", "staff", writeFile(t, "s.csv", "id,name,credential,role\nRN1,Rita,RN,clinical\nRN2,Rob,RN,clinical\n")); err != nil {
		t.Fatal(err)
	}
	lifetimes := map[string]time.Duration{}
	for _, args := range [][]string{{"RN1"}, {"RN1", "--ttl", "24h"}, {"--ttl", "30d", "RN1"}, {"RN2"}} {
		out, _, err := runCmd(t, ctx, env, append([]string{"staff", "token"}, args...)...)
		if err != nil || !strings.HasPrefix(out, "otk_") {
			t.Fatalf("staff token %v: %q, %v", args, out, err)
		}
		var ttl float64
		if err := d.Get(&ttl, `SELECT extract(epoch FROM expires_at - created_at) FROM api_tokens ORDER BY id DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		lifetimes[strings.Join(args, " ")] = time.Duration(ttl) * time.Second
	}
	want := map[string]time.Duration{"RN1": 90 * 24 * time.Hour, "RN1 --ttl 24h": 24 * time.Hour, "--ttl 30d RN1": 30 * 24 * time.Hour, "RN2": 90 * 24 * time.Hour}
	for k, v := range want {
		if lifetimes[k] != v {
			t.Errorf("staff token %s lasts %v, want %v", k, lifetimes[k], v)
		}
	}
	out, _, err := runCmd(t, ctx, env, "staff", "revoke", "RN1")
	if err != nil || out != "revoked 3 API tokens and ended 0 sessions of RN1\n" {
		t.Fatalf("staff revoke: %q, %v", out, err)
	}
	var live []string
	if err := d.Select(&live, `SELECT s.ext_id FROM api_tokens t JOIN staff s ON s.id = t.staff_id WHERE t.revoked_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(live, ",") != "RN2" {
		t.Errorf("tokens left to %v, want RN2's only", live)
	}
	var actor string
	if err := d.Get(&actor, `SELECT actor FROM audit_log WHERE action = 'staff.revoke'`); err != nil || actor != "cli" {
		t.Errorf("audit of the revocation: %q, %v", actor, err)
	}
	if _, _, err := runCmd(t, ctx, env, "staff", "revoke", "NOBODY"); err == nil || !strings.Contains(err.Error(), "NOBODY") {
		t.Errorf("revoke for nobody: %v", err)
	}
	for _, cmd := range []string{"token", "revoke"} {
		out, _, err := runCmd(t, ctx, env, "staff", cmd, "--help")
		if err != nil || !strings.HasPrefix(out, "usage: outreach staff "+cmd) {
			t.Errorf("staff %s --help: %q, %v", cmd, out, err)
		}
	}
}
