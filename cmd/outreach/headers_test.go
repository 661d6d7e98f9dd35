package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/staff"
)

// Every answer of the pages and the API carries the security headers: a policy that keeps
// forms and <base> to this site, nosniff, no-store, and over https
// Strict-Transport-Security.
func TestSecurityHeaders(t *testing.T) {
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	files := map[string]string{"staff": "id,name,credential,role\nRN1,Rita,RN,clinical\n", "patients": "id,programs\nP1,ccm\n"}
	for _, public := range []string{"https://outreach.example.org", "http://localhost:8080"} {
		base, d, _ := serveRoutesEnv(t, now, files, map[string]string{"OUTREACH_PUBLIC_URL": public})
		token, err := staff.NewToken(context.Background(), d, 1, "RN1", audit.ActorCLI, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			path   string
			token  bool
			status int
		}{
			{"/api/v1/billing/report?month=2026-03&format=csv", true, 200},
			{"/api/v1/billing/report?month=2026-03", true, 200},
			{"/api/v1/time-entries/export?month=2026-03", true, 200},
			{"/api/v1/escalations", true, 200},
			{"/api/v1/escalations", false, 401},
			{"/api/v1/nothing", true, 404},
			{"/login", false, 200},
			{"/patients/P1", false, 303},
			{"/static/htmx.min.js", false, 200},
		} {
			req, _ := http.NewRequest("GET", base+tt.path, nil)
			if tt.token {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			where := public + tt.path
			if resp.StatusCode != tt.status {
				t.Errorf("%s: %d, want %d", where, resp.StatusCode, tt.status)
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "base-uri 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s: Content-Security-Policy %q", where, csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q", where, h.Get("X-Content-Type-Options"))
			}
			if got := h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s: Cache-Control %q", where, got)
			}
			if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != strings.HasPrefix(public, "https:") || (hsts != "" && !strings.Contains(hsts, "max-age=31536000")) {
				t.Errorf("%s: Strict-Transport-Security %q", where, hsts)
			}
		}
	}
}
