package monitoring_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var ny = func() *time.Location { l, _ := time.LoadLocation("America/New_York"); return l }()

type rig struct {
	t   *testing.T
	db  *sqlx.DB
	mu  sync.Mutex
	now time.Time
	svc *monitoring.Service
	reg *prometheus.Registry
}

const patientsCSV = `id,first_name,phone,language,programs,consent_at,billing_npi
P1,Ann,+15550100001,en,rpm,2026-01-05,1234567893
P2,Bea,+15550100002,es,rpm;ccm,2026-01-05,1234567893
P3,Cal,+15550100003,en,ccm,2026-01-05,1234567893
P4,Dee,,en,rpm,2026-01-05,1234567893
`

func newRig(t *testing.T) *rig {
	d, _ := dbtest.Fresh(t)
	r := &rig{t: t, db: d, now: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), reg: prometheus.NewRegistry()}
	r.svc = &monitoring.Service{DB: d, Practice: 1, Location: ny, Clock: r.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.svc.Metrics = monitoring.NewMetrics(r.reg, r.svc.SilentDevices)
	opt := imports.Options{Practice: practice.Settings{ID: 1, Location: ny}, Actor: audit.ActorCLI, Now: r.now}
	if _, err := outreach.ImportPatients(context.Background(), d, "patients.csv", strings.NewReader(patientsCSV), opt); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.ImportFile(context.Background(), d, "staff.csv", strings.NewReader("id,name,credential,role,npi\nMD1,Dr One,MD,practitioner,1234567893\nRN1,Nurse,RN,clinical,\n"), opt); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) set(t time.Time) {
	r.mu.Lock()
	r.now = t
	r.mu.Unlock()
}

func (r *rig) count(q string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.Get(&n, q, args...); err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) identity(ext string) staff.Identity {
	r.t.Helper()
	var id staff.Identity
	if err := r.db.Get(&id, `SELECT practice_id, id, ext_id, role, 'nurse' AS access FROM staff WHERE ext_id = $1`, ext); err != nil {
		r.t.Fatal(err)
	}
	return id
}

// post sends a body to the readings route as a staff member.
func (r *rig) post(path, method, body string, who staff.Identity, h http.Handler) (int, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req = req.WithContext(web.WithIdentity(req.Context(), who))
	w := httptest.NewRecorder()
	mux := http.NewServeMux()
	mux.Handle(method+" "+strings.Split(path, "?")[0], h)
	if strings.Contains(path, "/patients/") {
		mux = http.NewServeMux()
		mux.Handle(method+" /api/v1/patients/{id}/reading-limits", h)
	}
	mux.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func bpJSON(patient, device, at string, sys, dia int) string {
	return fmt.Sprintf(`{"patient": %q, "device": %q, "type": "blood_pressure", "taken_at": %q, "systolic": %d, "diastolic": %d}`,
		patient, device, at, sys, dia)
}

func TestWebhookIsIdempotentAndAllOrNothing(t *testing.T) {
	r := newRig(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := web.APIBody(log, (&monitoring.Handlers{Svc: r.svc}).Receive)
	vendor := r.identity("RN1")
	batch := "[" + strings.Join([]string{
		bpJSON("P1", "BP-1", "2026-03-10T07:00:00-05:00", 128, 82),
		bpJSON("P1", "BP-1", "2026-03-10T07:05:00-05:00", 165, 90),
		`{"patient": "P2", "device": "SC-9", "type": "weight", "taken_at": "2026-03-10T06:30:00-05:00", "value": 181.2, "unit": "lb"}`,
		`{"patient": "P2", "type": "glucose", "taken_at": "2026-03-10T06:35:00-05:00", "value": 110, "unit": "mg/dL", "manual": true}`,
	}, ",") + "]"
	code, body := r.post("/api/v1/readings", "POST", batch, vendor, h)
	if code != 200 || !strings.Contains(body, `"received":4`) || !strings.Contains(body, `"new":4`) || !strings.Contains(body, `"out_of_range":1`) {
		t.Fatalf("first batch: %d %s", code, body)
	}
	// The vendor sends the same batch again: nothing is stored twice, no second firing.
	code, body = r.post("/api/v1/readings", "POST", batch, vendor, h)
	if code != 200 || !strings.Contains(body, `"new":0`) {
		t.Fatalf("batch again: %d %s", code, body)
	}
	if n := r.count(`SELECT count(*) FROM readings`); n != 4 {
		t.Fatalf("%d readings stored, want 4", n)
	}
	if n := r.count(`SELECT firings FROM escalations WHERE source = 'reading'`); n != 1 {
		t.Fatalf("%d firings, want 1", n)
	}
	// One object, not a list.
	code, body = r.post("/api/v1/readings", "POST", `{"patient": "P3", "device": "OX-1", "type": "spo2", "taken_at": "2026-03-10T08:00:00-05:00", "value": 97, "unit": "%"}`, vendor, h)
	if code != 200 || !strings.Contains(body, `"new":1`) {
		t.Fatalf("one object: %d %s", code, body)
	}
	// One bad reading and one unknown patient refuse the whole list, naming each.
	bad := "[" + strings.Join([]string{
		bpJSON("P1", "BP-1", "2026-03-10T09:00:00-05:00", 120, 80),
		bpJSON("P1", "BP-1", "2026-03-10T09:05:00-05:00", 80, 120),
		bpJSON("NOPE", "BP-1", "2026-03-10T09:10:00-05:00", 120, 80),
	}, ",") + "]"
	code, body = r.post("/api/v1/readings", "POST", bad, vendor, h)
	if code != 400 || !strings.Contains(body, "readings[1].diastolic") || !strings.Contains(body, "nothing was stored") {
		t.Fatalf("bad batch: %d %s", code, body)
	}
	good := strings.Replace(bad, bpJSON("P1", "BP-1", "2026-03-10T09:05:00-05:00", 80, 120), bpJSON("P1", "BP-1", "2026-03-10T09:05:00-05:00", 120, 80), 1)
	code, body = r.post("/api/v1/readings", "POST", good, vendor, h)
	if code != 400 || !strings.Contains(body, `readings[2].patient: patient \"NOPE\" is not a known patient id`) {
		t.Fatalf("unknown patient: %d %s", code, body)
	}
	code, body = r.post("/api/v1/readings", "POST", `[{"patient": "P1", "colour": "red"}]`, vendor, h)
	if code != 400 || !strings.Contains(body, "readings[0]") || !strings.Contains(body, "colour") {
		t.Fatalf("unknown field: %d %s", code, body)
	}
	if n := r.count(`SELECT count(*) FROM readings`); n != 5 {
		t.Fatalf("%d readings stored after the refused batches, want 5", n)
	}
	// Counted by type, where they were stored; every type is there from the start.
	if got := testutil.ToFloat64(mustCounter(t, r.reg, "outreach_readings_received_total", "blood_pressure")); got != 2 {
		t.Errorf("blood pressure readings counted %v, want 2", got)
	}
	if got := testutil.ToFloat64(mustCounter(t, r.reg, "outreach_readings_received_total", "heart_rate")); got != 0 {
		t.Errorf("heart rate readings counted %v, want 0", got)
	}
	if got := testutil.ToFloat64(mustCounter(t, r.reg, "outreach_readings_out_of_range_total", "blood_pressure")); got != 1 {
		t.Errorf("out-of-range readings counted %v, want 1", got)
	}
	problems, err := testutil.GatherAndLint(r.reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("the metrics do not lint: %v %v", problems, err)
	}
	if n, err := testutil.GatherAndCount(r.reg, "outreach_rpm_patients_device_silent"); err != nil || n != 1 {
		t.Errorf("the silent-device gauge: %d series, %v", n, err)
	}
}

// mustCounter finds one labelled value of a metric in reg.
func mustCounter(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == label {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return nil
}

func TestAlertsFoldAndFollowLimits(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	read := func(at string, sys, dia int) monitoring.Reading {
		in := monitoring.Input{Patient: "P1", Device: "BP-1", Type: "blood_pressure", TakenAt: at}
		s, d := float64(sys), float64(dia)
		in.Systolic, in.Diastolic = &s, &d
		rd, errs := monitoring.Check(in, r.clock())
		if errs != nil {
			t.Fatal(errs)
		}
		return rd
	}
	res, unknown, err := r.svc.Receive(ctx, []monitoring.Reading{read("2026-03-10T07:00:00-05:00", 165, 90)}, audit.ActorSystem)
	if err != nil || unknown != nil || res.OutOfRange != 1 {
		t.Fatalf("%+v %v %v", res, unknown, err)
	}
	// A second, worse reading joins the open item and makes it urgent.
	if _, _, err := r.svc.Receive(ctx, []monitoring.Reading{read("2026-03-10T08:00:00-05:00", 185, 95)}, audit.ActorSystem); err != nil {
		t.Fatal(err)
	}
	var item struct {
		Severity string          `db:"severity"`
		Reason   string          `db:"reason"`
		Firings  int             `db:"firings"`
		Details  json.RawMessage `db:"details"`
	}
	if err := r.db.Get(&item, `SELECT severity, reason, firings, details FROM escalations WHERE source = 'reading'`); err != nil {
		t.Fatal(err)
	}
	if item.Severity != "urgent" || item.Firings != 2 || item.Reason != "Blood pressure out of range" {
		t.Fatalf("item %+v", item)
	}
	if !strings.Contains(string(item.Details), "Blood pressure 185/95 mmHg (systolic 185 at or above 180 mmHg), taken Mar 10 09:00 EDT, device BP-1") {
		t.Fatalf("the item's words: %s", item.Details)
	}
	// A nurse may not set limits; a practitioner may.
	tighter := monitoring.Limits{monitoring.Systolic: {HighAbove: ptr(140)}}
	if err := r.svc.SetLimits(ctx, r.identity("RN1"), 1, tighter); !errors.Is(err, errkind.ErrForbidden) {
		t.Fatalf("a nurse set limits: %v", err)
	}
	if err := r.svc.SetLimits(ctx, r.identity("MD1"), 1, monitoring.Limits{monitoring.Systolic: {HighAbove: ptr(200), UrgentAbove: ptr(190)}}); !errors.Is(err, errkind.ErrInvalid) {
		t.Fatalf("limits out of order: %v", err)
	}
	if err := r.svc.SetLimits(ctx, r.identity("MD1"), 1, tighter); err != nil {
		t.Fatal(err)
	}
	// Under the patient's own limit, 145 is high; the default would have let it be.
	res, _, err = r.svc.Receive(ctx, []monitoring.Reading{read("2026-03-10T09:00:00-05:00", 145, 80)}, audit.ActorSystem)
	if err != nil || res.OutOfRange != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	// The same through the API: a nurse is refused, a practitioner's limits come back with those in force.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := &monitoring.Handlers{Svc: r.svc}
	put := web.APIBody(log, hs.SetLimits)
	if code, body := r.post("/api/v1/patients/P1/reading-limits", "PUT", `{"glucose": {"high_below": 70}}`, r.identity("RN1"), put); code != 403 {
		t.Fatalf("a nurse's PUT: %d %s", code, body)
	}
	if code, body := r.post("/api/v1/patients/P1/reading-limits", "PUT", `{"glucose": {"high_below": 70, "urgent_below": 90}}`, r.identity("MD1"), put); code != 400 || !strings.Contains(body, "glucose.urgent_below") {
		t.Fatalf("bad limits: %d %s", code, body)
	}
	code, body := r.post("/api/v1/patients/P1/reading-limits", "PUT", `{"systolic": {"high_above": 140}, "glucose": {"high_below": 70}}`, r.identity("MD1"), put)
	if code != 200 || !strings.Contains(body, `"own":{"glucose":{"high_below":70},"systolic":{"high_above":140}}`) || !strings.Contains(body, `"spo2":{"urgent_below":88}`) {
		t.Fatalf("a practitioner's PUT: %d %s", code, body)
	}
	if code, body := r.post("/api/v1/patients/NOPE/reading-limits", "GET", ``, r.identity("RN1"), web.API(log, hs.Limits)); code != 404 {
		t.Fatalf("unknown patient: %d %s", code, body)
	}
	if n := r.count(`SELECT count(*) FROM audit_log WHERE action = 'patient.limits'`); n != 2 {
		t.Fatalf("%d limit changes audited", n)
	}
}

func ptr(v float64) *float64 { return &v }

func TestImportFile(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	file := `patient,device,type,taken_at,systolic,diastolic,value,unit,manual
P1,BP-1,blood_pressure,2026-03-09T07:00:00-05:00,128,82,,,
P1,BP-1,blood_pressure,2026-03-10T07:00:00-05:00,182,84,,,
P2,SC-9,weight,2026-03-09T06:30:00-05:00,,,82.5,kg,
P2,,glucose,2026-03-09T06:35:00-05:00,,,104,mg/dL,true
P3,OX-1,spo2,2026-03-09T06:35:00-05:00,,,86,%,false
`
	res, err := r.svc.ImportFile(ctx, "readings.csv", strings.NewReader(file), audit.ActorCLI)
	if err != nil || res.New != 5 || res.OutOfRange != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	// The same file again changes nothing and is no error.
	res, err = r.svc.ImportFile(ctx, "readings.csv", strings.NewReader(file), audit.ActorCLI)
	if err != nil || res.New != 0 || res.Received != 5 {
		t.Fatalf("again: %+v %v", res, err)
	}
	if n := r.count(`SELECT count(*) FROM escalations`); n != 2 {
		t.Fatalf("%d items, want 2", n)
	}
	bad := `patient,device,type,taken_at,systolic,diastolic,value,unit,manual
P1,BP-1,blood_pressure,2026-03-09T08:00:00-05:00,abc,82,,,
P1,BP-1,weight,2026-03-09T08:00:00,,,80,st,
NOPE,BP-1,heart_rate,2026-03-09T08:00:00-05:00,,,70,bpm,maybe
`
	_, err = r.svc.ImportFile(ctx, "bad.csv", strings.NewReader(bad), audit.ActorCLI)
	var errs csvfile.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v is not the file's errors", err)
	}
	want := []string{"bad.csv:2: systolic \"abc\" is not a number", "bad.csv:3: taken_at", "bad.csv:3: unit \"st\"", "bad.csv:4: manual \"maybe\""}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors %q lack %q", err, w)
		}
	}
	for _, e := range errs {
		if e.Column == "" {
			t.Errorf("error %v names no column", e)
		}
	}
	// A file whose rows are good but whose patient is unknown stores nothing either.
	unknown := "patient,device,type,taken_at,value,unit\nP1,HR-1,heart_rate,2026-03-09T08:00:00-05:00,70,bpm\nNOPE,HR-1,heart_rate,2026-03-09T08:00:00-05:00,70,bpm\n"
	_, err = r.svc.ImportFile(ctx, "unknown.csv", strings.NewReader(unknown), audit.ActorCLI)
	if err == nil || !strings.Contains(err.Error(), `unknown.csv:3: patient "NOPE" is not a known patient id`) {
		t.Fatalf("unknown patient: %v", err)
	}
	if n := r.count(`SELECT count(*) FROM readings`); n != 5 {
		t.Fatalf("%d readings, want 5", n)
	}
}

func TestDataDaysByPatient(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.set(time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC))
	var rs []monitoring.Reading
	add := func(patient string, at time.Time, manual bool) {
		v := 70.0
		in := monitoring.Input{Patient: patient, Device: "HR-1", Type: "heart_rate", TakenAt: at.Format(time.RFC3339), Value: &v, Unit: "bpm", Manual: manual}
		if manual {
			in.Device = ""
		}
		rd, errs := monitoring.Check(in, r.clock())
		if errs != nil {
			t.Fatal(errs)
		}
		rs = append(rs, rd)
	}
	var stamps []monitoring.Stamp
	for d := 1; d <= 16; d++ { // P1: 16 days, twice a day
		add("P1", time.Date(2026, 3, d, 8, 0, 0, 0, ny), false)
		add("P1", time.Date(2026, 3, d, 20, 0, 0, 0, ny), false)
		stamps = append(stamps, monitoring.Stamp{At: time.Date(2026, 3, d, 8, 0, 0, 0, ny)})
	}
	for d := 1; d <= 15; d++ { // P2: 15 device days and manual readings on others
		add("P2", time.Date(2026, 3, d, 23, 30, 0, 0, ny), false) // the next day in UTC
		add("P2", time.Date(2026, 3, d+15, 9, 0, 0, 0, ny), true)
	}
	add("P3", time.Date(2026, 2, 28, 23, 30, 0, 0, ny), false) // February in New York
	add("P3", time.Date(2026, 4, 1, 0, 30, 0, 0, ny), false)   // April
	if _, unknown, err := r.svc.Receive(ctx, rs, audit.ActorSystem); err != nil || unknown != nil {
		t.Fatal(err, unknown)
	}
	march := monitoring.CalendarMonth(2026, time.March, ny)
	got, err := monitoring.DataDaysByPatient(ctx, r.db, 1, ny, march)
	if err != nil {
		t.Fatal(err)
	}
	if got["P1"] != 16 || got["P2"] != 15 || got["P3"] != 0 || len(got) != 2 {
		t.Fatalf("data days %v", got)
	}
	if pure := monitoring.DataDays(stamps, ny, march); pure != got["P1"] {
		t.Fatalf("the store counts %d days, DataDays %d", got["P1"], pure)
	}
	// The count reads an index, never the whole table.
	tx := r.db.MustBegin()
	defer tx.Rollback()
	tx.MustExec(`SET LOCAL enable_seqscan = off`)
	var plan []string
	if err := tx.Select(&plan, `EXPLAIN `+monitoring.SelectDataDays, 1, march.From, march.To, "America/New_York"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(plan, "\n"), "Seq Scan on readings") {
		t.Fatalf("the count does not use the index:\n%s", strings.Join(plan, "\n"))
	}
}

func TestSilentDevices(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	reading := func(patient string, at time.Time) {
		t.Helper()
		in := monitoring.Input{Patient: patient, Device: "BP-" + patient, Type: "blood_pressure", TakenAt: at.Format(time.RFC3339), Systolic: ptr(120), Diastolic: ptr(80)}
		rd, errs := monitoring.Check(in, r.clock())
		if errs != nil {
			t.Fatal(errs)
		}
		if _, _, err := r.svc.Receive(ctx, []monitoring.Reading{rd}, audit.ActorSystem); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	r.set(start)
	for _, p := range []string{"P1", "P2", "P3", "P4"} {
		reading(p, start)
	}
	// A manual reading is not the device's.
	manual, _ := monitoring.Check(monitoring.Input{Patient: "P1", Type: "weight", TakenAt: start.Add(47 * time.Hour).Format(time.RFC3339), Value: ptr(80), Unit: "kg", Manual: true}, start.Add(48*time.Hour))
	r.set(start.Add(48 * time.Hour))
	if _, _, err := r.svc.Receive(ctx, []monitoring.Reading{manual}, audit.ActorSystem); err != nil {
		t.Fatal(err)
	}
	pass := func(at time.Time) monitoring.Silence {
		t.Helper()
		r.set(at)
		res, err := r.svc.FollowUpSilence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := pass(start.Add(71 * time.Hour)); res != (monitoring.Silence{}) {
		t.Fatalf("after 2 days 22 hours: %+v", res)
	}
	// Three days: a reminder to P1 and P2 (RPM, a phone); P3 is not in RPM, P4 has no phone.
	if res := pass(start.Add(72 * time.Hour)); res.Reminded != 2 || res.Escalated != 0 {
		t.Fatalf("after 3 days: %+v", res)
	}
	if n, err := r.svc.SilentDevices(ctx); err != nil || n != 3 {
		t.Fatalf("silent devices %d %v, want 3 (P1, P2, P4)", n, err)
	}
	var bodies []string
	if err := r.db.Select(&bodies, `SELECT body FROM messages WHERE kind = 'reminder' AND checkin_id IS NULL AND NOT immediate ORDER BY patient_id`); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || !strings.Contains(bodies[0], "in 3 days") || !strings.Contains(bodies[1], "en 3 días") {
		t.Fatalf("reminders %q", bodies)
	}
	// Not again while the silence lasts, from any replica.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.svc.FollowUpSilence(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := r.count(`SELECT count(*) FROM messages WHERE kind = 'reminder'`); n != 2 {
		t.Fatalf("%d reminders, want 2", n)
	}
	// P2's device sends again: their silence is over.
	r.set(start.Add(96 * time.Hour))
	reading("P2", start.Add(96*time.Hour))
	// Five days: an item for P1 and P4 (who got no text, having no phone), once.
	if res := pass(start.Add(120 * time.Hour)); res.Escalated != 2 || res.Reminded != 0 {
		t.Fatalf("after 5 days: %+v", res)
	}
	if res := pass(start.Add(130 * time.Hour)); res != (monitoring.Silence{}) {
		t.Fatalf("again: %+v", res)
	}
	var words string
	if err := r.db.Get(&words, `SELECT details->0->>'text' FROM escalations e JOIN patients p ON p.id = e.patient_id WHERE p.ext_id = 'P1' AND e.source = 'device_silent'`); err != nil {
		t.Fatal(err)
	}
	if words != "No device reading for 5 days: the last was taken Mar 1 09:00 EST." {
		t.Fatalf("the item's words: %q", words)
	}
	// P2 is silent again three days after their last reading: a new silence, a new reminder.
	if res := pass(start.Add(168 * time.Hour)); res.Reminded != 1 {
		t.Fatalf("a new silence: %+v", res)
	}
}
