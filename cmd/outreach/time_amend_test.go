package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestTimeAmendAndVoidCommands amends and voids time entries from the command line as staff
// members: each has their own rights (the nurse her own time, a manager anyone's, nobody
// another's MDM), refusals exit 1 with the reason and store nothing, and the history, the export,
// the conflicts and the audit log name who acted by staff id and name.
func TestTimeAmendAndVoidCommands(t *testing.T) {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	for kind, content := range map[string]string{
		"staff": "id,name,credential,role,npi\nRN1,Rita Nurse,RN,clinical,\nRN2,Nora Nurse,RN,clinical,\n" +
			"MD1,Ada Doctor,MD,practitioner,1111111112\nMG1,Mia Manager,,non_clinical,\nRN3,Gone Nurse,RN,clinical,\n",
		"patients": "id,programs\nP1,ccm\nP2,ccm\n",
	} {
		if _, _, err := runCmd(t, ctx, env, "import", kind, writeFile(t, kind+".csv", content)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runCmd(t, ctx, env, "import", "time", writeFile(t, "time.csv", "patients,staff,program,started_at,minutes,mdm,note\n"+
		"P1,RN1,ccm,2026-02-05T09:00:00-05:00,20,none,BP review\n"+
		"P2,RN1,ccm,2026-02-05T09:15:00-05:00,10,none,\n"+
		"P1,MD1,ccm,2026-02-06T09:00:00-05:00,15,high,\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE staff SET access = 'manager' WHERE ext_id = 'MG1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE staff SET disabled_at = now() WHERE ext_id = 'RN3'`); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := d.Select(&ids, `SELECT id FROM time_entries ORDER BY started_at`); err != nil || len(ids) != 3 {
		t.Fatalf("entries %v, %v", ids, err)
	}
	nurse, second, doctor := fmt.Sprint(ids[0]), fmt.Sprint(ids[1]), fmt.Sprint(ids[2])

	// The conflict between the nurse's two entries names their patients.
	out, _, err := runCmd(t, ctx, env, "time", "conflicts", "--month", "2026-02")
	if err != nil || !strings.Contains(out, `"first_patients": [`+"\n"+`        "P1"`) || !strings.Contains(out, `"second_patients": [`+"\n"+`        "P2"`) {
		t.Errorf("time conflicts: %v\n%s", err, out)
	}

	saved := map[string]string{"nurse": nurse, "second": second, "doctor": doctor} // entries by name
	// In order: each row may act on what the ones before it recorded.
	tests := []struct {
		name  string
		args  []string // after "time"; ENTRY names an entry kept under that name
		usage bool     // a mistake in the command line (exit 2) rather than a refusal (exit 1)
		want  string   // in the output, or in the error
		save  string   // the name to keep the new version under
	}{
		{"the nurse corrects her minutes", []string{"amend", "nurse", "--minutes", "25", "--reason", "call ran long", "--as", "RN1"}, false,
			`"created_by": "RN1",` + "\n" + `  "created_by_name": "Rita Nurse"`, "amended"},
		{"flags before the entry id", []string{"amend", "--note", "BP review, meds unchanged", "--reason", "fuller note", "--as", "RN1", "amended"}, false,
			`"note": "BP review, meds unchanged"`, "noted"},
		{"another nurse amends it", []string{"amend", "noted", "--minutes", "5", "--reason", "x", "--as", "RN2"}, false,
			"RN2 may not amend RN1's time: only RN1, a manager or an admin may", ""},
		{"another nurse voids it", []string{"void", "noted", "--reason", "x", "--as", "RN2"}, false, "RN2 may not void RN1's time", ""},
		{"a superseded version", []string{"amend", "nurse", "--minutes", "5", "--reason", "x", "--as", "RN1"}, false,
			"time entry " + nurse + " was already amended by entry", ""},
		{"an unknown entry", []string{"amend", "99999", "--minutes", "5", "--reason", "x", "--as", "RN1"}, false, "time entry 99999 not found", ""},
		{"an unknown staff id", []string{"void", "noted", "--reason", "x", "--as", "NOPE"}, false, `staff "NOPE" is not a known staff id`, ""},
		{"a disabled account", []string{"void", "noted", "--reason", "x", "--as", "RN3"}, false, `staff "RN3" has a disabled account`, ""},
		{"no reason", []string{"amend", "noted", "--minutes", "5", "--as", "RN1"}, true, "time amend: --reason is required", ""},
		{"a blank reason", []string{"void", "noted", "--reason", " ", "--as", "RN1"}, true, "time void: --reason is required", ""},
		{"nobody acting", []string{"void", "noted", "--reason", "x"}, true, "time void: --as is required", ""},
		{"not an entry id", []string{"void", "first", "--reason", "x", "--as", "RN1"}, true, `time void: "first" is not an entry id`, ""},
		{"minutes and an end", []string{"amend", "noted", "--minutes", "5", "--ended-at", "2026-02-05T09:30:00-05:00", "--reason", "x", "--as", "RN1"}, false,
			"give ended_at or minutes, not both", ""},
		{"a bad instant", []string{"amend", "noted", "--started-at", "9am", "--reason", "x", "--as", "RN1"}, true, "invalid value", ""},
		{"the nurse documents MDM", []string{"amend", "noted", "--mdm", "low", "--reason", "x", "--as", "RN1"}, false,
			`mdm "low" is documented by a practitioner; staff "RN1" is clinical`, ""},
		{"a manager changes the physician's MDM", []string{"amend", "doctor", "--mdm", "low", "--reason", "x", "--as", "MG1"}, false,
			"MG1 may not document medical decision-making for MD1", ""},
		{"a manager moves the physician's entry", []string{"amend", "doctor", "--started-at", "2026-02-06T10:00:00-05:00", "--ended-at", "2026-02-06T10:16:00-05:00",
			"--interactive", "true", "--reason", "wrong hour", "--as", "MG1"}, false, `"seconds": 960`, "moved"},
		{"a manager voids the nurse's second entry", []string{"void", "second", "--reason", "entered twice", "--as", "MG1"}, false,
			`"created_by": "MG1",` + "\n" + `  "created_by_name": "Mia Manager"`, "voided"},
		{"voided twice", []string{"void", "second", "--reason", "entered twice", "--as", "MG1"}, false, "is already voided", ""},
	}
	for _, tt := range tests {
		args := append([]string{"time"}, tt.args...)
		for i, a := range args {
			if id, ok := saved[a]; ok {
				args[i] = id
			}
		}
		before := countEntries(t, d)
		out, _, err := runCmd(t, ctx, env, args...)
		var ue usageError
		switch {
		case tt.save == "" && err == nil:
			t.Errorf("%s: %v succeeded:\n%s", tt.name, args, out)
		case tt.save == "" && errors.As(err, &ue) != tt.usage:
			t.Errorf("%s: %v: usage error %v, want %v: %v", tt.name, args, !tt.usage, tt.usage, err)
		case tt.save == "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("%s: %v: %v\nwant %q", tt.name, args, err, tt.want)
		case tt.save == "" && countEntries(t, d) != before:
			t.Errorf("%s: a refused change stored an entry", tt.name)
		case tt.save != "" && (err != nil || !strings.Contains(out, tt.want)):
			t.Errorf("%s: %v: %v\n%s\nwant %q", tt.name, args, err, out, tt.want)
		case tt.save != "":
			var e struct{ ID int64 }
			if err := json.Unmarshal([]byte(out), &e); err != nil {
				t.Fatal(err)
			}
			saved[tt.save] = fmt.Sprint(e.ID)
		}
	}

	// The history names who recorded each version by staff id and name: the import (cli), the
	// nurse, a manager; never an internal row id.
	out, _, err = runCmd(t, ctx, env, "time", "history", saved["noted"])
	if err != nil {
		t.Fatal(err)
	}
	var history struct{ Versions []map[string]any }
	if err := json.Unmarshal([]byte(out), &history); err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, v := range history.Versions {
		who = append(who, fmt.Sprintf("%v %v (%v): %v", v["staff"], v["created_by"], v["created_by_name"], v["amend_reason"]))
	}
	if got, want := strings.Join(who, "; "), "RN1 cli (): <nil>; RN1 RN1 (Rita Nurse): call ran long; RN1 RN1 (Rita Nurse): fuller note"; got != want {
		t.Errorf("history:\n got %s\nwant %s", got, want)
	}
	out, _, err = runCmd(t, ctx, env, "time", "export", "--month", "2026-02")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		made = append(made, fmt.Sprintf("%s %s %s by %s (%s)", row["status"], row["staff"], row["seconds"], row["created_by"], row["created_by_name"]))
	}
	want := "superseded RN1 1200 by cli (); superseded RN1 1500 by RN1 (Rita Nurse); current RN1 1500 by RN1 (Rita Nurse); " +
		"superseded RN1 600 by cli (); void RN1 600 by MG1 (Mia Manager); superseded MD1 900 by cli (); current MD1 960 by MG1 (Mia Manager)"
	if got := strings.Join(made, "; "); got != want {
		t.Errorf("export:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(out, "staff:") {
		t.Errorf("the export names an internal id:\n%s", out)
	}

	// The audit log records each change as the API does: on the patient's record, with the
	// staff member who acted.
	var events []string
	if err := d.Select(&events, `SELECT s.ext_id || ' ' || a.action FROM audit_log a JOIN staff s ON a.actor = 'staff:' || s.id
		WHERE a.action IN ('time_entry.amend', 'time_entry.void') AND a.entity = 'patient' ORDER BY a.id`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(events, ", "); got != "RN1 time_entry.amend, RN1 time_entry.amend, MG1 time_entry.amend, MG1 time_entry.void" {
		t.Errorf("audit events: %s", got)
	}
}

// countEntries counts the stored time entries, versions and voids included.
func countEntries(t *testing.T, d *sqlx.DB) int {
	t.Helper()
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM time_entries`); err != nil {
		t.Fatal(err)
	}
	return n
}
