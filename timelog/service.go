package timelog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Service records and reads time entries for one practice.
type Service struct {
	DB       *sqlx.DB
	Practice practice.ID
	Location *time.Location // the practice's zone: instants are given in it (UTC when nil)
	Clock    func() time.Time
}

// loc is the zone the service gives instants in.
func (s *Service) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// localTime formats an instant for people: the practice's wall clock with its zone's
// abbreviation, which tells EST from EDT.
func localTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// InvalidError lists what is wrong with a submitted entry.
type InvalidError struct{ Errs []*FieldError }

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Msg
	}
	return strings.Join(msgs, "; ")
}

// Unwrap makes an InvalidError a errkind.ErrInvalid.
func (e *InvalidError) Unwrap() error { return errkind.ErrInvalid }

// resolved is a draft with internal ids and the staff member's role at the time.
type resolved struct {
	Draft
	staffID    int64
	role       string
	credential string
	npi        *string
	patientIDs []int64 // sorted
}

type staffRow struct {
	ID         int64   `db:"id"`
	ExtID      string  `db:"ext_id"`
	Role       string  `db:"role"`
	Credential string  `db:"credential"`
	NPI        *string `db:"npi"`
}

type patientRow struct {
	ID       int64          `db:"id"`
	ExtID    string         `db:"ext_id"`
	Programs pq.StringArray `db:"programs"`
}

const selectStaffByExt = `
SELECT id, ext_id, role, credential, npi FROM staff WHERE practice_id = $1 AND ext_id = ANY($2)`

const selectPatientsByExt = `
SELECT id, ext_id, programs FROM patients WHERE practice_id = $1 AND ext_id = ANY($2)`

// resolver turns the practice's ids into internal ids, checking that staff and patients exist
// and that patients are enrolled in the program.
type resolver struct {
	staff    map[string]staffRow
	patients map[string]patientRow
}

func newResolver(ctx context.Context, q db.Querier, practiceID int64, drafts []Draft) (*resolver, error) {
	var staffIDs, patientIDs []string
	for _, d := range drafts {
		staffIDs = append(staffIDs, d.Staff)
		patientIDs = append(patientIDs, d.Patients...)
	}
	slices.Sort(staffIDs)
	slices.Sort(patientIDs)
	var staff []staffRow
	if err := q.SelectContext(ctx, &staff, selectStaffByExt, practiceID, pq.Array(slices.Compact(staffIDs))); err != nil {
		return nil, fmt.Errorf("error loading staff: %w", err)
	}
	var patients []patientRow
	if err := q.SelectContext(ctx, &patients, selectPatientsByExt, practiceID, pq.Array(slices.Compact(patientIDs))); err != nil {
		return nil, fmt.Errorf("error loading patients: %w", err)
	}
	r := &resolver{staff: map[string]staffRow{}, patients: map[string]patientRow{}}
	for _, s := range staff {
		r.staff[s.ExtID] = s
	}
	for _, p := range patients {
		r.patients[p.ExtID] = p
	}
	return r, nil
}

func (r *resolver) resolve(d Draft) (resolved, []*FieldError) {
	var errs []*FieldError
	out := resolved{Draft: d}
	s, ok := r.staff[d.Staff]
	if !ok {
		errs = append(errs, fieldErr("staff", "staff %q is not a known staff id", d.Staff))
	} else {
		out.staffID, out.role, out.credential, out.npi = s.ID, s.Role, s.Credential, s.NPI
	}
	for _, ext := range d.Patients {
		p, ok := r.patients[ext]
		switch {
		case !ok:
			errs = append(errs, fieldErr("patients", "patient %q is not a known patient id", ext))
		case d.Program.NeedsEnrolment() && !slices.Contains(p.Programs, string(d.Program)):
			errs = append(errs, fieldErr("program", "patient %q is not enrolled in %s", ext, d.Program))
		default:
			out.patientIDs = append(out.patientIDs, p.ID)
		}
	}
	slices.Sort(out.patientIDs)
	return out, errs
}

// attribution is whose time the resolved draft records, with its MDM.
func (e resolved) attribution() Attribution {
	return Attribution{Staff: e.Staff, Role: e.role, MDM: e.MDM}
}

// permitted applies the rule to a resolved draft (verb, and an amended entry's current
// version), adding its field errors to those of the draft; a refusal comes first. A draft
// whose staff member is unknown has nothing to apply the rule to.
func permitted(c Caller, verb Verb, e resolved, before *Attribution, errs []*FieldError) error {
	if e.staffID != 0 {
		err := Permit(c, Act{Verb: verb, Entry: e.attribution(), Before: before})
		var ie *InvalidError
		switch {
		case errors.As(err, &ie):
			errs = append(errs, ie.Errs...)
		case err != nil:
			return err
		}
	}
	if len(errs) > 0 {
		return &InvalidError{errs}
	}
	return nil
}

// resolveOne resolves a single draft that c records (verb; before is an amended entry's
// current version), returning a refusal of the rule, or the draft's field errors as an
// InvalidError.
func (s *Service) resolveOne(ctx context.Context, q db.Querier, c Caller, verb Verb, d Draft, before *Attribution) (resolved, error) {
	r, err := newResolver(ctx, q, int64(s.Practice), []Draft{d})
	if err != nil {
		return resolved{}, err
	}
	e, errs := r.resolve(d)
	if err := permitted(c, verb, e, before, errs); err != nil {
		return resolved{}, err
	}
	return e, nil
}

const insertEntry = `
INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, staff_npi, program,
	started_at, ended_at, activity, note, changed, mdm, interactive, source, supersedes, voided,
	amend_reason, import_id, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
RETURNING id`

const insertEntryPatients = `
INSERT INTO time_entry_patients (practice_id, entry_id, patient_id)
SELECT $1, $2, unnest($3::bigint[])`

// amendment says what an inserted entry supersedes, if anything.
type amendment struct {
	supersedes *EntryID
	voided     bool
	reason     *string
}

func (s *Service) insert(ctx context.Context, tx *sqlx.Tx, e resolved, src Source, am amendment, actor audit.Actor, now time.Time) (EntryID, error) {
	var id EntryID
	err := tx.GetContext(ctx, &id, insertEntry, int64(s.Practice), e.staffID, e.role, e.credential, e.npi,
		string(e.Program), e.StartedAt, e.EndedAt, string(e.Activity), e.Note, string(e.Changed), string(e.MDM),
		e.Interactive, string(src), am.supersedes, am.voided, am.reason, nil, string(actor), now)
	if db.IsUniqueViolation(err) {
		return 0, errkind.Errorf(errkind.ErrConflict, "time entry %d was amended or voided at the same moment by another request; see its history", *am.supersedes)
	}
	if err != nil {
		return 0, fmt.Errorf("error storing time entry: %w", err)
	}
	if _, err := tx.ExecContext(ctx, insertEntryPatients, int64(s.Practice), int64(id), pq.Array(e.patientIDs)); err != nil {
		return 0, fmt.Errorf("error storing time entry patients: %w", err)
	}
	if err := audit.RecordAll(ctx, tx, s.entryEvents(e, id, src, am, actor, now)); err != nil {
		return 0, err
	}
	return id, nil
}

// entryEvents returns the audit events of an entry just stored: one for each of its patients,
// on the patient's record, so that the time shows in each patient's trail.
func (s *Service) entryEvents(e resolved, id EntryID, src Source, am amendment, actor audit.Actor, now time.Time) []audit.Event {
	action := "time_entry.create"
	switch {
	case am.voided:
		action = "time_entry.void"
	case am.supersedes != nil:
		action = "time_entry.amend"
	}
	detail := map[string]any{"program": e.Program, "seconds": int64(e.EndedAt.Sub(e.StartedAt).Seconds()), "source": src}
	if am.supersedes != nil {
		detail["supersedes"] = *am.supersedes
	}
	out := make([]audit.Event, len(e.patientIDs))
	for i, p := range e.patientIDs {
		out[i] = audit.Event{PracticeID: int64(s.Practice), At: now, Actor: actor,
			Action: action, Entity: "patient", EntityID: fmt.Sprint(p), Detail: mergeDetail(detail, "time_entry", id)}
	}
	return out
}

func mergeDetail(d map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(d)+1)
	for key, val := range d {
		out[key] = val
	}
	out[k] = v
	return out
}

// store inserts an entry and works out its warnings, in the caller's transaction, so that an
// entry is never stored behind an error answer.
func (s *Service) store(ctx context.Context, tx *sqlx.Tx, e resolved, src Source, am amendment, actor audit.Actor, now time.Time) (EntryID, []Warning, error) {
	id, err := s.insert(ctx, tx, e, src, am, actor, now)
	if err != nil {
		return 0, nil, err
	}
	ws, err := s.warnings(ctx, tx, e, id, am.voided)
	return id, ws, err
}

// Record stores a new entry that c records (see Permit for who may record what), with warnings
// when it overlaps another current entry of the same staff member or falls in a closed billing
// month.
func (s *Service) Record(ctx context.Context, c Caller, d Draft, src Source) (Entry, error) {
	now := s.Clock()
	if errs := d.Normalize(now); len(errs) > 0 {
		return Entry{}, &InvalidError{errs}
	}
	var id EntryID
	var ws []Warning
	err := db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		e, err := s.resolveOne(ctx, tx, c, VerbRecord, d, nil)
		if err != nil {
			return err
		}
		if dup, err := s.duplicateOf(ctx, tx, e); err != nil {
			return err
		} else if dup != 0 {
			return errkind.Errorf(errkind.ErrConflict, "the same entry is already stored as entry %d", dup)
		}
		id, ws, err = s.store(ctx, tx, e, src, amendment{}, c.Actor, now)
		return err
	})
	if err != nil {
		return Entry{}, err
	}
	return s.recorded(ctx, id, ws)
}

// recorded loads an entry just recorded, with its warnings.
func (s *Service) recorded(ctx context.Context, id EntryID, ws []Warning) (Entry, error) {
	e, err := s.Get(ctx, id)
	e.Warnings = ws
	return e, err
}

const selectDuplicate = `
SELECT e.id FROM time_entries e
WHERE e.practice_id = $1 AND e.staff_id = $2 AND e.started_at = $3 AND e.ended_at = $4
  AND e.program = $5 AND NOT e.voided
  AND NOT EXISTS (SELECT 1 FROM time_entries n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id)
  AND ARRAY(SELECT patient_id FROM time_entry_patients p
            WHERE p.practice_id = e.practice_id AND p.entry_id = e.id ORDER BY patient_id) = $6::bigint[]
LIMIT 1`

// duplicateOf returns the id of a current entry with the same staff, instants, program and
// patients, or 0.
func (s *Service) duplicateOf(ctx context.Context, q db.Querier, e resolved) (EntryID, error) {
	var id EntryID
	err := q.GetContext(ctx, &id, selectDuplicate, int64(s.Practice), e.staffID, e.StartedAt, e.EndedAt, string(e.Program), pq.Array(e.patientIDs))
	if db.IsNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("error looking for a duplicate entry: %w", err)
	}
	return id, nil
}

// entryColumns selects an Entry; it is completed with a WHERE clause. created_by is stored as
// the audit actor ("staff:<internal id>", "cli"): a staff member's is read as their own id and
// name. Every entry has its staff member (a foreign key): the left join only lets the planner
// start from the entries a WHERE clause picks. The entry that supersedes one is found in
// time_entry_successors, one index, rather than in every month of time_entries.
const entryColumns = `
SELECT e.id, e.staff_id, e.staff_role, e.staff_credential, e.staff_npi, e.program, e.started_at, e.ended_at,
	e.activity, e.note, e.changed, e.mdm, e.interactive, e.source, e.supersedes, e.voided,
	e.amend_reason, coalesce(c.ext_id, e.created_by) AS created_by, coalesce(c.name, '') AS created_by_name,
	e.created_at, s.ext_id AS staff, s.name AS staff_name,
	n.entry_id AS superseded_by,
	ARRAY(SELECT p.ext_id FROM time_entry_patients tp
	      JOIN patients p ON p.practice_id = tp.practice_id AND p.id = tp.patient_id
	      WHERE tp.practice_id = e.practice_id AND tp.entry_id = e.id ORDER BY p.ext_id) AS patients
FROM time_entries e
LEFT JOIN staff s ON s.practice_id = e.practice_id AND s.id = e.staff_id
LEFT JOIN staff c ON c.practice_id = e.practice_id
	AND c.id = CASE WHEN e.created_by ~ '^staff:[0-9]{1,18}$' THEN substr(e.created_by, 7)::bigint END
LEFT JOIN time_entry_successors n ON n.practice_id = e.practice_id AND n.supersedes = e.id
`

// entryRow is an entry as the database returns it: the entry's columns, its patients and the
// staff member's internal id.
type entryRow struct {
	Entry
	StaffID  int64          `db:"staff_id"`
	Patients pq.StringArray `db:"patients"`
}

func (r entryRow) entry(loc *time.Location) Entry {
	e := r.Entry
	e.Patients, e.staffID = []string(r.Patients), r.StaffID
	e.StartedAt, e.EndedAt, e.CreatedAt = e.StartedAt.In(loc), e.EndedAt.In(loc), e.CreatedAt.In(loc)
	e.Seconds = int64(e.EndedAt.Sub(e.StartedAt) / time.Second)
	return e
}

// attribution is whose time the entry records, with their role at the time, and its MDM.
func (e Entry) attribution() Attribution {
	return Attribution{Staff: e.Staff, Role: e.StaffRole, MDM: e.MDM}
}

// Get loads one entry, its instants in the practice's zone.
func (s *Service) Get(ctx context.Context, id EntryID) (Entry, error) {
	return s.get(ctx, s.DB, id)
}

func (s *Service) get(ctx context.Context, q db.Querier, id EntryID) (Entry, error) {
	var r entryRow
	err := q.GetContext(ctx, &r, entryColumns+`WHERE e.practice_id = $1 AND e.id = $2`, int64(s.Practice), int64(id))
	if db.IsNoRows(err) {
		return Entry{}, errkind.Errorf(errkind.ErrNotFound, "time entry %d not found", id)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("error loading time entry %d: %w", id, err)
	}
	return r.entry(s.loc()), nil
}

const selectChain = `
WITH RECURSIVE up AS (
	SELECT id, supersedes FROM time_entries WHERE practice_id = $1 AND id = $2
	UNION ALL
	SELECT e.id, e.supersedes FROM time_entries e JOIN up ON e.practice_id = $1 AND e.id = up.supersedes
), down AS (
	SELECT id FROM up WHERE supersedes IS NULL
	UNION ALL
	SELECT e.id FROM time_entries e JOIN down ON e.practice_id = $1 AND e.supersedes = down.id
)
SELECT id FROM down`

// History returns an entry's whole trail, from the original to the current version, its
// instants in the practice's zone.
func (s *Service) History(ctx context.Context, id EntryID) ([]Entry, error) {
	var ids []int64
	if err := s.DB.SelectContext(ctx, &ids, selectChain, int64(s.Practice), int64(id)); err != nil {
		return nil, fmt.Errorf("error loading history of time entry %d: %w", id, err)
	}
	if len(ids) == 0 {
		return nil, errkind.Errorf(errkind.ErrNotFound, "time entry %d not found", id)
	}
	var rows []entryRow
	err := s.DB.SelectContext(ctx, &rows, entryColumns+`WHERE e.practice_id = $1 AND e.id = ANY($2) ORDER BY e.id`, int64(s.Practice), pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("error loading history of time entry %d: %w", id, err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry(s.loc())
	}
	return out, nil
}

// ListFilter selects entries.
type ListFilter struct {
	From, To   time.Time // entries that overlap [From, To)
	Patient    string    // the practice's patient id; empty for all
	AllVersion bool      // include superseded versions and voids
}

// storedLength is the longest entry the database stores (time_entries_check1): an entry that
// overlaps a period started at most this long before it, which bounds the months a list reads.
const storedLength = 24 * time.Hour

// List returns the entries overlapping a period, current versions only unless asked, oldest
// first, their instants in the practice's zone.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Entry, error) {
	where := `WHERE e.practice_id = $1 AND e.started_at < $3 AND e.ended_at > $2 AND e.started_at > $4`
	if !f.AllVersion {
		where += ` AND NOT e.voided AND n.entry_id IS NULL`
	}
	args := []any{int64(s.Practice), f.From, f.To, f.From.Add(-storedLength)}
	if f.Patient != "" {
		where += ` AND EXISTS (SELECT 1 FROM time_entry_patients tp JOIN patients p ON p.practice_id = tp.practice_id AND p.id = tp.patient_id
			WHERE tp.practice_id = e.practice_id AND tp.entry_id = e.id AND p.ext_id = $5)`
		args = append(args, f.Patient)
	}
	var rows []entryRow
	if err := s.DB.SelectContext(ctx, &rows, entryColumns+where+` ORDER BY e.started_at, e.id`, args...); err != nil {
		return nil, fmt.Errorf("error listing time entries: %w", err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry(s.loc())
	}
	return out, nil
}

const selectPatientID = `SELECT id FROM patients WHERE practice_id = $1 AND ext_id = $2`

// AuditRead records that actor read time entries: action is time_entry.list, .export,
// .conflicts or .history; month is the month read (YYYY-MM), entry the entry whose history was
// read, patient the practice's id of the patient a list was narrowed to. A list narrowed to a
// patient is recorded against the patient's record (their internal id), so that it shows in
// their audit trail; the log holds internal ids only.
func (s *Service) AuditRead(ctx context.Context, actor audit.Actor, action, month string, entry EntryID, patient string, detail map[string]any) error {
	e := audit.Event{PracticeID: int64(s.Practice), At: s.Clock(), Actor: actor, Action: action,
		Entity: "time_log", EntityID: month, Detail: detail}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	switch {
	case entry != 0:
		e.Entity, e.EntityID = "time_entry", fmt.Sprint(entry)
	case patient != "":
		var id int64
		err := s.DB.GetContext(ctx, &id, selectPatientID, int64(s.Practice), patient)
		switch {
		case db.IsNoRows(err):
			e.Detail["patient"] = "unknown"
		case err != nil:
			return fmt.Errorf("error finding the patient of a time entry list: %w", err)
		default:
			e.Entity, e.EntityID = "patient", fmt.Sprint(id)
			e.Detail["month"] = month
		}
	}
	return audit.Record(ctx, s.DB, e)
}
