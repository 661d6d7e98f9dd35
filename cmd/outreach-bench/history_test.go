package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
	"github.com/outreach-engine/outreach/staff"
)

// TestFillHistory fills two months of history for 50 patients and reads it back: every table
// holds what the plan says each patient's month holds, the rows agree with one another, and the
// engine reads them (a patient's check-ins, a month's billing report, the next month's
// scheduling, which the history must not stop).
func TestFillHistory(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	const n, nurses, months = 50, 10, 2
	imported := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ps := practice.Settings{ID: practice.Default, Location: ny}
	opt := imports.Options{Practice: ps, Actor: audit.ActorCLI, Now: imported}
	var p strings.Builder
	p.WriteString("id,phone,timezone,language,chronic_conditions,billing_npi,programs,consent_at,consent_method,initiating_visit_on,care_plan_on\n")
	zones := []string{"America/New_York", "America/Chicago", "America/Los_Angeles"}
	for i := range n {
		lang, programs := "en", "ccm"
		if i%5 == 4 {
			lang = "es"
		}
		if i%10 == 0 {
			programs = "ccm;rpm"
		}
		fmt.Fprintf(&p, "%s,%s,%s,%s,I10;E11.9,1234567893,%s,2026-01-05,verbal,2026-01-05,2026-01-06\n",
			benchPatient(i), benchPhone(i), zones[i%len(zones)], lang, programs)
	}
	if _, err := outreach.ImportPatients(ctx, d, "p.csv", strings.NewReader(p.String()), opt); err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	s.WriteString("id,name,credential,role\n")
	for i := range nurses {
		fmt.Fprintf(&s, "S%05d,Staff %d,RN,clinical\n", i, i)
	}
	if _, err := staff.ImportFile(ctx, d, "s.csv", strings.NewReader(s.String()), opt); err != nil {
		t.Fatal(err)
	}
	var before int
	if err := d.Get(&before, `SELECT count(*) FROM audit_log`); err != nil {
		t.Fatal(err)
	}

	res, err := fillHistory(ctx, d, int64(practice.Default), ny, time.Date(2026, 12, 1, 0, 0, 0, 0, ny), months)
	if err != nil {
		t.Fatal(err)
	}

	// What the plan says, patient by patient and month by month.
	var ids []int64
	if err := d.Select(&ids, `SELECT id FROM patients ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	plan, err := planHistory()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]historyOutcome{}
	for _, o := range historyOutcomes {
		byName[o.name] = o
	}
	want := map[string]int{"checkins": n * months, "time_entries": n * months * historyEntriesPerPatient,
		"time_entry_patients": n * months * historyEntriesPerPatient}
	wantAudit := n * months * historyEntriesPerPatient
	openItems := 0
	for m := range months {
		number := 2026*12 + 10 + m // October and November 2026
		for _, id := range ids {
			o := byName[plan.pick[(id*7+int64(number)*3)%20]]
			texts := 2 * len(o.replies) // each question answered, and its reply
			if o.expired {
				texts += 2 // the question left unanswered, and its reminder
			} else {
				texts++ // the closing
			}
			want["messages"] += texts
			want["checkin_answers"] += len(o.replies)
			if o.item != nil || o.expired {
				want["escalations"]++
				if m == months-1 && id%50 == 0 {
					openItems++
				} else {
					wantAudit += 3 // claimed, the patient's page read, resolved
				}
			}
		}
	}
	for table, w := range want {
		if got := res.rows[table]; got != w {
			t.Errorf("%s: %d rows, want %d", table, got, w)
		}
		if res.bytes[table] <= 0 {
			t.Errorf("%s: size %d", table, res.bytes[table])
		}
	}
	if got := res.rows["audit_log"] - before; got != wantAudit {
		t.Errorf("audit events written: %d, want %d", got, wantAudit)
	}
	if openItems == 0 || want["escalations"] == openItems {
		t.Fatalf("the plan has %d open items of %d: the test needs some of each", openItems, want["escalations"])
	}

	// The rows agree with one another.
	for _, c := range []struct{ what, query string }{
		{"texts of another patient's check-in", `SELECT count(*) FROM messages m JOIN checkins c ON c.practice_id = m.practice_id AND c.id = m.checkin_id WHERE m.patient_id <> c.patient_id`},
		{"texts to another number than the patient's", `SELECT count(*) FROM messages m JOIN patients p ON p.practice_id = m.practice_id AND p.id = m.patient_id WHERE m.phone <> p.phone`},
		{"texts outside their check-in's time", `SELECT count(*) FROM messages m JOIN checkins c ON c.practice_id = m.practice_id AND c.id = m.checkin_id WHERE m.created_at < c.started_at OR m.created_at > c.ended_at`},
		{"check-ins not at the script's slot in the patient's zone", `SELECT count(*) FROM checkins c JOIN patients p ON p.practice_id = c.practice_id AND p.id = c.patient_id WHERE to_char(c.started_at AT TIME ZONE p.timezone, 'DD HH24:MI') <> '01 10:00' OR c.period <> to_char(c.started_at AT TIME ZONE p.timezone, 'YYYY-MM-DD"T"HH24:MI')`},
		{"completed check-ins without their four answers", `SELECT count(*) FROM checkins c WHERE c.status = 'completed' AND (SELECT count(*) FROM checkin_answers a WHERE a.practice_id = c.practice_id AND a.checkin_id = c.id) < 4`},
		{"items of another patient's check-in", `SELECT count(*) FROM escalations e JOIN checkins c ON c.practice_id = e.practice_id AND c.id = e.checkin_id WHERE e.patient_id <> c.patient_id`},
		{"items of completed check-ins without their answer", `SELECT count(*) FROM escalations e JOIN checkins c ON c.practice_id = e.practice_id AND c.id = e.checkin_id WHERE c.status = 'completed' AND NOT EXISTS (SELECT 1 FROM checkin_answers a WHERE a.practice_id = c.practice_id AND a.checkin_id = c.id AND a.question_id = e.details->0->>'question')`},
		{"resolutions by another nurse than the time's", `SELECT count(*) FROM escalations e WHERE e.status = 'resolved' AND e.resolved_by NOT IN (SELECT t.staff_id FROM time_entries t JOIN time_entry_patients tp ON tp.practice_id = t.practice_id AND tp.entry_id = t.id WHERE tp.patient_id = e.patient_id)`},
		{"time entries outside their month (practice zone)", `SELECT count(*) FROM time_entries WHERE date_trunc('month', started_at AT TIME ZONE 'America/New_York') <> date_trunc('month', ended_at AT TIME ZONE 'America/New_York') OR started_at >= '2026-12-01T05:00Z' OR started_at < '2026-10-01T04:00Z'`},
		{"time entries overlapping another of their nurse", `SELECT count(*) FROM time_entries a JOIN time_entries b ON b.practice_id = a.practice_id AND b.staff_id = a.staff_id AND b.id <> a.id AND b.started_at < a.ended_at AND a.started_at < b.ended_at`},
		{"time entries' audit events naming another entry or patient", `SELECT count(*) FROM audit_log l WHERE l.action = 'time_entry.create' AND NOT EXISTS (SELECT 1 FROM time_entry_patients tp WHERE tp.practice_id = l.practice_id AND tp.entry_id = (l.detail->>'time_entry')::bigint AND tp.patient_id::text = l.entity_id)`},
		{"patients enrolled after their first check-in", `SELECT count(*) FROM patients p WHERE p.created_at > (SELECT min(started_at) FROM checkins c WHERE c.practice_id = p.practice_id AND c.patient_id = p.id)`},
	} {
		var bad int
		if err := d.Get(&bad, c.query); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if bad != 0 {
			t.Errorf("%d %s", bad, c.what)
		}
	}

	// Where the schema partitions history by month, the history is in its months' partitions.
	for table, key := range map[string]string{"messages": "created_at", "checkin_answers": "answered_at", "audit_log": "at", "time_entries": "started_at"} {
		var def *string
		if err := d.Get(&def, `SELECT to_regclass($1)::text`, table+"_default"); err != nil {
			t.Fatal(err)
		}
		if def == nil {
			continue
		}
		var stray int
		if err := d.Get(&stray, `SELECT count(*) FROM `+*def+` WHERE `+key+` < '2026-12-01T00:00Z'`); err != nil {
			t.Fatal(err)
		}
		if stray != 0 {
			t.Errorf("%s: %d rows of history in the DEFAULT partition", table, stray)
		}
	}

	// The engine reads them.
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 18, 30, 0, 0, time.UTC)
	eng := outreach.New(d, lib, nil, func() time.Time { return at }, ps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	views, err := eng.Checkins(ctx, d, ids[3], 100)
	if err != nil || len(views) != months {
		t.Fatalf("the engine's check-ins of patient %d: %d, %v; want %d", ids[3], len(views), err, months)
	}
	for _, v := range views {
		if v.Script != historyScript || v.Status == "open" || v.EndedAt == nil {
			t.Errorf("check-in as the engine reads it: %+v", v)
		}
	}
	rates, err := billing.BundledRates()
	if err != nil {
		t.Fatal(err)
	}
	bill := &billing.Store{DB: d, Practice: practice.Default, Location: ny, Rates: rates, Clock: func() time.Time { return at }}
	rep, err := bill.Report(ctx, billing.Month{Year: 2026, Month: time.November})
	if err != nil {
		t.Fatal(err)
	}
	var seconds int64
	billable := 0
	for _, r := range rep.Rows {
		seconds += r.Seconds
		if r.Status == billing.Billable {
			billable++
		}
		for _, why := range r.Reasons {
			if why == "time_conflict" || why == "no_consent" {
				t.Errorf("report row %s %s: %v", r.Patient, r.Program, r.Reasons)
			}
		}
	}
	var stored int64
	if err := d.Get(&stored, `SELECT sum(extract(epoch FROM ended_at - started_at))::bigint FROM time_entries
		WHERE started_at >= '2026-11-01T04:00Z' AND started_at < '2026-12-01T05:00Z'`); err != nil {
		t.Fatal(err)
	}
	if seconds != stored || billable == 0 || billable == len(rep.Rows) {
		t.Errorf("November's report: %d rows, %d billable, %d seconds; the time log holds %d seconds", len(rep.Rows), billable, seconds, stored)
	}
	sched, err := eng.Schedule(ctx)
	if err != nil || sched.Created != n {
		t.Errorf("December's scheduling on top of the history: %+v, %v; want %d check-ins", sched, err, n)
	}
}
