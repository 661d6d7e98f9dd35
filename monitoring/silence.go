package monitoring

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
)

// A device is silent when its patient's last device reading is this old: the patient gets a
// reminder text after RemindAfter, and the care team an item after EscalateAfter.
const (
	RemindAfter   = 3 * 24 * time.Hour
	EscalateAfter = 5 * 24 * time.Hour
)

// silenceBatch is how many patients one transaction of the follow-up takes.
const silenceBatch = 200

// reminderText is the reminder a patient whose device is silent gets.
var reminderText = scripts.Text{
	scripts.English: "Your care team has not received a reading from your monitoring device in 3 days. Please take a reading today " +
		"and check that the device is on and charged. Reply STOP to opt out.",
	scripts.Spanish: "Su equipo de cuidado no ha recibido lecturas de su dispositivo de monitoreo en 3 días. Por favor tome una " +
		"lectura hoy y revise que el dispositivo esté encendido y cargado. Responda STOP para no recibir más mensajes.",
}

// markSilent takes a batch of RPM patients, active, whose last device reading is at or before
// $2 and whose silence since then was not followed up at this step ({step}: reminded_for or
// escalated_for), and marks it followed up. Concurrent passes (every replica runs the job)
// skip each other's rows, and a row marked is never taken again for the same silence.
const markSilent = `
UPDATE device_status d SET {step} = d.last_reading_at
WHERE d.practice_id = $1 AND (d.practice_id, d.patient_id) IN (
	SELECT s.practice_id, s.patient_id FROM device_status s
	JOIN patients p ON p.practice_id = s.practice_id AND p.id = s.patient_id
	WHERE s.practice_id = $1 AND s.last_reading_at <= $2 AND s.{step} IS DISTINCT FROM s.last_reading_at
		AND p.active AND 'rpm' = ANY (p.programs)
	ORDER BY s.patient_id
	LIMIT $3
	FOR UPDATE OF s SKIP LOCKED)
RETURNING d.patient_id, d.last_reading_at`

var (
	markReminded  = strings.ReplaceAll(markSilent, "{step}", "reminded_for")
	markEscalated = strings.ReplaceAll(markSilent, "{step}", "escalated_for")
)

// Silence counts what a follow-up pass of silent devices did.
type Silence struct {
	Reminded  int // reminder texts queued
	Escalated int // items raised (or joined) for the care team
}

// FollowUpSilence reminds the RPM patients whose device has sent nothing for RemindAfter (one
// text through the outbox, in their language, after their quiet hours, never to a patient who
// opted out or may not be contacted), and raises a routine item for those silent for
// EscalateAfter. Neither is repeated while the silence lasts; a reading starts a new one.
func (s *Service) FollowUpSilence(ctx context.Context) (Silence, error) {
	var res Silence
	now := s.now()
	for {
		n, err := s.silenceStep(ctx, markReminded, now.Add(-RemindAfter), func(ctx context.Context, tx *sqlx.Tx, patient int64, last time.Time) error {
			queued, err := outreach.QueueReminder(ctx, tx, s.pid(), patient, reminderText, now)
			if queued {
				res.Reminded++
			}
			return err
		})
		if err != nil {
			return res, err
		}
		if n < silenceBatch {
			break
		}
	}
	for {
		n, err := s.silenceStep(ctx, markEscalated, now.Add(-EscalateAfter), func(ctx context.Context, tx *sqlx.Tx, patient int64, last time.Time) error {
			days := int(now.Sub(last) / (24 * time.Hour))
			it := escalation.Item{PracticeID: s.pid(), PatientID: patient, Severity: escalation.Routine,
				Reason: "Monitoring device silent", Source: escalation.SourceDeviceSilent,
				Text: fmt.Sprintf("No device reading for %d days: the last was taken %s.", days,
					last.In(s.Location).Format("Jan 2 15:04 MST"))}
			raised, err := escalation.Raise(ctx, tx, it, s.due(), now, s.Location)
			if err != nil {
				return err
			}
			s.Escalations.Raised(ctx, it, raised)
			res.Escalated++
			return nil
		})
		if err != nil {
			return res, err
		}
		if n < silenceBatch {
			break
		}
	}
	return res, nil
}

// silenceStep marks one batch of silences with stmt and follows each up with do, in one
// transaction; it returns how many it took.
func (s *Service) silenceStep(ctx context.Context, stmt string, before time.Time, do func(context.Context, *sqlx.Tx, int64, time.Time) error) (int, error) {
	var n int
	err := aftercommit.WithTx(ctx, s.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var rows []struct {
			Patient int64     `db:"patient_id"`
			Last    time.Time `db:"last_reading_at"`
		}
		if err := tx.SelectContext(ctx, &rows, stmt, s.pid(), before, silenceBatch); err != nil {
			return err
		}
		n = len(rows)
		for _, r := range rows {
			if err := do(ctx, tx, r.Patient, r.Last); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("error following up silent devices: %w", err)
	}
	return n, nil
}

const countSilent = `
SELECT count(*) FROM device_status s JOIN patients p ON p.practice_id = s.practice_id AND p.id = s.patient_id
WHERE s.practice_id = $1 AND s.last_reading_at <= $2 AND p.active AND 'rpm' = ANY (p.programs)`

// SilentDevices counts the RPM patients whose device has sent nothing for RemindAfter.
func (s *Service) SilentDevices(ctx context.Context) (int, error) {
	var n int
	if err := s.DB.GetContext(ctx, &n, countSilent, s.pid(), s.now().Add(-RemindAfter)); err != nil {
		return 0, fmt.Errorf("error counting silent devices: %w", err)
	}
	return n, nil
}
