package fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
)

func f(v float64) *float64 { return &v }

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestEnableWhen(t *testing.T) {
	yesno := &scripts.Question{ID: "q", Type: scripts.YesNo}
	choice := &scripts.Question{ID: "c", Type: scripts.Choice, Choices: []scripts.Option{{Value: "a"}, {Value: "b"}}}
	scale := &scripts.Question{ID: "s", Type: scripts.Scale}
	text := &scripts.Question{ID: "t", Type: scripts.FreeText}
	tests := []struct {
		name     string
		prev     *scripts.Question
		skip     scripts.Condition
		want     string
		behavior string
	}{
		{"skipped on no: asked on yes", yesno, scripts.Condition{Equals: "no"},
			`[{"question":"q","operator":"=","answerBoolean":true}]`, ""},
		{"skipped on yes: asked on no", yesno, scripts.Condition{Equals: "yes"},
			`[{"question":"q","operator":"=","answerBoolean":false}]`, ""},
		{"skipped on a choice", choice, scripts.Condition{Equals: "a"},
			`[{"question":"c","operator":"!=","answerCoding":{"system":"` + systemAnswers + `","code":"a"}}]`, ""},
		{"skipped on any of two", choice, scripts.Condition{In: []string{"a", "b"}},
			`[{"question":"c","operator":"!=","answerCoding":{"system":"` + systemAnswers + `","code":"a"}},{"question":"c","operator":"!=","answerCoding":{"system":"` + systemAnswers + `","code":"b"}}]`, "all"},
		{"skipped below a bound", scale, scripts.Condition{Lt: f(3)},
			`[{"question":"s","operator":"\u003e=","answerInteger":3}]`, ""},
		{"skipped inside a range: asked outside", scale, scripts.Condition{Gt: f(2), Lte: f(5)},
			`[{"question":"s","operator":"\u003e","answerInteger":5},{"question":"s","operator":"\u003c=","answerInteger":2}]`, "any"},
		{"words cannot be said", text, scripts.Condition{ContainsAny: map[scripts.Language][]string{scripts.English: {"pain"}}}, `null`, ""},
		{"one of, and a bound", choice, scripts.Condition{In: []string{"a"}, Gt: f(1)}, `null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, behavior := enableWhen(nil, tt.prev, tt.skip)
			if render(got) != tt.want || behavior != tt.behavior {
				t.Errorf("= %s %q, want %s %q", render(got), behavior, tt.want, tt.behavior)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	for _, tt := range []struct {
		c    scripts.Condition
		want string
	}{
		{scripts.Condition{Equals: "yes"}, "answer = yes"},
		{scripts.Condition{In: []string{"a", "b"}}, "answer in a, b"},
		{scripts.Condition{Field: "systolic", Gte: f(180)}, "systolic >= 180"},
		{scripts.Condition{Gt: f(2), Lt: f(5.5)}, "answer < 5.5 and answer > 2"},
		{scripts.Condition{ContainsAny: map[scripts.Language][]string{scripts.English: {"chest pain"}, scripts.Spanish: {"dolor"}}},
			"answer contains any of: chest pain, dolor"},
	} {
		if got := describe(tt.c); got != tt.want {
			t.Errorf("describe(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestScore(t *testing.T) {
	phq2, phq9 := instruments["depression"], instruments["phq9"]
	all := func(v string) map[string]string {
		out := map[string]string{}
		for _, q := range phq9.scored {
			out[q] = v
		}
		return out
	}
	tests := []struct {
		name   string
		in     *instrument
		values map[string]string
		want   int
		ok     bool
	}{
		{"PHQ-2 at its least", phq2, map[string]string{"interest": "not_at_all", "mood": "not_at_all"}, 0, true},
		{"PHQ-2 positive", phq2, map[string]string{"interest": "more_than_half", "mood": "several_days", "self_harm": "yes"}, 3, true},
		{"PHQ-2 at its most", phq2, map[string]string{"interest": "nearly_every_day", "mood": "nearly_every_day"}, 6, true},
		{"PHQ-2 half answered", phq2, map[string]string{"interest": "nearly_every_day"}, 0, false},
		{"PHQ-9 at its most", phq9, all("nearly_every_day"), 27, true},
		{"PHQ-9 none", phq9, all("not_at_all"), 0, true},
		{"PHQ-9 difficulty is not scored", phq9, func() map[string]string {
			v := all("several_days")
			v["difficulty"] = "extremely_difficult"
			return v
		}(), 9, true},
		{"PHQ-9 item 9 unanswered", phq9, func() map[string]string { v := all("several_days"); delete(v, "self_harm"); return v }(), 0, false},
		{"an unknown answer", phq2, map[string]string{"interest": "sometimes", "mood": "not_at_all"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.in.Score(tt.values)
			if got != tt.want || ok != tt.ok {
				t.Errorf("= %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestResponseOf(t *testing.T) {
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	c := outreach.CheckinView{ID: 9, Script: "hypertension", Status: "open", StartedAt: at, Answers: []outreach.AnswerView{
		{Question: "checked", Value: "yes", AnsweredAt: at},
		{Question: "reading", Value: "150/95", AnsweredAt: at.Add(time.Minute)},
		{Question: "symptoms", Value: "", AnsweredAt: at.Add(2 * time.Minute)},  // unreadable: no answer
		{Question: "gone", Value: "maybe", AnsweredAt: at.Add(3 * time.Minute)}, // no longer in the script
	}}
	got := render(ResponseOf(c, "P1", lib["hypertension"], "https://x/fhir/R4"))
	for _, want := range []string{`"status":"in-progress"`, `"authored":"2026-03-10T15:03:00Z"`,
		`{"linkId":"checked","text":"Have you checked your blood pressure at home in the past week? Reply YES or NO.","answer":[{"valueBoolean":true}]}`,
		`{"linkId":"reading.systolic","text":"systolic (mmHg)","answer":[{"valueInteger":150}]}`,
		`{"linkId":"gone","answer":[{"valueString":"maybe"}]}`} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, `"linkId":"symptoms"`) {
		t.Errorf("an unread reply is answered: %s", got)
	}
	for status, want := range map[string]string{"completed": "completed", "expired": "stopped", "cancelled": "stopped"} {
		c.Status = status
		if got := ResponseOf(c, "P1", nil, "b").Status; got != want {
			t.Errorf("%s → %s, want %s", status, got, want)
		}
	}
}

func TestObservationOf(t *testing.T) {
	at := time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		r    monitoring.Stored
		want []string
	}{
		{monitoring.Stored{ID: 1, Type: monitoring.BloodPressure, Systolic: 150, Diastolic: 95, Device: "BP1", TakenAt: at},
			[]string{`"code":"85354-9"`, `"code":"8480-6"`, `"value":150`, `"code":"8462-4"`, `"value":95`, `"code":"mm[Hg]"`, `"display":"BP1"`}},
		{monitoring.Stored{ID: 2, Type: monitoring.Weight, Value: 182.4, Unit: monitoring.Pounds, TakenAt: at, Manual: true},
			[]string{`"code":"29463-7"`, `"value":182.4`, `"code":"[lb_av]"`, `"text":"entered by the patient"`}},
		{monitoring.Stored{ID: 3, Type: monitoring.Glucose, Value: 141, Unit: monitoring.MgPerDL, TakenAt: at},
			[]string{`"code":"2339-0"`, `"code":"laboratory"`, `"code":"mg/dL"`}},
		{monitoring.Stored{ID: 4, Type: monitoring.SpO2, Value: 93, Unit: monitoring.Percent, TakenAt: at},
			[]string{`"code":"59408-5"`, `"code":"%"`, `"code":"vital-signs"`}},
		{monitoring.Stored{ID: 5, Type: monitoring.HeartRate, Value: 72, Unit: monitoring.BPM, TakenAt: at},
			[]string{`"code":"8867-4"`, `"code":"/min"`, `"unit":"bpm"`}},
	}
	for _, tt := range tests {
		got := render(ObservationOf(tt.r, "P1"))
		for _, want := range tt.want {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %s: %s", tt.r.Type, want, got)
			}
		}
	}
}

func TestReadingInput(t *testing.T) {
	base := func() InObservation {
		v := 72.0
		return InObservation{ResourceType: "Observation", Status: "final",
			Code:    CodeableConcept{Coding: []Coding{{System: systemLOINC, Code: "8867-4"}}},
			Subject: &Reference{Reference: "Patient/P1"}, EffectiveDateTime: "2026-03-10T08:00:00-05:00",
			ValueQuantity: &inQuantity{Value: &v, Code: "/min"}}
	}
	in, errs := ReadingInput(base())
	if len(errs) != 0 || in.Type != "heart_rate" || in.Unit != "bpm" || !in.Manual || in.Patient != "P1" {
		t.Errorf("= %+v, %v", in, errs)
	}
	tests := []struct {
		name    string
		change  func(*InObservation)
		element string
	}{
		{"a preliminary result", func(o *InObservation) { o.Status = "preliminary" }, "status"},
		{"an unknown code", func(o *InObservation) { o.Code.Coding[0].Code = "1234-5" }, "code"},
		{"a LOINC code from another system", func(o *InObservation) { o.Code.Coding[0].System = "urn:x" }, "code"},
		{"a group as subject", func(o *InObservation) { o.Subject = &Reference{Reference: "Group/1"} }, "subject"},
		{"no subject", func(o *InObservation) { o.Subject = nil }, "subject"},
		{"not an Observation", func(o *InObservation) { o.ResourceType = "Patient" }, "resourceType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.change(&o)
			_, errs := ReadingInput(o)
			if len(errs) != 1 || errs[0].Element != tt.element {
				t.Errorf("errors = %v, want one on %s", errs, tt.element)
			}
		})
	}
	o := base()
	o.Device = &Reference{Reference: "Device/HR-9"}
	if in, _ := ReadingInput(o); in.Device != "HR-9" || in.Manual {
		t.Errorf("device = %q, manual %v", in.Device, in.Manual)
	}
}

func TestParseResources(t *testing.T) {
	item := func(where, s string) Item { return Item{Where: where, JSON: json.RawMessage(s)} }
	p, errs := ParseResources([]Item{
		item("line 1", `{"resourceType":"Patient","identifier":[{"value":"X1"}],"active":false,"communication":[{"language":{"coding":[{"code":"fr"}]}}]}`),
		item("line 2", `{"resourceType":"Patient","id":"X2","deceasedDateTime":"2026-01-01","name":[{"use":"nickname","given":["Al"]},{"use":"official","family":"Bo","given":["Alan","J"]}],"telecom":[{"system":"phone","value":"555-111-0001","use":"home"},{"system":"phone","value":"555-111-0002","use":"mobile"}]}`),
		item("line 3", `{"resourceType":"Condition","subject":{"reference":"Patient/X2"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"i10"}]}}`),
		item("line 6", `{"resourceType":"Patient","id":"X3","communication":[{"language":{"coding":[{"system":"urn:oid:2.16.840.1.113883.6.121","code":"spa"},{"system":"urn:ietf:bcp:47","code":"es-US"},{"code":"x"}]}}]}`),
		item("line 4", `{"resourceType":"Condition","subject":{"reference":"Patient/X2"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"I10"}]}}`),
		item("line 5", `{"resourceType":"Condition","subject":{"reference":"Patient/X2"},"verificationStatus":{"coding":[{"code":"entered-in-error"}]},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}}`),
	})
	if errs != nil {
		t.Fatal(errs)
	}
	x1, x2, x3 := p.Patients[0], p.Patients[1], p.Patients[2]
	if x3.Language != "es" {
		t.Errorf("X3's language = %q, want es (its BCP 47 code)", x3.Language)
	}
	if x1.ID != "X1" || x1.Active || x1.Language != "en" || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `"fr"`) {
		t.Errorf("X1 = %+v, warnings %v", x1, p.Warnings)
	}
	if x2.Active || x2.FirstName != "Alan J" || x2.LastName != "Bo" || x2.Phone != "555-111-0002" ||
		render(x2.Conditions) != `["I10"]` || !x2.ConditionsSent || x1.ConditionsSent || p.Conditions != 2 || p.Skipped != 1 {
		t.Errorf("X2 = %+v; %d read, %d left out", x2, p.Conditions, p.Skipped)
	}

	_, errs = ParseResources([]Item{
		item("line 1", `{"resourceType":"Patient"}`),
		item("line 2", `{"resourceType":"Patient","id":"bad id!"}`),
		item("line 3", `{"resourceType":"Patient","id":"D1"}`),
		item("line 4", `{"resourceType":"Patient","id":"D1"}`),
		item("line 5", `{"resourceType":"Patient","id":"D2","active":"yes"}`),
		item("line 6", `not json`),
		item("line 7", `{"id":"x"}`),
	})
	if errs == nil {
		t.Fatal("no errors")
	}
	got := errs.Error()
	for _, want := range []string{"Patient (line 1) id: the Patient has no id", `Patient/bad id! (line 2) id: "bad id!" must be`,
		`Patient/D1 (line 4) id: patient "D1" is also Patient/D1 (line 3)`, "Patient (line 5): active must be bool, not string",
		"line 6: not a JSON resource", "line 7 resourceType: resourceType is missing"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

func TestStatusMaps(t *testing.T) {
	at := time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)
	staffID := "RN1"
	for _, tt := range []struct {
		m      outreach.MessageView
		status string
		has    string
	}{
		{outreach.MessageView{ID: 1, Direction: "in", Kind: "reply", Status: "received", CreatedAt: at}, "completed", `"sender":{"reference":"Patient/P1"}`},
		{outreach.MessageView{ID: 2, Direction: "out", Kind: "question", Status: "queued", CreatedAt: at}, "preparation", `"recipient":[{"reference":"Patient/P1"}]`},
		{outreach.MessageView{ID: 3, Direction: "out", Kind: "staff", Status: "failed", CreatedAt: at, Staff: &staffID}, "not-done", `"value":"RN1"`},
	} {
		c := CommunicationOf(tt.m, "P1")
		if c.Status != tt.status || !strings.Contains(render(c), tt.has) {
			t.Errorf("%+v → %s", tt.m, render(c))
		}
	}
	for _, tt := range []struct {
		v                escalation.View
		status, priority string
	}{
		{escalation.View{ID: 1, Severity: escalation.Urgent, Status: "open", CreatedAt: at, DueAt: at}, "ready", "stat"},
		{escalation.View{ID: 2, Severity: escalation.High, Status: "claimed", CreatedAt: at, DueAt: at, ClaimedBy: &staffID}, "in-progress", "urgent"},
		{escalation.View{ID: 3, Severity: escalation.Routine, Status: "resolved", CreatedAt: at, DueAt: at, ResolvedAt: &at}, "completed", "routine"},
	} {
		task := TaskOf(tt.v, "P1")
		if task.Status != tt.status || task.Priority != tt.priority || task.Intent != "order" {
			t.Errorf("%+v → %s", tt.v, render(task))
		}
	}
	if p, c, ok := splitConditionID("P-1-E11.9"); !ok || p != "P-1" || c != "E11.9" {
		t.Errorf("split = %q %q %v", p, c, ok)
	}
}
