package fhir_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/fhir"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/imports"
)

// newPatientsBundle is a transaction of a new patient known by their identifier only, with an
// active ICD-10 condition, a resolved one and one coded in SNOMED CT only, and an update of P1.
const newPatientsBundle = `{"resourceType": "Bundle", "type": "transaction", "entry": [
 {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.3", "value": "E100"}],
   "name": [{"use": "official", "family": "Vega", "given": ["Luz", "Maria"]}],
   "telecom": [{"system": "email", "value": "luz@example.org"}, {"system": "phone", "value": "(555) 111-0006", "use": "mobile"}],
   "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]}, "preferred": true}]},
  "request": {"method": "POST", "url": "Patient"}},
 {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/E100"},
   "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "e11.9"}]}},
  "request": {"method": "POST", "url": "Condition"}},
 {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/E100"},
   "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]},
   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J45.909"}]}},
  "request": {"method": "POST", "url": "Condition"}},
 {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/E100"},
   "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}},
  "request": {"method": "POST", "url": "Condition"}},
 {"resource": {"resourceType": "Patient", "id": "P1", "name": [{"family": "Lee-Park", "given": ["Ann"]}],
   "telecom": [{"system": "phone", "value": "+15550100001"}]},
  "request": {"method": "PUT", "url": "Patient/P1"}}
]}`

// TestBundleEnrolsNobody: a transaction creates and updates patients as the patients file does,
// answers a transaction-response, and invents neither consent nor programs: the new patient is
// in no program and has no consent, P1 keeps theirs.
func TestBundleEnrolsNobody(t *testing.T) {
	r := newRig(t)
	code, body := r.do("POST", "", newPatientsBundle)
	if code != 200 || !strings.Contains(body, `"type":"transaction-response"`) {
		t.Fatalf("POST Bundle = %d %s", code, body)
	}
	for _, want := range []string{`{"status":"201 Created","location":"Patient/E100"}`, `"location":"Condition/E100-E11.9"`,
		`{"status":"200 OK","location":"Patient/P1"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("response lacks %s: %s", want, body)
		}
	}
	p := js(r.get("/Patient/E100", 200))
	for _, want := range []string{`"value":"+15551110006"`, `"code":"es"`, `"family":"Vega"`, `"given":["Luz Maria"]`} {
		if !strings.Contains(p, want) {
			t.Errorf("Patient/E100 lacks %s: %s", want, p)
		}
	}
	if cs := entries(r.get("/Condition?patient=E100", 200)); len(cs) != 1 || !strings.Contains(js(cs), `"code":"E11.9"`) {
		t.Errorf("E100's conditions = %s", js(cs))
	}
	if n := r.count(`SELECT count(*) FROM patients WHERE ext_id = 'E100' AND programs = '{}' AND script_id IS NULL`); n != 1 {
		t.Errorf("E100 was enrolled in something")
	}
	if n := r.count(`SELECT count(*) FROM consents c JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = 'E100'`); n != 0 {
		t.Errorf("E100 has %d consents", n)
	}
	if n := r.count(`SELECT count(*) FROM patients WHERE ext_id = 'P1' AND last_name = 'Lee-Park' AND programs = '{ccm,rpm}'
		AND chronic_conditions = '{I10,E11.9}' AND script_id = 'depression'`); n != 1 {
		t.Errorf("P1 was not updated as the file would, or lost what FHIR does not say")
	}
	if n := r.count(`SELECT count(*) FROM consents c JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = 'P1'`); n != 1 {
		t.Errorf("P1 has %d consents", n)
	}
	if n := r.count(`SELECT count(*) FROM audit_log WHERE action = 'patient.create'
		AND entity_id = (SELECT id::text FROM patients WHERE ext_id = 'E100')`); n != 1 {
		t.Errorf("the creation is not audited")
	}
}

// TestBundleAllOrNothing: one bad element stores nothing, and the outcome names each resource
// and element.
func TestBundleAllOrNothing(t *testing.T) {
	r := newRig(t)
	before := r.count(`SELECT count(*) FROM patients`)
	bad := `{"resourceType": "Bundle", "type": "batch", "entry": [
	 {"resource": {"resourceType": "Patient", "id": "N1", "telecom": [{"system": "phone", "value": "call me"}]}},
	 {"resource": {"resourceType": "Patient", "id": "N2"}},
	 {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/N2"},
	   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "not-a-code"}]}}},
	 {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/ZZ"},
	   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]}}},
	 {"resource": {"resourceType": "Medication", "id": "m"}}
	]}`
	code, body := r.do("POST", "", bad)
	if code != 400 || !strings.Contains(body, `"resourceType":"OperationOutcome"`) {
		t.Fatalf("= %d %s", code, body)
	}
	for _, want := range []string{"Condition (entry[2]) code.coding[0].code", "Condition (entry[3]) subject",
		"Medication (entry[4]) resourceType"} {
		if !strings.Contains(body, want) {
			t.Errorf("outcome lacks %q: %s", want, body)
		}
	}
	// The parse errors come first; with them fixed, the phone is checked as the file checks it.
	fixed := `{"resourceType": "Bundle", "type": "batch", "entry": [
	 {"resource": {"resourceType": "Patient", "id": "N1", "telecom": [{"system": "phone", "value": "call me"}]}},
	 {"resource": {"resourceType": "Patient", "id": "N2"}}]}`
	code, body = r.do("POST", "", fixed)
	if code != 400 || !strings.Contains(body, "Patient/N1 (entry[0]) telecom.value") || !strings.Contains(body, `"expression":["Patient.telecom.value"]`) {
		t.Errorf("= %d %s", code, body)
	}
	if n := r.count(`SELECT count(*) FROM patients`); n != before {
		t.Errorf("%d patients stored from bad bundles", n-before)
	}
	if code, body := r.do("POST", "", `{"resourceType": "Bundle", "type": "collection"}`); code != 400 || !strings.Contains(body, "Bundle type") {
		t.Errorf("collection = %d %s", code, body)
	}
	ma, err := r.staffToken("MA1")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := r.doAs(ma, "POST", "", newPatientsBundle); code != 403 || !strings.Contains(body, `"code":"forbidden"`) {
		t.Errorf("non-clinical staff = %d %s", code, body)
	}
}

// TestPostObservation: a reading posted as an Observation is stored once (201, then 200),
// read back the same, and a wrong element is named.
func TestPostObservation(t *testing.T) {
	r := newRig(t)
	weight := `{"resourceType": "Observation", "status": "final",
	 "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
	 "subject": {"reference": "Patient/P1"}, "effectiveDateTime": "2026-03-10T07:00:00-05:00",
	 "valueQuantity": {"value": 182.4, "unit": "lb", "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
	 "device": {"identifier": {"value": "SCALE-1"}}}`
	code, body := r.do("POST", "/Observation", weight)
	if code != 201 || !strings.Contains(body, `"code":"[lb_av]"`) || !strings.Contains(body, `"value":182.4`) {
		t.Fatalf("= %d %s", code, body)
	}
	if code, _ := r.do("POST", "/Observation", weight); code != 200 {
		t.Errorf("the same reading again = %d", code)
	}
	if obs := entries(r.get("/Observation?patient=P1", 200)); len(obs) != 1 || !strings.Contains(js(obs), `"SCALE-1"`) {
		t.Errorf("readings = %s", js(obs))
	}
	bad := strings.Replace(weight, `"code": "[lb_av]"`, `"code": "[stone]"`, 1)
	bad = strings.Replace(bad, `"unit": "lb"`, `"unit": "st"`, 1)
	if code, body := r.do("POST", "/Observation", bad); code != 400 || !strings.Contains(body, "valueQuantity.code") {
		t.Errorf("a stone = %d %s", code, body)
	}
	unknown := strings.Replace(weight, "Patient/P1", "Patient/NOPE", 1)
	if code, body := r.do("POST", "/Observation", unknown); code != 400 || !strings.Contains(body, "subject") {
		t.Errorf("an unknown patient = %d %s", code, body)
	}
}

// TestBulkImport: a Bulk Data export of 1,000 Patients, each with two Conditions, imports in one
// go; the same file again changes nothing; a file with one bad line stores nothing and names
// the line, the resource and the element.
func TestBulkImport(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, `{"resourceType":"Patient","id":"B%04d","name":[{"family":"Fam%d","given":["Giv"]}],"telecom":[{"system":"phone","value":"+1555200%04d"}]}`+"\n", i, i, i)
	}
	for i := range 1000 {
		fmt.Fprintf(&b, `{"resourceType":"Condition","id":"c%d","subject":{"reference":"Patient/B%04d"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"I10"}]}}`+"\n", i, i)
		fmt.Fprintf(&b, `{"resourceType":"Condition","id":"d%d","subject":{"reference":"Patient/B%04d"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}}`+"\n", i, i)
	}
	opt := imports.Options{Practice: r.settings, Actor: audit.ActorCLI, Now: r.now}
	run := func(content string) (fhir.ImportResult, error) {
		items, err := fhir.ReadNDJSON(bufio.NewReader(strings.NewReader(content)))
		if err != nil {
			return fhir.ImportResult{}, err
		}
		p, perr := fhir.ParseResources(items)
		if perr != nil {
			return fhir.ImportResult{}, perr
		}
		return fhir.Import(ctx, r.db, "export.ndjson", p, opt)
	}
	res, err := run(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1000 || res.Conditions != 2000 {
		t.Errorf("first import = %+v", res)
	}
	if n := r.count(`SELECT count(*) FROM patients WHERE ext_id LIKE 'B%' AND chronic_conditions = '{I10,E11.9}' AND programs = '{}'`); n != 1000 {
		t.Errorf("%d patients stored with both conditions and no program", n)
	}
	if res, err := run(b.String()); err != nil || res.Unchanged != 1000 {
		t.Errorf("again = %+v, %v", res, err)
	}
	bad := strings.Replace(b.String(), `"value":"+15552000500"`, `"value":"nope"`, 1)
	bad = strings.Replace(bad, `"Fam7"`, `"`+strings.Repeat("x", 201)+`"`, 1)
	_, err = run(bad)
	var ee *fhir.ElementErrors
	if !errors.As(err, &ee) || len(ee.Errs) != 2 || !strings.Contains(err.Error(), "Patient/B0500 (line 501) telecom.value") ||
		!strings.Contains(err.Error(), "Patient/B0007 (line 8) name.family") {
		t.Errorf("bad file = %v", err)
	}
	if n := r.count(`SELECT count(*) FROM patients WHERE ext_id = 'B0007' AND last_name = 'Fam7'`); n != 1 {
		t.Errorf("the bad file changed B0007")
	}
}
