package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/staff"
)

// TestRoutesByAccess walks the API with a token of each kind of staff member: a nurse (clinical),
// the front desk (non-clinical, nurse access) and a manager (non-clinical), and none.
func TestRoutesByAccess(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	base, d := serveRoutes(t, now, map[string]string{
		"staff":    "id,name,credential,role\nRN1,Rita,RN,clinical\nFD1,Fred,,non_clinical\nMG1,Mia,,non_clinical\n",
		"patients": "id,programs\nP1,ccm\n",
	})
	var err error
	if _, err := d.Exec(`UPDATE staff SET access = 'manager' WHERE ext_id = 'MG1'`); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"none": ""}
	for _, s := range []string{"RN1", "FD1", "MG1"} {
		if tokens[s], err = staff.NewToken(ctx, d, 1, s, audit.ActorCLI, now); err != nil {
			t.Fatal(err)
		}
	}
	var patient int64
	if err := d.Get(&patient, `SELECT id FROM patients`); err != nil {
		t.Fatal(err)
	}
	item, err := escalation.Raise(ctx, d, escalation.Item{PracticeID: 1, PatientID: patient, Severity: escalation.Urgent,
		Reason: "Emergency words", Source: escalation.SourceEmergency}, escalation.DefaultDueTimes, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	it := fmt.Sprintf("/api/v1/escalations/%d", item.ID)
	// In order: each row may depend on the ones before it (RN1 claims, MG1 reassigns, …).
	tests := []struct {
		who, method, path, body string
		want                    int
	}{
		{"none", "GET", "/api/v1/escalations", "", 401},
		{"RN1", "GET", "/api/v1/escalations", "", 200},
		{"FD1", "GET", "/api/v1/escalations?status=open", "", 200},
		{"MG1", "GET", it, "", 200},
		{"FD1", "POST", it + "/claim", "", 403},
		{"MG1", "POST", it + "/claim", "", 403},
		{"RN1", "POST", it + "/claim", "", 200},
		{"RN1", "POST", it + "/reassign", `{"staff": "RN1"}`, 403},
		{"FD1", "POST", it + "/reassign", `{"staff": "RN1"}`, 403},
		{"MG1", "POST", it + "/reassign", `{"staff": "FD1"}`, 400},
		{"MG1", "POST", it + "/reassign", `{"staff": "RN1"}`, 200},
		{"FD1", "POST", it + "/resolve", `{"outcome": "no_action_needed"}`, 403},
		{"RN1", "POST", it + "/resolve", `{"outcome": "reached_patient"}`, 200},
		{"MG1", "POST", it + "/reassign", `{"staff": "RN1"}`, 409},
		{"none", "GET", "/api/v1/patients/P1/checkins", "", 401},
		{"FD1", "GET", "/api/v1/patients/P1/checkins", "", 200},
		{"RN1", "GET", "/api/v1/time-entries?month=2026-12", "", 200},
		{"MG1", "GET", "/api/v1/billing/report?month=2026-12", "", 200},
		{"none", "GET", "/api/v1/billing/report?month=2026-12", "", 401},
		{"RN1", "GET", "/api/v1/audit", "", 403},
		{"FD1", "GET", "/api/v1/audit?entity=escalation", "", 403},
		{"MG1", "GET", "/api/v1/audit?entity=escalation", "", 200},
		{"MG1", "GET", "/api/v1/audit?from=yesterday", "", 400},
	}
	for _, tt := range tests {
		c := apiClient{t: t, base: base, token: tokens[tt.who]}
		if code, body := c.do(tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %s as %s: %d %s, want %d", tt.method, tt.path, tt.body, tt.who, code, strings.TrimSpace(body), tt.want)
		}
	}
	// The manager reads who claimed, reassigned and resolved the item.
	_, body := apiClient{t: t, base: base, token: tokens["MG1"]}.do("GET", "/api/v1/audit?entity=escalation", "")
	for _, action := range []string{"escalation.claim", "escalation.reassign", "escalation.resolve", "escalation.read"} {
		if !strings.Contains(body, `"action":"`+action+`"`) {
			t.Errorf("the audit log lacks %s: %s", action, body)
		}
	}
	// The ids people use find the same events: the nurse's own id, the patient's.
	for _, q := range []string{"actor=RN1", "entity_id=P1"} {
		_, body = apiClient{t: t, base: base, token: tokens["MG1"]}.do("GET", "/api/v1/audit?"+q, "")
		if !strings.Contains(body, `"action":"escalation.resolve"`) || !strings.Contains(body, `"staff":"RN1"`) ||
			!strings.Contains(body, fmt.Sprintf(`"record":"#%d (P1)"`, item.ID)) {
			t.Errorf("audit log by %s: %s", q, body)
		}
	}
}
