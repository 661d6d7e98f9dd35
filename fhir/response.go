package fhir

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
)

// responseStatus maps a check-in's status to a QuestionnaireResponse status.
var responseStatus = map[string]string{
	"open": "in-progress", "completed": "completed", "expired": "stopped", "cancelled": "stopped",
}

// ResponseOf maps a check-in and its answers to a QuestionnaireResponse of the script's
// Questionnaire: one item per answered question, linkId the question's id, each answer typed as
// the Questionnaire's item (boolean, decimal, integer, coding, string; blood pressure as its
// group's two integers). A scored instrument's answers carry their score, and the total is an
// item once every scored question is answered. s is nil when the engine no longer has the
// script: the answers are then strings.
func ResponseOf(c outreach.CheckinView, patient string, s *scripts.Script, base string) QuestionnaireResponse {
	qr := QuestionnaireResponse{ResourceType: "QuestionnaireResponse", ID: strconv.FormatInt(c.ID, 10),
		Questionnaire: base + "/Questionnaire/" + c.Script, Status: responseStatus[c.Status],
		Subject: ref("Patient", patient), Source: ref("Patient", patient), Authored: instant(c.StartedAt)}
	if qr.Status == "" {
		qr.Status = "stopped"
	}
	if c.EndedAt != nil {
		qr.Authored = instant(*c.EndedAt)
	} else if n := len(c.Answers); n > 0 {
		qr.Authored = instant(c.Answers[n-1].AnsweredAt)
	}
	var in *instrument
	if s != nil {
		in = instruments[s.ID]
	}
	values := map[string]string{}
	for _, a := range c.Answers {
		if a.Value == "" {
			continue // the replies could not be read: nothing was answered
		}
		values[a.Question] = a.Value
		var q *scripts.Question
		if s != nil {
			q = s.Question(a.Question)
		}
		qr.Item = append(qr.Item, answerItem(q, in, a))
	}
	if in != nil {
		if total, ok := in.Score(values); ok {
			qr.Item = append(qr.Item, QuestionnaireResponseItem{LinkID: in.totalID, Text: in.total.Display,
				Answer: []QuestionnaireResponseAnswer{{ValueInteger: &total}}})
		}
	}
	return qr
}

// answerItem is one answered question, typed by its question (a string when the script no
// longer has it, or the value does not read as its type).
func answerItem(q *scripts.Question, in *instrument, a outreach.AnswerView) QuestionnaireResponseItem {
	item := QuestionnaireResponseItem{LinkID: a.Question, Text: a.QuestionText}
	str := []QuestionnaireResponseAnswer{{ValueString: a.Value}}
	if q == nil {
		item.Answer = str
		return item
	}
	item.Text = questionText(q)
	var ans QuestionnaireResponseAnswer
	switch q.Type {
	case scripts.YesNo:
		b := a.Value == "yes"
		if a.Value != "yes" && a.Value != "no" {
			item.Answer = str
			return item
		}
		ans.ValueBoolean = &b
	case scripts.Number:
		if _, err := strconv.ParseFloat(a.Value, 64); err != nil {
			item.Answer = str
			return item
		}
		n := json.Number(a.Value)
		ans.ValueDecimal = &n
	case scripts.Scale:
		n, err := strconv.Atoi(a.Value)
		if err != nil {
			item.Answer = str
			return item
		}
		ans.ValueInteger = &n
	case scripts.Choice:
		c := optionCoding(in, q, a.Value)
		ans.ValueCoding = &c
	case scripts.BloodPressure:
		sys, dia, ok := strings.Cut(a.Value, "/")
		ns, err1 := strconv.Atoi(sys)
		nd, err2 := strconv.Atoi(dia)
		if !ok || err1 != nil || err2 != nil {
			item.Answer = str
			return item
		}
		for i, v := range []int{ns, nd} {
			item.Item = append(item.Item, QuestionnaireResponseItem{LinkID: a.Question + "." + bpFields[i],
				Text: bpFields[i] + " (mmHg)", Answer: []QuestionnaireResponseAnswer{{ValueInteger: &v}}})
		}
		return item
	default:
		ans.ValueString = a.Value
	}
	item.Answer = []QuestionnaireResponseAnswer{ans}
	return item
}
