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
	"github.com/outreach-engine/outreach/internal/web"
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
	token, err := web.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "otk_") || len(token) < 40 {
		t.Errorf("token %q", token)
	}
	if _, err := web.NewToken(ctx, d, 1, "NOBODY", audit.ActorCLI, now); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("token for unknown staff: %v", err)
	}
	var stored int
	d.Get(&stored, `SELECT count(*) FROM api_tokens WHERE token_sha256 = $1`, token)
	if stored != 0 {
		t.Error("the token itself is stored")
	}

	h := web.RequireToken(d, func() time.Time { return now }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := web.IdentityFrom(r.Context())
		web.WriteJSON(w, 200, map[string]string{"staff": id.Staff, "role": id.Role})
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
		{"empty", ``, web.ErrInvalid, "the body is empty"},
		{"syntax", `{"name":`, web.ErrInvalid, "not valid JSON"},
		{"type", `{"n":"two"}`, web.ErrInvalid, `field "n" must be int`},
		{"unknown field", `{"nam":"x"}`, web.ErrInvalid, `unknown field "nam"`},
		{"trailing", `{"name":"x"} {}`, web.ErrInvalid, "data after"},
		{"too large", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, web.ErrTooLarge, "larger than"},
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
