package outreach

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
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

// selectCheckinsBefore is selectCheckins after check-in $4, in the same order.
const selectCheckinsBefore = `
SELECT c.id, c.script_id, c.period, c.channel, c.language, c.status, c.started_at, c.ended_at
FROM checkins c, checkins b
WHERE c.practice_id = $1 AND c.patient_id = $2 AND b.practice_id = $1 AND b.patient_id = $2 AND b.id = $4
	AND (c.started_at, c.id) < (b.started_at, b.id)
ORDER BY c.started_at DESC, c.id DESC LIMIT $3`

const selectCheckinExists = `SELECT EXISTS (SELECT 1 FROM checkins WHERE practice_id = $1 AND patient_id = $2 AND id = $3)`

// selectCheckinAnswers reads the answers of the check-ins listed only (ids $2, starts $3, ends
// $4, infinity for those still open), each in the months it was open: an answer comes after
// its check-in started and before it ended (a day either side allows for replicas' clocks),
// and answers are partitioned by month, so only a check-in's own month or two are read for it.
const selectCheckinAnswers = `
SELECT c.id AS checkin_id, a.question_id, a.value, a.raw, a.answered_at
FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS c (id, started_at, ended_at)
CROSS JOIN LATERAL (SELECT question_id, value, raw, answered_at FROM checkin_answers
	WHERE practice_id = $1 AND checkin_id = c.id AND answered_at >= c.started_at - interval '1 day'
		AND answered_at < c.ended_at + interval '1 day') a
ORDER BY a.answered_at, a.question_id`

const selectCheckinCalls = `
SELECT checkin_id, attempt, status, answered_by, reached_at IS NOT NULL AS reached, placed_at, ended_at, duration_seconds
FROM calls WHERE practice_id = $1 AND checkin_id = ANY ($2::bigint[])
ORDER BY checkin_id, attempt`

// MaxCheckins is the most check-ins read at once.
const MaxCheckins = 100

// Checkins lists a patient's most recent check-ins with their answers and calls, newest first.
func (e *Engine) Checkins(ctx context.Context, q db.Querier, patient int64, limit int) ([]CheckinView, error) {
	return e.CheckinsBefore(ctx, q, patient, 0, limit)
}

// CheckinsBefore lists, newest first, at most limit of a patient's check-ins that started
// before check-in before (0: the most recent), with their answers and calls: a page of them,
// whose last one's id gives the next page. A before that is not one of the patient's
// check-ins is errkind.ErrInvalid. Only the listed check-ins' answers and calls are read.
func (e *Engine) CheckinsBefore(ctx context.Context, q db.Querier, patient, before int64, limit int) ([]CheckinView, error) {
	out := []CheckinView{}
	var err error
	if before > 0 {
		var exists bool
		if err := q.GetContext(ctx, &exists, selectCheckinExists, e.pid(), patient, before); err != nil {
			return nil, fmt.Errorf("error finding check-in %d of patient %d: %w", before, patient, err)
		}
		if !exists {
			return nil, errkind.Errorf(errkind.ErrInvalid, "before: the patient has no check-in %d", before)
		}
		err = q.SelectContext(ctx, &out, selectCheckinsBefore, e.pid(), patient, limit, before)
	} else {
		err = q.SelectContext(ctx, &out, selectCheckins, e.pid(), patient, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("error listing check-ins of patient %d: %w", patient, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := e.checkinDetails(ctx, q, patient, out); err != nil {
		return nil, err
	}
	return out, nil
}

const selectCheckinByID = `
SELECT id, script_id, period, channel, language, status, started_at, ended_at, patient_id
FROM checkins WHERE practice_id = $1 AND id = $2`

// Checkin returns one check-in with its answers and calls, and the (internal) id of its patient;
// errkind.ErrNotFound when the practice has no check-in id. Reading it is a read of the
// patient's record: the caller audits it.
func (e *Engine) Checkin(ctx context.Context, q db.Querier, id int64) (CheckinView, int64, error) {
	var row struct {
		CheckinView
		Patient int64 `db:"patient_id"`
	}
	if err := q.GetContext(ctx, &row, selectCheckinByID, e.pid(), id); db.IsNoRows(err) {
		return CheckinView{}, 0, errkind.Errorf(errkind.ErrNotFound, "no check-in %d", id)
	} else if err != nil {
		return CheckinView{}, 0, fmt.Errorf("error reading check-in %d: %w", id, err)
	}
	out := []CheckinView{row.CheckinView}
	if err := e.checkinDetails(ctx, q, row.Patient, out); err != nil {
		return CheckinView{}, 0, err
	}
	return out[0], row.Patient, nil
}

// checkinDetails fills in the answers and calls of a patient's check-ins out, answers in their
// script's order.
func (e *Engine) checkinDetails(ctx context.Context, q db.Querier, patient int64, out []CheckinView) error {
	ids, starts, ends := make([]int64, len(out)), make([]string, len(out)), make([]string, len(out))
	for i, c := range out {
		// Text with the offset and every digit: the server reads it as the instant stored.
		ids[i], starts[i], ends[i] = c.ID, c.StartedAt.Format(time.RFC3339Nano), "infinity"
		if c.EndedAt != nil {
			ends[i] = c.EndedAt.Format(time.RFC3339Nano)
		}
	}
	var answers []struct {
		Checkin    int64     `db:"checkin_id"`
		Question   string    `db:"question_id"`
		Value      string    `db:"value"`
		Raw        string    `db:"raw"`
		AnsweredAt time.Time `db:"answered_at"`
	}
	if err := q.SelectContext(ctx, &answers, selectCheckinAnswers, e.pid(), pq.Array(ids), pq.Array(starts), pq.Array(ends)); err != nil {
		return fmt.Errorf("error listing answers of patient %d: %w", patient, err)
	}
	var calls []CallView
	if err := q.SelectContext(ctx, &calls, selectCheckinCalls, e.pid(), pq.Array(ids)); err != nil {
		return fmt.Errorf("error listing calls of patient %d: %w", patient, err)
	}
	callsOf := map[int64][]CallView{}
	for _, c := range calls {
		callsOf[c.Checkin] = append(callsOf[c.Checkin], c)
	}
	byID := map[int64][]AnswerView{}
	for _, a := range answers {
		byID[a.Checkin] = append(byID[a.Checkin], AnswerView{Question: a.Question, Value: a.Value, Text: a.Raw, AnsweredAt: a.AnsweredAt})
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
	return nil
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

// CheckinsHandler serves GET /api/v1/patients/{id}/checkins[?limit=N][&before=CHECKIN], {id}
// being the practice's patient id: the newest check-ins (100 by default, at most MaxCheckins),
// or those that started before check-in CHECKIN (the last id of a page, for the next one). The
// read is written to the audit log.
func (e *Engine) CheckinsHandler(r *http.Request, who staff.Identity) (int, any, error) {
	limit, before, err := pageParams(r, MaxCheckins, MaxCheckins)
	if err != nil {
		return 0, nil, err
	}
	patient, err := e.patientOf(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := e.CheckinsBefore(r.Context(), e.DB, patient, before, limit)
	if err != nil {
		return 0, nil, err
	}
	err = audit.Record(r.Context(), e.DB, audit.Event{PracticeID: e.pid(), At: e.now(), Actor: who.Actor(),
		Action: "patient.read", Entity: "patient", EntityID: fmt.Sprint(patient),
		Detail: map[string]any{"view": "checkins"}})
	return http.StatusOK, list, err
}
