package staff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/staff"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func options() imports.Options {
	return imports.Options{Practice: practice.Settings{ID: practice.Default, Location: time.UTC, Country: "US"}, Actor: audit.ActorCLI, Now: now}
}

const goodStaff = `id,name,credential,role,npi,phone,email
S1,Rita Nurse,RN,clinical,,(555) 111-0001,rita@example.org
S2,Dr. Who,M.D.,,1111111112,,
S3,Front Desk,,non_clinical,,,
`

func TestImportStaff(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	res, err := staff.ImportFile(ctx, d, "staff.csv", strings.NewReader(goodStaff), options())
	if err != nil {
		t.Fatal(err)
	}
	if res != (staff.Import{Rows: 3, Created: 3}) {
		t.Errorf("import = %+v", res)
	}
	dr, err := staff.ByExtID(ctx, d, 1, "S2")
	if err != nil {
		t.Fatal(err)
	}
	if dr.Credential != "MD" || dr.Role != staff.RolePractitioner || *dr.NPI != "1111111112" {
		t.Errorf("S2 = %+v, want MD practitioner with NPI", dr)
	}
	var phone string
	if err := d.Get(&phone, `SELECT phone FROM staff WHERE ext_id = 'S1'`); err != nil || phone != "+15551110001" {
		t.Errorf("S1's phone stored as %q (%v), want +15551110001", phone, err)
	}
	res, err = staff.ImportFile(ctx, d, "staff.csv", strings.NewReader(goodStaff), options())
	if err != nil || res != (staff.Import{Rows: 3, Unchanged: 3}) {
		t.Errorf("re-import = %+v, %v; want all unchanged", res, err)
	}
	if _, err := staff.ByExtID(ctx, d, 1, "nobody"); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("ByExtID(nobody) error = %v, want ErrNotFound", err)
	}
}

func TestImportStaffErrors(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
		column, msg   string
	}{
		{"unknown role", "id,role\nS1,janitor\n", 2, "role", `role "janitor" is not one of`},
		{"no role", "id,credential\nS1,XYZ\n", 2, "role", "does not imply one"},
		{"practitioner credential", "id,credential,role\nS1,RN,practitioner\n", 2, "role", "needs a practitioner's credential"},
		{"bad npi", "id,role,npi\nS1,clinical,abc\n", 2, "npi", `npi "abc" is not a valid NPI: an NPI is 10 digits`},
		{"npi check digit", "id,role,npi\nS1,clinical,1234567890\n", 2, "npi", `staff.csv:2: npi "1234567890" is not a valid NPI: its check digit should be 3`},
		{"bad phone", "id,role,phone\nS1,clinical,555\n", 2, "phone", `phone "555" is not a phone number: it has 3 digits`},
		{"phone extension", "id,role,phone\nS1,clinical,555-111-0001 x2\n", 2, "phone", `phone "555-111-0001 x2" is not a phone number: it holds 'x'`},
		{"bad email", "id,role,email\nS1,clinical,nobody\n", 2, "email", "is not an email address"},
		{"duplicate", "id,role\nS1,clinical\nS1,clinical\n", 3, "id", "appears again (first on line 2)"},
		{"unknown column", "id,role,salary\nS1,clinical,1\n", 1, "salary", `unknown column "salary"`},
		{"every error", "id,role,npi,phone\nS1,clinical,1234567890,\nS2,janitor,,555\nS3,clinical,,\nS4,clinical,,(055) 111-0001\n", 2, "npi",
			"staff.csv: 4 errors:\nstaff.csv:2: npi \"1234567890\" is not a valid NPI: its check digit should be 3\nstaff.csv:3: role \"janitor\" is not one of clinical, practitioner, non_clinical\nstaff.csv:3: phone \"555\" is not a phone number: it has 3 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := dbtest.Fresh(t)
			_, err := staff.ImportFile(context.Background(), d, "staff.csv", strings.NewReader(tt.content), options())
			var ces csvfile.Errors
			if !errors.As(err, &ces) {
				t.Fatalf("error = %v, want csv errors", err)
			}
			if ces[0].Line != tt.line || ces[0].Column != tt.column || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q at %d/%q, want line %d column %q %q", err, ces[0].Line, ces[0].Column, tt.line, tt.column, tt.msg)
			}
			var n int
			d.Get(&n, `SELECT count(*) FROM staff`)
			if n != 0 {
				t.Errorf("%d staff stored after a failed import", n)
			}
		})
	}
}
