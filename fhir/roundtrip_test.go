package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// qItem is a Questionnaire item as read back.
type qItem struct {
	LinkID       string  `json:"linkId"`
	Type         string  `json:"type"`
	Item         []qItem `json:"item"`
	AnswerOption []struct {
		ValueCoding struct{ System, Code string } `json:"valueCoding"`
	} `json:"answerOption"`
}

// rItem is a QuestionnaireResponse item as read back.
type rItem struct {
	LinkID string           `json:"linkId"`
	Item   []rItem          `json:"item"`
	Answer []map[string]any `json:"answer"`
}

// answerTypes are the answer value each item type takes.
var answerTypes = map[string]string{"boolean": "valueBoolean", "decimal": "valueDecimal", "integer": "valueInteger",
	"choice": "valueCoding", "text": "valueString", "string": "valueString"}

// TestRoundTrip: for each bundled script a check-in ran, the Questionnaire and the check-in's
// QuestionnaireResponse agree: every answered linkId is an item of the Questionnaire, at the
// same place in the tree, answered with the value type of its item, a coded answer one of its
// answer options.
func TestRoundTrip(t *testing.T) {
	r := newRig(t)
	runs := []struct {
		patient, script, phone string
		replies                []string
	}{
		{"P1", "depression", "+15550100001", []string{"4", "1", "no"}},
		{"P2", "phq9", "+15550100002", []string{"2", "3", "1", "1", "4", "1", "2", "1", "1", "3"}},
		{"P3", "hypertension", "+15550100003", []string{"yes", "150/95", "no", "1"}},
		{"P4", "heart-failure", "+15550100004", []string{"yes", "182", "no", "no", "1", "yes"}},
		{"P5", "ccm-monthly", "+15550100005", []string{"7", "yes", "my knee hurts", "1", "no"}},
	}
	for _, run := range runs {
		r.checkin(run.patient, run.script, run.phone, run.replies...)
		var q struct{ Item []qItem }
		remarshal(t, r.get("/Questionnaire/"+run.script, 200), &q)
		qrs := entries(r.get("/QuestionnaireResponse?patient="+run.patient, 200))
		if len(qrs) != 1 {
			t.Fatalf("%s: %d responses", run.script, len(qrs))
		}
		var qr struct {
			Questionnaire string
			Status        string
			Item          []rItem
		}
		remarshal(t, qrs[0], &qr)
		if qr.Questionnaire != r.base+"/Questionnaire/"+run.script || qr.Status != "completed" {
			t.Errorf("%s: questionnaire %q, status %q", run.script, qr.Questionnaire, qr.Status)
		}
		answered := matchItems(t, run.script, q.Item, qr.Item)
		if want := len(run.replies); run.script == "phq9" || run.script == "depression" {
			want++ // the total
			if answered != want {
				t.Errorf("%s: %d items answered, want %d", run.script, answered, want)
			}
		}
	}
	// The PHQ-9's total: 1 + 2 + 0 + 0 + 3 + 0 + 1 + 0 + 0 = 7; its difficulty is not scored.
	if qr := js(entries(r.get("/QuestionnaireResponse?patient=P2", 200))); !strings.Contains(qr, `{"answer":[{"valueInteger":7}],"linkId":"phq9_total"`) {
		t.Errorf("PHQ-9 response = %s", qr)
	}
	// The PHQ-2's: nearly every day (3) + not at all (0).
	if qr := js(entries(r.get("/QuestionnaireResponse?patient=P1", 200))); !strings.Contains(qr, `{"answer":[{"valueInteger":3}],"linkId":"phq2_total"`) {
		t.Errorf("PHQ-2 response = %s", qr)
	}
}

// matchItems checks each response item against the Questionnaire's items at the same level and
// returns how many items were answered.
func matchItems(t *testing.T, script string, qs []qItem, rs []rItem) int {
	t.Helper()
	n := 0
	for _, ri := range rs {
		var qi *qItem
		for i := range qs {
			if qs[i].LinkID == ri.LinkID {
				qi = &qs[i]
			}
		}
		if qi == nil {
			t.Errorf("%s: answered linkId %q is no item of the Questionnaire", script, ri.LinkID)
			continue
		}
		n++
		if qi.Type == "group" {
			if len(ri.Answer) > 0 || len(ri.Item) == 0 {
				t.Errorf("%s: group %q answered as %v", script, ri.LinkID, ri.Answer)
			}
			matchItems(t, script, qi.Item, ri.Item)
			continue
		}
		for _, a := range ri.Answer {
			want := answerTypes[qi.Type]
			if _, ok := a[want]; !ok || len(a) != 1 {
				t.Errorf("%s: %q (%s) answered %v, want %s", script, ri.LinkID, qi.Type, a, want)
			}
			if c, ok := a["valueCoding"].(map[string]any); ok {
				found := false
				for _, o := range qi.AnswerOption {
					found = found || (o.ValueCoding.System == c["system"] && o.ValueCoding.Code == c["code"])
				}
				if !found {
					t.Errorf("%s: %q answered %v, none of its options", script, ri.LinkID, c)
				}
			}
		}
	}
	return n
}

func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}
