package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/staff"
)

// TestTimeEntriesByOwner tries, through the API, to record, amend and void time in another
// staff member's name: only the staff member, or a manager on their behalf, may; only a
// practitioner documents their own MDM; the front desk records no time. What is refused is
// never counted in the billing report.
func TestTimeEntriesByOwner(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	base, d := serveRoutes(t, now, map[string]string{
		"staff": "id,name,credential,role,npi\nRN1,Rita Nurse,RN,clinical,\nRN2,Nora Nurse,RN,clinical,\n" +
			"MD1,Ada Doctor,MD,practitioner,1111111112\nFD1,Fred Desk,,non_clinical,\nMG1,Mia Manager,,non_clinical,\n",
		"patients": "id,chronic_conditions,programs,billing_npi,consent_at,initiating_visit_on,care_plan_on\n" +
			"P1,I10;E11.9,ccm,1111111112,2026-01-15,2026-01-15,2026-01-15\n",
	})
	if _, err := d.Exec(`UPDATE staff SET access = 'manager' WHERE ext_id = 'MG1'`); err != nil {
		t.Fatal(err)
	}
	clients := map[string]apiClient{}
	for _, s := range []string{"RN1", "RN2", "MD1", "FD1", "MG1"} {
		token, err := staff.NewToken(ctx, d, 1, s, audit.ActorCLI, now)
		if err != nil {
			t.Fatal(err)
		}
		clients[s] = apiClient{t: t, base: base, token: token}
	}
	// entry is a new entry's body: P1's CCM time on March 2 from 10:00 plus an hour per hour.
	entry := func(hour, minutes int, extra string) string {
		return fmt.Sprintf(`{"patients":"P1","program":"ccm","started_at":"2026-03-02T%02d:00:00-05:00","minutes":%d%s}`, hour, minutes, extra)
	}
	ids := map[string]int64{} // the entries recorded, by name
	// In order: each row may act on entries the ones before it recorded. The target is "new"
	// (a new entry), "timer" (a new timer) or NAME/VERB (amend or void the entry kept as NAME).
	tests := []struct {
		name, who, target, body string
		code                    int
		contains                string
		save                    string // the name to keep the recorded entry under
	}{
		{"front desk records 40 minutes of high MDM for a physician", "FD1", "new", entry(9, 40, `,"staff":"MD1","mdm":"high"`), 403, "FD1 may not record time for MD1", ""},
		{"front desk records its own time", "FD1", "new", entry(9, 40, ""), 403, "FD1 is non-clinical staff", ""},
		{"a nurse records her own time", "RN1", "new", entry(10, 20, `,"note":"BP review"`), 201, `"created_by":"RN1","created_by_name":"Rita Nurse"`, "rita"},
		{"another nurse voids it", "RN2", "rita/void", `{"reason":"mine now"}`, 403, "RN2 may not void RN1's time", ""},
		{"another nurse amends it", "RN2", "rita/amend", `{"reason":"x","minutes":5}`, 403, "RN2 may not amend RN1's time", ""},
		{"the front desk voids it", "FD1", "rita/void", `{"reason":"x"}`, 403, "FD1 may not void RN1's time", ""},
		{"a physician amends it", "MD1", "rita/amend", `{"reason":"x","minutes":5}`, 403, "MD1 may not amend RN1's time", ""},
		{"the nurse gives her time to the physician", "RN1", "rita/amend", `{"reason":"x","staff":"MD1"}`, 403, "RN1 may not record time for MD1", ""},
		{"the nurse documents MDM", "RN1", "new", entry(11, 10, `,"mdm":"low"`), 400, `mdm \"low\" is documented by a practitioner; staff \"RN1\" is clinical`, ""},
		{"a manager records for the nurse", "MG1", "new", entry(12, 30, `,"staff":"RN1"`), 201, `"staff":"RN1","staff_name":"Rita Nurse"`, "onbehalf"},
		{"a manager amends the nurse's entry", "MG1", "rita/amend", `{"reason":"call ran long","minutes":25}`, 201, `"created_by":"MG1","created_by_name":"Mia Manager"`, "amended"},
		{"a manager documents MDM for the physician", "MG1", "new", entry(13, 15, `,"staff":"MD1","mdm":"high"`), 403, "MG1 may not document medical decision-making for MD1", ""},
		{"the physician documents his own MDM", "MD1", "new", entry(13, 15, `,"mdm":"high"`), 201, `"mdm":"high"`, "md"},
		{"a manager corrects the physician's minutes", "MG1", "md/amend", `{"reason":"typo","minutes":16}`, 201, `"mdm":"high"`, "md2"},
		{"a manager changes the physician's MDM", "MG1", "md2/amend", `{"reason":"x","mdm":"low"}`, 403, "MG1 may not document medical decision-making for MD1", ""},
		{"a manager gives a nurse's time to the front desk", "MG1", "onbehalf/amend", `{"reason":"x","staff":"FD1"}`, 403, "FD1 is non-clinical staff", ""},
		{"a manager voids on the nurse's behalf", "MG1", "onbehalf/void", `{"reason":"entered twice"}`, 201, `"voided":true`, ""},
		{"the front desk starts a timer", "FD1", "timer", `{"patients":["P1"],"program":"ccm"}`, 403, "FD1 is non-clinical staff", ""},
	}
	for _, tt := range tests {
		p := map[string]string{"new": "/api/v1/time-entries", "timer": "/api/v1/timers"}[tt.target]
		if name, verb, ok := strings.Cut(tt.target, "/"); ok {
			p = fmt.Sprintf("/api/v1/time-entries/%d/%s", ids[name], verb)
		}
		code, body := clients[tt.who].do("POST", p, tt.body)
		if code != tt.code || !strings.Contains(body, tt.contains) {
			t.Errorf("%s: POST %s %s as %s = %d %s\nwant %d with %s", tt.name, p, tt.body, tt.who, code, strings.TrimSpace(body), tt.code, tt.contains)
			continue
		}
		if tt.save != "" {
			var e struct{ ID int64 }
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			ids[tt.save] = e.ID
		}
	}

	// Counted: the nurse's 25 minutes (amended by the manager) and the physician's 16; the
	// manager's 30 minutes for the nurse were voided; nothing of the front desk's.
	_, body := clients["MG1"].do("GET", "/api/v1/billing/report?month=2026-03", "")
	if !strings.Contains(body, `"patient":"P1","program":"ccm","billing_npi":"1111111112","seconds":2460,`) {
		t.Errorf("billing report: %s", body)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM time_entries WHERE staff_id = (SELECT id FROM staff WHERE ext_id = 'FD1') OR mdm = 'low'`); err != nil || n != 0 {
		t.Errorf("%d refused entries stored (%v)", n, err)
	}

	// The history and the export name who recorded each version, by id and name.
	_, body = clients["RN1"].do("GET", fmt.Sprintf("/api/v1/time-entries/%d/history", ids["amended"]), "")
	if !strings.Contains(body, `"staff":"RN1","staff_name":"Rita Nurse"`) || !strings.Contains(body, `"created_by":"RN1","created_by_name":"Rita Nurse"`) ||
		!strings.Contains(body, `"created_by":"MG1","created_by_name":"Mia Manager"`) {
		t.Errorf("history: %s", body)
	}
	_, body = clients["RN1"].do("GET", "/api/v1/time-entries/export?month=2026-03", "")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		made = append(made, fmt.Sprintf("%s %s by %s (%s)", row["status"], row["staff"], row["created_by"], row["created_by_name"]))
	}
	want := "superseded RN1 by RN1 (Rita Nurse); current RN1 by MG1 (Mia Manager); superseded RN1 by MG1 (Mia Manager); " +
		"void RN1 by MG1 (Mia Manager); superseded MD1 by MD1 (Ada Doctor); current MD1 by MG1 (Mia Manager)"
	if got := strings.Join(made, "; "); got != want {
		t.Errorf("export:\n got %s\nwant %s", got, want)
	}
}
