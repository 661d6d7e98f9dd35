package outreach

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/history"
	"github.com/outreach-engine/outreach/staff"
)

// Party is whom a conversation is with: a patient, or a number that matches no patient.
type Party struct {
	Patient int64  // the patient's internal id; 0 for a number no patient has
	Phone   string // the number, when there is no patient
}

// MessageView is one text of a conversation as the care team reads it: in or out, automated or
// written by a staff member (Staff, their own id).
type MessageView struct {
	ID        int64     `db:"id" json:"id"`
	Direction string    `db:"direction" json:"direction"`
	Kind      string    `db:"kind" json:"kind"`
	Body      string    `db:"body" json:"body"`
	Status    string    `db:"status" json:"status"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	Staff     *string   `db:"staff" json:"staff"`
}

// threadColumns reads MessageViews; it is completed with the party and the order.
const threadColumns = `
SELECT m.id, m.direction, m.kind, m.body, m.status, m.created_at, s.ext_id AS staff
FROM messages m LEFT JOIN staff s ON s.practice_id = m.practice_id AND s.id = m.staff_id
`

// The texts of a conversation before ($4, $5) in its order (created_at, id), created since $6:
// only the monthly partitions from $6 to $4 are planned and read.
var (
	selectPatientThread = threadColumns + `WHERE m.practice_id = $1 AND m.patient_id = $2
	AND m.created_at >= $6 AND m.created_at <= $4 AND (m.created_at, m.id) < ($4, $5)
ORDER BY m.created_at DESC, m.id DESC LIMIT $3`
	selectNumberThread = threadColumns + `WHERE m.practice_id = $1 AND m.patient_id IS NULL AND m.phone = $2
	AND m.created_at >= $6 AND m.created_at <= $4 AND (m.created_at, m.id) < ($4, $5)
ORDER BY m.created_at DESC, m.id DESC LIMIT $3`
)

// The instant of a text of a conversation, the place a page of older texts starts from.
const (
	selectPatientTextAt = `SELECT created_at FROM messages WHERE practice_id = $1 AND id = $3 AND patient_id = $2`
	selectNumberTextAt  = `SELECT created_at FROM messages WHERE practice_id = $1 AND id = $3 AND patient_id IS NULL AND phone = $2`
)

// MaxThread is the most texts a conversation is read with at once.
const MaxThread = 500

// Thread returns the newest texts of a conversation, newest first, at most limit. Reading it is
// a read of the patient's record: the caller audits it.
func (e *Engine) Thread(ctx context.Context, q db.Querier, with Party, limit int) ([]MessageView, error) {
	return e.ThreadBefore(ctx, q, with, 0, limit)
}

// ThreadBefore returns, newest first, at most limit texts of a conversation older than its text
// before (0: the newest texts): a page of it, whose last text's id gives the next page. A
// before that is not a text of the conversation is errkind.ErrInvalid. Reading it is a read of
// the patient's record: the caller audits it.
//
// The months just before the page's start are read first, and the older ones only when those
// do not fill the page: a conversation's page costs a few monthly partitions, not a year.
func (e *Engine) ThreadBefore(ctx context.Context, q db.Querier, with Party, before int64, limit int) ([]MessageView, error) {
	party, list, at := any(with.Phone), selectNumberThread, selectNumberTextAt
	if with.Patient > 0 {
		party, list, at = with.Patient, selectPatientThread, selectPatientTextAt
	}
	// The page ends before (until, last); it starts in the recent months, from since.
	since, until := recentMonths(e.now())
	var last int64
	if before > 0 {
		err := q.GetContext(ctx, &until, at, e.pid(), party, before)
		if db.IsNoRows(err) {
			return nil, errkind.Errorf(errkind.ErrInvalid, "before: no text %d in this conversation", before)
		}
		if err != nil {
			return nil, fmt.Errorf("error reading a conversation: %w", err)
		}
		last, since = before, history.MonthOf(until).Add(-1).Start()
	}
	out := []MessageView{}
	if err := q.SelectContext(ctx, &out, list, e.pid(), party, limit, until, last, since); err != nil {
		return nil, fmt.Errorf("error reading a conversation: %w", err)
	}
	if len(out) < limit {
		var older []MessageView
		if err := q.SelectContext(ctx, &older, list, e.pid(), party, limit-len(out), since, 0, time.Time{}); err != nil {
			return nil, fmt.Errorf("error reading a conversation: %w", err)
		}
		out = append(out, older...)
	}
	return out, nil
}

const selectPatientText = threadColumns + `WHERE m.practice_id = $1 AND m.id = $2 AND m.patient_id IS NOT NULL`

const selectTextPatient = `SELECT patient_id FROM messages WHERE practice_id = $1 AND id = $2 AND patient_id IS NOT NULL`

// Text returns one of a patient's texts and the (internal) id of the patient; errkind.ErrNotFound
// when the practice has no text id of a patient. Reading it is a read of the patient's record:
// the caller audits it.
func (e *Engine) Text(ctx context.Context, q db.Querier, id int64) (MessageView, int64, error) {
	var m MessageView
	var patient int64
	err := q.GetContext(ctx, &patient, selectTextPatient, e.pid(), id)
	if err == nil {
		err = q.GetContext(ctx, &m, selectPatientText, e.pid(), id)
	}
	if db.IsNoRows(err) {
		return MessageView{}, 0, errkind.Errorf(errkind.ErrNotFound, "no text %d", id)
	}
	if err != nil {
		return MessageView{}, 0, fmt.Errorf("error reading text %d: %w", id, err)
	}
	return m, patient, nil
}

// MaxStaffText is the longest text staff may write: what a provider delivers as one message.
const MaxStaffText = maxBody

// lockRecipient locks the patient a staff text goes to, so that an opt-out and the text do not
// cross, and says whether they may be written to and whether they wrote in the last hour.
const lockRecipient = `
SELECT p.phone, p.opted_out_at IS NOT NULL AS opted_out,
	EXISTS (SELECT 1 FROM messages m WHERE m.practice_id = p.practice_id AND m.patient_id = p.id
		AND m.direction = 'in' AND m.created_at > $3) AS wrote
FROM patients p WHERE p.practice_id = $1 AND p.id = $2
FOR NO KEY UPDATE`

const numberWrote = `
SELECT EXISTS (SELECT 1 FROM messages m WHERE m.practice_id = $1 AND m.patient_id IS NULL AND m.phone = $2
	AND m.direction = 'in' AND m.created_at > $3)`

const insertStaffText = `
INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, immediate, staff_id,
	next_attempt_at, created_at, updated_at)
VALUES ($1, NULLIF($2, 0), 'out', 'staff', $3, $4, 'queued', $5, $6, $7, $7, $7)
RETURNING id, direction, kind, body, status, created_at`

// conversing is how recently a patient must have written for a staff text to go at once,
// whatever the hour: within it, they are in a conversation.
const conversing = time.Hour

// SendStaffText queues a text a staff member wrote, in the outbox like every other text (sent
// once, its delivery tracked). It goes at once when the patient wrote within the last hour;
// otherwise it waits for the end of the patient's quiet hours. A patient who opted out is not
// written to (errkind.ErrConflict); an empty or overlong text is errkind.ErrInvalid.
func (e *Engine) SendStaffText(ctx context.Context, to Party, who staff.Identity, body string) (MessageView, error) {
	body = strings.TrimSpace(body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return MessageView{}, errkind.Errorf(errkind.ErrInvalid, "body is empty: write the text to send")
	case n > MaxStaffText:
		return MessageView{}, errkind.Errorf(errkind.ErrInvalid, "body is %d characters long; a text has at most %d", n, MaxStaffText)
	}
	now := e.now()
	var m MessageView
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		phone, wrote := to.Phone, false
		if to.Patient > 0 {
			var p struct {
				Phone    *string `db:"phone"`
				OptedOut bool    `db:"opted_out"`
				Wrote    bool    `db:"wrote"`
			}
			err := tx.GetContext(ctx, &p, lockRecipient, e.pid(), to.Patient, now.Add(-conversing))
			switch {
			case db.IsNoRows(err):
				return errkind.Errorf(errkind.ErrNotFound, "no such patient")
			case err != nil:
				return err
			case p.OptedOut:
				return errkind.Errorf(errkind.ErrConflict, "the patient opted out of texts: nothing was sent")
			case p.Phone == nil:
				return errkind.Errorf(errkind.ErrConflict, "the patient has no phone number on file: nothing was sent")
			}
			phone, wrote = *p.Phone, p.Wrote
		} else if err := tx.GetContext(ctx, &wrote, numberWrote, e.pid(), phone, now.Add(-conversing)); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &m, insertStaffText, e.pid(), to.Patient, phone, body, wrote, who.StaffID, now); err != nil {
			return err
		}
		m.Staff = &who.Staff
		entity, id := "message", strconv.FormatInt(m.ID, 10)
		if to.Patient > 0 {
			entity, id = "patient", strconv.FormatInt(to.Patient, 10)
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: e.pid(), At: now, Actor: who.Actor(),
			Action: entity + ".message", Entity: entity, EntityID: id, Detail: map[string]any{"message": m.ID, "at_once": wrote}})
	})
	if err != nil {
		return MessageView{}, fmt.Errorf("error sending a staff text: %w", err)
	}
	e.Log.Info("staff text queued", "message", m.ID, "patient", to.Patient, "staff", who.StaffID)
	return m, nil
}

const movesNumberTexts = `
UPDATE messages SET patient_id = $2 WHERE practice_id = $1 AND patient_id IS NULL AND phone = $3`

// AttachNumber gives an item about a number that matched no patient to a patient (by their own
// id), with the number's texts, which join the patient's conversation. It returns the item that
// holds the firings now (another open item of the patient's, when they merge).
func (e *Engine) AttachNumber(ctx context.Context, item int64, patientExt string, staff int64) (int64, error) {
	var holder int64
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var patient int64
		err := tx.GetContext(ctx, &patient, selectPatientID, e.pid(), patientExt)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrInvalid, "no patient %q", patientExt)
		}
		if err != nil {
			return err
		}
		var phone string
		if holder, phone, err = escalation.AttachPatient(ctx, tx, e.Escalations, e.pid(), item, patient, staff, e.now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, movesNumberTexts, e.pid(), patient, phone)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("error attaching item %d to a patient: %w", item, err)
	}
	return holder, nil
}
