package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// example is one worked example as files: patients rows (before the common columns), time rows
// and services rows, with what the report must say.
type example struct {
	id       string
	patients []string // "ID,conditions,programs,track,consent_at,consent_npi,documented" overrides
	time     []string // "patients,staffRole,program,started_at,ended_at|minutes,mdm,interactive"
	services []string // "patient,code,date,npi"
	want     map[string]string
}

// The worked examples, March 2026 in New York, run through the files and the CLI.
var examples = []example{
	{"E01", []string{"E01"}, []string{"E01,rn,ccm,2026-03-10T10:00:00-04:00,19"}, nil, map[string]string{"E01/ccm": "below_threshold 0 [below_threshold] 99490:1"}},
	{"E02", []string{"E02"}, []string{"E02,rn,ccm,2026-03-10T10:00:00-04:00,20"}, nil, map[string]string{"E02/ccm": "billable 6613 [] 99439:20"}},
	{"E03", []string{"E03"}, []string{"E03,rn,ccm,2026-03-10T10:00:00-04:00,39"}, nil, map[string]string{"E03/ccm": "billable 6613 [] 99439:1"}},
	{"E04", []string{"E04"}, []string{"E04,rn,ccm,2026-03-10T10:00:00-04:00,40"}, nil, map[string]string{"E04/ccm": "billable 11657 [] 99439:20"}},
	{"E05", []string{"E05"}, []string{"E05,rn,ccm,2026-03-10T10:00:00-04:00,60"}, nil, map[string]string{"E05/ccm": "billable 16701 [complex_candidate] -"}},
	{"E06", []string{"E06"}, []string{"E06,rn,ccm,2026-03-10T10:00:00-04:00,120"}, nil, map[string]string{"E06/ccm": "billable 16701 [complex_candidate] -"}},
	{"E07", []string{"E07"}, []string{"E07,rn,ccm,2026-03-10T10:00:00-04:00,49", "E07,md,ccm,2026-03-11T10:00:00-04:00,10,moderate"}, nil, map[string]string{"E07/ccm": "billable 11657 [] 99487:1"}},
	{"E08", []string{"E08"}, []string{"E08,rn,ccm,2026-03-10T10:00:00-04:00,50", "E08,md,ccm,2026-03-11T10:00:00-04:00,10,moderate"}, nil, map[string]string{"E08/ccm": "billable 14429 [] 99489:30"}},
	{"E09", []string{"E09"}, []string{"E09,rn,ccm,2026-03-10T10:00:00-04:00,79", "E09,md,ccm,2026-03-11T10:00:00-04:00,10,high"}, nil, map[string]string{"E09/ccm": "billable 14429 [] 99489:1"}},
	{"E10", []string{"E10"}, []string{"E10,rn,ccm,2026-03-10T10:00:00-04:00,80", "E10,md,ccm,2026-03-11T10:00:00-04:00,10,moderate"}, nil, map[string]string{"E10/ccm": "billable 22245 [] 99489:30"}},
	{"E11", []string{"E11"}, []string{"E11,rn,ccm,2026-03-10T10:00:00-04:00,75"}, nil, map[string]string{"E11/ccm": "billable 16701 [complex_candidate] -"}},
	{"E12", []string{"E12,I10"}, []string{"E12,rn,ccm,2026-03-10T10:00:00-04:00,45"}, nil, map[string]string{"E12/ccm": "not_eligible 0 [lt_2_chronic_conditions pcm_candidate] -"}},
	{"E13", []string{"E13,,,,none"}, []string{"E13,rn,ccm,2026-03-10T10:00:00-04:00,40"}, nil, map[string]string{"E13/ccm": "not_eligible 0 [no_consent] -"}},
	{"E14", []string{"E14,,,,2026-03-15T09:00:00-04:00"}, []string{"E14,rn,ccm,2026-03-14T10:00:00-04:00,25", "E14,rn,ccm,2026-03-16T10:00:00-04:00,15"}, nil, map[string]string{"E14/ccm": "below_threshold 0 [below_threshold] 99490:5"}},
	{"E15", []string{"E15"}, []string{"E15,rn,ccm,2026-03-12T10:00:00-04:00,10", "E15,rn,ccm,2026-03-31T23:50:00-04:00,15"}, nil, map[string]string{"E15/ccm": "billable 6613 [] 99439:20"}},
	{"E16", []string{"E16"}, []string{"E16,rn,ccm,2026-02-20T10:00:00-05:00,12", "E16,rn,ccm,2026-03-20T10:00:00-04:00,12"}, nil, map[string]string{"E16/ccm": "below_threshold 0 [below_threshold] 99490:8"}},
	{"E17", []string{"E17"}, []string{"E17,rn,ccm,2026-03-08T01:50:00-05:00,2026-03-08T03:10:00-04:00"}, nil, map[string]string{"E17/ccm": "billable 6613 [] 99439:20"}},
	{"E18", []string{"E18,,ccm;rpm"}, []string{"E18,rn,ccm,2026-03-10T10:00:00-04:00,15", "E18,rn,rpm,2026-03-11T10:00:00-04:00,25,,true"}, nil,
		map[string]string{"E18/ccm": "below_threshold 0 [below_threshold] 99490:5", "E18/rpm": "billable 5177 [] 99458:15"}},
	{"E19", []string{"E19P", "E19Q", "E19R"}, []string{"E19P;E19Q;E19R,rn,ccm,2026-03-10T10:00:00-04:00,30", "E19P,rn,ccm,2026-03-11T10:00:00-04:00,12"}, nil,
		map[string]string{"E19P/ccm": "billable 6613 [] 99439:18", "E19Q/ccm": "below_threshold 0 [below_threshold] 99490:10", "E19R/ccm": "below_threshold 0 [below_threshold] 99490:10"}},
	{"E20", []string{"E20"}, []string{"E20,fd,ccm,2026-03-10T10:00:00-04:00,25", "E20,rn,ccm,2026-03-11T10:00:00-04:00,5"}, nil, map[string]string{"E20/ccm": "below_threshold 0 [below_threshold] 99490:15"}},
	{"E21", []string{"E21"}, []string{"E21,rn,ccm,2026-03-10T10:00:00-04:00,12"}, nil, map[string]string{"E21/ccm": "below_threshold 0 [below_threshold] 99490:8"}},
	{"E22", []string{"E22"}, []string{"E22,md,ccm,2026-03-10T10:00:00-04:00,35", "E22,rn,ccm,2026-03-11T10:00:00-04:00,25"}, nil, map[string]string{"E22/ccm": "billable 16701 [complex_candidate] -"}},
	{"E23", []string{"E23,,,practitioner"}, []string{"E23,md,ccm,2026-03-10T10:00:00-04:00,60"}, nil, map[string]string{"E23/ccm": "billable 15365 [] 99437:30"}},
	{"E24", []string{"E24"}, []string{"E24,rn,ccm,2026-03-10T10:00:00-04:00,30"}, []string{"E24,G0181,2026-03-05,2222222228"}, map[string]string{"E24/ccm": "excluded 0 [excluded_g0181] -"}},
	{"E25", []string{"E25"}, []string{"E25,rn,ccm,2026-03-10T10:00:00-04:00,30"}, []string{"E25,99426,2026-03-05,1111111112"}, map[string]string{"E25/ccm": "excluded 0 [excluded_pcm_same_practitioner] -"}},
	{"E26", []string{"E26"}, []string{"E26,rn,ccm,2026-03-10T10:00:00-04:00,25"}, []string{"E26,99426,2026-03-05,2222222228"}, map[string]string{"E26/ccm": "billable 6613 [] 99439:15"}},
	{"E27", []string{"E27"}, []string{"E27,rn,ccm,2026-03-10T10:00:00-04:00,25", "E27,rn,tcm,2026-03-11T10:00:00-04:00,15"}, []string{"E27,99495,2026-03-03,1111111112"}, map[string]string{"E27/ccm": "billable 6613 [] 99439:15"}},
	{"E28", []string{"E28"}, []string{"E28,rn,ccm,2026-03-10T10:00:00-04:00,40"}, []string{"E28,99490,2026-03-20,2222222228"}, map[string]string{"E28/ccm": "excluded 0 [billed_elsewhere] -"}},
	{"E29", []string{"E29,,ccm;bhi"}, []string{"E29,rn,ccm,2026-03-10T10:00:00-04:00,20", "E29,rn,bhi,2026-03-11T10:00:00-04:00,20"}, nil,
		map[string]string{"E29/ccm": "billable 6613 [] 99439:20", "E29/bhi": "billable 5745 [] -"}},
	{"E30", []string{"E30,,rpm"}, []string{"E30,rn,rpm,2026-03-11T10:00:00-04:00,40,,true"}, nil, map[string]string{"E30/rpm": "billable 9319 [] 99458:20"}},
}

// files builds the staff, patients, time and services CSV files of the examples. Each example has
// its own staff, so that no two examples' entries overlap.
func exampleFiles() (staff, patients, times, services string) {
	var st, pt, tm, sv strings.Builder
	st.WriteString("id,name,credential,role,npi\n")
	pt.WriteString("id,chronic_conditions,programs,ccm_track,consent_at,consent_method,billing_npi,initiating_visit_on,care_plan_on\n")
	tm.WriteString("patients,staff,program,started_at,ended_at,minutes,activity,mdm,interactive\n")
	sv.WriteString("patient,code,date,npi\n")
	for _, ex := range examples {
		fmt.Fprintf(&st, "RN-%s,Nurse,RN,clinical,\nMD-%s,Doctor,MD,practitioner,1111111112\nFD-%s,Desk,,non_clinical,\n", ex.id, ex.id, ex.id)
		for _, p := range ex.patients {
			f := append(strings.Split(p, ","), "", "", "", "", "")
			cond, progs, track, consent := or(f[1], "I10;E11.9"), or(f[2], "ccm"), or(f[3], "staff"), or(f[4], "2026-01-15")
			if consent == "none" {
				consent = ""
			}
			method := "verbal"
			if consent == "" {
				method = ""
			}
			fmt.Fprintf(&pt, "%s,%s,%s,%s,%s,%s,1111111112,2026-01-15,2026-01-15\n", f[0], cond, progs, track, consent, method)
		}
		for _, t := range ex.time {
			f := append(strings.Split(t, ","), "", "", "")
			staff := map[string]string{"rn": "RN-", "md": "MD-", "fd": "FD-"}[f[1]] + ex.id
			end, minutes := "", f[4]
			if strings.Contains(f[4], "T") {
				end, minutes = f[4], ""
			}
			fmt.Fprintf(&tm, "%s,%s,%s,%s,%s,%s,patient_call,%s,%s\n", f[0], staff, f[2], f[3], end, minutes, f[5], f[6])
		}
		for _, s := range ex.services {
			sv.WriteString(s + "\n")
		}
	}
	return st.String(), pt.String(), tm.String(), sv.String()
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func TestWorkedExamplesEndToEnd(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn, "OUTREACH_TIMEZONE": "America/New_York"}
	staff, patients, times, services := exampleFiles()
	for _, f := range []struct{ kind, content string }{{"staff", staff}, {"patients", patients}, {"time", times}, {"services", services}} {
		if _, _, err := runCmd(t, ctx, env, "import", f.kind, writeFile(t, f.kind+".csv", f.content)); err != nil {
			t.Fatalf("import %s: %v", f.kind, err)
		}
	}
	out, _, err := runCmd(t, ctx, env, "billing", "report", "--month", "2026-03", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Month, Timezone string
		Rows            []struct {
			Patient, Program, Status string
			AmountCents              int64 `json:"amount_cents"`
			Reasons                  []string
			Next                     *struct {
				Code          string
				MinutesNeeded int64 `json:"minutes_needed"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, r := range rep.Rows {
		next := "-"
		if r.Next != nil {
			next = fmt.Sprintf("%s:%d", r.Next.Code, r.Next.MinutesNeeded)
		}
		got[r.Patient+"/"+r.Program] = fmt.Sprintf("%s %d [%s] %s", r.Status, r.AmountCents, strings.Join(r.Reasons, " "), next)
	}
	wantRows := 0
	for _, ex := range examples {
		for key, want := range ex.want {
			wantRows++
			if got[key] != want {
				t.Errorf("%s %s:\n got %q\nwant %q", ex.id, key, got[key], want)
			}
		}
	}
	if len(rep.Rows) != wantRows || rep.Month != "2026-03" || rep.Timezone != "America/New_York" {
		t.Errorf("report has %d rows for %s %s, want %d", len(rep.Rows), rep.Month, rep.Timezone, wantRows)
	}

	// Closing stores the report; a later amendment is flagged, not billed.
	if _, _, err := runCmd(t, ctx, env, "billing", "close", "--month", "2026-03"); err != nil {
		t.Fatalf("close: %v", err)
	}
	late := writeFile(t, "late.csv", "patients,staff,program,started_at,minutes\nE01,RN-E01,ccm,2026-03-25T10:00:00-04:00,5\n")
	if _, _, err := runCmd(t, ctx, env, "import", "time", late); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, ctx, env, "billing", "report", "--month", "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	var closed struct {
		ClosedAt *time.Time `json:"closed_at"`
		Rows     []struct {
			Patient, Status string
			Seconds         int64
		}
		Late []struct {
			Patients []string
		} `json:"amended_after_close"`
	}
	if err := json.Unmarshal([]byte(out), &closed); err != nil {
		t.Fatal(err)
	}
	if closed.ClosedAt == nil || len(closed.Late) != 1 || closed.Late[0].Patients[0] != "E01" {
		t.Errorf("closed report: closed_at %v, late changes %+v; want the E01 entry flagged", closed.ClosedAt, closed.Late)
	}
	for _, r := range closed.Rows {
		if r.Patient == "E01" && (r.Status != "below_threshold" || r.Seconds != 19*60) {
			t.Errorf("E01 in the closed report: %s %d s; want the snapshot (below_threshold, 1140 s)", r.Status, r.Seconds)
		}
	}
	out, _, err = runCmd(t, ctx, env, "time", "export", "--month", "2026-03")
	if err != nil || strings.Count(out, "\n") < 40 || !strings.HasPrefix(out, "entry_id,status,") {
		t.Errorf("time export: %v\n%.300s", err, out)
	}
	out, _, err = runCmd(t, ctx, env, "time", "history", "1")
	if err != nil || !strings.Contains(out, `"id": 1`) {
		t.Errorf("time history: %v %s", err, out)
	}
	if _, _, err := runCmd(t, ctx, env, "time", "history", "abc"); err == nil {
		t.Error("time history abc succeeded")
	}
	out, _, err = runCmd(t, ctx, env, "billing", "worklist", "--month", "2026-03", "--within", "10")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("billing worklist: %v %s", err, out)
	}
	live, _, err := runCmd(t, ctx, env, "billing", "close", "--month", "2026-03")
	if err == nil || !strings.Contains(err.Error(), "already closed") {
		t.Errorf("closing twice: %q, %v", live, err)
	}
}
