package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// RPM device codes end to end against PostgreSQL: readings imported from a file, the month's
// report (command and API) with the days and codes of each RPM row, and the worklist with the
// days a patient still needs.
func TestDeviceCodesEndToEnd(t *testing.T) {
	now := time.Date(2026, 3, 20, 16, 0, 0, 0, time.UTC)
	c := apiServer(t, now) // P1: ccm;rpm with consent
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": c.conn}
	patients := "id,chronic_conditions,programs,billing_npi,consent_at,initiating_visit_on,care_plan_on\n" +
		"P3,I10;E11.9,rpm,1111111112,2026-01-15,2026-01-15,2026-01-15\n" +
		"P4,I10;E11.9,rpm,1111111112,,2026-01-15,2026-01-15\n"
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "patients.csv", patients)); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("patient,device,type,taken_at,systolic,diastolic,value,unit,manual\n")
	reading := func(patient, at string, manual bool) {
		fmt.Fprintf(&csv, "%s,BP-%s,blood_pressure,%s,128,82,,,%v\n", patient, patient, at, manual)
	}
	for day := 1; day <= 16; day++ { // P1: 16 days, its first month of device data
		reading("P1", fmt.Sprintf("2026-03-%02dT12:00:00Z", day), false)
	}
	reading("P1", "2026-03-17T02:00:00Z", false) // 22:00 on the 16th in New York: no new day
	reading("P1", "2026-03-18T12:00:00Z", true)  // typed in by the patient: no device day
	reading("P3", "2026-02-20T12:00:00Z", false) // P3's episode began in February
	for day := 1; day <= 10; day++ {             // P3: 10 days
		reading("P3", fmt.Sprintf("2026-03-%02dT12:00:00Z", day), false)
	}
	for day := 1; day <= 5; day++ { // P4: 5 days, no consent
		reading("P4", fmt.Sprintf("2026-03-%02dT12:00:00Z", day), false)
	}
	if out, _, err := runCmd(t, ctx, env, "import", "readings", writeFile(t, "readings.csv", csv.String())); err != nil {
		t.Fatalf("import readings: %v %s", err, out)
	}

	type row struct {
		Patient, Program, Status string
		Days                     *int
		Codes                    []struct {
			Code        string
			Units       int
			AmountCents int64 `json:"amount_cents"`
		}
		AmountCents int64 `json:"amount_cents"`
		Reasons     []string
		DeviceNext  *struct {
			Code       string
			DaysNeeded int `json:"days_needed"`
		} `json:"device_next"`
	}
	summary := func(body string) map[string]string {
		t.Helper()
		var rep struct{ Rows []row }
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("report is not JSON: %v\n%s", err, body)
		}
		got := map[string]string{}
		for _, r := range rep.Rows {
			if r.Program != "rpm" {
				continue
			}
			var codes []string
			for _, cl := range r.Codes {
				codes = append(codes, fmt.Sprintf("%s=%d", cl.Code, cl.AmountCents))
			}
			s := fmt.Sprintf("%s days=%d %v %d %v", r.Status, *r.Days, codes, r.AmountCents, r.Reasons)
			if r.DeviceNext != nil {
				s += fmt.Sprintf(" next=%s:%d", r.DeviceNext.Code, r.DeviceNext.DaysNeeded)
			}
			got[r.Patient] = s
		}
		return got
	}
	want := map[string]string{
		"P1": "billable days=16 [99453=2171 99454=4743] 6914 []",
		"P3": "billable days=10 [99445=4743] 4743 [] next=99454:6",
		"P4": "not_eligible days=5 [] 0 [no_consent]",
	}
	out, _, err := runCmd(t, ctx, env, "billing", "report", "--month", "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("billing report:\n got %v\nwant %v", got, want)
	}
	code, body := c.do("GET", "/api/v1/billing/report?month=2026-03", "")
	if got := summary(body); code != 200 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("report API: %d\n got %v\nwant %v", code, got, want)
	}

	// On the 20th, P3 needs 6 more days for 99454 and the month has 12 left.
	code, body = c.do("GET", "/api/v1/billing/worklist?month=2026-03", "")
	if code != 200 || !strings.Contains(body, `{"patient":"P3","program":"rpm","code":"99454","minutes_needed":0,"days_needed":6,"month_has_days":true,"value_cents":0,"days_left":12}`) ||
		strings.Contains(body, `"P1"`) || strings.Contains(body, `"P4"`) {
		t.Errorf("worklist: %d %s", code, body)
	}
}
