package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestImportFHIR runs "outreach import fhir" on a Bulk Data export: it stores the patients and
// says what it did; a file with a bad line stores nothing and names the line, the resource and
// the element.
func TestImportFHIR(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	export := `{"resourceType":"Patient","id":"F1","name":[{"family":"Lee","given":["Ann"]}],"telecom":[{"system":"phone","value":"555-010-0001"}]}
{"resourceType":"Patient","id":"F2","communication":[{"language":{"coding":[{"code":"de"}]}}]}

{"resourceType":"Condition","subject":{"reference":"Patient/F1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"I10"}]}}
`
	out, _, err := runCmd(t, ctx, env, "import", "fhir", writeFile(t, "export.ndjson", export))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Patient/F2 (line 2) communication.language: "de"`, "2 patients: 2 created, 0 updated, 0 unchanged; 1 conditions read, 0 left out"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %s", want, out)
		}
	}
	bad := strings.Replace(export, "555-010-0001", "555", 1) + `{"resourceType":"Condition","subject":{"reference":"Patient/F9"}}` + "\n"
	_, _, err = runCmd(t, ctx, env, "import", "fhir", writeFile(t, "bad.ndjson", bad))
	if err == nil || !strings.Contains(err.Error(), "Condition (line 5) subject: Patient/F9 is not among") {
		t.Errorf("bad file: %v", err)
	}
	bad = strings.Replace(export, "555-010-0001", "555", 1)
	_, _, err = runCmd(t, ctx, env, "import", "fhir", writeFile(t, "bad.ndjson", bad))
	if err == nil || !strings.Contains(err.Error(), "Patient/F1 (line 1) telecom.value") {
		t.Errorf("bad phone: %v", err)
	}
}

// TestFHIRMounted: the server serves the FHIR surface behind the API tokens.
func TestFHIRMounted(t *testing.T) {
	c := apiServer(t, time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC))
	if code, body := c.do("GET", "/fhir/R4/metadata", ""); code != 200 || !strings.Contains(body, `"resourceType":"CapabilityStatement"`) {
		t.Errorf("metadata = %d %s", code, body)
	}
	if code, body := c.do("GET", "/fhir/R4/Patient/P1", ""); code != 200 || !strings.Contains(body, `"id":"P1"`) {
		t.Errorf("Patient/P1 = %d %s", code, body)
	}
	c.token = ""
	if code, body := c.do("GET", "/fhir/R4/Patient/P1", ""); code != 401 || !strings.Contains(body, `"resourceType":"OperationOutcome"`) {
		t.Errorf("without a token = %d %s", code, body)
	}
}
