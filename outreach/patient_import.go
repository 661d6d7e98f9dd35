package outreach

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/ident"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
)

// patientSchema lists the columns of a patients file.
var patientSchema = csvfile.Schema{
	Columns: []string{
		"id", "first_name", "last_name", "phone", "timezone", "language", "channel",
		"chronic_conditions", "short_term_conditions", "billing_npi", "programs", "ccm_track",
		"pcm_track", "consent_at",
		"consent_method", "consent_documented", "consent_npi", "consent_revoked_at",
		"initiating_visit_on", "care_plan_on", "script", "active",
	},
	Required: []string{"id"},
}

// scriptID is the form of a check-in script's id.
var scriptID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// patientColumns maps the file's patient columns to the patients table; a column absent from
// the file leaves that field of an existing patient as it is.
var patientColumns = []struct{ csv, db string }{
	{"first_name", "first_name"}, {"last_name", "last_name"}, {"phone", "phone"},
	{"timezone", "timezone"}, {"language", "language"}, {"channel", "channel"},
	{"chronic_conditions", "chronic_conditions"}, {"short_term_conditions", "short_term_conditions"},
	{"billing_npi", "billing_npi"}, {"programs", "programs"}, {"ccm_track", "ccm_track"},
	{"pcm_track", "pcm_track"},
	{"initiating_visit_on", "initiating_visit_on"}, {"care_plan_on", "care_plan_on"},
	{"script", "script_id"}, {"active", "active"},
}

// consentColumns maps the file's optional consent columns to the consents table.
var consentColumns = []struct{ csv, db string }{
	{"consent_method", "method"}, {"consent_documented", "documented"}, {"consent_revoked_at", "revoked_at"},
}

// PatientImport says what an import of a patients file did.
type PatientImport struct {
	Rows, Created, Updated, Unchanged int
	ConsentsAdded, ConsentsChanged    int
	// Deactivated counts the stored patients the file made inactive, Activated those it made
	// active again; a new patient created inactive counts as created.
	Deactivated, Activated int
}

// patientRow is one validated row, in the form the staging table takes.
type patientRow struct {
	line                  int
	extID                 string
	firstName, lastName   string
	phone                 *string
	timezone              *string // nil when the file has no timezone column
	language, channel     string
	conditions, programs  []string
	shortTerm             []string // conditions expected to last 3 to 12 months (PCM only)
	billingNPI            *string
	track, pcmTrack       string
	initiatingVisit, plan *time.Time
	script                *string
	active                bool
	consentAt, consentOn  *time.Time // an instant, or a date resolved in the patient's zone
	consentMethod         *string
	consentDocumented     bool
	consentNPI            *string
	revokedAt, revokedOn  *time.Time
}

// ImportPatients reads a patients CSV file and upserts its patients by id in one transaction:
// a file with any error stores nothing, and the error names every bad line and column.
// Importing the same file again changes nothing. Opt-out state is never touched by an import.
// Phone numbers are read as people write them, national ones in the practice's country, and
// stored in E.164 form. A patient the file makes inactive has their open check-ins, queued
// texts and queued calls cancelled in the same transaction.
func ImportPatients(ctx context.Context, d *sqlx.DB, name string, r io.Reader, opt imports.Options) (PatientImport, error) {
	var res PatientImport
	pid := int64(opt.Practice.ID)
	rows, err := imports.Run(ctx, d, name, r, opt, imports.Job[patientRow]{
		Kind: imports.Patients, Schema: patientSchema, FirstFile: true,
		Parse: func(f *csvfile.File) ([]patientRow, error) { return parsePatients(f, opt.Practice) },
		Store: func(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, rows []patientRow) (map[string]int, error) {
			if err := stagePatients(ctx, tx, rows); err != nil {
				return nil, err
			}
			changes, err := activeChanges(ctx, tx, f, pid)
			if err != nil {
				return nil, err
			}
			if err := upsertPatients(ctx, tx, f, opt, &res); err != nil {
				return nil, err
			}
			if err := applyActive(ctx, tx, f, changes, opt, &res); err != nil {
				return nil, err
			}
			if err := checkConsents(ctx, tx, f.Name, pid); err != nil {
				return nil, err
			}
			if err := upsertConsents(ctx, tx, f, opt, &res); err != nil {
				return nil, err
			}
			return map[string]int{"created": res.Created, "updated": res.Updated, "consents_added": res.ConsentsAdded,
				"consents_changed": res.ConsentsChanged, "deactivated": res.Deactivated, "activated": res.Activated}, nil
		},
	})
	if err != nil {
		return PatientImport{}, err
	}
	res.Rows = rows
	res.Unchanged = res.Rows - res.Created - res.Updated
	if res.Created >= analyzeAfter {
		// Inbound texts look patients up by phone from the first minute: plans made from the
		// statistics of a nearly empty table would scan the practice's patients for each.
		if _, err := d.ExecContext(ctx, "ANALYZE patients, consents"); err != nil {
			return res, fmt.Errorf("error refreshing the patients' statistics after the import: %w", err)
		}
	}
	return res, nil
}

func parsePatients(f *csvfile.File, prac practice.Settings) ([]patientRow, error) {
	return csvfile.ParseRows(f, "id", func(r csvfile.Row) (patientRow, []*csvfile.Error) {
		return parsePatient(r, prac)
	})
}

func parsePatient(r csvfile.Row, prac practice.Settings) (patientRow, []*csvfile.Error) {
	var errs []*csvfile.Error
	check := func(e *csvfile.Error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	p := patientRow{line: r.Line}
	id, e := r.Required("id")
	check(e)
	if id != "" && !ident.External(id) {
		check(r.Errorf("id", "id %q must be 1 to 64 letters, digits, '.', '_', ':' or '-'", id))
	}
	p.extID = id
	p.firstName, p.lastName = r.Get("first_name"), r.Get("last_name")
	for _, col := range []string{"first_name", "last_name"} {
		if len(r.Get(col)) > 200 {
			check(r.Errorf(col, "%s is longer than 200 characters", col))
		}
	}
	if phone, ok, e := r.Phone("phone", prac.Country); ok {
		p.phone = &phone
	} else {
		check(e)
	}
	if r.Has("timezone") {
		loc, e := r.Location("timezone", prac.Location)
		check(e)
		zone := loc.String()
		p.timezone = &zone
	}
	p.language, e = r.OneOf("language", string(English), string(English), string(Spanish))
	check(e)
	p.channel, e = r.OneOf("channel", string(MediumSMS), string(MediumSMS), string(MediumVoice))
	check(e)
	p.track, e = r.OneOf("ccm_track", string(TrackStaff), string(TrackStaff), string(TrackPractitioner))
	check(e)
	p.pcmTrack, e = r.OneOf("pcm_track", string(TrackStaff), string(TrackStaff), string(TrackPractitioner))
	check(e)
	p.conditions = conditionsCell(r, "chronic_conditions", check)
	p.shortTerm = conditionsCell(r, "short_term_conditions", check)
	for _, c := range p.shortTerm {
		if slices.Contains(p.conditions, c) {
			check(r.Errorf("short_term_conditions", "short_term_conditions %q is also in chronic_conditions: a condition is expected to last 12 months or more, or 3 to 12", c))
		}
	}
	p.programs = []string{}
	for _, pr := range r.List("programs") {
		pr = strings.ToLower(pr)
		switch care.Program(pr) {
		case care.CCM, care.RPM, care.PCM, care.BHI:
			if !slices.Contains(p.programs, pr) {
				p.programs = append(p.programs, pr)
			}
		default:
			check(r.Errorf("programs", "programs %q is not one of ccm, rpm, pcm, bhi", pr))
		}
	}
	p.billingNPI = npiCell(r, "billing_npi", check)
	p.initiatingVisit = dateCell(r, "initiating_visit_on", check)
	p.plan = dateCell(r, "care_plan_on", check)
	if v := r.Get("script"); v != "" {
		v = strings.ToLower(v)
		if !scriptID.MatchString(v) {
			check(r.Errorf("script", "script %q is not a script id (lower-case letters, digits, '-' and '_')", r.Get("script")))
		}
		p.script = &v
	}
	p.active, e = r.Bool("active", true)
	check(e)
	parseConsent(r, &p, check)
	return p, errs
}

// parseConsent reads the consent columns. Dates are resolved to instants in the patient's zone
// once the patient is stored (resolveConsents); their order is checked there too.
func parseConsent(r csvfile.Row, p *patientRow, check func(*csvfile.Error)) {
	var e *csvfile.Error
	p.consentAt, p.consentOn, e = r.InstantOrDate("consent_at")
	check(e)
	if p.consentAt == nil && p.consentOn == nil {
		for _, col := range []string{"consent_method", "consent_documented", "consent_npi", "consent_revoked_at"} {
			if r.Get(col) != "" && e == nil {
				check(r.Errorf(col, "%s is set but consent_at is empty", col))
			}
		}
		return
	}
	if m, e := r.OneOf("consent_method", "", "verbal", "written"); e != nil {
		check(e)
	} else if m != "" {
		p.consentMethod = &m
	}
	p.consentDocumented, e = r.Bool("consent_documented", true)
	check(e)
	p.consentNPI = npiCell(r, "consent_npi", check)
	if p.consentNPI == nil {
		p.consentNPI = p.billingNPI // nil here: the stored billing_npi, checked by checkConsents
	}
	p.revokedAt, p.revokedOn, e = r.InstantOrDate("consent_revoked_at")
	check(e)
}

// conditionsCell reads a ';'-separated list of ICD-10 codes, upper-cased, each once.
func conditionsCell(r csvfile.Row, col string, check func(*csvfile.Error)) []string {
	out := []string{}
	for _, c := range r.List(col) {
		c = strings.ToUpper(c)
		if !ident.ICD10(c) {
			check(r.Errorf(col, "%s %q is not an ICD-10 code (like E11.9)", col, c))
		} else if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func npiCell(r csvfile.Row, col string, check func(*csvfile.Error)) *string {
	npi, ok, e := r.NPI(col)
	check(e)
	if !ok {
		return nil
	}
	return &npi
}

func dateCell(r csvfile.Row, col string, check func(*csvfile.Error)) *time.Time {
	d, ok, e := r.Date(col)
	check(e)
	if !ok {
		return nil
	}
	return &d
}

const createPatientStage = `
CREATE TEMP TABLE patient_stage (
	line int, ext_id text, first_name text, last_name text, phone text, timezone text,
	language text, channel text, chronic_conditions text[], short_term_conditions text[],
	billing_npi text, programs text[], ccm_track text, pcm_track text, initiating_visit_on date, care_plan_on date, script_id text, active boolean,
	consent_at timestamptz, consent_on date, consent_method text, consent_documented boolean,
	consent_npi text, consent_revoked_at timestamptz, consent_revoked_on date
) ON COMMIT DROP`

// copyPatientStage starts a COPY into the staging table; lib/pq streams the statement's Exec
// calls as its rows.
const copyPatientStage = `
COPY patient_stage (line, ext_id, first_name, last_name, phone, timezone, language, channel,
	chronic_conditions, short_term_conditions, billing_npi, programs, ccm_track, pcm_track,
	initiating_visit_on, care_plan_on, script_id, active, consent_at, consent_on, consent_method, consent_documented, consent_npi,
	consent_revoked_at, consent_revoked_on) FROM STDIN`

// stagePatients copies the rows into a temporary table with COPY, the fast path for large files.
func stagePatients(ctx context.Context, tx *sqlx.Tx, rows []patientRow) error {
	if _, err := tx.ExecContext(ctx, createPatientStage); err != nil {
		return fmt.Errorf("error creating staging table: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, copyPatientStage)
	if err != nil {
		return fmt.Errorf("error starting copy: %w", err)
	}
	defer stmt.Close()
	for _, p := range rows {
		_, err := stmt.ExecContext(ctx, p.line, p.extID, p.firstName, p.lastName, p.phone, p.timezone,
			p.language, p.channel, pq.Array(p.conditions), pq.Array(p.shortTerm), p.billingNPI,
			pq.Array(p.programs), p.track, p.pcmTrack, dateValue(p.initiatingVisit), dateValue(p.plan), p.script, p.active, p.consentAt,
			dateValue(p.consentOn), p.consentMethod, p.consentDocumented, p.consentNPI, p.revokedAt,
			dateValue(p.revokedOn))
		if err != nil {
			return fmt.Errorf("error copying line %d: %w", p.line, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("error copying patients: %w", err)
	}
	return nil
}

// dateValue passes a calendar date as text, so that no zone can shift it.
func dateValue(d *time.Time) any {
	if d == nil {
		return nil
	}
	return d.Format(time.DateOnly)
}

// upsertPatientsSQL is completed with the columns the file has: %[1]s the SET list, %[2]s and
// %[3]s the old and new values compared to skip unchanged rows.
const upsertPatientsSQL = `
WITH up AS (
	INSERT INTO patients (practice_id, ext_id, first_name, last_name, phone, timezone, language,
		channel, chronic_conditions, short_term_conditions, billing_npi, programs, ccm_track,
		pcm_track, initiating_visit_on, care_plan_on, script_id, active, created_at, updated_at)
	SELECT $1, ext_id, first_name, last_name, phone, coalesce(timezone, $4), language, channel,
		chronic_conditions, short_term_conditions, billing_npi, programs, ccm_track, pcm_track,
		initiating_visit_on, care_plan_on, script_id, active, $2, $2
	FROM patient_stage ORDER BY line
	ON CONFLICT (practice_id, ext_id) DO UPDATE SET %[1]s, updated_at = EXCLUDED.updated_at
	WHERE (%[2]s) IS DISTINCT FROM (%[3]s)
	RETURNING id, (xmax = 0) AS inserted
), logged AS (
	INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
	SELECT $1, $2, $3, CASE WHEN inserted THEN 'patient.create' ELSE 'patient.update' END,
		'patient', id::text, jsonb_build_object('source', 'import')
	FROM up
	RETURNING action
)
SELECT count(*) FILTER (WHERE action = 'patient.create') AS created,
       count(*) FILTER (WHERE action = 'patient.update') AS updated
FROM logged`

func upsertPatients(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, opt imports.Options, res *PatientImport) error {
	var set, old, new []string
	for _, c := range patientColumns {
		if f.Has(c.csv) {
			set = append(set, c.db+" = EXCLUDED."+c.db)
			old = append(old, "patients."+c.db)
			new = append(new, "EXCLUDED."+c.db)
		}
	}
	if len(set) == 0 { // an id-only file: create the missing patients, change nothing else
		set, old, new = []string{"ext_id = EXCLUDED.ext_id"}, []string{"true"}, []string{"true"}
	}
	old, new = append(old, "0"), append(new, "0") // a row of one value would not be a row
	q := fmt.Sprintf(upsertPatientsSQL, strings.Join(set, ", "), strings.Join(old, ", "), strings.Join(new, ", "))
	var counts struct {
		Created int `db:"created"`
		Updated int `db:"updated"`
	}
	if err := tx.GetContext(ctx, &counts, q, int64(opt.Practice.ID), opt.Now, string(opt.Actor), opt.Practice.Location.String()); err != nil {
		return fmt.Errorf("error storing patients: %w", err)
	}
	res.Created, res.Updated = counts.Created, counts.Updated
	return nil
}

const selectActiveChanges = `
SELECT p.id, s.active
FROM patient_stage s
JOIN patients p ON p.practice_id = $1 AND p.ext_id = s.ext_id
WHERE p.active <> s.active
ORDER BY s.line`

// activeChange is a stored patient whose active flag the file changes.
type activeChange struct {
	ID     int64 `db:"id"`
	Active bool  `db:"active"`
}

// activeChanges finds the stored patients the file makes inactive or active again, before the
// upsert overwrites their flag. A file without the active column changes no one's.
func activeChanges(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, practiceID int64) ([]activeChange, error) {
	if !f.Has("active") {
		return nil, nil
	}
	var changes []activeChange
	if err := tx.SelectContext(ctx, &changes, selectActiveChanges, practiceID); err != nil {
		return nil, fmt.Errorf("error finding patients made active or inactive: %w", err)
	}
	return changes, nil
}

const auditActiveChanges = `
WITH changed AS (
	UPDATE patients SET active_changed_at = $2 WHERE practice_id = $1 AND id = ANY ($4::bigint[])
)
INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
SELECT $1, $2, $3, CASE WHEN c.active THEN 'patient.activate' ELSE 'patient.deactivate' END,
	'patient', c.id::text, jsonb_build_object('source', 'import')
FROM unnest($4::bigint[], $5::boolean[]) WITH ORDINALITY AS c(id, active, n)
ORDER BY c.n`

const selectInactiveInFile = `
SELECT p.id FROM patient_stage s
JOIN patients p ON p.practice_id = $1 AND p.ext_id = s.ext_id
WHERE NOT s.active`

// applyActive audits and counts the changes of the active flag, and cancels the open
// check-ins, queued texts and queued calls of every patient the file says is inactive, so
// that nothing queued for them before is sent.
func applyActive(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, changes []activeChange, opt imports.Options, res *PatientImport) error {
	if !f.Has("active") {
		return nil
	}
	pid := int64(opt.Practice.ID)
	if len(changes) > 0 {
		ids, active := make([]int64, len(changes)), make([]bool, len(changes))
		for i, c := range changes {
			ids[i], active[i] = c.ID, c.Active
			if c.Active {
				res.Activated++
			} else {
				res.Deactivated++
			}
		}
		if _, err := tx.ExecContext(ctx, auditActiveChanges, pid, opt.Now, string(opt.Actor), pq.Array(ids), pq.Array(active)); err != nil {
			return fmt.Errorf("error recording patients made active or inactive: %w", err)
		}
	}
	var inactive []int64
	if err := tx.SelectContext(ctx, &inactive, selectInactiveInFile, pid); err != nil {
		return fmt.Errorf("error finding inactive patients: %w", err)
	}
	if len(inactive) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, cancelOpenFor, opt.Now, pid, pq.Array(inactive)); err != nil {
		return fmt.Errorf("error cancelling the outreach queued for inactive patients: %w", err)
	}
	return nil
}

const resolveConsentDates = `
UPDATE patient_stage s
SET consent_at = coalesce(s.consent_at, s.consent_on::timestamp AT TIME ZONE p.timezone),
    consent_revoked_at = coalesce(s.consent_revoked_at, s.consent_revoked_on::timestamp AT TIME ZONE p.timezone),
    consent_npi = coalesce(s.consent_npi, p.billing_npi)
FROM patients p
WHERE p.practice_id = $1 AND p.ext_id = s.ext_id
  AND (s.consent_at IS NOT NULL OR s.consent_on IS NOT NULL)`

const selectConsentProblems = `
SELECT line, column_name, message FROM (
	SELECT line, 'consent_npi' AS column_name,
		'consent_npi is empty and the patient has no billing_npi: say which practitioner the consent was given for' AS message
	FROM patient_stage WHERE consent_at IS NOT NULL AND consent_npi IS NULL
	UNION ALL
	SELECT line, 'consent_revoked_at', 'consent_revoked_at is before consent_at'
	FROM patient_stage WHERE consent_revoked_at < consent_at
) problems
ORDER BY line`

// checkConsents resolves consent dates to instants in each patient's stored zone and finds
// consents that cannot be stored: no practitioner known, or revoked before given.
func checkConsents(ctx context.Context, tx *sqlx.Tx, name string, practiceID int64) error {
	if _, err := tx.ExecContext(ctx, resolveConsentDates, practiceID); err != nil {
		return fmt.Errorf("error resolving consent dates: %w", err)
	}
	var problems []struct {
		Line    int    `db:"line"`
		Column  string `db:"column_name"`
		Message string `db:"message"`
	}
	if err := tx.SelectContext(ctx, &problems, selectConsentProblems); err != nil {
		return fmt.Errorf("error checking consents: %w", err)
	}
	var errs csvfile.Collector
	for _, p := range problems {
		errs.Add(&csvfile.Error{File: name, Line: p.Line, Column: p.Column, Msg: p.Message})
	}
	return errs.Err()
}

// upsertConsentsSQL is completed like upsertPatientsSQL, with the consent columns the file has.
const upsertConsentsSQL = `
WITH up AS (
	INSERT INTO consents (practice_id, patient_id, given_at, npi, method, documented, revoked_at,
		created_at, updated_at)
	SELECT $1, p.id, s.consent_at, s.consent_npi, s.consent_method, s.consent_documented,
		s.consent_revoked_at, $2, $2
	FROM patient_stage s
	JOIN patients p ON p.practice_id = $1 AND p.ext_id = s.ext_id
	WHERE s.consent_at IS NOT NULL
	ON CONFLICT (practice_id, patient_id, given_at, npi) DO UPDATE SET %[1]s, updated_at = EXCLUDED.updated_at
	WHERE (%[2]s) IS DISTINCT FROM (%[3]s)
	RETURNING patient_id, (xmax = 0) AS inserted
), logged AS (
	INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
	SELECT $1, $2, $3, CASE WHEN inserted THEN 'consent.create' ELSE 'consent.update' END,
		'patient', patient_id::text, jsonb_build_object('source', 'import')
	FROM up
	RETURNING action
)
SELECT count(*) FILTER (WHERE action = 'consent.create') AS added,
       count(*) FILTER (WHERE action = 'consent.update') AS changed
FROM logged`

func upsertConsents(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, opt imports.Options, res *PatientImport) error {
	if !f.Has("consent_at") {
		return nil
	}
	var set []string
	old, new := []string{"0"}, []string{"0"}
	for _, c := range consentColumns {
		// consent_documented defaults to true when consent_at is given, so it always applies.
		if f.Has(c.csv) || c.csv == "consent_documented" {
			set = append(set, c.db+" = EXCLUDED."+c.db)
			old = append(old, "consents."+c.db)
			new = append(new, "EXCLUDED."+c.db)
		}
	}
	q := fmt.Sprintf(upsertConsentsSQL, strings.Join(set, ", "), strings.Join(old, ", "), strings.Join(new, ", "))
	var counts struct {
		Added   int `db:"added"`
		Changed int `db:"changed"`
	}
	if err := tx.GetContext(ctx, &counts, q, int64(opt.Practice.ID), opt.Now, string(opt.Actor)); err != nil {
		return fmt.Errorf("error storing consents: %w", err)
	}
	res.ConsentsAdded, res.ConsentsChanged = counts.Added, counts.Changed
	return nil
}
