package outreach

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/scripts"
	"github.com/outreach-engine/outreach/staff"
)

// CheckinView is a check-in as the API shows it.
type CheckinView struct {
	ID        int64        `db:"id" json:"id"`
	Script    string       `db:"script_id" json:"script"`
	Period    string       `db:"period" json:"period"`
	Channel   string       `db:"channel" json:"channel"`
	Language  string       `db:"language" json:"language"`
	Status    string       `db:"status" json:"status"`
	StartedAt time.Time    `db:"started_at" json:"started_at"`
	EndedAt   *time.Time   `db:"ended_at" json:"ended_at"`
	Answers   []AnswerView `db:"-" json:"answers"`
	Calls     []CallView   `db:"-" json:"calls,omitempty"`
}

// CallView is one call of a voice check-in. Its duration is the call's own activity; it is never
// counted as clinical staff time.
type CallView struct {
	Attempt         int        `db:"attempt" json:"attempt"`
	Status          string     `db:"status" json:"status"`
	AnsweredBy      *string    `db:"answered_by" json:"answered_by,omitempty"`
	Reached         bool       `db:"reached" json:"reached"`
	PlacedAt        *time.Time `db:"placed_at" json:"placed_at"`
	EndedAt         *time.Time `db:"ended_at" json:"ended_at"`
	DurationSeconds *int       `db:"duration_seconds" json:"duration_seconds"`
	Checkin         int64      `db:"checkin_id" json:"-"`
}

// AnswerView is one answer: the question's id and its text in English (empty when the script
// no longer has the question), the value as read ("" when the replies could not be read) and
// the patient's own words.
type AnswerView struct {
	Question     string    `json:"question"`
	QuestionText string    `json:"question_text"`
	Value        string    `json:"value"`
	Text         string    `json:"text"`
	AnsweredAt   time.Time `json:"answered_at"`
}

const selectPatientID = `SELECT id FROM patients WHERE practice_id = $1 AND ext_id = $2`

const selectCheckins = `
SELECT id, script_id, period, channel, language, status, started_at, ended_at
FROM checkins WHERE practice_id = $1 AND patient_id = $2
ORDER BY started_at DESC, id DESC LIMIT $3`

const selectCheckinAnswers = `
SELECT checkin_id, question_id, value, raw, answered_at FROM checkin_answers
WHERE practice_id = $1 AND checkin_id = ANY (SELECT id FROM checkins WHERE practice_id = $1 AND patient_id = $2)
ORDER BY answered_at, question_id`

const selectCheckinCalls = `
SELECT checkin_id, attempt, status, answered_by, reached_at IS NOT NULL AS reached, placed_at, ended_at, duration_seconds
FROM calls WHERE practice_id = $1 AND patient_id = $2
ORDER BY checkin_id, attempt`

// Checkins lists a patient's most recent check-ins with their answers and calls, newest first.
func (e *Engine) Checkins(ctx context.Context, q db.Querier, patient int64, limit int) ([]CheckinView, error) {
	var out []CheckinView
	if err := q.SelectContext(ctx, &out, selectCheckins, e.pid(), patient, limit); err != nil {
		return nil, fmt.Errorf("error listing check-ins of patient %d: %w", patient, err)
	}
	var answers []struct {
		Checkin    int64     `db:"checkin_id"`
		Question   string    `db:"question_id"`
		Value      string    `db:"value"`
		Raw        string    `db:"raw"`
		AnsweredAt time.Time `db:"answered_at"`
	}
	if err := q.SelectContext(ctx, &answers, selectCheckinAnswers, e.pid(), patient); err != nil {
		return nil, fmt.Errorf("error listing answers of patient %d: %w", patient, err)
	}
	var calls []CallView
	if err := q.SelectContext(ctx, &calls, selectCheckinCalls, e.pid(), patient); err != nil {
		return nil, fmt.Errorf("error listing calls of patient %d: %w", patient, err)
	}
	callsOf := map[int64][]CallView{}
	for _, c := range calls {
		callsOf[c.Checkin] = append(callsOf[c.Checkin], c)
	}
	byID := map[int64][]AnswerView{}
	for _, a := range answers {
		byID[a.Checkin] = append(byID[a.Checkin], AnswerView{Question: a.Question, Value: a.Value, Text: a.Raw, AnsweredAt: a.AnsweredAt})
	}
	if out == nil {
		out = []CheckinView{}
	}
	for i, r := range out {
		out[i].Answers = byID[r.ID]
		out[i].Calls = callsOf[r.ID]
		if out[i].Answers == nil {
			out[i].Answers = []AnswerView{}
		}
		if s := e.script(r.Script); s != nil {
			for j, a := range out[i].Answers {
				if q := s.Question(a.Question); q != nil {
					out[i].Answers[j].QuestionText = q.Text.In(scripts.English)
				}
			}
			slices.SortStableFunc(out[i].Answers, func(a, b AnswerView) int {
				return cmp.Compare(questionIndex(s, a.Question), questionIndex(s, b.Question))
			})
		}
	}
	return out, nil
}

// questionIndex is a question's place in its script; answers to questions the script no longer
// has come last.
func questionIndex(s *scripts.Script, id string) int {
	for i, q := range s.Questions {
		if q.ID == id {
			return i
		}
	}
	return len(s.Questions)
}

// CheckinsHandler serves GET /api/v1/patients/{id}/checkins, {id} being the practice's patient
// id; the read is written to the audit log.
func (e *Engine) CheckinsHandler(r *http.Request, who staff.Identity) (int, any, error) {
	patient, err := e.patientOf(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := e.Checkins(r.Context(), e.DB, patient, 100)
	if err != nil {
		return 0, nil, err
	}
	err = audit.Record(r.Context(), e.DB, audit.Event{PracticeID: e.pid(), At: e.now(), Actor: who.Actor(),
		Action: "patient.read", Entity: "patient", EntityID: fmt.Sprint(patient),
		Detail: map[string]any{"view": "checkins"}})
	return http.StatusOK, list, err
}
