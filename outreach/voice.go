package outreach

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/outreach/ivr"
	"github.com/outreach-engine/outreach/scripts"
)

// ErrNoCall is returned for a call id the engine does not have.
var ErrNoCall = errors.New("no such call")

// menuTries is how often the opening menu is said before the call gives up on silence.
const menuTries = 3

// callState is a call with its check-in, both locked.
type callState struct {
	ID       int64   `db:"id"`
	Patient  int64   `db:"patient_id"`
	Checkin  int64   `db:"checkin_id"`
	Phone    string  `db:"phone"`
	Reached  bool    `db:"reached"`
	Status   string  `db:"checkin_status"`
	Script   string  `db:"script_id"`
	Language string  `db:"language"`
	Question *string `db:"question_id"`
	Reasks   int     `db:"reasks"`
}

// selectCallState locks the call, then its check-in: the order every writer of both follows.
const selectCallState = `
SELECT k.id, k.patient_id, k.checkin_id, k.phone, k.reached_at IS NOT NULL AS reached,
	c.status AS checkin_status, c.script_id, c.language, c.question_id, c.reasks
FROM calls k JOIN checkins c ON c.practice_id = k.practice_id AND c.id = k.checkin_id
WHERE k.practice_id = $1 AND k.id = $2
FOR UPDATE OF k, c`

const markAnswered = `
UPDATE calls SET answered_by = COALESCE(NULLIF($1, ''), answered_by), twilio_sid = COALESCE(twilio_sid, NULLIF($2, '')),
	status = CASE WHEN call_status_rank(status) < call_status_rank('in-progress') THEN 'in-progress' ELSE status END,
	updated_at = $3
WHERE practice_id = $4 AND id = $5`

const markReached = `UPDATE calls SET reached_at = COALESCE(reached_at, $1), updated_at = $1 WHERE practice_id = $2 AND id = $3`

// withCall runs f on a locked call in one transaction, run again while the database primary is
// gone (within ctx's deadline) so that a patient on the line rides through a failover. A try
// whose commit was lost is harmless to repeat: marking a call answered only moves it forward,
// and an input for a step already answered asks the current question.
func (e *Engine) withCall(ctx context.Context, call int64, f func(ctx context.Context, tx *sqlx.Tx, c callState, now time.Time) (ivr.Turn, error)) (ivr.Turn, error) {
	var turn ivr.Turn
	err := e.txOnPrimary(ctx, "voice call", func(ctx context.Context, tx *sqlx.Tx) error {
		var c callState
		if err := tx.GetContext(ctx, &c, selectCallState, e.pid(), call); err != nil {
			if db.IsNoRows(err) {
				return ErrNoCall
			}
			return err
		}
		var err error
		turn, err = f(ctx, tx, c, e.now())
		return err
	})
	if err != nil {
		return ivr.Turn{}, fmt.Errorf("error handling call %d: %w", call, err)
	}
	return turn, nil
}

// speaks returns the script of a call's check-in and the language it speaks to the patient.
func (e *Engine) speaks(c callState) (*scripts.Script, scripts.Language) {
	s := e.script(c.Script)
	if s == nil {
		return nil, scripts.Language(c.Language)
	}
	return s, language(s, c.Language)
}

// CallAnswered returns what an answered call says first: a message without health details for
// an answering machine, otherwise the opening menu. A call whose check-in ended meanwhile hangs
// up.
func (e *Engine) CallAnswered(ctx context.Context, call int64, sid, answeredBy string) (ivr.Turn, error) {
	return e.withCall(ctx, call, func(ctx context.Context, tx *sqlx.Tx, c callState, now time.Time) (ivr.Turn, error) {
		if _, err := tx.ExecContext(ctx, markAnswered, answeredBy, sid, now, e.pid(), call); err != nil {
			return ivr.Turn{}, err
		}
		s, lang := e.speaks(c)
		switch {
		case c.Status != "open" || s == nil || answeredBy == "fax":
			return ivr.Turn{Lang: lang}, nil
		case strings.HasPrefix(answeredBy, "machine"):
			e.Log.Info("call reached an answering machine", "call", call, "checkin", c.Checkin)
			return ivr.Voicemail(e.Contact.Name, e.Contact.Phone, lang), nil
		default:
			return ivr.Menu(e.Contact.Name, lang, false), nil
		}
	})
}

// CallInput handles what the patient pressed or said at a step of the call and returns what the
// call does next. At the menu: start the check-in, ask for a nurse, or stop the calls. At a
// question: the same conversation as by text, spoken; an urgent answer ends the call with the
// advice to dial 911, and a request for a nurse hands the check-in to the care team.
func (e *Engine) CallInput(ctx context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error) {
	return e.withCall(ctx, call, func(ctx context.Context, tx *sqlx.Tx, c callState, now time.Time) (ivr.Turn, error) {
		s, lang := e.speaks(c)
		if c.Status != "open" || s == nil || c.Question == nil {
			return ivr.Turn{Lang: lang}, nil
		}
		q := s.Question(*c.Question)
		if q == nil {
			return ivr.Turn{Lang: lang}, nil
		}
		if tries, ok := menuStep(step); ok {
			return e.menuInput(ctx, tx, c, s, q, lang, tries, in, now)
		}
		if step != q.ID {
			// A step already answered (a repeated request): ask the current question.
			return ivr.Turn{Lang: lang, Gather: ivr.Ask(q, lang)}, nil
		}
		intent, text := ivr.Read(q, in)
		e.Log.Info("call input", "call", call, "checkin", c.Checkin, "step", step, "intent", intent.String())
		switch intent {
		case ivr.Nurse:
			return e.nurseRequested(ctx, tx, c, lang, now)
		case ivr.OptOut:
			return e.optOutByVoice(ctx, tx, c, lang, now)
		}
		if _, err := tx.ExecContext(ctx, markReached, now, e.pid(), c.ID); err != nil {
			return ivr.Turn{}, err
		}
		oc := openCheckin{Script: c.Script, Language: c.Language, Question: c.Question, Reasks: c.Reasks}
		steps, err := e.replyAll(ctx, tx, []pendingReply{{patient: c.Patient, checkin: c.Checkin, open: oc, script: s, body: text}}, now)
		if err != nil {
			return ivr.Turn{}, err
		}
		st := steps[0]
		return e.spokenStep(ctx, tx, c, s, q, lang, st, in.Empty(), now)
	})
}

// menuStep reads a menu step: "menu" is the first time the menu is said, "menu:N" the Nth.
func menuStep(step string) (tries int, ok bool) {
	if step == ivr.StepMenu {
		return 1, true
	}
	n, found := strings.CutPrefix(step, ivr.StepMenu+":")
	if !found {
		return 0, false
	}
	tries, err := strconv.Atoi(n)
	return tries, err == nil && tries > 0
}

func (e *Engine) menuInput(ctx context.Context, tx *sqlx.Tx, c callState, s *scripts.Script, q *scripts.Question,
	lang scripts.Language, tries int, in ivr.Input, now time.Time) (ivr.Turn, error) {
	intent := ivr.ReadMenu(in)
	e.Log.Info("call input", "call", c.ID, "checkin", c.Checkin, "step", ivr.StepMenu, "intent", intent.String())
	switch intent {
	case ivr.Start:
		if _, err := tx.ExecContext(ctx, markReached, now, e.pid(), c.ID); err != nil {
			return ivr.Turn{}, err
		}
		return ivr.Turn{Lang: lang, Say: []string{ivr.Intro(s, lang)}, Gather: ivr.Ask(q, lang)}, nil
	case ivr.Nurse:
		return e.nurseRequested(ctx, tx, c, lang, now)
	case ivr.OptOut:
		return e.optOutByVoice(ctx, tx, c, lang, now)
	}
	if tries >= menuTries {
		// Not reached: the call's end decides whether to call again.
		return ivr.Turn{Lang: lang, Say: []string{ivr.TryLater.In(lang)}}, nil
	}
	turn := ivr.Menu(e.Contact.Name, lang, true)
	turn.Gather.Step = fmt.Sprintf("%s:%d", ivr.StepMenu, tries+1)
	return turn, nil
}

// nurseRequested hands the check-in to the care team: a routine item asks a nurse to call back.
func (e *Engine) nurseRequested(ctx context.Context, tx *sqlx.Tx, c callState, lang scripts.Language, now time.Time) (ivr.Turn, error) {
	if _, err := tx.ExecContext(ctx, markReached, now, e.pid(), c.ID); err != nil {
		return ivr.Turn{}, err
	}
	err := e.endCheckin(ctx, tx, c.Patient, c.Checkin, "handed_off", &escalation.Item{Severity: escalation.Routine,
		Source: escalation.SourceCallRequest, Reason: "The patient asked for a nurse to call back"}, now)
	if err != nil {
		return ivr.Turn{}, err
	}
	return ivr.Turn{Lang: lang, Say: []string{ivr.NurseAck.In(lang)}}, nil
}

// optOutByVoice records a spoken or keyed STOP: like a texted one, it stops texts and calls to
// the number.
func (e *Engine) optOutByVoice(ctx context.Context, tx *sqlx.Tx, c callState, lang scripts.Language, now time.Time) (ivr.Turn, error) {
	if _, err := e.optOut(ctx, tx, c.Phone, "voice", "keypad_or_speech", audit.ActorSystem, now); err != nil {
		return ivr.Turn{}, err
	}
	return ivr.Turn{Lang: lang, Say: []string{ivr.OptOutAck.In(lang)}}, nil
}

// spokenStep says a conversation step on the call: safety advice, then the next question, a
// re-ask or the closing. After an urgent answer the call ends with the advice to dial 911 and
// the check-in goes to the care team with the urgent item already raised.
func (e *Engine) spokenStep(ctx context.Context, tx *sqlx.Tx, c callState, s *scripts.Script, q *scripts.Question,
	lang scripts.Language, st Step, silent bool, now time.Time) (ivr.Turn, error) {
	turn := ivr.Turn{Lang: lang}
	urgent := false
	for _, r := range st.Raise {
		urgent = urgent || r.Severity == scripts.Urgent
	}
	for _, m := range st.Send {
		switch m.Kind {
		case "safety":
			turn.Say = append(turn.Say, ivr.Spoken(m.Body))
		case "reask":
			turn.Gather = ivr.Reask(q, lang, silent)
		case "question":
			if next := s.Question(st.Next); next != nil {
				turn.Gather = ivr.Ask(next, lang)
			}
		case "closing":
			if !urgent {
				turn.Say = append(turn.Say, ivr.Closing(s, lang))
			}
		}
	}
	if urgent {
		turn.Gather = nil
		turn.Say = append(turn.Say, ivr.Dial911.In(lang))
		if err := e.endCheckin(ctx, tx, c.Patient, c.Checkin, "handed_off", nil, now); err != nil {
			return ivr.Turn{}, err
		}
	}
	return turn, nil
}
