package fhir_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/fhir"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/simulator"
	"github.com/outreach-engine/outreach/scripts"
	"github.com/outreach-engine/outreach/staff"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// rig is the FHIR surface on a fresh database with one staff member and one patient in the
// depression script, at a pinned clock.
type rig struct {
	t        *testing.T
	db       *sqlx.DB
	now      time.Time
	eng      *outreach.Engine
	readings *monitoring.Service
	base     string
	token    string
	settings practice.Settings
}

const (
	staffFile    = "id,name,credential,role,npi\nRN1,Rita,RN,clinical,\nMA1,Max,MA,non_clinical,\n"
	patientsFile = "id,first_name,last_name,phone,language,chronic_conditions,programs,billing_npi,consent_at,script\n" +
		"P1,Ann,Lee,+15550100001,en,I10;E11.9,ccm;rpm,1111111112,2026-01-15,depression\n" +
		"P2,Bo,Diaz,+15550100002,es,I10,ccm,1111111112,2026-01-15,phq9\n" +
		"P3,Cy,Ng,+15550100003,en,I10,ccm,1111111112,2026-01-15,hypertension\n" +
		"P4,Di,Ray,+15550100004,en,I50.9,ccm,1111111112,2026-01-15,heart-failure\n" +
		"P5,Ed,Oh,+15550100005,en,I10;E78.5,ccm,1111111112,2026-01-15,ccm-monthly\n"
)

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC) // 10:00 in New York
	clock := func() time.Time { return now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	settings := practice.Settings{ID: practice.Default, Location: newYork, Country: "US"}
	opt := imports.Options{Practice: settings, Actor: audit.ActorCLI, Now: now}
	if _, err := staff.ImportFile(ctx, d, "staff.csv", strings.NewReader(staffFile), opt); err != nil {
		t.Fatal(err)
	}
	if _, err := outreach.ImportPatients(ctx, d, "patients.csv", strings.NewReader(patientsFile), opt); err != nil {
		t.Fatal(err)
	}
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	eng := outreach.New(d, lib, simulator.New(ctx, log, simulator.Hooks{}), clock, settings, log)
	eng.Send.PerSecond = 0
	queue := &escalation.Queue{DB: d, Practice: settings.ID, Clock: clock}
	readings := &monitoring.Service{DB: d, Practice: settings.ID, Location: newYork, Clock: clock, Log: log}
	srv := &fhir.Server{DB: d, Engine: eng, Readings: readings, Queue: queue, Log: log}
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	srv.Base = hs.URL + fhir.Prefix
	h := srv.Handler(func(h http.Handler) http.Handler { return web.RequireToken(d, clock, h) })
	mux.Handle(fhir.Prefix+"/", h)
	mux.Handle(fhir.Prefix, h)
	token, err := staff.NewToken(ctx, d, int64(settings.ID), "RN1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, db: d, now: now, eng: eng, readings: readings, base: srv.Base, token: token, settings: settings}
}

// checkin runs a check-in of the patient's script with the replies given, one per question.
func (r *rig) checkin(patient, script, phone string, replies ...string) {
	r.t.Helper()
	ctx := context.Background()
	var id int64
	if err := r.db.Get(&id, `SELECT id FROM patients WHERE ext_id = $1`, patient); err != nil {
		r.t.Fatal(err)
	}
	if ok, err := r.eng.StartNow(ctx, outreach.PatientID(id), script); err != nil || !ok {
		r.t.Fatalf("StartNow(%s, %s) = %v, %v", patient, script, ok, err)
	}
	for i, reply := range replies {
		if _, err := r.eng.Dispatch(ctx); err != nil {
			r.t.Fatal(err)
		}
		if _, err := r.eng.Receive(ctx, outreach.Inbound{SID: fmt.Sprintf("SM%s%s%030d", patient, script, i), From: phone, Body: reply}); err != nil {
			r.t.Fatal(err)
		}
	}
	if _, err := r.eng.Dispatch(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// do sends a request with the staff member's token; it returns the status and the body.
func (r *rig) do(method, path, body string) (int, string) {
	r.t.Helper()
	return r.doAs(r.token, method, path, body)
}

func (r *rig) doAs(token, method, path, body string) (int, string) {
	r.t.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = r.base + path
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		r.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return res.StatusCode, string(b)
}

// get reads a resource, failing unless the status is want.
func (r *rig) get(path string, want int) map[string]any {
	r.t.Helper()
	code, body := r.do("GET", path, "")
	if code != want {
		r.t.Fatalf("GET %s = %d %s, want %d", path, code, body, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		r.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return v
}

// entries are a Bundle's resources.
func entries(b map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := b["entry"].([]any)
	for _, e := range list {
		if res, ok := e.(map[string]any)["resource"].(map[string]any); ok {
			out = append(out, res)
		}
	}
	return out
}

// link is a Bundle's link of a relation, "" when it has none.
func link(b map[string]any, relation string) string {
	list, _ := b["link"].([]any)
	for _, l := range list {
		if m := l.(map[string]any); m["relation"] == relation {
			return m["url"].(string)
		}
	}
	return ""
}

// js renders a value as JSON, for messages and substring checks.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (r *rig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.Get(&n, query, args...); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// staffToken returns a new API token of a staff member.
func (r *rig) staffToken(member string) (string, error) {
	return staff.NewToken(context.Background(), r.db, int64(r.settings.ID), member, audit.ActorCLI, r.now)
}
