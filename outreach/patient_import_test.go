package outreach_test

import (
	"context"
	"errors"
	"fmt"
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
		Practice: practice.Settings{ID: practice.Default, Location: newYork, Quiet: practice.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}},
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
		{"bad phone", "id,phone\nP1,+15551230001\nP2,555-1234\n", 3, "phone", `phone "555-1234" is not E.164`},
		{"bad time zone", "id,timezone\nP1,America/Chicago\nP2,Mars/Olympus\n", 3, "timezone", `timezone "Mars/Olympus" is not an IANA time zone`},
		{"unknown column", "id,phone,favourite_colour\nP1,+15551230001,blue\n", 1, "favourite_colour", `unknown column "favourite_colour"`},
		{"missing id column", "phone\n+15551230001\n", 1, "id", `missing required column "id"`},
		{"empty id", "id,phone\nP1,+15551230001\n,+15551230002\n", 3, "id", "id is empty"},
		{"duplicate id", "id\nP1\nP2\np1\n", 4, "id", `id "p1" appears again (first on line 2)`},
		{"bad date", "id,care_plan_on\nP1,2026-02-30\n", 2, "care_plan_on", `care_plan_on "2026-02-30" is not a date`},
		{"unknown program", "id,programs\nP1,ccm;tcm\n", 2, "programs", `programs "tcm" is not one of ccm, rpm, pcm, bhi`},
		{"bad language", "id,language\nP1,fr\n", 2, "language", `language "fr" is not one of en, es`},
		{"bad npi", "id,billing_npi\nP1,12345\n", 2, "billing_npi", `billing_npi "12345" is not an NPI`},
		{"bad icd10", "id,chronic_conditions\nP1,I10;diabetes\n", 2, "chronic_conditions", `chronic_conditions "DIABETES" is not an ICD-10 code`},
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
	if !strings.Contains(err.Error(), "p.csv:2: phone \"123\"") || !strings.Contains(err.Error(), "and 2 more errors") {
		t.Errorf("error = %q", err)
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
