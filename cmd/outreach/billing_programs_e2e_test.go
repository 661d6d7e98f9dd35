package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// PCM through the files and the CLI: pcm_track and short_term_conditions reach the report, PCM
// and CCM by one practitioner bill only one, and rows with no time show only with --all.
func TestPCMEndToEnd(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn, "OUTREACH_TIMEZONE": "America/New_York"}
	files := []struct{ kind, content string }{
		{"staff", "id,name,credential,role,npi\nRN1,Nurse,RN,clinical,\nMD1,Doctor,MD,practitioner,1111111112\n"},
		{"patients", "id,chronic_conditions,short_term_conditions,programs,pcm_track,consent_at,billing_npi,initiating_visit_on,care_plan_on\n" +
			"PA,,S72.001A,pcm,practitioner,2026-01-15,1111111112,,2026-01-15\n" +
			"PB,I10;E11.9,,ccm;pcm,,2026-01-15,1111111112,2026-01-15,2026-01-15\n" +
			"PC,I10;E11.9,,ccm,,2026-01-15,1111111112,2026-01-15,2026-01-15\n"},
		{"time", "patients,staff,program,started_at,minutes,activity\n" +
			"PA,MD1,pcm,2026-03-10T10:00:00-04:00,35,care_plan\nPA,RN1,pcm,2026-03-11T10:00:00-04:00,20,patient_call\n" +
			"PB,RN1,ccm,2026-03-12T10:00:00-04:00,25,patient_call\nPB,RN1,pcm,2026-03-13T10:00:00-04:00,65,patient_call\n"},
	}
	for _, f := range files {
		if _, _, err := runCmd(t, ctx, env, "import", f.kind, writeFile(t, f.kind+".csv", f.content)); err != nil {
			t.Fatalf("import %s: %v", f.kind, err)
		}
	}
	report := func(args ...string) (map[string]string, int) {
		t.Helper()
		out, _, err := runCmd(t, ctx, env, append([]string{"billing", "report", "--month", "2026-03"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Hidden int `json:"hidden_rows"`
			Rows   []struct {
				Patient, Program, Status string
				Seconds                  int64
				Uncounted                int64 `json:"uncounted_seconds"`
				AmountCents              int64 `json:"amount_cents"`
				Reasons                  []string
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("report is not JSON: %v\n%s", err, out)
		}
		got := map[string]string{}
		for _, r := range rep.Rows {
			got[r.Patient+"/"+r.Program] = fmt.Sprintf("%s %d+%d %d [%s]", r.Status, r.Seconds, r.Uncounted, r.AmountCents, strings.Join(r.Reasons, " "))
		}
		return got, rep.Hidden
	}
	want := map[string]string{
		"PA/pcm": "billable 2100+1200 8784 []",
		"PB/ccm": "excluded 1500+0 0 [excluded_pcm_same_practitioner]",
		"PB/pcm": "billable 3900+0 10788 []",
	}
	got, hidden := report()
	if fmt.Sprint(got) != fmt.Sprint(want) || hidden != 1 {
		t.Errorf("report:\n got %v, %d hidden\nwant %v, 1 hidden", got, hidden, want)
	}
	want["PC/ccm"] = "below_threshold 0+0 0 [below_threshold]"
	got, hidden = report("--all")
	if fmt.Sprint(got) != fmt.Sprint(want) || hidden != 0 {
		t.Errorf("report --all:\n got %v, %d hidden\nwant %v", got, hidden, want)
	}
	env["OUTREACH_PCM_CCM_CHOICE"] = "ccm"
	got, _ = report()
	if got["PB/ccm"] != "billable 1500+0 6613 []" || got["PB/pcm"] != "excluded 3900+0 0 [excluded_ccm_same_practitioner]" {
		t.Errorf("the practice chooses CCM: %v", got)
	}
}
