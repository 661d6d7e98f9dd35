package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/scripts"
)

// markReminded picks a script's open check-ins whose last message went out at least `after`
// ago, with nothing of theirs still waiting to go, and that had no reminder since. A check-in's
// last message went out after it started: the bound on the start reads only the open check-ins
// that started long enough ago (checkins_open_by_start), not the day's.
const markReminded = `
UPDATE checkins c SET reminded_at = $1
FROM patients p
WHERE c.practice_id = $2 AND c.script_id = $3 AND c.status = 'open' AND c.channel = 'sms'
	AND c.reminded_at IS NULL AND c.started_at <= $4 AND c.last_sent_at <= $4 AND c.question_id IS NOT NULL
	AND p.practice_id = c.practice_id AND p.id = c.patient_id AND p.opted_out_at IS NULL AND p.phone IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.practice_id = c.practice_id AND m.checkin_id = c.id
		AND m.status IN ('queued', 'sending', 'unknown'))
RETURNING c.id, c.patient_id, c.language, c.question_id, p.phone`

const queueMany = `
INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status,
	next_attempt_at, created_at, updated_at)
SELECT $1, u.patient, u.checkin, 'out', $2, u.phone, u.body, 'queued', $3, $3, $3
FROM unnest($4::bigint[], $5::bigint[], $6::text[], $7::text[]) AS u (patient, checkin, phone, body)`

// FollowUpResult counts what a follow-up pass did.
type FollowUpResult struct {
	Reminded int
	Expired  int
}

// followUpCutoffs is when a script's open check-ins are due at now: a reminder for those whose
// last message went out at or before remindBefore (remind false: the script sends none),
// expiry for those whose last message went out at or before expireBefore.
func followUpCutoffs(s *scripts.Script, now time.Time) (remindBefore time.Time, remind bool, expireBefore time.Time) {
	expireBefore = now.Add(-time.Duration(s.Expire))
	if s.Reminder == 0 {
		return time.Time{}, false, expireBefore
	}
	return now.Add(-time.Duration(s.Reminder)), true, expireBefore
}

// selectFollowUpsDue says, for each script ($2) with its cutoffs (see followUpCutoffs: $3 for
// expiry, $4 for reminders, null for none), whether any open check-in is past a cutoff: a
// necessary condition of markReminded's and expireCheckins' own, read through the partial
// indexes of open (checkins_open_by_start) and not yet reminded (checkins_to_remind) check-ins
// by their start, which a check-in's last message never precedes. A minute with nothing due is
// this one statement. Each test stops at the first check-in found, so its plan stays an index
// probe whatever the statistics say (right after a large start they count every open check-in
// as started long ago).
const selectFollowUpsDue = `
SELECT f.script,
	EXISTS (SELECT 1 FROM checkins c WHERE c.practice_id = $1 AND c.script_id = f.script AND c.status = 'open'
		AND c.started_at <= f.expire_before AND c.last_sent_at <= f.expire_before) AS expire,
	EXISTS (SELECT 1 FROM checkins c WHERE c.practice_id = $1 AND c.script_id = f.script AND c.status = 'open'
		AND c.channel = 'sms' AND c.reminded_at IS NULL AND c.question_id IS NOT NULL
		AND c.started_at <= f.remind_before AND c.last_sent_at <= f.remind_before) AS remind
FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS f (script, expire_before, remind_before)`

// followUpDue is one row of selectFollowUpsDue.
type followUpDue struct {
	Script string `db:"script"`
	Expire bool   `db:"expire"`
	Remind bool   `db:"remind"`
}

// FollowUp reminds patients who have not answered and expires the check-ins that stayed
// unanswered, each by its script's settings; an expired check-in becomes a routine item asking
// staff to call the patient. One statement first finds the scripts with a check-in past a
// cutoff; only theirs are expired or reminded.
func (e *Engine) FollowUp(ctx context.Context) (FollowUpResult, error) {
	var res FollowUpResult
	now := e.now()
	ids := e.Scripts.IDs()
	expireBefore := make([]time.Time, len(ids))
	remindBefore := make([]*time.Time, len(ids))
	for i, id := range ids {
		r, remind, x := followUpCutoffs(e.Scripts[id], now)
		expireBefore[i] = x
		if remind {
			remindBefore[i] = &r
		}
	}
	var due []followUpDue
	if err := e.DB.SelectContext(ctx, &due, selectFollowUpsDue, e.pid(), pq.Array(ids), pq.Array(expireBefore),
		pq.Array(remindBefore)); err != nil {
		return res, fmt.Errorf("error finding check-ins due a reminder or expiry: %w", err)
	}
	dueOf := make(map[string]followUpDue, len(due))
	for _, d := range due {
		dueOf[d.Script] = d
	}
	for _, id := range ids {
		s, d := e.Scripts[id], dueOf[id]
		if d.Expire {
			n, err := e.expire(ctx, s, now)
			if err != nil {
				return res, err
			}
			res.Expired += n
		}
		if d.Remind {
			n, err := e.remind(ctx, s, now)
			if err != nil {
				return res, err
			}
			res.Reminded += n
		}
	}
	return res, nil
}

type reminded struct {
	Checkin  int64  `db:"id"`
	Patient  int64  `db:"patient_id"`
	Lang     string `db:"language"`
	Question string `db:"question_id"`
	Phone    string `db:"phone"`
}

func (e *Engine) remind(ctx context.Context, s *scripts.Script, now time.Time) (int, error) {
	remindBefore, _, _ := followUpCutoffs(s, now)
	var rows []reminded
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		rows = nil
		if err := tx.SelectContext(ctx, &rows, markReminded, now, e.pid(), s.ID, remindBefore); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		patients, checkins := make([]int64, len(rows)), make([]int64, len(rows))
		phones, bodies := make([]string, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			lang := language(s, r.Lang)
			body := s.ReminderText.In(lang)
			if q := s.Question(r.Question); q != nil {
				body += "\n\n" + q.Text.In(lang)
			}
			patients[i], checkins[i], phones[i], bodies[i] = r.Patient, r.Checkin, r.Phone, body
		}
		_, err := tx.ExecContext(ctx, queueMany, e.pid(), "reminder", now, pq.Array(patients), pq.Array(checkins),
			pq.Array(phones), pq.Array(bodies))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("error queueing %s reminders: %w", s.ID, err)
	}
	if len(rows) > 0 {
		e.Log.Info("reminders queued", "script", s.ID, "count", len(rows))
	}
	return len(rows), nil
}

// expireCheckins ends a script's open check-ins whose last message went out at least the
// script's expiry ago (found, as markReminded's, by their start), unless a text or call of
// theirs is in flight.
const expireCheckins = `
UPDATE checkins SET status = 'expired', ended_at = $1, question_id = NULL
WHERE practice_id = $2 AND script_id = $3 AND status = 'open' AND started_at <= $4 AND last_sent_at <= $4
	AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.practice_id = checkins.practice_id AND m.checkin_id = checkins.id
		AND m.status IN ('sending', 'unknown'))
	AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.practice_id = checkins.practice_id AND k.checkin_id = checkins.id
		AND call_status_rank(k.status) BETWEEN 1 AND 5)
RETURNING id, patient_id, script_id, channel, status`

const cancelQueued = `
UPDATE messages SET status = 'cancelled', updated_at = $1
WHERE practice_id = $2 AND checkin_id = ANY ($3::bigint[]) AND status = 'queued'`

func (e *Engine) expire(ctx context.Context, s *scripts.Script, now time.Time) (int, error) {
	_, _, expireBefore := followUpCutoffs(s, now)
	var rows []struct {
		ID      int64 `db:"id"`
		Patient int64 `db:"patient_id"`
		checkinRow
	}
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		rows = rows[:0]
		if err := tx.SelectContext(ctx, &rows, expireCheckins, now, e.pid(), s.ID, expireBefore); err != nil {
			return err
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			checkin := r.ID
			e.Metrics.checkinsEnded(ctx, []checkinRow{r.checkinRow})
			it := escalation.Item{PracticeID: e.pid(), PatientID: r.Patient, CheckinID: &checkin, Severity: escalation.Routine,
				Source: escalation.SourceExpired, Reason: noAnswerReason}
			raised, err := escalation.Raise(ctx, tx, it, e.Due, now, e.Practice.Location)
			if err != nil {
				return err
			}
			e.Escalations.Raised(ctx, it, raised)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, cancelQueued, now, e.pid(), pq.Array(ids)); err != nil {
			return err
		}
		return e.cancelCalls(ctx, tx, ids, now)
	})
	if err != nil {
		return 0, fmt.Errorf("error expiring %s check-ins: %w", s.ID, err)
	}
	if len(rows) > 0 {
		e.Log.Info("check-ins expired", "script", s.ID, "count", len(rows))
	}
	return len(rows), nil
}
