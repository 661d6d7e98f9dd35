package outreach

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/scripts"
)

// eligible is the SQL test for patients who get scheduled check-ins: contactable (see
// Reachability), with a script of their own or enrolled in CCM. Whether the script is loaded
// is Schedule's test.
const eligible = `{contactable}
	AND (p.script_id IS NOT NULL OR 'ccm' = ANY (p.programs))`

// selectGroups lists the (script, zone) pairs of eligible patients: one due slot per pair.
var selectGroups = forExemption(`
SELECT COALESCE(p.script_id, $3) AS script, p.timezone, count(*) AS patients
FROM patients p
WHERE p.practice_id = $2 AND ` + eligible + `
GROUP BY 1, 2`)

// insertDue creates the check-ins of one group's slot with their first message, in one
// statement: ON CONFLICT DO NOTHING makes a second replica, a retried tick or a patient already
// in another conversation (one open check-in per patient) a no-op. It reports the check-ins
// created by channel, and how many of the group's patients it found without the period's
// check-in (all of them started, unless in another conversation or started by another replica).
var insertDue = forExemption(`
WITH missing AS (
	SELECT p.practice_id, p.id, CASE WHEN p.language = ANY ($4::text[]) THEN p.language ELSE 'en' END AS lang, p.channel
	FROM patients p
	WHERE p.practice_id = $2 AND p.timezone = $11 AND COALESCE(p.script_id, $10) = $3 AND ` + eligible + `
	-- NOT IN over a set hashed once, not a NOT EXISTS per patient: the planner would probe the
	-- checkins being inserted by this very statement, which made a first month quadratic.
	AND p.id NOT IN (SELECT c.patient_id FROM checkins c WHERE c.practice_id = $2 AND c.script_id = $3 AND c.period = $5)
), due AS (
	SELECT practice_id, id, lang, channel FROM missing
	WHERE id NOT IN (SELECT c.patient_id FROM checkins c WHERE c.practice_id = $2 AND c.status = 'open')
)` + createWithFirstMessage + `
SELECT k.channel, COALESCE(k.n, 0) AS n, m.n AS missing
FROM (SELECT count(*) AS n FROM missing) m
LEFT JOIN (SELECT channel, count(*) AS n FROM created GROUP BY channel) k ON true`)

// groupRun is one row of insertDue: the check-ins created on a channel (none: a null channel),
// and the group's patients found without the period's check-in.
type groupRun struct {
	Channel sql.NullString `db:"channel"`
	N       int            `db:"n"`
	Missing int            `db:"missing"`
}

// createWithFirstMessage follows a "due" CTE of (practice_id, id, lang, channel) rows: it
// creates their check-ins and queues each one's first message, or first call for patients on
// voice. $1 now, $2 practice, $3 script, $5 period, $6 first
// question, $7 message kind, $8 and $9 the English and Spanish bodies.
const createWithFirstMessage = `, created AS (
	INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, question_id,
		started_at, last_sent_at)
	SELECT practice_id, id, $3, $5, lang, channel, 'open', $6, $1, $1 FROM due
	ON CONFLICT DO NOTHING
	RETURNING practice_id, id, patient_id, language, channel
), texts AS (
	INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status,
		next_attempt_at, created_at, updated_at)
	SELECT c.practice_id, c.patient_id, c.id, 'out', $7, p.phone, CASE c.language WHEN 'es' THEN $9 ELSE $8 END,
		'queued', $1, $1, $1
	FROM created c JOIN patients p ON p.practice_id = c.practice_id AND p.id = c.patient_id
	WHERE c.channel = 'sms'
), phone_calls AS (
	INSERT INTO calls (practice_id, patient_id, checkin_id, attempt, phone, status, next_attempt_at, created_at, updated_at)
	SELECT c.practice_id, c.patient_id, c.id, 1, p.phone, 'queued', $1, $1, $1
	FROM created c JOIN patients p ON p.practice_id = c.practice_id AND p.id = c.patient_id
	WHERE c.channel = 'voice'
)`

// countCreated follows createWithFirstMessage: the check-ins created, by channel.
const countCreated = `
SELECT channel, count(*) AS n FROM created GROUP BY channel`

// started is how many check-ins a statement created on a channel.
type started struct {
	Channel string `db:"channel"`
	N       int    `db:"n"`
}

// countStarted counts check-ins of a script started, once ctx's transaction commits; it
// returns how many.
func (e *Engine) countStarted(ctx context.Context, script string, rows []started) int {
	n := 0
	for _, r := range rows {
		n += r.N
		e.Metrics.add(ctx, r.N, func(m *Metrics) prometheus.Counter { return m.created.WithLabelValues(script, r.Channel) })
	}
	return n
}

// ScheduleResult counts what a scheduling pass did.
type ScheduleResult struct {
	Created int // check-ins started
	Waiting int // patients whose slot is due but who are in quiet hours
	Scanned int // groups whose patients were read for check-ins to start
}

type group struct {
	Script   string `db:"script"`
	Zone     string `db:"timezone"`
	Patients int    `db:"patients"`
}

// Schedule starts the check-ins that are due at the engine's clock: for each script and patient
// zone, the latest slot of the script's schedule within CatchUp, outside quiet hours. Between
// minutes it remembers the groups of eligible patients and the slots whose check-ins all
// started, until a change is noted that could make a patient due (see scheduleMemo), so that a
// minute with nothing due reads no patient.
func (e *Engine) Schedule(ctx context.Context) (ScheduleResult, error) {
	now := e.now()
	e.memoMu.Lock()
	defer e.memoMu.Unlock()
	m := &e.memo
	if err := e.recall(ctx, now); err != nil {
		return ScheduleResult{}, err
	}
	var res ScheduleResult
	for _, g := range m.Groups {
		s := e.script(g.Script)
		if s == nil {
			e.Log.Warn("patients have a script that is not loaded", "script", g.Script, "patients", g.Patients)
			continue
		}
		loc, err := e.zones.Load(g.Zone)
		if err != nil {
			return res, fmt.Errorf("error loading zone %q: %w", g.Zone, err)
		}
		slot, ok, err := DueSlot(s.Schedule, loc, now)
		if err != nil || !ok {
			if err != nil {
				e.Log.Error("script schedule unreadable", "script", s.ID, "err", err)
			}
			continue
		}
		if !Allowed(e.Practice.Quiet, loc, now) {
			res.Waiting += g.Patients
			continue
		}
		key := slotKey{Script: s.ID, Zone: g.Zone, Period: Period(slot)}
		if m.Done[key] {
			continue
		}
		n, done, err := e.start(ctx, s, g.Zone, key.Period, now)
		if err != nil {
			return res, err
		}
		res.Scanned++
		if done {
			m.Done[key] = true
		}
		if n > 0 {
			e.Log.Info("check-ins started", "script", s.ID, "zone", g.Zone, "period", key.Period, "count", n)
		}
		res.Created += n
	}
	if res.Created >= analyzeAfter {
		// The dispatcher's queries are planned from the tables' statistics; after a large start
		// (a first month) they describe nearly empty tables until autovacuum catches up, and
		// the plans scan whole tables per batch.
		if _, err := e.DB.ExecContext(ctx, "ANALYZE checkins, messages, calls"); err != nil {
			e.Log.Warn("could not refresh table statistics after a large start", "created", res.Created, "err", err)
		}
	}
	return res, nil
}

// selectChanged reads the database's snapshot now, and whether a change that could make a
// patient due was committed since the snapshot $1 (null: none remembered).
const selectChanged = `
SELECT pg_current_snapshot()::text AS snapshot,
	$1::text IS NULL OR EXISTS (SELECT 1 FROM schedule_changes s
		WHERE s.xid >= pg_snapshot_xmin($1::text::pg_snapshot)
		AND NOT pg_visible_in_snapshot(s.xid, $1::text::pg_snapshot)) AS changed`

// selectNextConsent finds when the next consent of the practice's patients comes into force
// after $1: the moment a patient may become due with nothing changed.
const selectNextConsent = `SELECT min(given_at) FROM consents WHERE practice_id = $2 AND given_at > $1`

// deleteOldChanges drops the changes noted longer ago than any memo lasts ($1 seconds, on the
// database's clock, as they were noted).
const deleteOldChanges = `DELETE FROM schedule_changes WHERE noted_at < statement_timestamp() - make_interval(secs => $1)`

// changesKept is how long noted changes are kept: far longer than a memo lasts.
const changesKept = 24 * time.Hour

// recall makes the engine's memo hold at now: kept, with its snapshot moved to now's, when
// nothing was noted since it was made and it has not expired; otherwise made again from the
// groups of eligible patients.
func (e *Engine) recall(ctx context.Context, now time.Time) error {
	m := &e.memo
	var c struct {
		Snapshot string `db:"snapshot"`
		Changed  bool   `db:"changed"`
	}
	if err := e.DB.GetContext(ctx, &c, selectChanged, nullable(m.Snapshot)); err != nil {
		return fmt.Errorf("error reading changes to the patients due a check-in: %w", err)
	}
	f := memoFor{Practice: e.pid(), Exempt: e.exempt()}
	if m.valid(now, f, c.Changed) {
		// Nothing was noted between the two snapshots: what held at the first holds at the second.
		m.Snapshot = c.Snapshot
		return nil
	}
	// Every read below comes after the snapshot: a change it misses is noted after it.
	var groups []group
	if err := e.DB.SelectContext(ctx, &groups, e.forPractice(selectGroups), now, e.pid(), DefaultScript); err != nil {
		return fmt.Errorf("error listing patients due a check-in: %w", err)
	}
	var next sql.NullTime
	if err := e.DB.GetContext(ctx, &next, selectNextConsent, now, e.pid()); err != nil {
		return fmt.Errorf("error finding the next consent to come into force: %w", err)
	}
	if _, err := e.DB.ExecContext(ctx, deleteOldChanges, changesKept.Seconds()); err != nil {
		return fmt.Errorf("error dropping old changes to the patients due a check-in: %w", err)
	}
	m.reset(c.Snapshot, f, groups, now, next.Time)
	return nil
}

// analyzeAfter is how many check-ins started, or patients imported, at once refresh the
// tables' statistics.
const analyzeAfter = 1000

// opening is a script's first message in each language, as SQL arguments: the languages it
// speaks, the first question's id, the message kind, the English and the Spanish body.
func opening(s *scripts.Script) []any {
	en := Conversation{Script: s, Lang: scripts.English}.Start()
	es := Conversation{Script: s, Lang: scripts.Spanish}.Start()
	langs := make([]string, len(s.Languages))
	for i, l := range s.Languages {
		langs[i] = string(l)
	}
	return []any{pq.Array(langs), nullable(en.Next), en.Send[0].Kind, en.Send[0].Body, es.Send[0].Body}
}

// start runs insertDue for one group's slot: it returns the check-ins started, and whether the
// group is done until a change (see slotDone).
func (e *Engine) start(ctx context.Context, s *scripts.Script, zone, period string, now time.Time) (int, bool, error) {
	open := opening(s)
	var n int
	var done bool
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var rows []groupRun
		if err := tx.SelectContext(ctx, &rows, e.forPractice(insertDue), now, e.pid(), s.ID, open[0], period, open[1], open[2], open[3], open[4],
			DefaultScript, zone); err != nil {
			return err
		}
		var created []started
		missing := 0
		for _, r := range rows {
			missing = r.Missing
			if r.Channel.Valid {
				created = append(created, started{Channel: r.Channel.String, N: r.N})
			}
		}
		n = e.countStarted(ctx, s.ID, created)
		done = slotDone(missing, n)
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("error starting %s check-ins for %s: %w", s.ID, period, err)
	}
	return n, done, nil
}

// startOne creates a check-in for one patient ($10) who may be contacted, for a period ($5),
// with its first message; the practice's exemption is $11. A period that already has its
// check-in, or a patient in another conversation, makes it a no-op.
const startOne = `
WITH due AS (
	SELECT p.practice_id, p.id, CASE WHEN p.language = ANY ($4::text[]) THEN p.language ELSE 'en' END AS lang, p.channel
	FROM patients p CROSS JOIN (SELECT $11::boolean AS exempt) x` + consentsOf + `
	WHERE p.practice_id = $2 AND p.id = $10 AND ` + contactableEach + `
)` + createWithFirstMessage + countCreated

const selectPatientZone = `SELECT timezone FROM patients WHERE practice_id = $1 AND id = $2`

// StartNow starts this period's check-in of a script for one patient at once, rather than at
// the slot (quiet hours still hold the message or call back): the period is the latest slot of
// the script's schedule, however long ago, so that the scheduler never starts a second one for
// it. It reports false when the period already has its check-in, the patient is in another
// conversation, or the patient may not be contacted (see Reachability; the script need not be
// theirs).
func (e *Engine) StartNow(ctx context.Context, patient PatientID, scriptID string) (bool, error) {
	s := e.script(scriptID)
	if s == nil {
		return false, fmt.Errorf("no check-in script %q", scriptID)
	}
	now := e.now()
	var zone string
	if err := e.DB.GetContext(ctx, &zone, selectPatientZone, e.pid(), int64(patient)); err != nil {
		return false, fmt.Errorf("error finding patient %d: %w", patient, err)
	}
	loc, err := e.zones.Load(zone)
	if err != nil {
		return false, fmt.Errorf("error loading zone %q: %w", zone, err)
	}
	slot, ok, err := LatestSlot(s.Schedule, loc, now)
	if err != nil {
		return false, err
	}
	// A schedule with no slot in the last years (a script only ever started by hand) keys the
	// check-in by the instant.
	period := "now " + now.Format(time.RFC3339)
	if ok {
		period = Period(slot)
	}
	open := opening(s)
	var rows []started
	if err := e.DB.SelectContext(ctx, &rows, startOne, now, e.pid(), s.ID, open[0], period,
		open[1], open[2], open[3], open[4], int64(patient), e.exempt()); err != nil {
		return false, fmt.Errorf("error starting check-in %s for patient %d: %w", scriptID, patient, err)
	}
	return e.countStarted(ctx, s.ID, rows) == 1, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
