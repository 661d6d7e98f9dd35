package fhir

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/scripts"
)

// Questionnaire item types for the engine's answer types.
var itemTypes = map[scripts.AnswerType]string{
	scripts.YesNo: "boolean", scripts.Number: "decimal", scripts.Scale: "integer", scripts.Choice: "choice",
	scripts.FreeText: "text", scripts.BloodPressure: "group",
}

// ucum are the UCUM codes of the units scripts ask numbers in.
var ucum = map[string]string{"lb": "[lb_av]", "kg": "kg", "mg/dL": "mg/dL", "%": "%", "bpm": "/min", "mmHg": "mm[Hg]"}

// bpFields are the parts of a blood pressure answer: each is a child item of the question's
// group, linkId "<question>.<field>".
var bpFields = []string{"systolic", "diastolic"}

// QuestionnaireOf maps a check-in script to an SDC Questionnaire. Each question is an item whose
// linkId is the question's id; its text is the English wording. Choice answers are coded
// (LOINC for the scored instruments, else the engine's answer code system with the choice's
// value as code); blood pressure is a group of two integer items, systolic and diastolic.
// A skip_if becomes enableWhen where FHIR can say it, and is always kept as the skip-if
// extension; every escalation rule is an escalation-rule extension on its item (severity,
// reason, condition in words). A scored instrument adds a read-only total item computed from
// the answers' ordinal values.
func QuestionnaireOf(s *scripts.Script, base string) Questionnaire {
	in := instruments[s.ID]
	q := Questionnaire{ResourceType: "Questionnaire", ID: s.ID, URL: base + "/Questionnaire/" + s.ID,
		Name: computableName(s.ID), Title: s.Name, Status: "active", SubjectType: []string{"Patient"},
		Description: "Check-in script " + s.ID + " (" + languageList(s.Languages) + ")"}
	if in != nil {
		q.Code = []Coding{in.panel}
	}
	for _, question := range s.Questions {
		q.Item = append(q.Item, questionItem(s, question, in))
	}
	if in != nil {
		ids := make([]string, len(in.scored))
		for i, id := range in.scored {
			ids[i] = "'" + id + "'"
		}
		q.Item = append(q.Item, QuestionnaireItem{LinkID: in.totalID, Code: []Coding{in.total}, Text: in.total.Display,
			Type: "integer", ReadOnly: boolPtr(true), Extension: []Extension{{URL: extCalculated, ValueExpression: &Expression{
				Description: "the sum of the scored items' ordinal values",
				Language:    "text/fhirpath",
				Expression: "%resource.repeat(item).where(linkId in (" + strings.Join(ids, " | ") +
					")).answer.value.ordinal().sum()"}}}})
	}
	return q
}

// computableName turns a script id into a Questionnaire name: "heart-failure" → "HeartFailure".
func computableName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	name := b.String()
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		name = "Script" + name
	}
	return name
}

func languageList(ls []scripts.Language) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return strings.Join(out, ", ")
}

func questionItem(s *scripts.Script, q *scripts.Question, in *instrument) QuestionnaireItem {
	item := QuestionnaireItem{LinkID: q.ID, Text: questionText(q), Type: itemTypes[q.Type]}
	if in != nil {
		if c, ok := in.items[q.ID]; ok {
			item.Code = []Coding{c}
		}
	}
	switch q.Type {
	case scripts.Number:
		if q.Min != nil {
			item.Extension = append(item.Extension, Extension{URL: extMinValue, ValueDecimal: decimal(*q.Min)})
		}
		if q.Max != nil {
			item.Extension = append(item.Extension, Extension{URL: extMaxValue, ValueDecimal: decimal(*q.Max)})
		}
		if q.Unit != "" {
			item.Extension = append(item.Extension, Extension{URL: extUnit, ValueCoding: unitCoding(q.Unit)})
		}
	case scripts.Scale:
		lo, hi := 0, 10
		item.Extension = append(item.Extension, Extension{URL: extMinValue, ValueInteger: &lo},
			Extension{URL: extMaxValue, ValueInteger: &hi})
	case scripts.Choice:
		for _, o := range q.Choices {
			item.AnswerOption = append(item.AnswerOption, AnswerOption{ValueCoding: optionCoding(in, q, o.Value)})
		}
	case scripts.BloodPressure:
		for _, f := range bpFields {
			item.Item = append(item.Item, QuestionnaireItem{LinkID: q.ID + "." + f, Text: f + " (mmHg)", Type: "integer",
				Extension: []Extension{{URL: extUnit, ValueCoding: unitCoding("mmHg")}}})
		}
	}
	if q.SkipIf != nil {
		if prev := s.Question(q.SkipIf.Question); prev != nil {
			item.EnableWhen, item.EnableBehavior = enableWhen(in, prev, *q.SkipIf)
		}
		item.Extension = append(item.Extension, Extension{URL: extSkipIf, ValueString: "skipped when " +
			q.SkipIf.Question + " " + describe(*q.SkipIf)})
	}
	for _, r := range q.Escalate {
		sub := []Extension{{URL: "severity", ValueCode: string(r.Severity)}, {URL: "condition", ValueString: describe(r.When)}}
		if r.Reason != "" {
			sub = append(sub, Extension{URL: "reason", ValueString: r.Reason})
		}
		item.Extension = append(item.Extension, Extension{URL: extEscalation, Extension: sub})
	}
	return item
}

// questionText is a question's English wording without the numbered list of its choices,
// which its answer options carry.
func questionText(q *scripts.Question) string {
	text := q.Text.In(scripts.English)
	if len(q.Choices) > 0 {
		if i := strings.Index(text, " 1 "+q.Choices[0].Label.In(scripts.English)); i > 0 {
			text = strings.TrimSpace(text[:i])
		}
	}
	return text
}

// optionCoding is the coding of a choice's value: the instrument's LOINC answer with its score,
// or the engine's answer code with the choice's English label.
func optionCoding(in *instrument, q *scripts.Question, value string) Coding {
	if a, ok := in.answerOf(q.ID, value); ok {
		c := a.code
		score := a.score
		c.Extension = []Extension{{URL: extOrdinalValue, ValueDecimal: decimal(float64(score))}}
		return c
	}
	c := Coding{System: systemAnswers, Code: value}
	for _, o := range q.Choices {
		if o.Value == value {
			c.Display = o.Label.In(scripts.English)
		}
	}
	return c
}

func unitCoding(unit string) *Coding {
	if code, ok := ucum[unit]; ok {
		return &Coding{System: systemUCUM, Code: code, Display: unit}
	}
	return &Coding{Display: unit}
}

func decimal(v float64) *json.Number {
	n := json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	return &n
}

// enableWhen says when a question is asked: when its skip_if does not hold. FHIR can say the
// negation of one test (equals, one of, a bound) on the earlier answer; a condition it cannot
// say (words in free text, a blood pressure field, several kinds of tests at once) gives no
// enableWhen, and the skip-if extension alone describes it.
func enableWhen(in *instrument, prev *scripts.Question, c scripts.Condition) ([]EnableWhen, string) {
	if c.ContainsAny != nil || c.Field != "" {
		return nil, ""
	}
	bounds := 0
	for _, b := range []*float64{c.Lt, c.Lte, c.Gt, c.Gte} {
		if b != nil {
			bounds++
		}
	}
	kinds := bounds
	if c.Equals != "" {
		kinds++
	}
	if c.In != nil {
		kinds++
	}
	if kinds != 1 && (c.In != nil || c.Equals != "") {
		return nil, ""
	}
	value := func(v string) (EnableWhen, bool) {
		w := EnableWhen{Question: prev.ID}
		switch prev.Type {
		case scripts.YesNo:
			b := v == "yes"
			w.AnswerBoolean = &b
		case scripts.Choice:
			code := optionCoding(in, prev, v)
			code.Extension = nil
			w.AnswerCoding = &code
		default:
			return w, false
		}
		return w, true
	}
	switch {
	case c.Equals != "":
		w, ok := value(c.Equals)
		if !ok {
			return nil, ""
		}
		if prev.Type == scripts.YesNo { // skipped on one answer: asked on the other
			b := !*w.AnswerBoolean
			w.AnswerBoolean, w.Operator = &b, "="
		} else {
			w.Operator = "!="
		}
		return []EnableWhen{w}, ""
	case c.In != nil:
		var out []EnableWhen
		for _, v := range c.In {
			w, ok := value(v)
			if !ok {
				return nil, ""
			}
			w.Operator = "!="
			out = append(out, w)
		}
		if len(out) == 1 {
			return out, ""
		}
		return out, "all"
	}
	var out []EnableWhen
	for _, t := range []struct {
		b  *float64
		op string // the negation
	}{{c.Lt, ">="}, {c.Lte, ">"}, {c.Gt, "<="}, {c.Gte, "<"}} {
		if t.b == nil {
			continue
		}
		w := EnableWhen{Question: prev.ID, Operator: t.op}
		if prev.Type == scripts.Scale {
			n := int(*t.b)
			w.AnswerInteger = &n
		} else {
			w.AnswerDecimal = decimal(*t.b)
		}
		out = append(out, w)
	}
	if len(out) == 1 {
		return out, ""
	}
	return out, "any"
}

// describe says a condition in words: "in more_than_half, nearly_every_day", "systolic >= 180".
func describe(c scripts.Condition) string {
	var parts []string
	subject := "answer"
	if c.Field != "" {
		subject = c.Field
	}
	if c.Equals != "" {
		parts = append(parts, subject+" = "+c.Equals)
	}
	if c.In != nil {
		parts = append(parts, subject+" in "+strings.Join(c.In, ", "))
	}
	for _, t := range []struct {
		b  *float64
		op string
	}{{c.Lt, "<"}, {c.Lte, "<="}, {c.Gt, ">"}, {c.Gte, ">="}} {
		if t.b != nil {
			parts = append(parts, fmt.Sprintf("%s %s %s", subject, t.op, strconv.FormatFloat(*t.b, 'f', -1, 64)))
		}
	}
	if c.ContainsAny != nil {
		var words []string
		for _, l := range []scripts.Language{scripts.English, scripts.Spanish} {
			words = append(words, c.ContainsAny[l]...)
		}
		parts = append(parts, subject+" contains any of: "+strings.Join(words, ", "))
	}
	return strings.Join(parts, " and ")
}
