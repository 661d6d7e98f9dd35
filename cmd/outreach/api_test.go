package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach/simulator"
	"github.com/outreach-engine/outreach/staff"
)

type apiClient struct {
	t     *testing.T
	base  string
	token string
	d     *sqlx.DB // the database served, when apiServer made it
	conn  string   // and its connection string
}

// db returns the database the client's server serves.
func (c apiClient) db(t *testing.T) *sqlx.DB {
	t.Helper()
	if c.d == nil {
		t.Fatal("the client was not made by apiServer")
	}
	return c.d
}

func (c apiClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiServer serves the routes on a fresh database with staff, patients and a token for RN1, at a
// pinned clock.
func apiServer(t *testing.T, now time.Time) apiClient {
	t.Helper()
	base, d, conn := serveRoutesConn(t, now, map[string]string{
		"staff":    "id,name,credential,role,npi\nRN1,Rita,RN,clinical,\nMD1,Ada,MD,practitioner,1111111112\n",
		"patients": "id,chronic_conditions,programs,billing_npi,consent_at,initiating_visit_on,care_plan_on\nP1,I10;E11.9,ccm;rpm,1111111112,2026-01-15,2026-01-15,2026-01-15\nP2,I10;E11.9,ccm,1111111112,2026-01-15,2026-01-15,2026-01-15\n",
	})
	token, err := staff.NewToken(context.Background(), d, 1, "RN1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	return apiClient{t: t, base: base, token: token, d: d, conn: conn}
}

// serveRoutes imports the files (by kind: staff, patients, …) into a fresh database and serves
// every route of the engine on it at a pinned clock; it returns the base URL and the database.
func serveRoutes(t *testing.T, now time.Time, files map[string]string) (string, *sqlx.DB) {
	t.Helper()
	base, d, _ := serveRoutesConn(t, now, files)
	return base, d
}

// serveRoutesConn is serveRoutes that also returns the database's connection string.
func serveRoutesConn(t *testing.T, now time.Time, files map[string]string) (string, *sqlx.DB, string) {
	t.Helper()
	return serveRoutesEnv(t, now, files, nil)
}

// serveRoutesEnv is serveRoutesConn with more of the environment set.
func serveRoutesEnv(t *testing.T, now time.Time, files, more map[string]string) (string, *sqlx.DB, string) {
	t.Helper()
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	for k, v := range more {
		env[k] = v
	}
	for _, kind := range []string{"staff", "patients"} {
		if content, ok := files[kind]; ok {
			if _, _, err := runCmd(t, ctx, env, "import", kind, writeFile(t, kind+".csv", content)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, err := LoadConfig(envFrom(env), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return now }}
	srv := web.NewServer(a.log, prometheus.NewRegistry())
	lib, err := a.loadScripts()
	if err != nil {
		t.Fatal(err)
	}
	a.routes(srv, d, a.engine(d, lib, a.channel(ctx, simulator.Hooks{})))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL, d, conn
}

func TestTimeEntriesAPI(t *testing.T) {
	c := apiServer(t, time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC))

	code, body := c.do("POST", "/api/v1/time-entries", `{"patients":"P1","program":"ccm","started_at":"2026-03-02T10:00:00-05:00","minutes":15,"activity":"patient_call","note":"BP review"}`)
	if code != 201 || !strings.Contains(body, `"seconds":900`) || !strings.Contains(body, `"staff":"RN1"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	var e struct{ ID int64 }
	json.Unmarshal([]byte(body), &e)

	tests := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"list", "GET", "/api/v1/time-entries?month=2026-03", "", 200, `"note":"BP review"`},
		{"bad month", "GET", "/api/v1/time-entries?month=March", "", 400, `"error":"month: \"March\" is not a month (YYYY-MM)"`},
		{"stop before start", "POST", "/api/v1/time-entries", `{"patients":["P1"],"program":"ccm","started_at":"2026-03-02T10:00:00-05:00","ended_at":"2026-03-02T09:00:00-05:00"}`, 400, "is not after started_at"},
		{"unknown patient", "POST", "/api/v1/time-entries", `{"patients":["P9"],"program":"ccm","started_at":"2026-03-02T11:00:00-05:00","minutes":5}`, 400, `patient \"P9\" is not a known patient id`},
		{"not enrolled", "POST", "/api/v1/time-entries", `{"patients":["P2"],"program":"rpm","started_at":"2026-03-02T11:00:00-05:00","minutes":5}`, 400, "not enrolled in rpm"},
		{"unknown field", "POST", "/api/v1/time-entries", `{"patient":"P1"}`, 400, `unknown field \"patient\"`},
		{"duplicate", "POST", "/api/v1/time-entries", `{"patients":"P1","program":"ccm","started_at":"2026-03-02T10:00:00-05:00","minutes":15,"activity":"patient_call","note":"again"}`, 409, "already stored as entry"},
		{"amend", "POST", "/api/v1/time-entries/" + itoa(e.ID) + "/amend", `{"patients":"P1","program":"ccm","started_at":"2026-03-02T10:00:00-05:00","minutes":25,"activity":"patient_call","reason":"call ran long"}`, 201, `"seconds":1500`},
		{"amend again", "POST", "/api/v1/time-entries/" + itoa(e.ID) + "/amend", `{"patients":"P1","program":"ccm","started_at":"2026-03-02T10:00:00-05:00","minutes":25,"reason":"x"}`, 409, "already amended by entry"},
		{"history", "GET", "/api/v1/time-entries/" + itoa(e.ID) + "/history", "", 200, `"amend_reason":"call ran long"`},
		{"history of nothing", "GET", "/api/v1/time-entries/999999/history", "", 404, "not found"},
		{"export", "GET", "/api/v1/time-entries/export?month=2026-03", "", 200, "entry_id,status,supersedes"},
		{"report", "GET", "/api/v1/billing/report?month=2026-03", "", 200, `"patient":"P1","program":"ccm","billing_npi":"1111111112","seconds":1500,"status":"billable"`},
		{"report csv", "GET", "/api/v1/billing/report?month=2026-03&format=csv", "", 200, "P1,ccm,1111111112,1500,25,billable,99490x1,66.13"},
		{"report bad month", "GET", "/api/v1/billing/report?month=2026-13", "", 400, "is not a month"},
		{"report leaves out rows with no time", "GET", "/api/v1/billing/report?month=2026-03", "", 200, `"hidden_rows":2}`},
		{"report with every row", "GET", "/api/v1/billing/report?month=2026-03&all=1", "", 200, `"patient":"P2","program":"ccm","billing_npi":"1111111112","seconds":0,"status":"below_threshold"`},
		{"report bad all", "GET", "/api/v1/billing/report?month=2026-03&all=yes", "", 400, `all \"yes\" is not 1 or 0`},
		// Patients with no time this month (P1's RPM, P2's CCM) are close to nothing.
		{"worklist", "GET", "/api/v1/billing/worklist?month=2026-03", "", 200, `[]`},
		{"worklist within 20", "GET", "/api/v1/billing/worklist?month=2026-03&within=20", "", 200, `[{"patient":"P1","program":"ccm","code":"99439","minutes_needed":15,"value_cents":5044,"days_left":7}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := c.do(tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Errorf("%s %s = %d %s\nwant %d containing %s", tt.method, tt.path, code, body, tt.code, tt.contains)
			}
		})
	}

	anon := c
	anon.token = ""
	if code, body := anon.do("GET", "/api/v1/billing/report?month=2026-03", ""); code != 401 || !strings.Contains(body, `"error"`) {
		t.Errorf("without a token: %d %s", code, body)
	}
	anon.token = "otk_forged"
	if code, _ := anon.do("POST", "/api/v1/time-entries", `{}`); code != 401 {
		t.Errorf("forged token: %d", code)
	}
}

func TestTimersAPI(t *testing.T) {
	c := apiServer(t, time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC))
	code, body := c.do("POST", "/api/v1/timers", `{"patients":["P1","P2"],"program":"ccm","activity":"education"}`)
	if code != 201 {
		t.Fatalf("start: %d %s", code, body)
	}
	var tm struct{ ID int64 }
	json.Unmarshal([]byte(body), &tm)
	if code, body := c.do("POST", "/api/v1/timers", `{"patients":["P1"],"program":"ccm"}`); code != 409 {
		t.Errorf("second timer: %d %s", code, body)
	}
	// The pinned clock does not move: the entry lasts the one-second minimum.
	code, body = c.do("POST", "/api/v1/timers/"+itoa(tm.ID)+"/stop", `{"note":"group class","changed":"no_change"}`)
	if code != 201 || !strings.Contains(body, `"source":"timer"`) || !strings.Contains(body, `"patients":["P1","P2"]`) {
		t.Errorf("stop: %d %s", code, body)
	}
	if code, _ := c.do("POST", "/api/v1/timers/abc/stop", `{}`); code != 404 {
		t.Errorf("stop of a bad id: %d", code)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestUnknownAPIRoute(t *testing.T) {
	c := apiServer(t, time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC))
	if code, body := c.do("GET", "/api/v1/nothing/here", ""); code != 404 || !strings.Contains(body, `"error":"no such API route`) {
		t.Errorf("unknown route: %d %s", code, body)
	}
}
