package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/loadstat"
	"github.com/outreach-engine/outreach/scripts"
)

// A clinic's database after months of use holds each month's check-ins, their answers and
// texts, the items they raised and the staff resolved, the staff's time and the audit trail of
// it all. fillHistory writes that history before the bench's month, with set-based SQL through
// the tables' columns (a few statements a month, whatever the number of patients): the engine's
// functions would take hours to write a year of 100,000 patients. Every id comes from its
// column's default, so the fill does not depend on how a table numbers its rows; the rows that
// refer to a new row find it again by a key the fill makes unique (a check-in by its patient
// and period, a time entry by its staff member and start).

// historyScript is the script of the history's check-ins: the bench's patients are in CCM with
// no script of their own.
const historyScript = "ccm-monthly"

// noAnswerReason is the reason of the item the engine raises for an expired check-in.
const noAnswerReason = "No answer to the check-in: call the patient"

// historyOutcome is how a check-in of the history went, with its texts, answers and item.
type historyOutcome struct {
	name    string
	share   int // check-ins in 20 that go this way
	replies []historyReply
	expired bool // no reply to the last question sent: a reminder, then the expiry and an item
	item    *historyItem
}

// historyReply is a patient's reply to a question, in each language.
type historyReply struct {
	question       string
	valueEn, rawEn string
	valueEs, rawEs string
}

// historyItem is the item an answer raised (a script rule), or nil with expired for the
// engine's own item.
type historyItem struct {
	reason, question string
	severity         string
}

// historyOutcomes are the shares of the history's check-ins, 20 in all: most completed, some
// raising a routine item, some answered in part, some not at all (each expired check-in raises
// the item that asks staff to call the patient).
var historyOutcomes = []historyOutcome{
	{name: "completed", share: 11, replies: []historyReply{
		{"overall", "8", "8", "8", "8"}, {"new_symptoms", "no", "no", "no", "no"},
		{"medicines", "all", "1", "all", "1"}, {"call_me", "no", "no", "no", "no"}}},
	{name: "missed", share: 1, replies: []historyReply{
		{"overall", "6", "6", "6", "6"}, {"new_symptoms", "no", "no", "no", "no"},
		{"medicines", "missed", "2", "missed", "2"}, {"call_me", "no", "no", "no", "no"}},
		item: &historyItem{reason: "Missed doses", question: "medicines", severity: "routine"}},
	{name: "symptom", share: 1, replies: []historyReply{
		{"overall", "7", "7", "7", "7"}, {"new_symptoms", "yes", "yes", "yes", "sí"},
		{"symptoms", "A little more cough at night", "A little more cough at night", "Un poco más de tos por la noche", "Un poco más de tos por la noche"},
		{"medicines", "all", "1", "all", "1"}, {"call_me", "no", "no", "no", "no"}},
		item: &historyItem{reason: "New or worse symptom reported", question: "symptoms", severity: "routine"}},
	{name: "partial", share: 2, expired: true, replies: []historyReply{
		{"overall", "7", "7", "7", "7"}, {"new_symptoms", "no", "no", "no", "no"}}},
	{name: "silent", share: 5, expired: true},
}

// Seconds between the steps of a history check-in.
const (
	replyAfter    = 3 * 60        // a patient replies 3 minutes after a question
	nextAfter     = 2             // the next question goes 2 seconds after a reply
	reminderAfter = 24 * 60 * 60  // the script's reminder_after
	expireAfter   = 5 * 24 * 3600 // the script's expire_after
)

// Plan rows, as the month statement reads them with jsonb_to_recordset.
type (
	outcomeRow struct {
		Name     string `json:"name"`
		Status   string `json:"status"`
		LastSent int    `json:"last_sent"`
		Reminded *int   `json:"reminded"`
		Ended    int    `json:"ended"`
		Item     bool   `json:"item"`
		Severity string `json:"severity"`
		Reason   string `json:"reason"`
		Source   string `json:"source"`
		Question string `json:"question"`
		AnswerEn string `json:"answer_en"`
		AnswerEs string `json:"answer_es"`
		TextEn   string `json:"text_en"`
		TextEs   string `json:"text_es"`
		Raised   int    `json:"raised"`
		Outcome  string `json:"outcome"`
	}
	stepRow struct {
		Outcome   string `json:"outcome"`
		Seq       int    `json:"seq"`
		Direction string `json:"direction"`
		Kind      string `json:"kind"`
		Status    string `json:"status"`
		Immediate bool   `json:"immediate"`
		En        string `json:"en"`
		Es        string `json:"es"`
		At        int    `json:"at"`
	}
	answerRow struct {
		Outcome  string `json:"outcome"`
		Question string `json:"question"`
		ValueEn  string `json:"value_en"`
		RawEn    string `json:"raw_en"`
		ValueEs  string `json:"value_es"`
		RawEs    string `json:"raw_es"`
		At       int    `json:"at"`
	}
)

// historyPlan is the month statement's plan: what each outcome writes, as JSON arguments, and
// which outcome the hash of a patient and a month (0 to 19) picks.
type historyPlan struct {
	outcomes, steps, answers []byte
	pick                     []string
}

// planHistory lays out the history's check-ins with the texts of the bundled script they use.
func planHistory() (historyPlan, error) {
	lib, err := scripts.Bundled()
	if err != nil {
		return historyPlan{}, err
	}
	s := lib[historyScript]
	if s == nil {
		return historyPlan{}, fmt.Errorf("the bundled scripts have no %q", historyScript)
	}
	question := func(id string, lang scripts.Language) string {
		if q := s.Question(id); q != nil {
			return q.Text.In(lang)
		}
		return ""
	}
	var outcomes []outcomeRow
	var steps []stepRow
	var answers []answerRow
	var pick []string
	for _, o := range historyOutcomes {
		for range o.share {
			pick = append(pick, o.name)
		}
		seq, at := 0, 0
		step := func(direction, kind, status string, immediate bool, en, es string) {
			steps = append(steps, stepRow{Outcome: o.name, Seq: seq, Direction: direction, Kind: kind, Status: status,
				Immediate: immediate, En: en, Es: es, At: at})
			seq++
		}
		// The questions asked, in order: the replies' questions, then the one left unanswered.
		asked := make([]string, 0, len(o.replies)+1)
		for _, r := range o.replies {
			asked = append(asked, r.question)
		}
		if o.expired {
			next := "overall"
			if len(o.replies) > 0 {
				next = "medicines" // after new_symptoms answered "no", symptoms is skipped
			}
			asked = append(asked, next)
		}
		row := outcomeRow{Name: o.name, Status: "completed"}
		for i, q := range asked {
			en, es := question(q, scripts.English), question(q, scripts.Spanish)
			if i == 0 {
				en, es = s.Intro.In(scripts.English)+"\n\n"+en, s.Intro.In(scripts.Spanish)+"\n\n"+es
			}
			step("out", "question", "delivered", i > 0, en, es)
			row.LastSent = at
			if i == len(o.replies) {
				break // unanswered
			}
			r := o.replies[i]
			at += replyAfter
			step("in", "reply", "received", false, r.rawEn, r.rawEs)
			answers = append(answers, answerRow{Outcome: o.name, Question: r.question, ValueEn: r.valueEn, RawEn: r.rawEn,
				ValueEs: r.valueEs, RawEs: r.rawEs, At: at})
			if o.item != nil && o.item.question == r.question {
				row.Item, row.Severity, row.Reason, row.Source, row.Question = true, o.item.severity, o.item.reason, "rule", r.question
				row.AnswerEn, row.AnswerEs, row.TextEn, row.TextEs, row.Raised = r.valueEn, r.valueEs, r.rawEn, r.rawEs, at
			}
			at += nextAfter
		}
		if o.expired {
			last := asked[len(asked)-1]
			at = row.LastSent + reminderAfter
			step("out", "reminder", "sent", false, s.ReminderText.In(scripts.English)+"\n\n"+question(last, scripts.English),
				s.ReminderText.In(scripts.Spanish)+"\n\n"+question(last, scripts.Spanish))
			reminded := at
			row.Status, row.Reminded, row.Ended = "expired", &reminded, row.LastSent+expireAfter
			row.Item, row.Severity, row.Reason, row.Source, row.Raised = true, "routine", noAnswerReason, "expired", row.Ended
		} else {
			step("out", "closing", "delivered", true, s.Closing.In(scripts.English), s.Closing.In(scripts.Spanish))
			row.LastSent, row.Ended = at, at
		}
		row.Outcome = "reached_patient"
		if o.expired {
			row.Outcome = "left_message"
		}
		outcomes = append(outcomes, row)
	}
	if len(pick) != 20 {
		return historyPlan{}, fmt.Errorf("the history's outcomes share %d check-ins in 20", len(pick))
	}
	p := historyPlan{pick: pick}
	for _, v := range []struct {
		dst *[]byte
		src any
	}{{&p.outcomes, outcomes}, {&p.steps, steps}, {&p.answers, answers}} {
		if *v.dst, err = json.Marshal(v.src); err != nil {
			return historyPlan{}, err
		}
	}
	return p, nil
}

// historyMonthSQL writes a month's check-ins of every patient with a phone, their texts both
// ways, their answers, the items they raised (resolved by the patient's nurse, except, in the
// last month, those of one patient in 50, still open) and the audit events of the items and of
// the patient pages read to resolve them. $1 practice, $2 period, $3 slot (wall time in the
// patient's zone), $4 month number (for the pick), $5 script, $6 outcomes, $7 steps, $8 answers,
// $9 pick (20 outcome names), $10 whether items stay open.
const historyMonthSQL = `
WITH nurses AS MATERIALIZED (
	SELECT array_agg(id ORDER BY ext_id) AS ids FROM staff WHERE practice_id = $1 AND ext_id LIKE 'S%'
), outcomes AS (
	SELECT * FROM jsonb_to_recordset($6::jsonb) AS o (name text, status text, last_sent int, reminded int, ended int,
		item boolean, severity text, reason text, source text, question text, answer_en text, answer_es text,
		text_en text, text_es text, raised int, outcome text)
), steps AS (
	SELECT * FROM jsonb_to_recordset($7::jsonb) AS s (outcome text, seq int, direction text, kind text, status text,
		immediate boolean, en text, es text, at int)
), answers AS (
	SELECT * FROM jsonb_to_recordset($8::jsonb) AS a (outcome text, question text, value_en text, raw_en text,
		value_es text, raw_es text, at int)
), plan AS MATERIALIZED (
	SELECT p.id AS patient_id, p.phone, p.language, o.*,
		($3::timestamp AT TIME ZONE p.timezone) AS start,
		n.ids[1 + (row_number() OVER (ORDER BY p.id) - 1) % cardinality(n.ids)] AS nurse
	FROM patients p CROSS JOIN nurses n
	JOIN outcomes o ON o.name = ($9::text[])[1 + (p.id * 7 + $4 * 3) % 20]
	WHERE p.practice_id = $1 AND p.phone IS NOT NULL
), started AS (
	INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, question_id,
		started_at, last_sent_at, reminded_at, ended_at)
	SELECT $1, patient_id, $5, $2, language, 'sms', status, NULL, start, start + make_interval(secs => last_sent),
		start + make_interval(secs => reminded), start + make_interval(secs => ended)
	FROM plan ORDER BY patient_id
	RETURNING id, patient_id
), c AS MATERIALIZED (
	SELECT s.id AS checkin_id, plan.* FROM started s JOIN plan USING (patient_id)
), texts AS (
	INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid,
		attempts, immediate, created_at, sent_at, updated_at)
	SELECT $1, c.patient_id, c.checkin_id, s.direction, s.kind, c.phone, CASE c.language WHEN 'es' THEN s.es ELSE s.en END,
		s.status, 'SMf' || lpad(to_hex(c.checkin_id * 16 + s.seq), 31, '0'), CASE s.direction WHEN 'out' THEN 1 ELSE 0 END,
		s.immediate, c.start + make_interval(secs => s.at), CASE s.direction WHEN 'out' THEN c.start + make_interval(secs => s.at) END,
		c.start + make_interval(secs => s.at + CASE s.direction WHEN 'out' THEN 5 ELSE 0 END)
	FROM c JOIN steps s ON s.outcome = c.name
	ORDER BY c.patient_id, s.seq
), answered AS (
	INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
	SELECT $1, c.checkin_id, a.question, CASE c.language WHEN 'es' THEN a.value_es ELSE a.value_en END,
		CASE c.language WHEN 'es' THEN a.raw_es ELSE a.raw_en END, c.start + make_interval(secs => a.at)
	FROM c JOIN answers a ON a.outcome = c.name
), raised AS (
	SELECT c.*, c.start + make_interval(secs => c.raised) AS raised_at,
		$10::boolean AND c.patient_id % 50 = 0 AS still_open
	FROM c WHERE c.item
), items AS (
	INSERT INTO escalations (practice_id, patient_id, checkin_id, severity, reason, source, details, status, firings,
		created_at, due_at, updated_at, first_claimed_at, resolved_by, resolved_at, outcome)
	SELECT $1, r.patient_id, r.checkin_id, r.severity, r.reason, r.source,
		jsonb_build_array(jsonb_build_object('at', to_char(r.raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			'source', r.source, 'severity', r.severity, 'question', coalesce(r.question, ''),
			'answer', CASE r.language WHEN 'es' THEN coalesce(r.answer_es, '') ELSE coalesce(r.answer_en, '') END,
			'text', CASE r.language WHEN 'es' THEN coalesce(r.text_es, '') ELSE coalesce(r.text_en, '') END,
			'checkin', r.checkin_id)),
		CASE WHEN r.still_open THEN 'open' ELSE 'resolved' END, 1, r.raised_at, r.raised_at + interval '2 days',
		CASE WHEN r.still_open THEN r.raised_at ELSE r.raised_at + interval '3 hours' END,
		CASE WHEN NOT r.still_open THEN r.raised_at + interval '2 hours' END,
		CASE WHEN NOT r.still_open THEN r.nurse END,
		CASE WHEN NOT r.still_open THEN r.raised_at + interval '3 hours' END,
		CASE WHEN NOT r.still_open THEN r.outcome END
	FROM raised r
	RETURNING id, patient_id, status, first_claimed_at, resolved_by, resolved_at, outcome
)
INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
SELECT $1, e.at, 'staff:' || i.resolved_by, e.action, e.entity, e.entity_id, e.detail
FROM items i CROSS JOIN LATERAL (VALUES
	(i.first_claimed_at, 'escalation.claim', 'escalation', i.id::text,
		jsonb_build_object('until', to_char((i.first_claimed_at + interval '30 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
	(i.first_claimed_at + interval '1 minute', 'patient.read', 'patient', i.patient_id::text, jsonb_build_object('view', 'page')),
	(i.resolved_at, 'escalation.resolve', 'escalation', i.id::text, jsonb_build_object('outcome', i.outcome))
) AS e (at, action, entity, entity_id, detail)
WHERE i.status = 'resolved'
ORDER BY e.at`

// historyTimeSQL writes a month's time entries: perPatient ($3) for each patient, recorded by
// the patient's nurse, whose entries follow one another on the working days from the 2nd of the
// month, 15 minutes apart from 08:00 ($4 a day), 8 to 13 minutes each; every other entry of a
// patient in RPM is RPM time with an interactive contact. Each entry has its patient row and
// its audit event on the patient's record. $1 practice, $2 the month's first day (wall time in
// the practice's zone $5), $6 month number.
const historyTimeSQL = `
WITH nurses AS MATERIALIZED (
	SELECT array_agg(id ORDER BY ext_id) AS ids FROM staff WHERE practice_id = $1 AND ext_id LIKE 'S%'
), pts AS MATERIALIZED (
	SELECT p.id, row_number() OVER (ORDER BY p.id) - 1 AS r, 'rpm' = ANY (p.programs) AS rpm
	FROM patients p WHERE p.practice_id = $1
), plan AS MATERIALIZED (
	SELECT pts.id AS patient_id, n.ids[1 + pts.r % cardinality(n.ids)] AS staff_id, k,
		(pts.r / cardinality(n.ids)) * $3 + k AS e, -- the nurse's e-th entry of the month
		CASE WHEN pts.rpm AND k % 2 = 1 THEN 'rpm' ELSE 'ccm' END AS program,
		pts.rpm AND k % 2 = 1 AS interactive,
		(ARRAY['patient_call', 'care_plan', 'medication_reconciliation', 'coordination'])[1 + (pts.id + k) % 4] AS activity,
		make_interval(mins => 8 + ((pts.id + k + $6) % 6)::int) AS length
	FROM pts CROSS JOIN nurses n CROSS JOIN generate_series(0, $3 - 1) AS k
), timed AS MATERIALIZED (
	SELECT plan.*, (($2::timestamp + make_interval(days => 1 + (e / $4)::int, hours => 8, mins => 15 * (e % $4)::int))
		AT TIME ZONE $5) AS started
	FROM plan
), entries AS (
	INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, staff_npi, program, started_at, ended_at,
		activity, interactive, source, created_by, created_at)
	SELECT $1, t.staff_id, s.role, s.credential, s.npi, t.program, t.started, t.started + t.length, t.activity,
		t.interactive, 'manual', 'staff:' || t.staff_id, t.started + t.length + interval '1 minute'
	FROM timed t JOIN staff s ON s.practice_id = $1 AND s.id = t.staff_id
	ORDER BY t.started
	RETURNING id, staff_id, started_at, ended_at, program, created_at
), entry_patients AS (
	INSERT INTO time_entry_patients (practice_id, entry_id, patient_id)
	SELECT $1, x.id, t.patient_id FROM entries x JOIN timed t ON t.staff_id = x.staff_id AND t.started = x.started_at
)
INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
SELECT $1, x.created_at, 'staff:' || x.staff_id, 'time_entry.create', 'patient', t.patient_id::text,
	jsonb_build_object('program', x.program, 'seconds', extract(epoch FROM x.ended_at - x.started_at)::bigint,
		'source', 'manual', 'time_entry', x.id)
FROM entries x JOIN timed t ON t.staff_id = x.staff_id AND t.started = x.started_at
ORDER BY x.created_at`

// historyEntriesPerPatient is how many time entries each patient has in a month of history.
const historyEntriesPerPatient = 2

// historyTables are the tables the history fills, for the counts and sizes reported.
var historyTables = []string{"checkins", "checkin_answers", "messages", "escalations", "time_entries", "time_entry_patients", "audit_log"}

// historyResult is what a fill wrote.
type historyResult struct {
	months int
	took   time.Duration // the statements that write
	upkeep time.Duration // VACUUM ANALYZE of the tables written
	rows   map[string]int
	bytes  map[string]int64
}

// fillHistory writes months of history before the month that starts at month (in loc, the
// practice's zone), for every patient of the practice, then vacuums and analyzes the whole
// database, as a year of autovacuum would have left it (staff and the other small tables too:
// a planner without their statistics pairs them with every month of history).
func fillHistory(ctx context.Context, d *sqlx.DB, practice int64, loc *time.Location, month time.Time, months int) (historyResult, error) {
	res := historyResult{months: months, rows: map[string]int{}, bytes: map[string]int64{}}
	if months == 0 {
		return res, nil
	}
	plan, err := planHistory()
	if err != nil {
		return res, err
	}
	first := month.AddDate(0, -months, 0)
	// The patients were enrolled (and consented) before their first check-in of the history.
	if _, err := d.ExecContext(ctx, `UPDATE patients SET created_at = $2 WHERE practice_id = $1 AND created_at > $2`,
		practice, first.AddDate(0, -1, 0)); err != nil {
		return res, fmt.Errorf("error dating the patients' enrolment: %w", err)
	}
	// The rows of history lie in the UTC months of the history's months (the bench's own month
	// is the upkeep's to make: it may hold rows already).
	if err := monthPartitions(ctx, d, first, month.AddDate(0, 0, -1)); err != nil {
		return res, err
	}
	bar := loadstat.NewProgress(os.Stderr, "history", 2*months)
	var done atomic.Int64
	start := time.Now()
	// The check-ins and the time entries are written side by side, a month at a time each, on
	// two connections: each statement keeps one core busy.
	var checkinsErr, timeErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range months {
			m := first.AddDate(0, i, 0)
			slot := time.Date(m.Year(), m.Month(), 1, 10, 0, 0, 0, time.UTC) // the script's slot: the 1st at 10:00 in the patient's zone
			if _, err := d.ExecContext(ctx, historyMonthSQL, practice, slot.Format("2006-01-02T15:04"), slot.Format("2006-01-02 15:04:05"),
				monthNumber(m), historyScript, string(plan.outcomes), string(plan.steps), string(plan.answers), pq.Array(plan.pick),
				i == months-1); err != nil {
				checkinsErr = fmt.Errorf("error writing the check-ins of %s: %w", m.Format("2006-01"), err)
				return
			}
			bar.Set(int(done.Add(1)))
		}
	})
	wg.Go(func() {
		for i := range months {
			m := first.AddDate(0, i, 0)
			if err := fillTime(ctx, d, practice, loc, time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC), monthNumber(m)); err != nil {
				timeErr = fmt.Errorf("error writing the time entries of %s: %w", m.Format("2006-01"), err)
				return
			}
			bar.Set(int(done.Add(1)))
		}
	})
	wg.Wait()
	if err := errors.Join(checkinsErr, timeErr); err != nil {
		return res, err
	}
	bar.Done()
	if err := keepInboundSids(ctx, d); err != nil {
		return res, err
	}
	res.took = time.Since(start)
	start = time.Now()
	if _, err := d.ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
		return res, fmt.Errorf("error vacuuming the history: %w", err)
	}
	res.upkeep = time.Since(start)
	for _, t := range historyTables {
		var n int
		var size int64
		// A partitioned table's size is its partitions'.
		if err := d.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+t+`),
			coalesce((SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_partition_tree('`+t+`')),
				pg_total_relation_size('`+t+`'))`).Scan(&n, &size); err != nil {
			return res, fmt.Errorf("error measuring %s: %w", t, err)
		}
		res.rows[t], res.bytes[t] = n, size
	}
	return res, nil
}

// monthNumber numbers the months one after another, for the pick of each month's outcomes.
func monthNumber(m time.Time) int { return m.Year()*12 + int(m.Month()) }

// fillTime writes a month's time entries (see historyTimeSQL); wall is the month's first day.
func fillTime(ctx context.Context, d *sqlx.DB, practice int64, loc *time.Location, wall time.Time, number int) error {
	var patients, nurses int
	if err := d.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM patients WHERE practice_id = $1),
		(SELECT count(*) FROM staff WHERE practice_id = $1 AND ext_id LIKE 'S%')`, practice).Scan(&patients, &nurses); err != nil {
		return err
	}
	if patients == 0 || nurses == 0 {
		return nil
	}
	// A nurse's entries of the month spread over 26 working days.
	perNurse := (patients + nurses - 1) / nurses * historyEntriesPerPatient
	perDay := (perNurse + 25) / 26
	_, err := d.ExecContext(ctx, historyTimeSQL, practice, wall.Format("2006-01-02 15:04:05"), historyEntriesPerPatient, perDay,
		loc.String(), number)
	return err
}

// enrolment returns the day the bench's patients consented and had their initiating visit, and
// the day of their care plan: early in January 2026, or the month before the history when it
// starts earlier.
func (b *benchRun) enrolment() (enrolled, carePlan string) {
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	if first := time.Date(b.c.at.Year(), b.c.at.Month()-time.Month(b.c.history)-1, 5, 0, 0, 0, 0, time.UTC); first.Before(day) {
		day = first
	}
	return day.Format(time.DateOnly), day.AddDate(0, 0, 1).Format(time.DateOnly)
}

// history fills the months of history before the bench's month and says what it wrote.
func (b *benchRun) history(ctx context.Context) error {
	if b.c.history == 0 {
		return nil
	}
	month := time.Date(b.c.at.Year(), b.c.at.Month(), 1, 0, 0, 0, 0, b.loc)
	res, err := fillHistory(ctx, b.d, b.practice, b.loc, month, b.c.history)
	if err != nil {
		return err
	}
	r := res.rows
	fmt.Fprintf(b.out, "%-9s %d months before %s in %.1f s, then VACUUM ANALYZE in %.1f s; the tables hold %s check-ins, %s answers, %s texts, %s items, %s time entries (%s patient rows), %s audit events\n",
		"history", res.months, month.Format("2006-01"), res.took.Seconds(), res.upkeep.Seconds(), thousands(r["checkins"]),
		thousands(r["checkin_answers"]), thousands(r["messages"]), thousands(r["escalations"]), thousands(r["time_entries"]),
		thousands(r["time_entry_patients"]), thousands(r["audit_log"]))
	var sizes []string
	var total int64
	for _, t := range historyTables {
		sizes = append(sizes, t+" "+loadstat.MB(res.bytes[t]))
		total += res.bytes[t]
	}
	fmt.Fprintf(b.out, "%-9s sizes with indexes: %s; %s in all\n", "", strings.Join(sizes, ", "), loadstat.MB(total))
	return nil
}

// selectMonthPartitioned lists the tables of history partitioned by range on one column, with
// that column: none before the schema partitions them.
const selectMonthPartitioned = `
SELECT c.relname AS name, a.attname AS key
FROM pg_partitioned_table pt
JOIN pg_class c ON c.oid = pt.partrelid
JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
WHERE pt.partstrat = 'r' AND pt.partnatts = 1 AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY ($1)`

// monthPartitions makes, for each table of history the schema partitions by month, the
// partitions of the UTC months from the one holding from through the one holding to, named
// <table>_pYYYYMM as the engine's upkeep names those it makes ahead of time: the history's rows
// go to their month's partition, as a year of upkeep would have put them, not to the DEFAULT
// partition. Partitions already made are kept.
func monthPartitions(ctx context.Context, d *sqlx.DB, from, to time.Time) error {
	var tables []struct {
		Name string `db:"name"`
		Key  string `db:"key"`
	}
	if err := d.SelectContext(ctx, &tables, selectMonthPartitioned, pq.Array(historyTables)); err != nil {
		return fmt.Errorf("error listing the partitioned tables of history: %w", err)
	}
	for _, t := range tables {
		for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(to); m = m.AddDate(0, 1, 0) {
			stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)`,
				pq.QuoteIdentifier(t.Name+"_p"+m.Format("200601")), pq.QuoteIdentifier(t.Name),
				pq.QuoteLiteral(m.Format("2006-01-02 15:04:05+00")), pq.QuoteLiteral(m.AddDate(0, 1, 0).Format("2006-01-02 15:04:05+00")))
			if _, err := d.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("error making the %s partition of %s: %w", m.Format("2006-01"), t.Name, err)
			}
		}
	}
	return nil
}

// keepInboundSids records the provider ids of the history's received texts where the schema
// keeps them apart from the partitioned texts (inbound_sids, which makes a text the provider
// sends twice stored once), as the engine records them on receipt.
func keepInboundSids(ctx context.Context, d *sqlx.DB) error {
	var kept *string
	if err := d.GetContext(ctx, &kept, `SELECT to_regclass('inbound_sids')::text`); err != nil {
		return fmt.Errorf("error looking for inbound_sids: %w", err)
	}
	if kept == nil {
		return nil
	}
	if _, err := d.ExecContext(ctx, `INSERT INTO inbound_sids (twilio_sid, received_at)
		SELECT twilio_sid, created_at FROM messages WHERE direction = 'in' AND twilio_sid LIKE 'SMf%'
		ON CONFLICT DO NOTHING`); err != nil {
		return fmt.Errorf("error recording the history's inbound ids: %w", err)
	}
	return nil
}
