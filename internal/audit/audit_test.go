package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The log is read and filtered by the ids people use: a patient's and a staff member's own ids,
// an item's number; a patient's id also finds the events of their items.
func TestListByPeoplesIDs(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	var nurse, patient, other, item int64
	for _, q := range []struct {
		sql string
		id  *int64
	}{
		{`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) RETURNING 0`, new(int64)},
		{`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN-DEMO', 'clinical', $1, $1) RETURNING id`, &nurse},
		{`INSERT INTO patients (practice_id, ext_id, timezone, created_at, updated_at) VALUES (1, 'DEMO-04', 'America/New_York', $1, $1) RETURNING id`, &patient},
		// A patient whose own id is another patient's internal id must not be confused with it.
		{`INSERT INTO patients (practice_id, ext_id, timezone, created_at, updated_at) VALUES (1, '1', 'America/New_York', $1, $1) RETURNING id`, &other},
		{`INSERT INTO escalations (practice_id, patient_id, severity, reason, source, created_at, due_at, updated_at)
			SELECT 1, id, 'urgent', 'Emergency words in a reply', 'emergency', $1, $1, $1 FROM patients WHERE ext_id = 'DEMO-04' RETURNING id`, &item},
	} {
		if err := d.Get(q.id, q.sql, now); err != nil {
			t.Fatal(err)
		}
	}
	events := []audit.Event{
		{Actor: audit.Staff(nurse), Action: "patient.read", Entity: "patient", EntityID: fmt.Sprint(patient)},
		{Actor: audit.Staff(nurse), Action: "escalation.claim", Entity: "escalation", EntityID: fmt.Sprint(item)},
		{Actor: audit.ActorCLI, Action: "patient.update", Entity: "patient", EntityID: fmt.Sprint(other)},
		{Actor: audit.ActorSystem, Action: "staff.update", Entity: "staff", EntityID: fmt.Sprint(nurse)},
		{Actor: audit.ActorCLI, Action: "billing.close", Entity: "billing_month", EntityID: "2026-11"},
	}
	for i, e := range events {
		e.PracticeID, e.At = 1, now.Add(time.Duration(i)*time.Second)
		if err := audit.Record(ctx, d, e); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f audit.Filter) string {
		t.Helper()
		f.From, f.To = now.Add(-time.Hour), now.Add(time.Hour)
		es, err := audit.List(ctx, d, 1, f, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(es) - 1; i >= 0; i-- { // oldest first, to read the table below
			out = append(out, es[i].Who()+" "+es[i].Action+" "+es[i].Record)
		}
		return strings.Join(out, "; ")
	}
	itemRecord := fmt.Sprintf("#%d (DEMO-04)", item)
	tests := []struct {
		name string
		f    audit.Filter
		want string
	}{
		{"everything", audit.Filter{}, "RN-DEMO patient.read DEMO-04; RN-DEMO escalation.claim " + itemRecord +
			"; cli patient.update 1; system staff.update RN-DEMO; cli billing.close 2026-11"},
		{"a patient by their own id, with their items", audit.Filter{EntityID: "DEMO-04"}, "RN-DEMO patient.read DEMO-04; RN-DEMO escalation.claim " + itemRecord},
		{"a patient's own id only among patients", audit.Filter{Entity: "patient", EntityID: "DEMO-04"}, "RN-DEMO patient.read DEMO-04"},
		{"an own id that is another's internal id", audit.Filter{Entity: "patient", EntityID: "1"}, "cli patient.update 1"},
		{"a staff member as the record", audit.Filter{Entity: "staff", EntityID: "RN-DEMO"}, "system staff.update RN-DEMO"},
		{"who acted, by staff id", audit.Filter{Actor: "RN-DEMO"}, "RN-DEMO patient.read DEMO-04; RN-DEMO escalation.claim " + itemRecord},
		{"who acted, the command line", audit.Filter{Actor: "cli"}, "cli patient.update 1; cli billing.close 2026-11"},
		{"an item by its number", audit.Filter{Entity: "escalation", EntityID: fmt.Sprintf("#%d", item)}, "RN-DEMO escalation.claim " + itemRecord},
		{"a month", audit.Filter{EntityID: "2026-11"}, "cli billing.close 2026-11"},
		{"nobody", audit.Filter{Actor: "RN-NOBODY"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.f); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// The log names people by their own id and name: who acted, and a staff member acted on.
func TestListNamesPeople(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	var nurse, doctor, desk int64
	for _, q := range []struct {
		sql string
		id  *int64
	}{
		{`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) RETURNING 0`, new(int64)},
		{`INSERT INTO staff (practice_id, ext_id, name, role, created_at, updated_at) VALUES (1, 'RN1', 'Rita Nurse', 'clinical', $1, $1) RETURNING id`, &nurse},
		{`INSERT INTO staff (practice_id, ext_id, name, role, created_at, updated_at) VALUES (1, 'MD1', 'Ada Doctor', 'practitioner', $1, $1) RETURNING id`, &doctor},
		{`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'FD1', 'non_clinical', $1, $1) RETURNING id`, &desk},
	} {
		if err := d.Get(q.id, q.sql, now); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range []audit.Event{
		{Actor: audit.Staff(nurse), Action: "staff.update", Entity: "staff", EntityID: fmt.Sprint(doctor)},
		{Actor: audit.Staff(desk), Action: "staff.update", Entity: "staff", EntityID: fmt.Sprint(nurse)},
		{Actor: audit.ActorCLI, Action: "staff.update", Entity: "staff", EntityID: fmt.Sprint(desk)},
	} {
		e.PracticeID, e.At = 1, now.Add(time.Duration(i)*time.Second)
		if err := audit.Record(ctx, d, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := audit.List(ctx, d, 1, audit.Filter{From: now.Add(-time.Hour), To: now.Add(time.Hour)}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		got = append(got, es[i].Who()+" → "+es[i].Record)
	}
	want := "RN1 (Rita Nurse) → MD1 (Ada Doctor); FD1 → RN1 (Rita Nurse); cli → FD1"
	if g := strings.Join(got, "; "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
	if es[2].StaffName == nil || *es[2].StaffName != "Rita Nurse" {
		t.Errorf("staff_name of RN1's event = %v", es[2].StaffName)
	}
}

// RecordAll stores the rows one Record call per event would, in the events' order.
func TestRecordAllAsRecord(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	at := time.Date(2026, 12, 1, 15, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
	events := []audit.Event{
		{PracticeID: 1, At: at, Actor: audit.ActorCLI, Action: "time_entry.create", Entity: "patient", EntityID: "7",
			Detail: map[string]any{"program": "ccm", "seconds": int64(600), "source": "import", "time_entry": 42}},
		{PracticeID: 1, At: at.Add(time.Second), Actor: audit.Staff(3), Action: "patient.read", Entity: "patient", EntityID: "8"},
		{PracticeID: 2, At: at, Actor: audit.ActorSystem, Action: "billing.close", Entity: "billing_month", EntityID: "2026-11",
			Detail: map[string]any{"note": `quote " and ü`, "list": []int{3, 1}}},
	}
	for _, e := range events {
		if err := audit.Record(ctx, d, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.RecordAll(ctx, d, events); err != nil {
		t.Fatal(err)
	}
	if err := audit.RecordAll(ctx, d, nil); err != nil {
		t.Fatalf("no events: %v", err)
	}
	var rows []string
	err := d.Select(&rows, `SELECT concat_ws('|', practice_id, at, actor, action, entity, entity_id, detail) FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2*len(events) {
		t.Fatalf("%d rows, want %d: %q", len(rows), 2*len(events), rows)
	}
	for i := range events {
		if rows[i] != rows[len(events)+i] {
			t.Errorf("event %d: RecordAll stored %q, Record %q", i, rows[len(events)+i], rows[i])
		}
	}
}
