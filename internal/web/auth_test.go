package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestTokens(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	token, err := staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "otk_") || len(token) < 40 {
		t.Errorf("token %q", token)
	}
	if _, err := staff.NewToken(ctx, d, 1, "NOBODY", audit.ActorCLI, now); !errors.Is(err, errkind.ErrNotFound) {
		t.Errorf("token for unknown staff: %v", err)
	}
	var stored int
	d.Get(&stored, `SELECT count(*) FROM api_tokens WHERE token_sha256 = $1`, token)
	if stored != 0 {
		t.Error("the token itself is stored")
	}

	h := web.RequireToken(d, func() time.Time { return now }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := web.IdentityFrom(r.Context())
		web.WriteJSON(w, 200, map[string]string{"staff": id.Staff, "role": string(id.Role)})
	}))
	tests := []struct {
		name, header string
		code         int
		body         string
	}{
		{"valid", "Bearer " + token, 200, `"staff":"RN1"`},
		{"lower-case scheme", "bearer " + token, 200, `"role":"clinical"`},
		{"missing", "", 401, "missing or malformed"},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, "missing or malformed"},
		{"wrong token", "Bearer otk_wrong", 401, "invalid, expired or revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/v1/x", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%d %s, want %d %q", rec.Code, rec.Body, tt.code, tt.body)
			}
		})
	}
	if _, err := d.Exec(`UPDATE api_tokens SET revoked_at = $1`, now); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/x", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("revoked token: %d", rec.Code)
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	tests := []struct {
		name, in string
		kind     error
		msg      string
	}{
		{"ok", `{"name":"x","n":2}`, nil, ""},
		{"empty", ``, errkind.ErrInvalid, "the body is empty"},
		{"syntax", `{"name":`, errkind.ErrInvalid, "not valid JSON"},
		{"type", `{"n":"two"}`, errkind.ErrInvalid, `field "n" must be int`},
		{"unknown field", `{"nam":"x"}`, errkind.ErrInvalid, `unknown field "nam"`},
		{"trailing", `{"name":"x"} {}`, errkind.ErrInvalid, "data after"},
		{"too large", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, errkind.ErrTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b body
			err := web.DecodeJSON(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(tt.in)), &b)
			if tt.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want %v %q", err, tt.kind, tt.msg)
			}
		})
	}
}

// TestTokenExpiryAndRevocation: before, a token lived until someone edited the database: it
// outlived its expiry, a new password and a disabled account that was enabled again. Now it
// expires, is revoked with the account's sessions, and records its last use once a minute.
func TestTokenExpiryAndRevocation(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1)`,
		`INSERT INTO staff (practice_id, ext_id, role, access, created_at, updated_at) VALUES (1, 'RN1', 'clinical', 'nurse', $1, $1), (1, 'AD1', 'non_clinical', 'admin', $1, $1)`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatal(err)
		}
	}
	clock := now
	h := web.RequireToken(d, func() time.Time { return clock }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	call := func(token string) int {
		req := httptest.NewRequest("GET", "/api/v1/x", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	lastUsed := func(token string) *time.Time {
		var at *time.Time
		if err := d.Get(&at, `SELECT last_used_at FROM api_tokens ORDER BY id DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		return at
	}

	short, err := staff.NewTokenTTL(ctx, d, 1, "RN1", time.Hour, audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := call(short); got != http.StatusNoContent {
		t.Fatalf("a fresh token: %d", got)
	}
	if at := lastUsed(short); at == nil || !at.Equal(now) {
		t.Errorf("last use %v, want %v", at, now)
	}
	clock = now.Add(30 * time.Second)
	call(short)
	if at := lastUsed(short); !at.Equal(now) {
		t.Errorf("last use written again within a minute: %v", at)
	}
	clock = now.Add(2 * time.Minute)
	call(short)
	if at := lastUsed(short); !at.Equal(clock) {
		t.Errorf("last use %v, want %v", at, clock)
	}
	clock = now.Add(time.Hour)
	if got := call(short); got != http.StatusUnauthorized {
		t.Errorf("an expired token: %d, want 401", got)
	}
	if _, err := staff.NewTokenTTL(ctx, d, 1, "RN1", 0, audit.ActorCLI, now); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("a token that lasts no time: %v", err)
	}
	// A token made before tokens had an expiry lasts the default from its creation.
	old, _ := staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	d.Exec(`UPDATE api_tokens SET expires_at = NULL WHERE id = (SELECT max(id) FROM api_tokens)`)
	clock = now.Add(staff.DefaultTokenTTL - time.Minute)
	if got := call(old); got != http.StatusNoContent {
		t.Errorf("an old token within the default lifetime: %d", got)
	}
	clock = now.Add(staff.DefaultTokenTTL)
	if got := call(old); got != http.StatusUnauthorized {
		t.Errorf("an old token past the default lifetime: %d", got)
	}

	// Revoking, disabling and a new password each end the tokens for good.
	clock = now
	token, _ := staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	if tokens, _, err := staff.Revoke(ctx, d, 1, "RN1", audit.ActorCLI, now); err != nil || tokens != 3 || call(token) != http.StatusUnauthorized {
		t.Errorf("revoke: %d tokens, %v, token answers %d", tokens, err, call(token))
	}
	if _, _, err := staff.Revoke(ctx, d, 1, "NOBODY", audit.ActorCLI, now); !errors.Is(err, errkind.ErrNotFound) {
		t.Errorf("revoke for nobody: %v", err)
	}
	admin := staff.Identity{PracticeID: 1, StaffID: 2, Staff: "AD1", Access: staff.AccessAdmin}
	token, _ = staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	if err := staff.ChangeAccount(ctx, d, admin, "RN1", "", "disable", now); err != nil {
		t.Fatal(err)
	}
	if err := staff.ChangeAccount(ctx, d, admin, "RN1", "", "enable", now); err != nil {
		t.Fatal(err)
	}
	if got := call(token); got != http.StatusUnauthorized {
		t.Errorf("a token of an account disabled and enabled again: %d, want 401", got)
	}
	token, _ = staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	if err := staff.SetPassword(ctx, d, 1, "RN1", "a brand new password", "", audit.ActorCLI, now); err != nil {
		t.Fatal(err)
	}
	if got := call(token); got != http.StatusUnauthorized {
		t.Errorf("a token after a new password: %d, want 401", got)
	}
	var audited int
	d.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'staff.revoke'`)
	if audited != 1 {
		t.Errorf("%d revocations in the audit log, want 1", audited)
	}
}
