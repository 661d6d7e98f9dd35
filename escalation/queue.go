package escalation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/timelog"
)

// Errors of the queue; handlers answer them with 404, 409 and 400.
var (
	ErrNotFound = fmt.Errorf("no such escalation item: %w", errkind.ErrNotFound)
	// ErrClaimed: another staff member holds a live claim on the item, or it is resolved.
	ErrClaimed = fmt.Errorf("escalation item claimed by someone else or resolved: %w", errkind.ErrConflict)
	ErrInvalid = fmt.Errorf("invalid escalation request: %w", errkind.ErrInvalid)
)

// Outcomes an item is resolved with.
var Outcomes = []string{"reached_patient", "left_message", "advised_ed_911", "care_plan_updated",
	"medication_changed", "referred", "no_action_needed"}

// DefaultLease is how long a claim lasts unless renewed.
const DefaultLease = 15 * time.Minute

// Queue is the clinician queue of one practice: several nurses list, claim, release and resolve
// items at once. A claim is a lease: once it expires, anyone may claim the item.
type Queue struct {
	DB       *sqlx.DB
	Practice practice.ID
	Clock    func() time.Time
	Lease    time.Duration
	Metrics  *Metrics // nil: claims and resolutions are not counted
}

// View is an item as staff see it. A claim whose lease ran out shows as open. An item about a
// text from a number that matches no patient has no patient, and its Number.
type View struct {
	ID             int64      `db:"id" json:"id"`
	Patient        *string    `db:"patient" json:"patient"`
	PatientName    string     `db:"patient_name" json:"patient_name"`
	Number         *string    `db:"number" json:"number,omitempty"`
	Unread         bool       `db:"unread" json:"unread"` // a text on it nobody has read yet
	Severity       Severity   `db:"severity" json:"severity"`
	Reason         string     `db:"reason" json:"reason"`
	Source         Source     `db:"source" json:"source"`
	Status         string     `db:"status" json:"status"`
	Firings        int        `db:"firings" json:"firings"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	DueAt          time.Time  `db:"due_at" json:"due_at"`
	ClaimedBy      *string    `db:"claimed_by" json:"claimed_by"`
	ClaimExpiresAt *time.Time `db:"claim_expires_at" json:"claim_expires_at,omitempty"`
	Outcome        *string    `db:"outcome" json:"outcome,omitempty"`
	ResolvedAt     *time.Time `db:"resolved_at" json:"resolved_at,omitempty"`
	ResolvedBy     *string    `db:"resolved_by" json:"resolved_by,omitempty"`
}

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	Status    string // open, claimed, resolved
	Severity  Severity
	ClaimedBy string // the staff id holding a live claim
	Offset    int    // the items to skip, in the queue's order
	Limit     int    // the most items to list: MaxList when 0 or more
}

func (q *Queue) now() time.Time { return q.Clock().UTC().Truncate(time.Microsecond) }

func (q *Queue) lease() time.Duration {
	if q.Lease > 0 {
		return q.Lease
	}
	return DefaultLease
}

// liveStatus is an item's status with expired claims read as open.
const liveStatus = `CASE WHEN e.status = 'claimed' AND e.claim_expires_at <= $2 THEN 'open' ELSE e.status END`

// viewColumns and viewJoins read a View.
const viewColumns = `
SELECT e.id, p.ext_id AS patient, coalesce(btrim(p.first_name || ' ' || p.last_name), '') AS patient_name,
	CASE WHEN e.patient_id IS NULL THEN e.phone END AS number, e.unread_since IS NOT NULL AS unread, e.severity, e.reason,
	e.source, ` + liveStatus + ` AS status, e.firings, e.created_at, e.due_at,
	CASE WHEN ` + liveStatus + ` = 'claimed' THEN s.ext_id END AS claimed_by,
	CASE WHEN ` + liveStatus + ` = 'claimed' THEN e.claim_expires_at END AS claim_expires_at, e.outcome, e.resolved_at,
	r.ext_id AS resolved_by`

const viewJoins = `
FROM escalations e` + viewPeople

// viewPeople joins an item e to its patient and to who claimed and resolved it. The patient is
// looked up by key for each item (LIMIT 1 keeps the lookup apart): a list of 500 items reads 500
// patients, never the practice's every patient, whatever plan a prepared statement settles
// on. Staff are few; they are joined as the planner sees fit.
const viewPeople = `
LEFT JOIN LATERAL (SELECT ext_id, first_name, last_name, phone FROM patients
	WHERE practice_id = e.practice_id AND id = e.patient_id LIMIT 1) p ON true
LEFT JOIN staff s ON s.practice_id = e.practice_id AND s.id = e.claimed_by
LEFT JOIN staff r ON r.practice_id = e.practice_id AND r.id = e.resolved_by`

// listOrder is the queue's order: unresolved first, the most severe and oldest first.
const listOrder = `
ORDER BY CASE WHEN e.status = 'resolved' THEN 1 ELSE 0 END,
	array_position(ARRAY['urgent', 'high', 'routine'], e.severity), e.created_at, e.id`

// MaxList is the most items List returns at once.
const MaxList = 500

// selectItems lists the items that match a filter in the queue's order, $7 of them after the
// first $6. Each severity's unresolved items (escalations_unresolved) are read in index order,
// at most $6 + $7 of each; the resolved ones (escalations_queue) alike, and only as many as
// the unresolved leave to show: a long queue or a year of resolved items costs the list no more
// than the page it shows. The page is picked before its patients and resolvers are joined.
const selectItems = `
WITH sev AS (
	SELECT s.severity, s.rank FROM unnest(ARRAY['urgent', 'high', 'routine']) WITH ORDINALITY AS s (severity, rank)
	WHERE $4 = '' OR s.severity = $4
), unresolved AS (
	SELECT u.*, sev.rank FROM sev CROSS JOIN LATERAL (
		SELECT e.* FROM escalations e
		LEFT JOIN staff s ON s.practice_id = e.practice_id AND s.id = e.claimed_by
		WHERE e.practice_id = $1 AND e.status <> 'resolved' AND e.severity = sev.severity AND $3 <> 'resolved'
			AND ($3 = '' OR ` + liveStatus + ` = $3)
			AND ($5 = '' OR (` + liveStatus + ` = 'claimed' AND s.ext_id = $5))
		ORDER BY e.created_at, e.id
		LIMIT $6::int + $7::int) u
), resolved AS (
	SELECT r.*, sev.rank FROM sev CROSS JOIN LATERAL (
		SELECT e.* FROM escalations e
		WHERE e.practice_id = $1 AND e.status = 'resolved' AND e.severity = sev.severity AND $3 IN ('', 'resolved') AND $5 = ''
		ORDER BY e.created_at, e.id
		LIMIT greatest(0, $6::int + $7::int - (SELECT count(*) FROM unresolved))) r
), picked AS (
	SELECT *, 0 AS done FROM unresolved
	UNION ALL
	SELECT *, 1 FROM resolved
	ORDER BY done, rank, created_at, id
	LIMIT $7::int OFFSET $6::int
)` + viewColumns + `
FROM picked e` + viewPeople + listOrder

// List returns the items that match f: unresolved first, the most severe and oldest first; at
// most f.Limit of them after the first f.Offset.
func (q *Queue) List(ctx context.Context, f Filter) ([]View, error) {
	if f.Status != "" && !slices.Contains([]string{"open", "claimed", "resolved"}, f.Status) {
		return nil, fmt.Errorf("%w: status %q is not open, claimed or resolved", ErrInvalid, f.Status)
	}
	if f.Severity != "" && !slices.Contains([]Severity{Urgent, High, Routine}, f.Severity) {
		return nil, fmt.Errorf("%w: severity %q is not urgent, high or routine", ErrInvalid, f.Severity)
	}
	if f.Offset < 0 {
		return nil, fmt.Errorf("%w: offset %d is negative", ErrInvalid, f.Offset)
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	out := []View{}
	if err := q.DB.SelectContext(ctx, &out, selectItems, q.Practice, q.now(), f.Status, string(f.Severity), f.ClaimedBy,
		f.Offset, limit); err != nil {
		return nil, fmt.Errorf("error listing escalation items: %w", err)
	}
	return out, nil
}

// Detail is one item with each firing that raised it or attached to it: when, from which source,
// the question and the answer as read; and how to reach the patient.
type Detail struct {
	View
	PatientID *int64          `db:"patient_id" json:"-"`  // the patient's internal id
	Phone     *string         `db:"phone" json:"phone"`   // the patient's, or the number's, E.164
	Script    *string         `db:"script" json:"script"` // the check-in's script, when a check-in raised it
	Note      string          `db:"note" json:"note"`
	Firings   json.RawMessage `db:"details" json:"firings"`
}

const selectItem = viewColumns + `, e.patient_id, coalesce(p.phone, e.phone) AS phone, c.script_id AS script, e.note, e.details` + viewJoins + `
LEFT JOIN checkins c ON c.practice_id = e.practice_id AND c.id = e.checkin_id
WHERE e.practice_id = $1 AND e.id = $3`

const markRead = `UPDATE escalations SET unread_since = NULL WHERE practice_id = $1 AND id = $2 AND unread_since IS NOT NULL`

// Party is whom the item is about: the patient, or the number that matches no patient.
func (d Detail) Party() (patient int64, phone string) {
	if d.PatientID != nil {
		return *d.PatientID, ""
	}
	if d.Phone != nil {
		return 0, *d.Phone
	}
	return 0, ""
}

// Get returns one item with its firings; reading it, a part of a patient's record, is written
// to the audit log as the staff member's, and the texts on it count as read.
func (q *Queue) Get(ctx context.Context, id, staff int64) (Detail, error) {
	var d Detail
	err := db.WithTx(ctx, q.DB, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &d, selectItem, q.Practice, q.now(), id); err != nil {
			if db.IsNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		if d.Unread {
			if _, err := tx.ExecContext(ctx, markRead, q.Practice, id); err != nil {
				return err
			}
		}
		return q.audit(ctx, tx, staff, id, "escalation.read", nil, q.now())
	})
	if err != nil {
		return Detail{}, fmt.Errorf("error reading escalation %d: %w", id, err)
	}
	return d, nil
}

// claimItem takes an item that is open, claimed by nobody live, or already the claimant's own
// (which renews the lease). Exactly one of several concurrent claims wins: the row lock orders
// them, and the losers find the winner's live claim.
const claimItem = `
UPDATE escalations e SET status = 'claimed', claimed_by = $3, claimed_at = CASE WHEN e.claimed_by = $3
		AND e.status = 'claimed' AND e.claim_expires_at > $4 THEN e.claimed_at ELSE $4 END,
	claim_expires_at = $5, first_claimed_at = COALESCE(e.first_claimed_at, $4), updated_at = $4
FROM (` + lockItem + `) o
WHERE e.practice_id = $1 AND e.id = $2 AND (e.status = 'open'
	OR (e.status = 'claimed' AND (e.claim_expires_at <= $4 OR e.claimed_by = $3)))
RETURNING e.claim_expires_at AS until, ` + firstClaim

// lockItem locks item $2 and reads what its claim changes: whether it was ever claimed.
const lockItem = `SELECT first_claimed_at IS NULL AS first FROM escalations WHERE practice_id = $1 AND id = $2 FOR UPDATE`

// firstClaim returns, after an update FROM lockItem, whether it was the item's first claim,
// its severity and its time to that claim.
const firstClaim = `o.first, e.severity, extract(epoch FROM e.first_claimed_at - e.created_at) AS wait`

// claimed is an item an update claimed.
type claimed struct {
	Until    time.Time `db:"until"`
	Staff    int64     `db:"staff"`
	First    bool      `db:"first"`
	Severity string    `db:"severity"`
	Wait     float64   `db:"wait"` // seconds
}

// counted counts the claim if it was the item's first.
func (q *Queue) counted(ctx context.Context, c claimed) {
	if c.First {
		q.Metrics.firstClaim(ctx, c.Severity, time.Duration(c.Wait*float64(time.Second)))
	}
}

// Claim gives staff the item for a lease (or renews their own claim) and returns when the lease
// ends. ErrClaimed when someone else holds it or it is resolved.
func (q *Queue) Claim(ctx context.Context, id, staff int64) (time.Time, error) {
	now := q.now()
	var c claimed
	err := aftercommit.WithTx(ctx, q.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &c, claimItem, q.Practice, id, staff, now, now.Add(q.lease()))
		if db.IsNoRows(err) {
			return q.whyNot(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		q.counted(ctx, c)
		return q.audit(ctx, tx, staff, id, "escalation.claim", map[string]any{"until": c.Until.Format(time.RFC3339)}, now)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("error claiming escalation %d: %w", id, err)
	}
	return c.Until, nil
}

// whyNot tells a missing item from one someone else holds.
func (q *Queue) whyNot(ctx context.Context, tx *sqlx.Tx, id int64) error {
	var exists bool
	if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM escalations WHERE practice_id = $1 AND id = $2)`,
		q.Practice, id); err != nil {
		return err
	}
	if !exists {
		return ErrNotFound
	}
	return ErrClaimed
}

// reassignItem gives an unresolved item to a staff member who works items, with a fresh lease.
const reassignItem = `
UPDATE escalations e SET status = 'claimed', claimed_by = s.id, claimed_at = $4, claim_expires_at = $5,
	first_claimed_at = COALESCE(e.first_claimed_at, $4), updated_at = $4
FROM staff s, (` + lockItem + `) o
WHERE e.practice_id = $1 AND e.id = $2 AND e.status <> 'resolved'
	AND s.practice_id = e.practice_id AND s.ext_id = $3 AND s.role IN ('clinical', 'practitioner') AND s.disabled_at IS NULL
RETURNING e.claim_expires_at AS until, s.id AS staff, ` + firstClaim

const worksItems = `
SELECT EXISTS (SELECT 1 FROM staff WHERE practice_id = $1 AND ext_id = $2 AND role IN ('clinical', 'practitioner')
	AND disabled_at IS NULL)`

// Reassign gives an unresolved item to another staff member (a manager's decision), whoever
// holds it now. ErrInvalid when the staff member does not work items.
func (q *Queue) Reassign(ctx context.Context, id, manager int64, to string) error {
	now := q.now()
	err := aftercommit.WithTx(ctx, q.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var c claimed
		err := tx.GetContext(ctx, &c, reassignItem, q.Practice, id, to, now, now.Add(q.lease()))
		if db.IsNoRows(err) {
			if err := q.whyNot(ctx, tx, id); !errors.Is(err, ErrClaimed) {
				return err // not found, or the database failed
			}
			var works bool
			if err := tx.GetContext(ctx, &works, worksItems, q.Practice, to); err != nil {
				return err
			}
			if !works {
				return fmt.Errorf("%w: %q is not clinical staff or a practitioner who can work items", ErrInvalid, to)
			}
			return fmt.Errorf("%w: it is resolved", ErrClaimed)
		}
		if err != nil {
			return err
		}
		q.counted(ctx, c)
		return q.audit(ctx, tx, manager, id, "escalation.reassign", map[string]any{"to": c.Staff}, now)
	})
	if err != nil {
		return fmt.Errorf("error reassigning escalation %d: %w", id, err)
	}
	return nil
}

const releaseItem = `
UPDATE escalations SET status = 'open', claimed_by = NULL, claimed_at = NULL, claim_expires_at = NULL, updated_at = $4
WHERE practice_id = $1 AND id = $2 AND status = 'claimed' AND claimed_by = $3 AND claim_expires_at > $4`

// Release gives back the staff member's live claim on an item.
func (q *Queue) Release(ctx context.Context, id, staff int64) error {
	now := q.now()
	err := db.WithTx(ctx, q.DB, func(tx *sqlx.Tx) error {
		r, err := tx.ExecContext(ctx, releaseItem, q.Practice, id, staff, now)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			if err := q.whyNot(ctx, tx, id); errors.Is(err, ErrClaimed) {
				return fmt.Errorf("%w: you hold no live claim on it", ErrClaimed)
			} else if err != nil {
				return err
			}
		}
		return q.audit(ctx, tx, staff, id, "escalation.release", nil, now)
	})
	if err != nil {
		return fmt.Errorf("error releasing escalation %d: %w", id, err)
	}
	return nil
}

// resolveItem closes an item that is open, claimed by nobody live, or claimed by the resolver.
const resolveItem = `
UPDATE escalations e SET status = 'resolved', resolved_by = $3, resolved_at = $4, outcome = $5, note = $6,
	claimed_by = NULL, claimed_at = NULL, claim_expires_at = NULL, updated_at = $4
WHERE e.practice_id = $1 AND e.id = $2 AND (e.status = 'open'
	OR (e.status = 'claimed' AND (e.claim_expires_at <= $4 OR e.claimed_by = $3)))`

// selectWork reads what a resolution's time entry needs, locking the item: when the resolver's
// own live claim began, the patient and their programs, the resolver's id.
const selectWork = `
SELECT CASE WHEN e.status = 'claimed' AND e.claimed_by = $3 AND e.claim_expires_at > $4 THEN e.claimed_at END AS since,
	e.reason, p.ext_id AS patient, coalesce(p.programs, '{}') AS programs, s.ext_id AS staff
FROM escalations e
LEFT JOIN patients p ON p.practice_id = e.practice_id AND p.id = e.patient_id
JOIN staff s ON s.practice_id = e.practice_id AND s.id = $3
WHERE e.practice_id = $1 AND e.id = $2
FOR UPDATE OF e`

// maxNote bounds a resolution note.
const maxNote = 4000

// Proposal is the time entry a resolution proposes, in the fields of POST /api/v1/time-entries:
// the time from the resolver's claim to the resolution. Staff confirm it as it is, edit it, or
// drop it: working an item is clinical staff time only once someone records it.
type Proposal struct {
	timelog.Draft
	Seconds int `json:"seconds"`
}

// outcomeWork is the activity each outcome stands for, and whether it was a live conversation
// with the patient.
var outcomeWork = map[string]struct {
	activity    timelog.Activity
	interactive bool
}{
	"reached_patient": {"patient_call", true}, "left_message": {"patient_call", false},
	"advised_ed_911": {"patient_call", true}, "care_plan_updated": {"care_plan", false},
	"medication_changed": {"medication_reconciliation", false}, "referred": {"coordination", false},
	"no_action_needed": {"data_review", false},
}

// Resolve closes an item with an outcome and a note, and proposes the time entry of the work
// (none for an item with no patient: no patient's time can be counted). ErrClaimed when someone
// else holds it or it is already resolved; ErrInvalid for an unknown outcome or an overlong note.
func (q *Queue) Resolve(ctx context.Context, id, staff int64, outcome, note string) (*Proposal, error) {
	work, ok := outcomeWork[outcome]
	if !ok {
		return nil, fmt.Errorf("%w: outcome %q is not one of %s", ErrInvalid, outcome, strings.Join(Outcomes, ", "))
	}
	note = strings.TrimSpace(note)
	if len([]rune(note)) > maxNote {
		return nil, fmt.Errorf("%w: the note is longer than %d characters", ErrInvalid, maxNote)
	}
	now := q.now()
	var p *Proposal
	err := aftercommit.WithTx(ctx, q.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var w struct {
			Since    *time.Time     `db:"since"`
			Reason   string         `db:"reason"`
			Patient  *string        `db:"patient"`
			Programs pq.StringArray `db:"programs"`
			Staff    string         `db:"staff"`
		}
		if err := tx.GetContext(ctx, &w, selectWork, q.Practice, id, staff, now); err != nil {
			if db.IsNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		r, err := tx.ExecContext(ctx, resolveItem, q.Practice, id, staff, now, outcome, note)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrClaimed
		}
		q.Metrics.resolvedWith(ctx, outcome)
		// A time entry is kept in whole seconds: the proposal is too, so that confirming it as it
		// is records exactly the seconds it shows.
		end := now.Truncate(time.Second)
		start := end
		if w.Since != nil {
			start = end.Add(-end.Sub(*w.Since).Truncate(time.Second))
		}
		if w.Patient != nil {
			p = &Proposal{Draft: timelog.Draft{Patients: []string{*w.Patient}, Staff: w.Staff, Program: program(w.Programs), StartedAt: start,
				EndedAt: end, Activity: work.activity, Interactive: work.interactive,
				Note: strings.TrimSpace(fmt.Sprintf("Escalation #%d (%s): %s. %s", id, w.Reason, strings.ReplaceAll(outcome, "_", " "), note))},
				Seconds: int(end.Sub(start) / time.Second)}
		}
		return q.audit(ctx, tx, staff, id, "escalation.resolve", map[string]any{"outcome": outcome}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("error resolving escalation %d: %w", id, err)
	}
	return p, nil
}

// program is the care management program an item's work counts toward: CCM for patients in
// it, else the patient's first program, else CCM.
func program(programs []string) care.Program {
	if len(programs) == 0 || slices.Contains(programs, string(care.CCM)) {
		return care.CCM
	}
	return care.Program(programs[0])
}

func (q *Queue) audit(ctx context.Context, tx *sqlx.Tx, staff, id int64, action string, detail map[string]any, now time.Time) error {
	return audit.Record(ctx, tx, audit.Event{PracticeID: int64(q.Practice), At: now, Actor: audit.Staff(staff), Action: action,
		Entity: "escalation", EntityID: strconv.FormatInt(id, 10), Detail: detail})
}

// RefreshPeriod is how often a list left open on a page is recorded in the audit log at most:
// the page refreshes itself every few seconds, and one row per period says it stayed open.
const RefreshPeriod = 5 * time.Minute

// AuditList records that a staff member listed the queue with filter f, seen through view
// ("api", "page" or "refresh"). A refresh is recorded once per RefreshPeriod for the same
// staff member and filter. The log holds the filter only, never what the items say.
func (q *Queue) AuditList(ctx context.Context, staff int64, f Filter, view string) error {
	e := audit.Event{PracticeID: int64(q.Practice), At: q.now(), Actor: audit.Staff(staff), Action: "queue.list", Entity: "queue",
		Detail: map[string]any{"status": f.Status, "severity": string(f.Severity), "claimed_by": f.ClaimedBy, "view": view}}
	if view == "refresh" {
		_, err := audit.RecordUnlessRecent(ctx, q.DB, e, RefreshPeriod)
		return err
	}
	return audit.Record(ctx, q.DB, e)
}

// selectPatientItems lists a patient's items, newest first, a page at a time.
const selectPatientItems = viewColumns + viewJoins + `
WHERE e.practice_id = $1 AND e.patient_id = $3
ORDER BY e.created_at DESC, e.id DESC
LIMIT $4 OFFSET $5`

// OfPatient returns a patient's items (by internal id), newest first, at most limit after
// skipping offset. Reading them is a read of the patient's record: the caller audits it.
func (q *Queue) OfPatient(ctx context.Context, patient int64, limit, offset int) ([]View, error) {
	out := []View{}
	if err := q.DB.SelectContext(ctx, &out, selectPatientItems, q.Practice, q.now(), patient, limit, offset); err != nil {
		return nil, fmt.Errorf("error listing patient %d's escalation items: %w", patient, err)
	}
	return out, nil
}

// selectPatientItem is one item of a patient's, by id.
const selectPatientItem = viewColumns + `, e.patient_id` + viewJoins + `
WHERE e.practice_id = $1 AND e.id = $3 AND e.patient_id IS NOT NULL`

// PatientItem returns one item raised for a patient (not for an unknown number) and the
// (internal) id of the patient; ErrNotFound when there is none. Reading it is a read of the
// patient's record: the caller audits it.
func (q *Queue) PatientItem(ctx context.Context, id int64) (View, int64, error) {
	var row struct {
		View
		PatientID int64 `db:"patient_id"`
	}
	if err := q.DB.GetContext(ctx, &row, selectPatientItem, q.Practice, q.now(), id); err != nil {
		if db.IsNoRows(err) {
			return View{}, 0, ErrNotFound
		}
		return View{}, 0, fmt.Errorf("error reading escalation %d: %w", id, err)
	}
	return row.View, row.PatientID, nil
}
