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
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/history"
	"github.com/outreach-engine/outreach/internal/ident"
	"github.com/outreach-engine/outreach/scripts"
	"github.com/outreach-engine/outreach/staff"
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
	HandledUnknown   Handled = "unknown_sender" // no patient has the number: kept, and an item raised
	HandledStop      Handled = "stop"
	HandledStart     Handled = "start"
	HandledHelp      Handled = "help"
	HandledAnswer    Handled = "answer"  // taken by the patient's open check-in
	HandledMessage   Handled = "message" // outside any check-in: a human reads it
)

// maxBody is the longest text kept: what a provider delivers as one message.
const maxBody = 1600

// sender is a patient who has the number a text came from, with their open check-in, if any;
// both are locked. A text from a number no patient has is stored with no patient, and comes
// back as a sender with ID 0.
type sender struct {
	Phone      string  `db:"phone"`
	ID         int64   `db:"id"`
	Language   string  `db:"language"`
	OptedOut   bool    `db:"opted_out"`
	Source     *string `db:"opt_out_source"`
	Checkin    *int64  `db:"checkin_id"`
	Open       openCheckin
	Stored     bool  `db:"stored"`      // the text was new and is stored; false for a redelivery
	RecentOut  *bool `db:"after_staff"` // the last text of recent months was staff's; nil: none was sent
	AfterStaff bool  // the last text the patient got was written by staff
}

// receiveTexts locks every patient with the number of a text of the batch (one family may
// share a phone) and their open check-ins, each in id order, so that texts from one number
// are handled one at a time and batches never wait on each other in a circle. Then it stores
// each text, unless it came before, filed with the patient in a conversation first. Locked rows
// are read as the last writer left them. A batch holds one text per number.
//
// Whether the last text a patient got was staff's is looked up in [$6, $7) (see recentMonths),
// where a patient who is answering a check-in has the question: only those monthly partitions
// are planned and read. For a patient sent nothing then, lastOutStaff reads the older months.
const receiveTexts = `
WITH batch AS (
	SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS b (phone, body, sid, n)
), senders AS (
	SELECT p.id, p.phone, p.language, p.opted_out_at IS NOT NULL AS opted_out, p.opt_out_source
	FROM patients p
	WHERE p.practice_id = $1 AND p.phone IN (SELECT phone FROM batch)
	ORDER BY p.id
	FOR NO KEY UPDATE
), open AS (
	SELECT c.id, c.patient_id, c.script_id, c.language, c.question_id, c.reasks, c.started_at
	FROM checkins c
	WHERE c.practice_id = $1 AND c.patient_id IN (SELECT id FROM senders) AND c.status = 'open'
	ORDER BY c.id
	FOR NO KEY UPDATE
), pick AS (
	SELECT DISTINCT ON (s.phone) s.phone, s.id AS patient_id, o.id AS checkin_id
	FROM senders s LEFT JOIN open o ON o.patient_id = s.id
	ORDER BY s.phone, o.id IS NULL, s.id
), fresh AS (
	-- In the order of the ids, so that batches holding the same redelivered texts never wait on
	-- each other in a circle.
	INSERT INTO inbound_sids (twilio_sid, received_at)
	SELECT b.sid, $5 FROM batch b WHERE b.phone <> '' AND b.sid <> ''
	ORDER BY b.sid
	ON CONFLICT DO NOTHING
	RETURNING twilio_sid
), stored AS (
	INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid,
		created_at, updated_at)
	SELECT $1, k.patient_id, k.checkin_id, 'in', 'reply', b.phone, b.body, 'received', NULLIF(b.sid, ''), $5, $5
	FROM batch b LEFT JOIN pick k ON k.phone = b.phone
	WHERE b.phone <> '' AND (b.sid = '' OR b.sid IN (SELECT twilio_sid FROM fresh))
	ORDER BY b.n
	RETURNING phone, patient_id
)
SELECT s.phone, s.id, s.language, s.opted_out, s.opt_out_source, o.id AS checkin_id,
	coalesce(o.script_id, '') AS "open.script_id", coalesce(o.language, '') AS "open.language",
	o.question_id AS "open.question_id", coalesce(o.reasks, 0) AS "open.reasks",
	coalesce(o.started_at, $5) AS "open.started_at",
	s.phone IN (SELECT phone FROM stored) AS stored,
	(SELECT m.kind = 'staff' FROM messages m WHERE m.practice_id = $1 AND m.patient_id = s.id
		AND m.direction = 'out' AND m.created_at >= $6 AND m.created_at < $7 ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS after_staff
FROM senders s LEFT JOIN open o ON o.patient_id = s.id
UNION ALL
SELECT phone, 0, 'en', false, NULL, NULL, '', '', NULL, 0, $5, true, false FROM stored WHERE patient_id IS NULL
ORDER BY 1, 2`

// lastOutStaff tells, for patients sent no text in the recent months, whether the last text
// they got before (created before $3) was staff's; a patient never sent a text has no row.
const lastOutStaff = `
SELECT p.id, m.kind = 'staff' AS staff FROM unnest($2::bigint[]) AS p (id)
CROSS JOIN LATERAL (SELECT kind FROM messages WHERE practice_id = $1 AND patient_id = p.id AND direction = 'out'
	AND created_at < $3 ORDER BY created_at DESC, id DESC LIMIT 1) m`

// afterStaff sets whether the last text each sender got was staff's, reading the months before
// recentMonths only for those sent nothing in them.
func (e *Engine) afterStaff(ctx context.Context, tx *sqlx.Tx, senders []sender, from time.Time) error {
	var older []int64
	for i, s := range senders {
		switch {
		case s.RecentOut != nil:
			senders[i].AfterStaff = *s.RecentOut
		case s.ID != 0:
			older = append(older, s.ID)
		}
	}
	if len(older) == 0 {
		return nil
	}
	var rows []struct {
		ID    int64 `db:"id"`
		Staff bool  `db:"staff"`
	}
	if err := tx.SelectContext(ctx, &rows, lastOutStaff, e.pid(), pq.Array(older), from); err != nil {
		return fmt.Errorf("error reading the last texts of patients sent none lately: %w", err)
	}
	staff := map[int64]bool{}
	for _, r := range rows {
		staff[r.ID] = r.Staff
	}
	for i, s := range senders {
		if s.RecentOut == nil {
			senders[i].AfterStaff = staff[s.ID]
		}
	}
	return nil
}

// Receive handles a text from a patient: duplicates are dropped, carrier keywords come first
// (STOP, START, HELP), then the patient's open check-in takes the reply; anything else goes to
// a human. Texts that arrive together are handled together, in one transaction.
func (e *Engine) Receive(ctx context.Context, in Inbound) (Handled, error) {
	h, err := e.inbox.receive(ctx, in, e.receiveBatch)
	if err != nil {
		return "", fmt.Errorf("error handling inbound message: %w", err)
	}
	return h, nil
}

// receiveBatch handles a batch of texts in one transaction. When that fails, each text is
// handled again alone, so that one text's trouble stays its own.
func (e *Engine) receiveBatch(ctx context.Context, batch []*delivery) {
	ctx, cancel := context.WithTimeout(ctx, WebhookDeadline)
	defer cancel()
	err := e.receiveOnPrimary(ctx, batch)
	if err != nil && len(batch) > 1 && ctx.Err() == nil {
		e.Log.Warn("a batch of inbound messages failed: handling each alone", "messages", len(batch), "err", err)
		for _, d := range batch {
			d.err = e.receiveOnPrimary(ctx, []*delivery{d})
		}
		return
	}
	for _, d := range batch {
		d.err = err
	}
}

// receiveTogether handles texts, one per number, in one transaction, and sets what became of
// each.
func (e *Engine) receiveTogether(ctx context.Context, batch []*delivery) error {
	return aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		now := e.now()
		phones, bodies, sids := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
		for i, d := range batch {
			d.out = ""
			phones[i], bodies[i], sids[i] = d.in.From, cleanBody(d.in.Body), d.in.SID
			if !ident.E164(d.in.From) {
				phones[i] = "" // no patient has it: the text goes nowhere
			}
		}
		var senders []sender
		from, to := recentMonths(now)
		if err := tx.SelectContext(ctx, &senders, receiveTexts, e.pid(), pq.Array(phones), pq.Array(bodies), pq.Array(sids), now,
			from, to); err != nil {
			return err
		}
		if err := e.afterStaff(ctx, tx, senders, from); err != nil {
			return err
		}
		stored := map[string]bool{} // a row per patient of a number: its text counts once
		for _, s := range senders {
			if s.Stored {
				stored[s.Phone] = true
			}
		}
		e.Metrics.textsReceived(ctx, len(stored))
		byPhone := map[string][]sender{}
		for _, s := range senders {
			byPhone[s.Phone] = append(byPhone[s.Phone], s)
		}
		var replies []pendingReply
		for i, d := range batch {
			from, body := byPhone[d.in.From], bodies[i]
			switch {
			case len(from) == 0 && ident.E164(d.in.From):
				d.out = HandledDuplicate // from a number no patient has, and stored before
				continue
			case len(from) == 0:
				d.out = HandledUnknown // no number to keep it under: not stored
				continue
			case !from[0].Stored:
				d.out = HandledDuplicate
				continue
			case from[0].ID == 0:
				d.out = HandledUnknown
				if err := e.fromUnknown(ctx, tx, d.in.From, body, now); err != nil {
					return err
				}
				continue
			}
			p := from[0]
			for _, s := range from {
				if s.Checkin != nil {
					p = s
					break
				}
			}
			var err error
			// A plain request to stop opts out; a doubtful one (or one with emergency words, which
			// come first) goes to a human, and the text goes on to the check-in, if it is in one.
			kw, intent, emergency := ClassifyKeyword(body), ClassifyOptOut(body), scripts.Emergency(body)
			asked := kw == NoKeyword && intent == OptOutClear && !emergency
			doubt := kw == NoKeyword && !p.OptedOut && (intent == OptOutDoubtful || intent == OptOutClear && emergency)
			if doubt {
				if err := e.possibleOptOut(ctx, tx, p.ID, body, now); err != nil {
					return err
				}
			}
			switch {
			case kw == KeywordStop:
				d.out = HandledStop
				_, err = e.optOut(ctx, tx, d.in.From, "sms", "keyword", audit.ActorSystem, now)
			case asked:
				d.out = HandledStop
				err = e.optOutAsked(ctx, tx, p, d.in.From, now)
			case doubt && !emergency && (p.Checkin == nil || p.AfterStaff):
				d.out = HandledMessage // kept on the possible opt-out's item
			case kw == KeywordStart || (kw == KeywordYes && p.OptedOut):
				d.out = HandledStart
				err = e.optIn(ctx, tx, d.in.From, now)
			case kw == KeywordHelp:
				d.out = HandledHelp
				if !p.OptedOut {
					err = e.queue(ctx, tx, p.ID, p.Checkin, d.in.From, Outgoing{Kind: "notice", Body: e.helpText(p.Language)}, now)
				}
			case p.Checkin != nil && !p.OptedOut && !p.AfterStaff:
				d.out = HandledAnswer
				if s := e.script(p.Open.Script); s != nil && p.Open.Question != nil {
					replies = append(replies, pendingReply{patient: p.ID, checkin: *p.Checkin, open: p.Open, script: s, body: body, textTo: d.in.From})
				} else {
					err = e.message(ctx, tx, p, d.in.From, body, now)
				}
			default:
				d.out = HandledMessage
				err = e.message(ctx, tx, p, d.in.From, body, now)
			}
			if err != nil {
				return err
			}
		}
		_, err := e.replyAll(ctx, tx, replies, now)
		return err
	})
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
	name := e.teamName("Your care team")
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
VALUES ($1, NULLIF($2, 0), $3, 'out', $4, $5, $6, 'queued', true, $7, $7, $7)`

// queue puts a reply to the patient (0: to a number no patient has) in the outbox, ahead of
// scheduled messages and whatever the hour: they just wrote to us.
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
	RETURNING script_id, channel, status
), k AS (
	UPDATE calls SET status = 'cancelled', ended_at = $1, updated_at = $1
	WHERE practice_id = $2 AND patient_id = ANY ($3::bigint[]) AND status = 'queued'
	RETURNING status
), m AS (
	UPDATE messages SET status = 'cancelled', updated_at = $1
	WHERE practice_id = $2 AND patient_id = ANY ($3::bigint[]) AND status = 'queued' AND direction = 'out'
)
SELECT script_id, channel, status, false AS call FROM c
UNION ALL SELECT '', '', status, true FROM k`

// cancelOpen cancels the open check-ins, queued calls and queued texts of patients, and counts
// the check-ins and calls it ended.
func (e *Engine) cancelOpen(ctx context.Context, tx *sqlx.Tx, patients []int64, now time.Time) error {
	var ended []struct {
		checkinRow
		Call bool `db:"call"`
	}
	if err := tx.SelectContext(ctx, &ended, cancelOpenFor, now, e.pid(), pq.Array(patients)); err != nil {
		return err
	}
	for _, r := range ended {
		if r.Call {
			e.Metrics.callsEnded(ctx, []string{r.Status})
		} else {
			e.Metrics.checkinsEnded(ctx, []checkinRow{r.checkinRow})
		}
	}
	return nil
}

// optOut stops all texts and calls to a number: every patient with it is opted out, their open
// check-ins, queued messages and queued calls are cancelled. how says how they asked (keyword,
// plain_language, …) for the audit log. It returns how many patients it opted out.
func (e *Engine) optOut(ctx context.Context, tx *sqlx.Tx, phone, source, how string, actor audit.Actor, now time.Time) (int, error) {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, markOptedOut, now, source, e.pid(), phone); err != nil {
		return 0, fmt.Errorf("error opting out: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := e.cancelOpen(ctx, tx, ids, now); err != nil {
		return 0, fmt.Errorf("error cancelling check-ins after an opt-out: %w", err)
	}
	for _, id := range ids {
		if err := audit.Record(ctx, tx, audit.Event{PracticeID: e.pid(), At: now, Actor: actor,
			Action: "patient.opt_out", Entity: "patient", EntityID: strconv.FormatInt(id, 10),
			Detail: map[string]any{"source": source, "how": how}}); err != nil {
			return 0, err
		}
	}
	e.Log.Info("patients opted out of texts", "patients", ids, "source", source)
	return len(ids), nil
}

// optOutAsked opts a patient's number out on a request in plain words ("don't text me anymore"),
// which carriers do not act on, and confirms it with one text that goes though they opted out.
func (e *Engine) optOutAsked(ctx context.Context, tx *sqlx.Tx, p sender, phone string, now time.Time) error {
	n, err := e.optOut(ctx, tx, phone, "sms", "plain_language", audit.ActorSystem, now)
	if err != nil || n == 0 {
		return err
	}
	return e.queue(ctx, tx, p.ID, nil, phone, Outgoing{Kind: "confirmation", Body: e.optOutText(p.Language)}, now)
}

const selectOptOutOf = `SELECT phone, language FROM patients WHERE practice_id = $1 AND id = $2 AND opted_out_at IS NULL`

// RecordOptOut records a request to stop the texts that a staff member took (on the phone, in
// person, or in a text a human read as one): the patient's number is opted out as by STOP,
// audited as the staff member's, and confirmed with one text. errkind.ErrConflict when the patient
// has already opted out or has no phone.
func (e *Engine) RecordOptOut(ctx context.Context, patient int64, who staff.Identity) error {
	now := e.now()
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var p struct {
			Phone    *string `db:"phone"`
			Language string  `db:"language"`
		}
		err := tx.GetContext(ctx, &p, selectOptOutOf, e.pid(), patient)
		switch {
		case db.IsNoRows(err):
			return errkind.Errorf(errkind.ErrConflict, "the patient has already opted out, or is unknown")
		case err != nil:
			return err
		case p.Phone == nil:
			return errkind.Errorf(errkind.ErrConflict, "the patient has no phone number on file")
		}
		if _, err := e.optOut(ctx, tx, *p.Phone, "staff", "recorded_by_staff", who.Actor(), now); err != nil {
			return err
		}
		return e.queue(ctx, tx, patient, nil, *p.Phone, Outgoing{Kind: "confirmation", Body: e.optOutText(p.Language)}, now)
	})
	if err != nil {
		return fmt.Errorf("error recording an opt-out: %w", err)
	}
	return nil
}

// optOutText confirms an opt-out: no more texts, and how to get them again.
func (e *Engine) optOutText(lang string) string {
	name := e.teamName("your care team")
	if lang == string(scripts.Spanish) {
		return "No recibirá más mensajes de " + name + ". Responda START para recibirlos de nuevo."
	}
	return "You will get no more texts from " + name + ". Reply START to get them again."
}

// teamName is the practice's name as texts give it, or unnamed when it has none.
func (e *Engine) teamName(unnamed string) string {
	if e.Contact.Name != "" {
		return e.Contact.Name
	}
	return unnamed
}

// possibleOptOutDays is how many business days a human has to decide on a text that may ask
// to stop the texts.
const possibleOptOutDays = 10

// possibleOptOut raises the item on which a human decides whether a text asked to stop the
// texts (then records the opt-out on the patient's page) or not.
func (e *Engine) possibleOptOut(ctx context.Context, tx *sqlx.Tx, patient int64, body string, now time.Time) error {
	return e.raise(ctx, tx, escalation.Item{PracticeID: e.pid(), PatientID: patient, Severity: escalation.Routine,
		Source: escalation.SourceOptOutRequest, Reason: "Possible request to stop the texts: decide and record it",
		Text: body, DueAt: escalation.BusinessDaysAfter(now, possibleOptOutDays, e.Practice.Location)}, now)
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
	// Started is when the check-in started: its answers were all given since. Zero when not
	// known, which reads every month of answers.
	Started time.Time `db:"started_at"`
}

// pendingReply is a reply (a text, or what the patient pressed or said on a call) to an open
// check-in the transaction has locked.
type pendingReply struct {
	patient, checkin int64
	open             openCheckin
	script           *scripts.Script
	body             string
	textTo           string // the number the step's texts go to; empty on a call, which says them
}

// storedAnswer is an answer a check-in already has.
type storedAnswer struct {
	Checkin  int64  `db:"checkin_id"`
	Question string `db:"question_id"`
	Value    string `db:"value"`
	Raw      string `db:"raw"`
}

// selectAnswers reads the answers of check-ins that started after $3 (see answersFrom), given
// before $4: only the monthly partitions between are planned and read. Each check-in is looked up by itself, so that a
// month's partition whose statistics are not yet made is still read by its key, not scanned.
const selectAnswers = `
SELECT a.checkin_id, a.question_id, a.value, a.raw FROM unnest($2::bigint[]) AS c (id)
JOIN checkin_answers a ON a.practice_id = $1 AND a.checkin_id = c.id AND a.answered_at >= $3 AND a.answered_at < $4`

// recordSteps stores steps of conversations in one statement: the answers (when a question was
// answered or given up on), where each check-in stands now, and the texts the steps send,
// queued in their order ahead of scheduled messages and whatever the hour. A question's first
// answer is the one kept: an answer is stored only while its question has none, which the
// check-in's row lock, held by every caller, makes safe. $15 and $16 bound the answers looked
// for, as in selectAnswers.
const recordSteps = `
WITH step AS (
	SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])
		AS s (checkin, answered, value, raw, next, reasks, status)
), answer AS (
	INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
	SELECT $1, checkin, answered, value, raw, $9 FROM step s WHERE answered <> ''
		AND NOT EXISTS (SELECT 1 FROM checkin_answers a WHERE a.practice_id = $1 AND a.checkin_id = s.checkin
			AND a.question_id = s.answered AND a.answered_at >= $15 AND a.answered_at < $16)
	RETURNING checkin_id, value
), advance AS (
	UPDATE checkins c SET question_id = NULLIF(s.next, ''), reasks = s.reasks, reminded_at = NULL, last_sent_at = $9,
		status = s.status, ended_at = CASE WHEN s.status <> 'open' THEN $9::timestamptz END
	FROM step s
	WHERE c.practice_id = $1 AND c.id = s.checkin
	RETURNING c.id, c.script_id, c.channel, c.status
), queued AS (
	INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, immediate,
		next_attempt_at, created_at, updated_at)
	SELECT $1, m.patient, m.checkin, 'out', m.kind, m.phone, m.body, 'queued', true, $9, $9, $9
	FROM unnest($10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[]) WITH ORDINALITY
		AS m (patient, checkin, phone, kind, body, n)
	ORDER BY m.n
)
-- What the metrics count: check-ins ended, and questions given up on (an answer stored empty).
SELECT a.script_id, a.channel, a.status, EXISTS (SELECT 1 FROM answer w WHERE w.checkin_id = a.id AND w.value = '') AS gave_up
FROM advance a`

// replyAll gives replies to their check-ins: their answers are stored, their rules raise
// items, and each check-in moves to its next question, a re-ask or its end; the texts the
// steps send are queued. It returns the steps, in the replies' order.
func (e *Engine) replyAll(ctx context.Context, tx *sqlx.Tx, rs []pendingReply, now time.Time) ([]Step, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.checkin
	}
	// Answers come after their check-in's start, and before the end of the month after now's
	// (a process's clock may be ahead): the months of partitions outside are not planned.
	from := answersFrom(rs)
	_, to := recentMonths(now)
	var stored []storedAnswer
	if err := tx.SelectContext(ctx, &stored, selectAnswers, e.pid(), pq.Array(ids), from, to); err != nil {
		return nil, err
	}
	answers := map[int64][]storedAnswer{}
	for _, a := range stored {
		answers[a.Checkin] = append(answers[a.Checkin], a)
	}
	steps := make([]Step, len(rs))
	var rec stepRecords
	for i, r := range rs {
		st := converse(r, answers[r.checkin])
		for _, it := range st.Raise {
			item := escalation.Item{PracticeID: e.pid(), PatientID: r.patient, CheckinID: &r.checkin,
				Severity: escalation.Severity(it.Severity), Reason: it.Reason, Source: escalation.Source(it.Source),
				Question: it.Question, Answer: it.Value, Text: r.body}
			raised, err := escalation.Raise(ctx, tx, item, e.Due, now, e.Practice.Location)
			if err != nil {
				return nil, err
			}
			e.raised(ctx, item, raised)
		}
		rec.add(r, st)
		if st.Done {
			e.Log.Info("check-in ended", "checkin", r.checkin, "patient", r.patient, "script", r.script.ID, "status", st.status())
		}
		steps[i] = st
	}
	var recorded []struct {
		checkinRow
		GaveUp bool `db:"gave_up"`
	}
	if err := tx.SelectContext(ctx, &recorded, recordSteps, e.pid(), pq.Array(rec.checkin), pq.Array(rec.answered), pq.Array(rec.value),
		pq.Array(rec.raw), pq.Array(rec.next), pq.Array(rec.reasks), pq.Array(rec.status), now,
		pq.Array(rec.msgPatient), pq.Array(rec.msgCheckin), pq.Array(rec.msgPhone), pq.Array(rec.msgKind), pq.Array(rec.msgBody),
		from, to); err != nil {
		return nil, err
	}
	for _, r := range recorded {
		e.Metrics.checkinsEnded(ctx, []checkinRow{r.checkinRow})
		if r.GaveUp {
			e.Metrics.answerGivenUp(ctx, r.Script)
		}
	}
	return steps, nil
}

// answersSkew is how much earlier than its check-in's start an answer may be stamped: the
// clocks of the processes that start check-ins and take replies may differ by that much.
const answersSkew = 24 * time.Hour

// answersFrom is a time no answer of the replies' check-ins was given before: the earliest
// start among them, less answersSkew; the zero time when a start is not known.
func answersFrom(rs []pendingReply) time.Time {
	var from time.Time
	for i, r := range rs {
		if r.open.Started.IsZero() {
			return time.Time{}
		}
		if i == 0 || r.open.Started.Before(from) {
			from = r.open.Started
		}
	}
	return from.Add(-answersSkew)
}

// recentMonths is where receiveTexts looks first for the last text a patient got: the UTC
// months before now's, now's and the next (a text queued by a process whose clock is ahead), so
// that a text sent late last month is found among three monthly partitions.
func recentMonths(now time.Time) (from, to time.Time) {
	m := history.MonthOf(now)
	return m.Add(-1).Start(), m.Add(2).Start()
}

// converse runs the conversation of a check-in, with the answers it already has, on a reply.
func converse(r pendingReply, stored []storedAnswer) Step {
	s := r.script
	conv := Conversation{Script: s, Lang: language(s, r.open.Language), Current: *r.open.Question, Reasks: r.open.Reasks,
		Answered: map[string]scripts.Answer{}}
	for _, a := range stored {
		if q := s.Question(a.Question); q != nil && a.Value != "" {
			if parsed, err := q.Parse(a.Raw); err == nil {
				conv.Answered[a.Question] = parsed
			}
		}
	}
	return conv.Reply(r.body)
}

// stepRecords are steps as the columns recordSteps takes.
type stepRecords struct {
	checkin                    []int64
	answered, value, raw, next []string
	reasks                     []int64
	status                     []string
	msgPatient, msgCheckin     []int64
	msgPhone, msgKind, msgBody []string
}

func (rec *stepRecords) add(r pendingReply, st Step) {
	answered, value := "", ""
	if st.Question != "" && st.Next != st.Question {
		// Answered, or given up on after the re-asks: either way the reply is kept.
		answered = st.Question
		if st.Answer != nil {
			value = st.Answer.Value
		}
	}
	rec.checkin = append(rec.checkin, r.checkin)
	rec.answered, rec.value, rec.raw = append(rec.answered, answered), append(rec.value, value), append(rec.raw, r.body)
	rec.next, rec.reasks, rec.status = append(rec.next, st.Next), append(rec.reasks, int64(st.Reasks)), append(rec.status, st.status())
	if r.textTo == "" {
		return
	}
	for _, m := range st.Send {
		rec.msgPatient, rec.msgCheckin = append(rec.msgPatient, r.patient), append(rec.msgCheckin, r.checkin)
		rec.msgPhone, rec.msgKind, rec.msgBody = append(rec.msgPhone, r.textTo), append(rec.msgKind, m.Kind), append(rec.msgBody, m.Body)
	}
}

// recentNotice tells whether a patient ($2), or a number no patient has ($3), was sent an
// acknowledgement since $4.
const recentNotice = `
SELECT EXISTS (SELECT 1 FROM messages WHERE practice_id = $1
	AND CASE WHEN $2::bigint > 0 THEN patient_id = $2 ELSE patient_id IS NULL AND phone = $3 END
	AND direction = 'out' AND kind = 'notice' AND created_at > $4)`

// acknowledged reports whether an acknowledgement went to the patient or number in the last day.
func (e *Engine) acknowledged(ctx context.Context, tx *sqlx.Tx, patient int64, phone string, now time.Time) (bool, error) {
	var acked bool
	err := tx.GetContext(ctx, &acked, recentNotice, e.pid(), patient, phone, now.Add(-24*time.Hour))
	return acked, err
}

// message handles a text outside any check-in, or a reply to a text staff wrote: it joins the
// patient's conversation and lands on their open item, or opens one, so that a human reads it.
// Emergency words get the safety message and an urgent item; other texts an acknowledgement
// (once a day), unless the patient is answering staff, who read it anyway.
func (e *Engine) message(ctx context.Context, tx *sqlx.Tx, p sender, phone, body string, now time.Time) error {
	lang := scripts.Language(p.Language)
	it := escalation.Item{PracticeID: e.pid(), PatientID: p.ID, Severity: escalation.Routine,
		Source: escalation.SourceMessage, Reason: "Message from the patient outside a check-in", Text: body}
	var reply *Outgoing
	switch {
	case scripts.Emergency(body):
		it.Severity, it.Source, it.Reason = escalation.Urgent, escalation.SourceEmergency, "Emergency words in a message"
		reply = &Outgoing{Kind: "safety", Body: scripts.EmergencyMessage.In(lang)}
	case p.OptedOut:
		it.Reason = "Message from a patient who opted out of texts"
	case !p.AfterStaff:
		acked, err := e.acknowledged(ctx, tx, p.ID, phone, now)
		if err != nil {
			return err
		}
		if !acked {
			reply = &Outgoing{Kind: "notice", Body: ackText.In(lang)}
		}
	}
	if err := e.raise(ctx, tx, it, now); err != nil {
		return err
	}
	if reply != nil && !p.OptedOut {
		return e.queue(ctx, tx, p.ID, nil, phone, *reply, now)
	}
	return nil
}

// fromUnknown handles a text from a number that matches no patient: it is kept (stored with no
// patient) and a human reads it on an item of that number. HELP is answered, emergency words
// get the safety message and an urgent item, STOP and START are left to the carrier; anything
// else gets an acknowledgement once a day. Not knowing the sender's language, replies are in
// English and Spanish.
func (e *Engine) fromUnknown(ctx context.Context, tx *sqlx.Tx, phone, body string, now time.Time) error {
	it := escalation.Item{PracticeID: e.pid(), Phone: phone, Severity: escalation.Routine,
		Source: escalation.SourceMessage, Reason: "Message from a number that matches no patient", Text: body}
	var reply *Outgoing
	switch kw := ClassifyKeyword(body); {
	case kw == KeywordStop || kw == KeywordStart:
		return nil
	case kw == KeywordHelp:
		return e.queue(ctx, tx, 0, nil, phone, Outgoing{Kind: "notice",
			Body: e.helpText(string(scripts.English)) + "\n" + e.helpText(string(scripts.Spanish))}, now)
	case scripts.Emergency(body):
		it.Severity, it.Source = escalation.Urgent, escalation.SourceEmergency
		it.Reason = "Emergency words from a number that matches no patient"
		reply = &Outgoing{Kind: "safety", Body: bilingual(scripts.EmergencyMessage)}
	default:
		acked, err := e.acknowledged(ctx, tx, 0, phone, now)
		if err != nil {
			return err
		}
		if !acked {
			reply = &Outgoing{Kind: "notice", Body: bilingual(ackText)}
		}
	}
	if err := e.raise(ctx, tx, it, now); err != nil {
		return err
	}
	if reply != nil {
		return e.queue(ctx, tx, 0, nil, phone, *reply, now)
	}
	return nil
}

// raise puts a text's item in the queue: a message on the open item of the patient (or
// number), or a new one; anything else (emergency words, a possible opt-out) on an item of its
// own reason.
func (e *Engine) raise(ctx context.Context, tx *sqlx.Tx, it escalation.Item, now time.Time) error {
	add := escalation.Raise
	if it.Source == escalation.SourceMessage {
		add = escalation.AddText
	}
	raised, err := add(ctx, tx, it, e.Due, now, e.Practice.Location)
	if err != nil {
		return err
	}
	e.raised(ctx, it, raised)
	return nil
}

// bilingual is a text in English, then in Spanish.
func bilingual(t scripts.Text) string {
	return t.In(scripts.English) + "\n" + t.In(scripts.Spanish)
}

var ackText = scripts.Text{
	scripts.English: "Thank you. Your care team will read your message. In an emergency call 911.",
	scripts.Spanish: "Gracias. Su equipo de cuidado leerá su mensaje. En una emergencia llame al 911.",
}
