package outreach

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/scripts"
)

// Inbound is a text message a patient sent us.
type Inbound struct {
	SID  string // the provider's message id: a redelivered message has the same one
	From string
	Body string
}

// Handled says what Receive did with a message.
type Handled string

// Outcomes of Receive.
const (
	HandledDuplicate Handled = "duplicate"      // seen before: nothing done
	HandledUnknown   Handled = "unknown_sender" // no patient has the number: nothing stored
	HandledStop      Handled = "stop"
	HandledStart     Handled = "start"
	HandledHelp      Handled = "help"
	HandledAnswer    Handled = "answer"  // taken by the patient's open check-in
	HandledMessage   Handled = "message" // outside any check-in: a human reads it
)

// maxBody is the longest text kept: what a provider delivers as one message.
const maxBody = 1600

// sender is a patient who has the number a message came from, with their open check-in, if
// any; both are locked.
type sender struct {
	ID       int64   `db:"id"`
	Language string  `db:"language"`
	OptedOut bool    `db:"opted_out"`
	Source   *string `db:"opt_out_source"`
	Checkin  *int64  `db:"checkin_id"`
	Open     openCheckin
	Stored   bool `db:"stored"` // the message was new and is stored; false for a redelivery
}

// receiveInbound locks every patient with the number (one family may share a phone) and their
// open check-ins, so that concurrent messages from one number are handled one at a time, then
// stores the message, unless it came before, with the patient in a conversation first. Locked
// rows are read as the last writer left them.
const receiveInbound = `
WITH senders AS (
	SELECT p.id, p.language, p.opted_out_at IS NOT NULL AS opted_out, p.opt_out_source
	FROM patients p
	WHERE p.practice_id = $1 AND p.phone = $2
	ORDER BY p.id
	FOR NO KEY UPDATE
), open AS (
	SELECT c.id, c.patient_id, c.script_id, c.language, c.question_id, c.reasks
	FROM checkins c
	WHERE c.practice_id = $1 AND c.patient_id IN (SELECT id FROM senders) AND c.status = 'open'
	FOR NO KEY UPDATE
), pick AS (
	SELECT s.id AS patient_id, o.id AS checkin_id
	FROM senders s LEFT JOIN open o ON o.patient_id = s.id
	ORDER BY o.id IS NULL, s.id
	LIMIT 1
), stored AS (
	INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid,
		created_at, updated_at)
	SELECT $1, patient_id, checkin_id, 'in', 'reply', $2, $3, 'received', $4, $5, $5 FROM pick
	ON CONFLICT (twilio_sid) WHERE twilio_sid IS NOT NULL DO NOTHING
	RETURNING id
)
SELECT s.id, s.language, s.opted_out, s.opt_out_source, o.id AS checkin_id,
	coalesce(o.script_id, '') AS "open.script_id", coalesce(o.language, '') AS "open.language",
	o.question_id AS "open.question_id", coalesce(o.reasks, 0) AS "open.reasks",
	EXISTS (SELECT 1 FROM stored) AS stored
FROM senders s LEFT JOIN open o ON o.patient_id = s.id
ORDER BY s.id`

// Receive handles a text from a patient: duplicates are dropped, carrier keywords come first
// (STOP, START, HELP), then the patient's open check-in takes the reply; anything else goes to
// a human. Everything happens in one transaction.
func (e *Engine) Receive(ctx context.Context, in Inbound) (Handled, error) {
	body := cleanBody(in.Body)
	var out Handled
	err := db.WithTx(ctx, e.DB, func(tx *sqlx.Tx) error {
		now := e.now()
		var senders []sender
		if err := tx.SelectContext(ctx, &senders, receiveInbound, e.pid(), in.From, body, nullable(in.SID), now); err != nil {
			return err
		}
		if len(senders) == 0 {
			out = HandledUnknown
			return nil
		}
		if !senders[0].Stored {
			out = HandledDuplicate
			return nil
		}
		p := senders[0]
		for _, s := range senders {
			if s.Checkin != nil {
				p = s
				break
			}
		}
		var err error
		switch kw := ClassifyKeyword(body); {
		case kw == KeywordStop:
			out = HandledStop
			_, err = e.optOut(ctx, tx, in.From, "sms", now)
		case kw == KeywordStart || (kw == KeywordYes && p.OptedOut):
			out = HandledStart
			err = e.optIn(ctx, tx, in.From, now)
		case kw == KeywordHelp:
			out = HandledHelp
			if !p.OptedOut {
				err = e.queue(ctx, tx, p.ID, p.Checkin, in.From, Outgoing{Kind: "notice", Body: e.helpText(p.Language)}, now)
			}
		case p.Checkin != nil && !p.OptedOut:
			out = HandledAnswer
			err = e.answer(ctx, tx, p, in.From, body, now)
		default:
			out = HandledMessage
			err = e.message(ctx, tx, p, in.From, body, now)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("error handling inbound message: %w", err)
	}
	return out, nil
}

// cleanBody makes a provider's text storable: valid UTF-8, no NUL, at most maxBody characters.
func cleanBody(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(s) > maxBody {
		s = string([]rune(s)[:maxBody])
	}
	return s
}

// helpText answers HELP with the practice's name and phone.
func (e *Engine) helpText(lang string) string {
	name := e.Contact.Name
	if name == "" {
		name = "Your care team"
	}
	if lang == string(scripts.Spanish) {
		s := name + ": mensajes de su equipo de cuidado."
		if e.Contact.Phone != "" {
			s += " Para ayuda llame al " + e.Contact.Phone + "."
		}
		return s + " Responda STOP para no recibir más mensajes. En una emergencia llame al 911."
	}
	s := name + ": messages from your care team."
	if e.Contact.Phone != "" {
		s += " For help call " + e.Contact.Phone + "."
	}
	return s + " Reply STOP to opt out. In an emergency call 911."
}

const queueOne = `
INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, immediate,
	next_attempt_at, created_at, updated_at)
VALUES ($1, $2, $3, 'out', $4, $5, $6, 'queued', true, $7, $7, $7)`

// queue puts a reply to the patient in the outbox, ahead of scheduled messages and whatever the
// hour: the patient just wrote to us.
func (e *Engine) queue(ctx context.Context, tx *sqlx.Tx, patient int64, checkin *int64, phone string, m Outgoing, now time.Time) error {
	_, err := tx.ExecContext(ctx, queueOne, e.pid(), patient, checkin, m.Kind, phone, m.Body, now)
	return err
}

const markOptedOut = `
UPDATE patients SET opted_out_at = $1, opt_out_source = $2, updated_at = $1
WHERE practice_id = $3 AND phone = $4 AND opted_out_at IS NULL
RETURNING id`

const cancelOpenFor = `
WITH c AS (
	UPDATE checkins SET status = 'cancelled', ended_at = $1, question_id = NULL
	WHERE practice_id = $2 AND patient_id = ANY ($3::bigint[]) AND status = 'open'
	RETURNING id
), k AS (
	UPDATE calls SET status = 'cancelled', ended_at = $1, updated_at = $1
	WHERE practice_id = $2 AND patient_id = ANY ($3::bigint[]) AND status = 'queued'
)
UPDATE messages SET status = 'cancelled', updated_at = $1
WHERE practice_id = $2 AND patient_id = ANY ($3::bigint[]) AND status = 'queued' AND direction = 'out'`

// optOut stops all texts and calls to a number: every patient with it is opted out, their open
// check-ins, queued messages and queued calls are cancelled. It returns how many patients it opted out.
func (e *Engine) optOut(ctx context.Context, tx *sqlx.Tx, phone, source string, now time.Time) (int, error) {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, markOptedOut, now, source, e.pid(), phone); err != nil {
		return 0, fmt.Errorf("error opting out: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, cancelOpenFor, now, e.pid(), pq.Array(ids)); err != nil {
		return 0, fmt.Errorf("error cancelling check-ins after an opt-out: %w", err)
	}
	for _, id := range ids {
		if err := audit.Record(ctx, tx, audit.Event{PracticeID: e.pid(), At: now, Actor: audit.ActorSystem,
			Action: "patient.opt_out", Entity: "patient", EntityID: strconv.FormatInt(id, 10),
			Detail: map[string]any{"source": source}}); err != nil {
			return 0, err
		}
	}
	e.Log.Info("patients opted out of texts", "patients", ids, "source", source)
	return len(ids), nil
}

// clearOptOut lifts the opt-outs the patient or the carrier made; an opt-out staff recorded
// stays until staff lift it.
const clearOptOut = `
UPDATE patients SET opted_out_at = NULL, opt_out_source = NULL, updated_at = $1
WHERE practice_id = $2 AND phone = $3 AND opt_out_source IN ('sms', 'carrier', 'voice')
RETURNING id`

func (e *Engine) optIn(ctx context.Context, tx *sqlx.Tx, phone string, now time.Time) error {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, clearOptOut, now, e.pid(), phone); err != nil {
		return fmt.Errorf("error opting in: %w", err)
	}
	for _, id := range ids {
		if err := audit.Record(ctx, tx, audit.Event{PracticeID: e.pid(), At: now, Actor: audit.ActorSystem,
			Action: "patient.opt_in", Entity: "patient", EntityID: strconv.FormatInt(id, 10),
			Detail: map[string]any{"source": "sms"}}); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		e.Log.Info("patients opted back in to texts", "patients", ids)
	}
	return nil
}

// openCheckin is where an open check-in stands.
type openCheckin struct {
	Script   string  `db:"script_id"`
	Language string  `db:"language"`
	Question *string `db:"question_id"`
	Reasks   int     `db:"reasks"`
}

const selectAnswers = `
SELECT question_id, value, raw FROM checkin_answers WHERE practice_id = $1 AND checkin_id = $2`

// recordStep stores a step of a conversation in one statement: the answer (when a question was
// answered or given up on), where the check-in stands now, and the texts it sends, queued in
// their order ahead of scheduled messages and whatever the hour.
const recordStep = `
WITH answer AS (
	INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
	SELECT $1, $2, $3, $4, $5, $6 WHERE $3::text <> ''
	ON CONFLICT DO NOTHING
), advance AS (
	UPDATE checkins SET question_id = $7, reasks = $8, reminded_at = NULL, last_sent_at = $6,
		status = CASE WHEN $9::boolean THEN 'completed' ELSE 'open' END,
		ended_at = CASE WHEN $9::boolean THEN $6::timestamptz END
	WHERE practice_id = $1 AND id = $2
)
INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, immediate,
	next_attempt_at, created_at, updated_at)
SELECT $1, $10, $2, 'out', m.kind, $11::text, m.body, 'queued', true, $6, $6, $6
FROM unnest($12::text[], $13::text[]) WITH ORDINALITY AS m (kind, body, n)
ORDER BY m.n`

// answer gives a text to the patient's open check-in and queues what the conversation sends
// back: the next question, a re-ask, safety advice, the closing.
func (e *Engine) answer(ctx context.Context, tx *sqlx.Tx, p sender, phone, body string, now time.Time) error {
	s := e.script(p.Open.Script)
	if s == nil || p.Open.Question == nil {
		return e.message(ctx, tx, p, phone, body, now)
	}
	_, err := e.reply(ctx, tx, p.ID, *p.Checkin, p.Open, s, body, phone, now)
	return err
}

// reply gives a reply (a text, or what the patient pressed or said on a call) to an open
// check-in the caller has locked: the answer is stored, its rules raise items, and the check-in
// moves to the next question, a re-ask or its end. The step's texts are queued to textTo; on a
// call (textTo empty) the caller says them. It returns the conversation's step.
func (e *Engine) reply(ctx context.Context, tx *sqlx.Tx, patient, checkin int64, c openCheckin, s *scripts.Script, body, textTo string, now time.Time) (Step, error) {
	conv := Conversation{Script: s, Lang: language(s, c.Language), Current: *c.Question, Reasks: c.Reasks,
		Answered: map[string]scripts.Answer{}}
	var stored []struct {
		Question string `db:"question_id"`
		Value    string `db:"value"`
		Raw      string `db:"raw"`
	}
	if err := tx.SelectContext(ctx, &stored, selectAnswers, e.pid(), checkin); err != nil {
		return Step{}, err
	}
	for _, a := range stored {
		if q := s.Question(a.Question); q != nil && a.Value != "" {
			if parsed, err := q.Parse(a.Raw); err == nil {
				conv.Answered[a.Question] = parsed
			}
		}
	}
	st := conv.Reply(body)
	for _, r := range st.Raise {
		raised, err := escalation.Raise(ctx, tx, escalation.Item{PracticeID: e.pid(), PatientID: patient, CheckinID: &checkin,
			Severity: escalation.Severity(r.Severity), Reason: r.Reason, Source: escalation.Source(r.Source),
			Question: r.Question, Answer: r.Value}, e.Due, now, e.Practice.Location)
		if err != nil {
			return Step{}, err
		}
		e.Log.Info("escalation raised", "escalation", raised.ID, "new", raised.Created, "severity", r.Severity,
			"source", r.Source, "patient", patient, "checkin", checkin)
	}
	answered, value := "", ""
	if st.Question != "" && st.Next != st.Question {
		// Answered, or given up on after the re-asks: either way the reply is kept.
		answered = st.Question
		if st.Answer != nil {
			value = st.Answer.Value
		}
	}
	kinds, bodies := []string{}, []string{}
	if textTo != "" {
		for _, m := range st.Send {
			kinds, bodies = append(kinds, m.Kind), append(bodies, m.Body)
		}
	}
	if _, err := tx.ExecContext(ctx, recordStep, e.pid(), checkin, answered, value, body, now, nullable(st.Next), st.Reasks,
		st.Done, patient, textTo, pq.Array(kinds), pq.Array(bodies)); err != nil {
		return Step{}, err
	}
	if st.Done {
		e.Log.Info("check-in completed", "checkin", checkin, "patient", patient, "script", s.ID)
	}
	return st, nil
}

const recentNotice = `
SELECT EXISTS (SELECT 1 FROM messages WHERE practice_id = $1 AND patient_id = $2 AND direction = 'out'
	AND kind = 'notice' AND created_at > $3)`

// message handles a text outside any check-in: emergency words get the safety message and an
// urgent item; anything else a routine item so that a human reads it, and (once a day) a short
// acknowledgement.
func (e *Engine) message(ctx context.Context, tx *sqlx.Tx, p sender, phone, body string, now time.Time) error {
	lang := scripts.Language(p.Language)
	it := escalation.Item{PracticeID: e.pid(), PatientID: p.ID, Severity: escalation.Routine,
		Source: escalation.SourceMessage, Reason: "Message from the patient outside a check-in", Answer: body}
	var reply *Outgoing
	switch {
	case scripts.Emergency(body):
		it.Severity, it.Source, it.Reason = escalation.Urgent, escalation.SourceEmergency, "Emergency words in a message"
		reply = &Outgoing{Kind: "safety", Body: scripts.EmergencyMessage.In(lang)}
	case p.OptedOut:
		it.Reason = "Message from a patient who opted out of texts"
	default:
		var acked bool
		if err := tx.GetContext(ctx, &acked, recentNotice, e.pid(), p.ID, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		if !acked {
			reply = &Outgoing{Kind: "notice", Body: ackText.In(lang)}
		}
	}
	raised, err := escalation.Raise(ctx, tx, it, e.Due, now, e.Practice.Location)
	if err != nil {
		return err
	}
	e.Log.Info("escalation raised", "escalation", raised.ID, "new", raised.Created, "severity", it.Severity,
		"source", it.Source, "patient", p.ID)
	if reply != nil && !p.OptedOut {
		return e.queue(ctx, tx, p.ID, nil, phone, *reply, now)
	}
	return nil
}

var ackText = scripts.Text{
	scripts.English: "Thank you. Your care team will read your message. In an emergency call 911.",
	scripts.Spanish: "Gracias. Su equipo de cuidado leerá su mensaje. En una emergencia llame al 911.",
}
