package fhir_test

import (
	"context"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/monitoring"
)

// TestReadSurface reads each resource type of a patient with a check-in, texts, a reading and an
// item, checks what a FHIR client relies on, and that each read of the patient's data is audited.
func TestReadSurface(t *testing.T) {
	r := newRig(t)
	// PHQ-2: more than half the days (2), several days (1), no thoughts of self-harm.
	r.checkin("P1", "depression", "+15550100001", "3", "2", "no")
	sys, dia := 182.0, 96.0
	in := monitoring.Input{Patient: "P1", Device: "BP-7", Type: "blood_pressure", TakenAt: "2026-03-10T08:30:00-05:00",
		Systolic: &sys, Diastolic: &dia}
	reading, errs := monitoring.Check(in, r.now)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, unknown, err := r.readings.Receive(context.Background(), []monitoring.Reading{reading}, "cli"); err != nil || len(unknown) > 0 {
		t.Fatal(err, unknown)
	}
	before := r.count(`SELECT count(*) FROM audit_log WHERE action = 'patient.read' AND detail->>'view' LIKE 'fhir %'`)

	cs := r.get("/metadata", 200)
	if cs["resourceType"] != "CapabilityStatement" || cs["fhirVersion"] != "4.0.1" {
		t.Errorf("metadata = %s", js(cs))
	}

	p := r.get("/Patient/P1", 200)
	for _, want := range []string{`"id":"P1"`, `"family":"Lee"`, `"given":["Ann"]`, `"value":"+15550100001"`,
		`"code":"en"`, `"active":true`} {
		if !strings.Contains(js(p), want) {
			t.Errorf("Patient lacks %s: %s", want, js(p))
		}
	}
	if b := r.get("/Patient?identifier=P1", 200); b["total"] != 1.0 || len(entries(b)) != 1 {
		t.Errorf("Patient?identifier=P1 = %s", js(b))
	}
	if b := r.get("/Patient?identifier=nobody", 200); b["total"] != 0.0 || len(entries(b)) != 0 {
		t.Errorf("Patient?identifier=nobody = %s", js(b))
	}

	conds := r.get("/Condition?patient=P1", 200)
	if cs := entries(conds); len(cs) != 2 || !strings.Contains(js(cs), `"code":"E11.9"`) || !strings.Contains(js(cs), `"reference":"Patient/P1"`) {
		t.Errorf("Condition?patient=P1 = %s", js(conds))
	}
	if c := r.get("/Condition/P1-E11.9", 200); c["id"] != "P1-E11.9" {
		t.Errorf("Condition/P1-E11.9 = %s", js(c))
	}

	q := r.get("/Questionnaire/depression", 200)
	if !strings.Contains(js(q), `"linkId":"phq2_total"`) || !strings.Contains(js(q), extEscalationURL) {
		t.Errorf("Questionnaire = %s", js(q))
	}

	qrs := entries(r.get("/QuestionnaireResponse?patient=P1", 200))
	if len(qrs) != 1 {
		t.Fatalf("%d responses", len(qrs))
	}
	qr := js(qrs[0])
	for _, want := range []string{`"status":"completed"`, `"code":"LA6570-1"`, `"code":"LA6569-3"`, `"valueBoolean":false`,
		`"linkId":"phq2_total"`, `"valueInteger":3`} {
		if !strings.Contains(qr, want) {
			t.Errorf("QuestionnaireResponse lacks %s: %s", want, qr)
		}
	}

	comms := r.get("/Communication?patient=P1&_count=2", 200)
	if len(entries(comms)) != 2 || link(comms, "next") == "" {
		t.Fatalf("first page of texts = %s", js(comms))
	}
	seen := map[string]bool{}
	pages, total := 0, 0
	for next := r.base + "/Communication?patient=P1&_count=2"; next != ""; pages++ {
		b := r.get(next, 200)
		for _, c := range entries(b) {
			if seen[c["id"].(string)] {
				t.Errorf("text %s on two pages", c["id"])
			}
			seen[c["id"].(string)] = true
			total++
		}
		next = link(b, "next")
	}
	// intro+question, 3 replies, 2 more questions, the closing: at least 7 texts, none twice.
	if total < 7 || pages < 4 {
		t.Errorf("%d texts on %d pages", total, pages)
	}

	obs := entries(r.get("/Observation?patient=P1", 200))
	if len(obs) != 1 {
		t.Fatalf("observations = %s", js(obs))
	}
	for _, want := range []string{`"code":"85354-9"`, `"code":"8480-6"`, `"code":"8462-4"`, `"value":182`, `"value":96`,
		`"code":"mm[Hg]"`, `"system":"http://unitsofmeasure.org"`} {
		if !strings.Contains(js(obs[0]), want) {
			t.Errorf("Observation lacks %s: %s", want, js(obs[0]))
		}
	}

	tasks := entries(r.get("/Task?patient=P1", 200))
	if len(tasks) == 0 || !strings.Contains(js(tasks), `"priority":"stat"`) || !strings.Contains(js(tasks), `"reference":"Patient/P1"`) {
		t.Errorf("tasks = %s", js(tasks))
	}

	// Each searched resource reads the same by its id.
	for _, res := range []map[string]any{qrs[0], entries(comms)[0], obs[0], tasks[0]} {
		path := "/" + res["resourceType"].(string) + "/" + res["id"].(string)
		if got := r.get(path, 200); js(got) != js(res) {
			t.Errorf("GET %s = %s, want the search's %s", path, js(got), js(res))
		}
	}

	// Patient, Patient?identifier, Condition search and read, responses, 4 pages + 1 of texts,
	// readings, items, and the 4 reads by id: each an audited read.
	if got := r.count(`SELECT count(*) FROM audit_log WHERE action = 'patient.read' AND detail->>'view' LIKE 'fhir %'`) - before; got < 12+pages {
		t.Errorf("%d reads audited", got)
	}
}

// extEscalationURL is the extension escalation rules are written as.
const extEscalationURL = "https://github.com/outreach-engine/outreach/fhir/StructureDefinition/escalation-rule"

// TestErrorsAreOperationOutcomes: no token, a bad token, an unknown patient, an unknown
// route, a bad parameter: each an OperationOutcome with the right status.
func TestErrorsAreOperationOutcomes(t *testing.T) {
	r := newRig(t)
	for _, tt := range []struct {
		token, method, path string
		want                int
		issue               string
	}{
		{"", "GET", "/Patient/P1", 401, `"code":"login"`},
		{"outreach_bogus", "GET", "/Patient/P1", 401, `"code":"login"`},
		{r.token, "GET", "/Patient/NOPE", 404, `"code":"not-found"`},
		{r.token, "GET", "/QuestionnaireResponse?patient=NOPE", 404, `"code":"not-found"`},
		{r.token, "GET", "/QuestionnaireResponse", 400, `"code":"invalid"`},
		{r.token, "GET", "/Observation?patient=P1&_count=x", 400, `"code":"invalid"`},
		{r.token, "GET", "/Questionnaire/nope", 404, `"code":"not-found"`},
		{r.token, "GET", "/Medication/1", 404, `"code":"not-found"`},
		{r.token, "GET", "/QuestionnaireResponse/999999", 404, `"code":"not-found"`},
		{r.token, "GET", "/Communication/0", 404, `"code":"not-found"`},
		{r.token, "GET", "/Observation/x", 404, `"code":"not-found"`},
		{r.token, "GET", "/Task/999999", 404, `"code":"not-found"`},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			code, body := r.doAs(tt.token, tt.method, tt.path, "")
			if code != tt.want || !strings.Contains(body, `"resourceType":"OperationOutcome"`) || !strings.Contains(body, tt.issue) {
				t.Errorf("= %d %s, want %d with %s", code, body, tt.want, tt.issue)
			}
		})
	}
}
