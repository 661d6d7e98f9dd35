package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/staff"
)

// TestResolvedProposalPostsBack resolves an item claimed 7 minutes (and a fraction) earlier and
// posts the answer's proposed_time_entry unchanged: the API takes what it proposes.
func TestResolvedProposalPostsBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	base, d := serveRoutes(t, now, map[string]string{
		"staff":    "id,name,credential,role\nRN1,Rita,RN,clinical\n",
		"patients": "id,programs\nP1,ccm\n",
	})
	token, err := staff.NewToken(ctx, d, 1, "RN1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	c := apiClient{t: t, base: base, token: token}
	var patient, nurse int64
	if err := d.Get(&patient, `SELECT id FROM patients WHERE ext_id = 'P1'`); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&nurse, `SELECT id FROM staff WHERE ext_id = 'RN1'`); err != nil {
		t.Fatal(err)
	}
	item, err := escalation.Raise(ctx, d, escalation.Item{PracticeID: 1, PatientID: patient, Severity: escalation.High,
		Reason: "High blood pressure", Source: escalation.SourceRule}, escalation.DefaultDueTimes, now.Add(-time.Hour), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	claimed := now.Add(-7*time.Minute - 300*time.Millisecond)
	q := &escalation.Queue{DB: d, Practice: 1, Clock: func() time.Time { return claimed }}
	if _, err := q.Claim(ctx, item.ID, nurse); err != nil {
		t.Fatal(err)
	}
	code, body := c.do("POST", fmt.Sprintf("/api/v1/escalations/%d/resolve", item.ID), `{"outcome": "reached_patient", "note": "BP down after meds"}`)
	var resolved struct {
		Proposal json.RawMessage `json:"proposed_time_entry"`
	}
	if err := json.Unmarshal([]byte(body), &resolved); err != nil || code != 200 || !strings.Contains(string(resolved.Proposal), `"seconds":420`) {
		t.Fatalf("resolve: %d %s", code, body)
	}

	code, body = c.do("POST", "/api/v1/time-entries", string(resolved.Proposal))
	if code != 201 || !strings.Contains(body, `"seconds":420`) || !strings.Contains(body, `"activity":"patient_call"`) ||
		!strings.Contains(body, `"interactive":true`) || !strings.Contains(body, `"ended_at":"2026-03-25T12:00:00-04:00"`) {
		t.Fatalf("posting the proposal unchanged: %d %s", code, body)
	}
	if strings.Contains(body, `"warnings"`) {
		t.Errorf("the entry has warnings: %s", body)
	}

	// Seconds that disagree with the instants are refused, saying so.
	var p map[string]any
	if err := json.Unmarshal(resolved.Proposal, &p); err != nil {
		t.Fatal(err)
	}
	p["seconds"] = 600
	edited, _ := json.Marshal(p)
	code, body = c.do("POST", "/api/v1/time-entries", string(edited))
	if code != 400 || !strings.Contains(body, "seconds 600 does not agree with started_at") {
		t.Errorf("seconds that disagree: %d %s", code, body)
	}
}

// TestAmendAndVoidAPI amends with only what changes (the nurse, then a manager on her behalf;
// a physician may not), and voids twice.
func TestAmendAndVoidAPI(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	base, d := serveRoutes(t, now, map[string]string{
		"staff":    "id,name,credential,role,npi\nRN1,Rita,RN,clinical,\nMD1,Ada,MD,practitioner,1111111112\nMG1,Mia,,non_clinical,\n",
		"patients": "id,programs\nP1,ccm\nP2,ccm\n",
	})
	if _, err := d.Exec(`UPDATE staff SET access = 'manager' WHERE ext_id = 'MG1'`); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, s := range []string{"RN1", "MD1", "MG1"} {
		tok, err := staff.NewToken(ctx, d, 1, s, audit.ActorCLI, now)
		if err != nil {
			t.Fatal(err)
		}
		tokens[s] = tok
	}
	code, body := apiClient{t: t, base: base, token: tokens["RN1"]}.do("POST", "/api/v1/time-entries",
		`{"patients":"P1","program":"ccm","started_at":"2026-03-02T10:00:00-05:00","minutes":20,"activity":"patient_call","note":"BP review"}`)
	var e struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &e); err != nil || code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	entry := func(id int64) string { return fmt.Sprintf("/api/v1/time-entries/%d", id) }
	// In order: each row acts on what the ones before it recorded (ids follow one another).
	tests := []struct {
		who, path, body string
		code            int
		contains        []string
	}{
		{"RN1", entry(e.ID) + "/amend", `{"reason": "typo", "minutes": 25}`, 201,
			[]string{`"seconds":1500`, `"note":"BP review"`, `"activity":"patient_call"`, fmt.Sprintf(`"supersedes":%d`, e.ID)}},
		{"MD1", entry(e.ID+1) + "/amend", `{"reason": "fuller note", "note": "BP review, meds unchanged"}`, 403,
			[]string{fmt.Sprintf(`time entry %d: MD1 may not amend RN1's time: only RN1, a manager or an admin may`, e.ID+1)}},
		{"MG1", entry(e.ID+1) + "/amend", `{"reason": "fuller note", "note": "BP review, meds unchanged"}`, 201,
			[]string{`"seconds":1500`, `"note":"BP review, meds unchanged"`, `"staff":"RN1"`, `"created_by":"MG1","created_by_name":"Mia"`}},
		{"RN1", entry(e.ID+2) + "/amend", `{"reason": "again", "note": "BP review, meds unchanged"}`, 400,
			[]string{fmt.Sprintf(`the amendment changes nothing in time entry %d`, e.ID+2)}},
		{"RN1", entry(e.ID+2) + "/amend", `{"note": "x"}`, 400, []string{"reason is empty"}},
		{"RN1", entry(e.ID+2) + "/amend", `{"reason": "x", "minutes": 5, "seconds": 300}`, 400, []string{"give seconds or minutes, not both"}},
		{"RN1", entry(e.ID+2) + "/amend", `{"reason": "x", "patient": "P2"}`, 400, []string{`unknown field \"patient\"`}},
		{"RN1", entry(e.ID) + "/amend", `{"reason": "x", "minutes": 5}`, 409,
			[]string{fmt.Sprintf("time entry %d was already amended by entry %d on 2026-03-25 12:00 EDT; the current version is entry %d: amend that one", e.ID, e.ID+1, e.ID+2)}},
		{"RN1", entry(e.ID+2) + "/void", `{"reason": "duplicate"}`, 201, []string{`"voided":true`}},
		{"RN1", entry(e.ID+2) + "/void", `{"reason": "duplicate"}`, 409,
			[]string{fmt.Sprintf("time entry %d is already voided: entry %d voided it on 2026-03-25 12:00 EDT", e.ID+2, e.ID+3)}},
		{"RN1", entry(e.ID+2) + "/amend", `{"reason": "x", "minutes": 5}`, 409, []string{"was voided and cannot be amended"}},
		{"RN1", entry(e.ID+3) + "/void", `{"reason": "duplicate"}`, 409, []string{"is itself a void"}},
		// A new entry over another of the same staff member is stored with a warning.
		{"RN1", "/api/v1/time-entries", `{"patients":"P2","program":"ccm","started_at":"2026-03-02T10:00:00-05:00","minutes":10}`, 201, nil},
		{"RN1", "/api/v1/time-entries", `{"patients":"P1","program":"ccm","started_at":"2026-03-02T10:05:00-05:00","seconds":600}`, 201,
			[]string{`"warnings":[{"kind":"overlap","entries":[` + fmt.Sprint(e.ID+4) + `],"message":"2026-03-02 10:05–10:15 EST overlaps entry`}},
	}
	for _, tt := range tests {
		code, body := apiClient{t: t, base: base, token: tokens[tt.who]}.do("POST", tt.path, tt.body)
		ok := code == tt.code
		for _, s := range tt.contains {
			ok = ok && strings.Contains(body, s)
		}
		if !ok {
			t.Errorf("POST %s %s as %s = %d %s\nwant %d with %q", tt.path, tt.body, tt.who, code, body, tt.code, tt.contains)
		}
	}
	// The two overlapping entries are a conflict, named with their patients.
	code, body = apiClient{t: t, base: base, token: tokens["MG1"]}.do("GET", "/api/v1/time-entries/conflicts?month=2026-03", "")
	if want := fmt.Sprintf(`[{"staff":"RN1","first_entry":%d,"first_patients":["P2"],"second_entry":%d,"second_patients":["P1"],`, e.ID+4, e.ID+5); code != 200 || !strings.HasPrefix(body, want) {
		t.Errorf("conflicts: %d %s\nwant %s…", code, body, want)
	}
}

// TestTimeImportWarnsAndShowsLocalTime imports time that overlaps and time in a closed month
// (stored, with a warning a line and the count), then reads conflicts and an entry's history
// with instants in the practice's zone.
func TestTimeImportWarnsAndShowsLocalTime(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	for kind, content := range map[string]string{
		"staff":    "id,name,credential,role\nRN1,Rita,RN,clinical\n",
		"patients": "id,programs\nP1,ccm\nP2,ccm\n",
	} {
		if _, _, err := runCmd(t, ctx, env, "import", kind, writeFile(t, kind+".csv", content)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runCmd(t, ctx, env, "billing", "close", "--month", "2026-01"); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "time.csv", `patients,staff,program,started_at,minutes
P1,RN1,ccm,2026-02-05T09:00:00-05:00,20
P2,RN1,ccm,2026-02-05T09:10:00-05:00,20
P1,RN1,ccm,2026-02-06T09:00:00-05:00,15
P2,RN1,ccm,2026-01-30T14:00:00-05:00,10
`)
	out, _, err := runCmd(t, ctx, env, "import", "time", file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		file + ": 4 entries, 1:05 hours",
		file + ":2: 2026-02-05 09:00–09:20 EST overlaps line 3 of staff RN1: the overlapping time counts for neither until one is amended or voided",
		file + ":3: 2026-02-05 09:10–09:30 EST overlaps line 2 of staff RN1",
		file + ":5: 2026-01-30 14:00 EST falls in 2026-01, whose billing was closed on ",
		file + ": 3 warnings; the entries are stored all the same",
	}
	if len(lines) != len(want) {
		t.Fatalf("import output:\n%s", out)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q\nwant %q", i+1, lines[i], want[i])
		}
	}

	out, _, err = runCmd(t, ctx, env, "time", "conflicts", "--month", "2026-02")
	if err != nil {
		t.Fatal(err)
	}
	var conflicts struct {
		Month, Timezone string
		Conflicts       []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &conflicts); err != nil || conflicts.Month != "2026-02" || conflicts.Timezone != "America/New_York" ||
		len(conflicts.Conflicts) != 1 || conflicts.Conflicts[0]["from"] != "2026-02-05T09:10:00-05:00" || conflicts.Conflicts[0]["to"] != "2026-02-05T09:20:00-05:00" {
		t.Errorf("time conflicts: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, ctx, env, "time", "history", "1")
	if err != nil {
		t.Fatal(err)
	}
	var history struct {
		Timezone string
		Versions []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &history); err != nil || history.Timezone != "America/New_York" ||
		len(history.Versions) != 1 || history.Versions[0]["started_at"] != "2026-02-05T09:00:00-05:00" {
		t.Fatalf("time history: %v\n%s", err, out)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339, fmt.Sprint(history.Versions[0]["created_at"]))
	if err != nil || created.Format("-07:00") != created.In(newYork).Format("-07:00") {
		t.Errorf("created_at %v is not in New York's offset (%v)", history.Versions[0]["created_at"], err)
	}
}
