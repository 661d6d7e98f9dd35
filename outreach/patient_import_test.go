package outreach_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func options(now time.Time) imports.Options {
	return imports.Options{
		Practice: practice.Settings{ID: practice.Default, Location: newYork, Quiet: practice.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}, Country: "US"},
		Actor:    audit.ActorCLI,
		Now:      now,
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const goodPatients = `id,first_name,last_name,phone,timezone,language,channel,chronic_conditions,billing_npi,programs,ccm_track,consent_at,consent_method,initiating_visit_on,care_plan_on,script
P001,Ada,Lovelace,+15551230001,America/Chicago,en,sms,I10;E11.9,1111111112,ccm;rpm,staff,2026-01-15,verbal,2026-01-15,2026-01-20,ccm-monthly
P002,José,García,+15551230002,,es,voice,I50.9;J44.9,1111111112,ccm,practitioner,2026-01-15T10:00:00-05:00,written,2026-01-10,2026-01-12,
P003,Bo,Chen,,,,,E11.9,,pcm,,,,,,
`

func importString(t testing.TB, d *sqlx.DB, name, content string, now time.Time) (outreach.PatientImport, error) {
	t.Helper()
	return outreach.ImportPatients(context.Background(), d, name, strings.NewReader(content), options(now))
}

func count(t *testing.T, d *sqlx.DB, table string) int {
	t.Helper()
	var n int
	if err := d.Get(&n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportPatients(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	res, err := importString(t, d, "patients.csv", goodPatients, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (outreach.PatientImport{Rows: 3, Created: 3, ConsentsAdded: 2}); res != want {
		t.Errorf("first import = %+v, want %+v", res, want)
	}
	var p struct {
		Phone      *string    `db:"phone"`
		Timezone   string     `db:"timezone"`
		Language   string     `db:"language"`
		Channel    string     `db:"channel"`
		Conditions string     `db:"chronic_conditions"`
		Programs   string     `db:"programs"`
		Track      string     `db:"ccm_track"`
		Visit      *time.Time `db:"initiating_visit_on"`
		Script     *string    `db:"script_id"`
	}
	err = d.Get(&p, `SELECT phone, timezone, language, channel, chronic_conditions::text, programs::text, ccm_track, initiating_visit_on, script_id FROM patients WHERE ext_id = 'P001'`)
	if err != nil {
		t.Fatal(err)
	}
	if *p.Phone != "+15551230001" || p.Timezone != "America/Chicago" || p.Conditions != "{I10,E11.9}" || p.Programs != "{ccm,rpm}" || p.Visit.Format(time.DateOnly) != "2026-01-15" || *p.Script != "ccm-monthly" {
		t.Errorf("P001 stored as %+v", p)
	}
	err = d.Get(&p, `SELECT phone, timezone, language, channel, chronic_conditions::text, programs::text, ccm_track, initiating_visit_on, script_id FROM patients WHERE ext_id = 'P003'`)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phone != nil || p.Timezone != "America/New_York" || p.Language != "en" || p.Channel != "sms" || p.Track != "staff" || p.Script != nil {
		t.Errorf("P003 defaults stored as %+v", p)
	}

	// PCM's track and the conditions of 3 to 12 months: defaults, then set by a file with the
	// columns, and left alone by a file without them.
	var pcm struct {
		Track     string `db:"pcm_track"`
		ShortTerm string `db:"short_term_conditions"`
	}
	const selectPCM = `SELECT pcm_track, short_term_conditions::text FROM patients WHERE ext_id = 'P003'`
	if err := d.Get(&pcm, selectPCM); err != nil || pcm.Track != "staff" || pcm.ShortTerm != "{}" {
		t.Errorf("P003 PCM defaults %+v, %v", pcm, err)
	}
	if _, err := importString(t, d, "pcm.csv", "id,pcm_track,short_term_conditions\nP003,practitioner,s72.001a;T81.4XXA\n", t0); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&pcm, selectPCM); err != nil || pcm.Track != "practitioner" || pcm.ShortTerm != "{S72.001A,T81.4XXA}" {
		t.Errorf("P003 PCM stored as %+v, %v", pcm, err)
	}
	if _, err := importString(t, d, "names.csv", "id,first_name\nP003,Bo\n", t0); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&pcm, selectPCM); err != nil || pcm.Track != "practitioner" || pcm.ShortTerm != "{S72.001A,T81.4XXA}" {
		t.Errorf("P003 PCM after a file without the columns %+v, %v", pcm, err)
	}

	// A consent given as a date starts at midnight in the patient's zone (Chicago for P001).
	var given time.Time
	var documented bool
	err = d.QueryRow(`SELECT c.given_at, c.documented FROM consents c JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = 'P001'`).Scan(&given, &documented)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 15, 0, 0, 0, 0, mustZone("America/Chicago")); !given.Equal(want) || !documented {
		t.Errorf("P001 consent given_at %v documented %v, want %v true", given, documented, want)
	}

	// The same file again changes nothing: no updated rows, no new audit entries for patients.
	auditBefore := count(t, d, "audit_log WHERE entity = 'patient'")
	var updatedBefore time.Time
	d.Get(&updatedBefore, `SELECT max(updated_at) FROM patients`)
	res, err = importString(t, d, "patients.csv", goodPatients, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := (outreach.PatientImport{Rows: 3, Unchanged: 3}); res != want {
		t.Errorf("second import = %+v, want %+v", res, want)
	}
	var updatedAfter time.Time
	d.Get(&updatedAfter, `SELECT max(updated_at) FROM patients`)
	if !updatedAfter.Equal(updatedBefore) || count(t, d, "audit_log WHERE entity = 'patient'") != auditBefore {
		t.Errorf("re-import touched stored patients (updated_at %v → %v)", updatedBefore, updatedAfter)
	}
	if n := count(t, d, "patients"); n != 3 {
		t.Errorf("%d patients after re-import, want 3", n)
	}
}

func TestImportPatientsKeepsAbsentColumnsAndOptOut(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	if _, err := importString(t, d, "patients.csv", goodPatients, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE patients SET opted_out_at = $1, opt_out_source = 'sms' WHERE ext_id = 'P001'`, t0); err != nil {
		t.Fatal(err)
	}
	res, err := importString(t, d, "update.csv", "id,language\nP001,es\nP004,en\n", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.Updated != 1 {
		t.Errorf("import = %+v, want 1 created, 1 updated", res)
	}
	var lang, phone string
	var optedOut *time.Time
	if err := d.QueryRow(`SELECT language, phone, opted_out_at FROM patients WHERE ext_id = 'P001'`).Scan(&lang, &phone, &optedOut); err != nil {
		t.Fatal(err)
	}
	if lang != "es" || phone != "+15551230001" || optedOut == nil {
		t.Errorf("P001 after partial import: language %q phone %q opted out %v; want es, the old phone, still opted out", lang, phone, optedOut)
	}
}

func TestImportPatientsRevokesConsent(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	if _, err := importString(t, d, "patients.csv", goodPatients, t0); err != nil {
		t.Fatal(err)
	}
	res, err := importString(t, d, "revoke.csv", "id,consent_at,consent_revoked_at\nP001,2026-01-15,2026-03-10T12:00:00-05:00\n", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.ConsentsChanged != 1 || res.ConsentsAdded != 0 {
		t.Errorf("import = %+v, want one consent changed", res)
	}
	var method string
	var revoked time.Time
	if err := d.QueryRow(`SELECT method, revoked_at FROM consents c JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = 'P001'`).Scan(&method, &revoked); err != nil {
		t.Fatal(err)
	}
	if method != "verbal" || !revoked.Equal(time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("consent after revocation: method %q revoked %v", method, revoked)
	}
}

func TestImportPatientsErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int
		column  string
		msg     string
	}{
		{"bad phone", "id,phone\nP1,+15551230001\nP2,555-1234\n", 3, "phone", `phone "555-1234" is not a phone number: it has 7 digits: a US number has 10 with its area code, like (555) 123-4567`},
		{"phone area code", "id,phone\nP1,(055) 123-0001\n", 2, "phone", `phone "(055) 123-0001" is not a phone number: the area code 055 cannot start with 0`},
		{"phone with letters", "id,phone\nP1,555-123-0001 ext 4\n", 2, "phone", `phone "555-123-0001 ext 4" is not a phone number: it holds 'e'`},
		{"phone too short abroad", "id,phone\nP1,+44 20 79\n", 2, "phone", `phone "+44 20 79" is not a phone number: an international number has 7 to 15 digits`},
		{"bad time zone", "id,timezone\nP1,America/Chicago\nP2,Mars/Olympus\n", 3, "timezone", `timezone "Mars/Olympus" is not an IANA time zone`},
		{"fixed-offset time zone", "id,timezone\nP1,America/Chicago\nP2,EST\n", 3, "timezone", `timezone "EST" is a fixed offset from UTC (-05:00 all year, no daylight saving time), not the time zone of a place: use America/New_York`},
		{"legacy time zone", "id,timezone\nP1,CST6CDT\n", 2, "timezone", `timezone "CST6CDT" is not the time zone of a place: use America/Chicago`},
		{"abbreviated time zone", "id,timezone\nP1,PST\n", 2, "timezone", `timezone "PST" is not an IANA time zone: use America/Los_Angeles`},
		{"unknown column", "id,phone,favourite_colour\nP1,+15551230001,blue\n", 1, "favourite_colour", `unknown column "favourite_colour"`},
		{"missing id column", "phone\n+15551230001\n", 1, "id", `missing required column "id"`},
		{"empty id", "id,phone\nP1,+15551230001\n,+15551230002\n", 3, "id", "id is empty"},
		{"duplicate id", "id\nP1\nP2\np1\n", 4, "id", `id "p1" appears again (first on line 2)`},
		{"bad date", "id,care_plan_on\nP1,2026-02-30\n", 2, "care_plan_on", `care_plan_on "2026-02-30" is not a date`},
		{"unknown program", "id,programs\nP1,ccm;tcm\n", 2, "programs", `programs "tcm" is not one of ccm, rpm, pcm, bhi`},
		{"bad language", "id,language\nP1,fr\n", 2, "language", `language "fr" is not one of en, es`},
		{"bad npi", "id,billing_npi\nP1,12345\n", 2, "billing_npi", `billing_npi "12345" is not a valid NPI: an NPI is 10 digits`},
		{"npi check digit", "id,billing_npi\nP1,1111111112\nP2,1234567890\n", 3, "billing_npi", `billing_npi "1234567890" is not a valid NPI: its check digit should be 3`},
		{"consent npi check digit", "id,billing_npi,consent_at,consent_npi\nP1,1111111112,2026-01-15,2222222222\n", 2, "consent_npi", `consent_npi "2222222222" is not a valid NPI: its check digit should be 8`},
		{"bad active", "id,active\nP1,maybe\n", 2, "active", `active "maybe" is not true or false`},
		{"bad icd10", "id,chronic_conditions\nP1,I10;diabetes\n", 2, "chronic_conditions", `chronic_conditions "DIABETES" is not an ICD-10 code`},
		{"bad short-term icd10", "id,short_term_conditions\nP1,S72.001A;broken hip\n", 2, "short_term_conditions", `short_term_conditions "BROKEN HIP" is not an ICD-10 code`},
		{"condition both chronic and short-term", "id,chronic_conditions,short_term_conditions\nP1,I10,i10\n", 2, "short_term_conditions", `short_term_conditions "I10" is also in chronic_conditions`},
		{"bad pcm track", "id,pcm_track\nP1,nurse\n", 2, "pcm_track", `pcm_track "nurse" is not one of staff, practitioner`},
		{"bad consent time", "id,billing_npi,consent_at\nP1,1111111112,yesterday\n", 2, "consent_at", `consent_at "yesterday" is neither`},
		{"consent without npi", "id,consent_at\nP1,2026-01-15\n", 2, "consent_npi", "consent_npi is empty"},
		{"revoked before consent", "id,billing_npi,consent_at,consent_revoked_at\nP1,1111111112,2026-01-15,2026-01-01\n", 2, "consent_revoked_at", "is before consent_at"},
		{"revoked without consent", "id,consent_revoked_at\nP1,2026-01-01\n", 2, "consent_revoked_at", "consent_at is empty"},
		{"wrong field count", "id,phone\nP1,+15551230001,extra\n", 2, "", "wrong number of fields"},
		{"invalid utf-8", "id,first_name\nP1,Ana\nP2,\xff\xfe\n", 3, "", "not valid UTF-8"},
		{"bad id", "id\nP 1\n", 2, "id", `id "P 1" must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := dbtest.Fresh(t)
			if _, err := importString(t, d, "patients.csv", goodPatients, t0); err != nil {
				t.Fatal(err)
			}
			before := count(t, d, "patients")
			_, err := importString(t, d, "patients.csv", tt.content, t0.Add(time.Hour))
			if err == nil {
				t.Fatal("import succeeded, want an error")
			}
			wantPrefix := fmt.Sprintf("patients.csv:%d: ", tt.line)
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q, want %q…%q", err, wantPrefix, tt.msg)
			}
			var ce *csvfile.Error
			var ces csvfile.Errors
			switch {
			case errors.As(err, &ces):
				ce = ces[0]
			case errors.As(err, &ce):
			default:
				t.Fatalf("error %T is not a csvfile error", err)
			}
			if ce.Line != tt.line || ce.Column != tt.column {
				t.Errorf("error at line %d column %q, want line %d column %q", ce.Line, ce.Column, tt.line, tt.column)
			}
			if n := count(t, d, "patients"); n != before {
				t.Errorf("%d patients after a failed import, want %d (nothing stored)", n, before)
			}
			if n := count(t, d, "imports"); n != 1 {
				t.Errorf("%d imports recorded, want only the first", n)
			}
		})
	}
}

func TestImportPatientsReportsEveryError(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	_, err := importString(t, d, "p.csv", "id,phone,language\nP1,123,fr\nP2,+15551230002,en\nP3,456,en\n", t0)
	var ces csvfile.Errors
	if !errors.As(err, &ces) || len(ces) != 3 {
		t.Fatalf("error = %v, want 3 errors", err)
	}
	want := []string{
		"p.csv: 3 errors:",
		`p.csv:2: phone "123" is not a phone number: it has 3 digits: a US number has 10 with its area code, like (555) 123-4567, or 11 starting with 1; a number abroad is written + and its country code, like +44 20 7946 0958`,
		`p.csv:2: language "fr" is not one of en, es`,
		`p.csv:4: phone "456" is not a phone number: it has 3 digits: a US number has 10 with its area code, like (555) 123-4567, or 11 starting with 1; a number abroad is written + and its country code, like +44 20 7946 0958`,
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("error lines = %q, want %q", got, want)
	}
}

// A file with 120 bad lines lists the first 100, one per line, and counts the rest, whether
// the rows are refused as they are read or once compared with what is stored.
func TestImportPatientsListsAHundredErrors(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	files := map[string]func(i int) string{
		"id,phone\n":      func(i int) string { return fmt.Sprintf("P%03d,555-%04d\n", i, i) },
		"id,consent_at\n": func(i int) string { return fmt.Sprintf("P%03d,2026-01-15\n", i) }, // no practitioner for the consent
	}
	for header, line := range files {
		t.Run(header[:len(header)-1], func(t *testing.T) {
			var b strings.Builder
			b.WriteString(header)
			for i := range 120 {
				b.WriteString(line(i))
			}
			_, err := importString(t, d, "p.csv", b.String(), t0)
			var ces csvfile.Errors
			if !errors.As(err, &ces) || len(ces) != 120 {
				t.Fatalf("error = %.200v…, want 120 errors", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 102 || lines[0] != "p.csv: 120 errors:" || lines[101] != "p.csv: and 20 more errors, from line 102 on" {
				t.Fatalf("%d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
			}
			for i, l := range lines[1:101] {
				if !strings.HasPrefix(l, fmt.Sprintf("p.csv:%d: ", i+2)) {
					t.Fatalf("line %d of the text is %q, want the error of line %d of the file", i+1, l, i+2)
				}
			}
			if n := count(t, d, "patients"); n != 0 {
				t.Errorf("%d patients stored", n)
			}
		})
	}
}

func TestImportPatientsReadsPhonesAsWritten(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	file := "id,phone\nA,(555) 111-0006\nB,555-111-0007\nC,5551110008\nD,555.111.0009\nE,+1 555 111 0010\nF,1-555-111-0011\nG,+44 20 7946 0958\nH,+15551110012\n"
	if _, err := importString(t, d, "patients.csv", file, t0); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := d.Select(&got, `SELECT ext_id || ' ' || phone FROM patients ORDER BY ext_id`); err != nil {
		t.Fatal(err)
	}
	want := []string{"A +15551110006", "B +15551110007", "C +15551110008", "D +15551110009", "E +15551110010", "F +15551110011", "G +442079460958", "H +15551110012"}
	if !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
	// The same numbers written another way change nothing.
	res, err := importString(t, d, "patients.csv", "id,phone\nA,+15551110006\nC,555 111 0008\n", t0.Add(time.Hour))
	if err != nil || res.Unchanged != 2 {
		t.Errorf("re-import = %+v, %v; want 2 unchanged", res, err)
	}

	// A practice outside the +1 countries reads international numbers only.
	opt := options(t0.Add(2 * time.Hour))
	opt.Practice.Country = "GB"
	_, err = outreach.ImportPatients(context.Background(), d, "gb.csv", strings.NewReader("id,phone\nK,+44 20 7946 0959\nL,020 7946 0960\n"), opt)
	if err == nil || err.Error() != `gb.csv:3: phone "020 7946 0960" is not a phone number: numbers without their country code are read for the countries of +1 only, not GB: write + and the country code, like +44 20 7946 0958` {
		t.Errorf("national number for GB: error = %v", err)
	}
}

// BenchmarkImportPatients measures a large file; run with -bench ImportPatients -benchtime 1x.
func BenchmarkImportPatients(b *testing.B) {
	const n = 50000
	var sb strings.Builder
	sb.WriteString("id,first_name,last_name,phone,chronic_conditions,billing_npi,programs,consent_at,consent_method,initiating_visit_on,care_plan_on\n")
	for i := range n {
		fmt.Fprintf(&sb, "B%06d,First%d,Last%d,+1555%07d,I10;E11.9,1111111112,ccm,2026-01-15,verbal,2026-01-15,2026-01-20\n", i, i, i, i)
	}
	content := sb.String()
	d, _ := dbtest.Fresh(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		res, err := outreach.ImportPatients(ctx, d, "big.csv", strings.NewReader(content), options(t0.Add(time.Duration(i)*time.Hour)))
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != n {
			b.Fatalf("imported %d rows", res.Rows)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestImportPatientsActive(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	if _, err := importString(t, d, "patients.csv", goodPatients, t0); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	rows, err := d.Queryx(`SELECT ext_id, id FROM patients`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ext string
		var id int64
		rows.Scan(&ext, &id)
		ids[ext] = id
	}
	// P001 (texts) waits for its first question; P002 (voice) for its call; P003 has an open
	// check-in too but stays active.
	checkin := map[string]int64{}
	for _, ext := range []string{"P001", "P002", "P003"} {
		var id int64
		err := d.Get(&id, `INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at)
			VALUES (1, $1, 'ccm-monthly', '2026-03', 'en', 'sms', 'open', $2, $2) RETURNING id`, ids[ext], t0)
		if err != nil {
			t.Fatal(err)
		}
		checkin[ext] = id
	}
	for _, m := range []struct {
		ext, status string
	}{{"P001", "queued"}, {"P001", "sent"}, {"P003", "queued"}} {
		_, err := d.Exec(`INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, created_at, updated_at)
			VALUES (1, $1, $2, 'out', 'question', '+15551230001', 'How are you?', $3, $4, $4)`, ids[m.ext], checkin[m.ext], m.status, t0)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Exec(`INSERT INTO calls (practice_id, patient_id, checkin_id, attempt, phone, status, created_at, updated_at)
		VALUES (1, $1, $2, 1, '+15551230002', 'queued', $3, $3)`, ids["P002"], checkin["P002"], t0); err != nil {
		t.Fatal(err)
	}

	at := t0.Add(time.Hour)
	file := "id,active\nP001,false\nP002,no\nP003,true\nP004,false\n"
	res, err := importString(t, d, "patients.csv", file, at)
	if err != nil {
		t.Fatal(err)
	}
	if want := (outreach.PatientImport{Rows: 4, Created: 1, Updated: 2, Unchanged: 1, Deactivated: 2}); res != want {
		t.Errorf("import = %+v, want %+v", res, want)
	}
	statuses := func() string {
		var s string
		err := d.Get(&s, `SELECT concat_ws(' ',
			(SELECT string_agg(p.ext_id || ':' || p.active, ',' ORDER BY p.ext_id) FROM patients p),
			(SELECT string_agg(p.ext_id || ':' || c.status, ',' ORDER BY p.ext_id) FROM checkins c JOIN patients p ON p.id = c.patient_id),
			(SELECT string_agg(p.ext_id || ':' || m.status, ',' ORDER BY p.ext_id, m.id) FROM messages m JOIN patients p ON p.id = m.patient_id),
			(SELECT string_agg(p.ext_id || ':' || k.status, ',' ORDER BY p.ext_id) FROM calls k JOIN patients p ON p.id = k.patient_id))`)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := "P001:false,P002:false,P003:true,P004:false P001:cancelled,P002:cancelled,P003:open P001:cancelled,P001:sent,P003:queued P002:cancelled"
	if got := statuses(); got != want {
		t.Errorf("after the import:\n got %s\nwant %s", got, want)
	}
	var ended time.Time
	if err := d.Get(&ended, `SELECT ended_at FROM checkins WHERE id = $1`, checkin["P001"]); err != nil || !ended.Equal(at) {
		t.Errorf("P001's check-in ended at %v (%v), want the import's time %v", ended, err, at)
	}
	var events []string
	if err := d.Select(&events, `SELECT a.action || ' ' || p.ext_id || ' ' || a.actor || ' ' || (a.detail->>'source')
		FROM audit_log a JOIN patients p ON a.entity_id = p.id::text
		WHERE a.entity = 'patient' AND a.action LIKE 'patient.%activate' ORDER BY p.ext_id`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"patient.deactivate P001 cli import", "patient.deactivate P002 cli import"}; !slices.Equal(events, want) {
		t.Errorf("audit = %q, want %q", events, want)
	}

	// The same file again, or a file without the column, changes no one's state.
	res, err = importString(t, d, "patients.csv", file, at.Add(time.Hour))
	if err != nil || res != (outreach.PatientImport{Rows: 4, Unchanged: 4}) {
		t.Errorf("re-import = %+v, %v; want all unchanged", res, err)
	}
	if _, err := importString(t, d, "patients.csv", "id,language\nP001,es\nP005,en\n", at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var active []string
	d.Select(&active, `SELECT ext_id || ':' || active FROM patients WHERE ext_id IN ('P001', 'P005') ORDER BY ext_id`)
	if !slices.Equal(active, []string{"P001:false", "P005:true"}) {
		t.Errorf("after a file without active: %q, want P001 still inactive, the new P005 active", active)
	}

	res, err = importString(t, d, "patients.csv", "id,active\nP001,true\n", at.Add(3*time.Hour))
	if err != nil || res != (outreach.PatientImport{Rows: 1, Updated: 1, Activated: 1}) {
		t.Errorf("reactivating import = %+v, %v", res, err)
	}
	var last string
	d.Get(&last, `SELECT action FROM audit_log WHERE entity = 'patient' AND entity_id = $1 ORDER BY id DESC LIMIT 1`, strconv.FormatInt(ids["P001"], 10))
	if last != "patient.activate" {
		t.Errorf("P001's last audit event is %q, want patient.activate", last)
	}
	if prof, err := outreach.LoadProfile(context.Background(), d, 1, "P001"); err != nil || prof.Change == nil ||
		!prof.Change.Active || !prof.Change.At.Equal(at.Add(3*time.Hour)) {
		t.Errorf("P001's profile shows the change %+v (%v), want the import's activation", prof.Change, err)
	}
}
