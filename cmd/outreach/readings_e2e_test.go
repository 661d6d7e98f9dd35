package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/staff"
)

// Readings end to end against the real routes and commands: a file imported twice (the second
// time nothing is new and the command succeeds), a vendor's webhook batch sent twice, a bad
// batch refused whole, the items on the queue with the readings in their words, and a
// practitioner's limits through the API.
func TestReadingsEndToEnd(t *testing.T) {
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	c := apiServer(t, now)
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": c.conn}
	file := writeFile(t, "readings.csv", `patient,device,type,taken_at,systolic,diastolic,value,unit,manual
P1,BP-7,blood_pressure,2026-03-24T07:30:00-04:00,182,96,,,
P1,OX-2,spo2,2026-03-24T07:35:00-04:00,,,95,%,
P1,,weight,2026-03-24T07:40:00-04:00,,,181.4,lb,true
`)
	for i, want := range []string{"3 readings: 3 new, 0 already stored; 1 out of range", "3 readings: 0 new, 3 already stored; 0 out of range"} {
		out, _, err := runCmd(t, ctx, env, "import", "readings", file)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("import %d: %q, %v; want %q", i+1, out, err, want)
		}
	}
	batch := `[{"patient": "P2", "device": "BP-9", "type": "blood_pressure", "taken_at": "2026-03-25T08:00:00-04:00", "systolic": 150, "diastolic": 101},
		{"patient": "P2", "device": "HR-9", "type": "heart_rate", "taken_at": "2026-03-25T08:00:00-04:00", "value": 64, "unit": "bpm"}]`
	if code, body := c.do("POST", "/api/v1/readings", batch); code != 200 || body != `{"received":2,"new":2,"out_of_range":1}`+"\n" {
		t.Fatalf("batch: %d %q", code, body)
	}
	if code, body := c.do("POST", "/api/v1/readings", batch); code != 200 || !strings.Contains(body, `"new":0`) {
		t.Fatalf("batch again: %d %s", code, body)
	}
	bad := strings.Replace(batch, `"unit": "bpm"`, `"unit": "beats"`, 1)
	bad = strings.Replace(bad, "08:00:00", "09:00:00", 2)
	if code, body := c.do("POST", "/api/v1/readings", bad); code != 400 || !strings.Contains(body, `readings[1].unit: unit \"beats\" is not bpm for heart_rate`) {
		t.Fatalf("bad batch: %d %s", code, body)
	}
	var stored int
	if err := c.db(t).Get(&stored, `SELECT count(*) FROM readings`); err != nil || stored != 5 {
		t.Fatalf("%d readings stored, %v; want 5", stored, err)
	}
	code, body := c.do("GET", "/api/v1/escalations?status=open", "")
	if code != 200 || !strings.Contains(body, `"patient":"P1","patient_name":"","unread":false,"severity":"urgent","reason":"Blood pressure out of range","source":"reading"`) ||
		!strings.Contains(body, `"patient":"P2"`) || !strings.Contains(body, `"severity":"high"`) {
		t.Fatalf("queue: %d %s", code, body)
	}
	// A nurse may read the limits, not set them; a practitioner sets them.
	if code, body := c.do("PUT", "/api/v1/patients/P1/reading-limits", `{"systolic": {"high_above": 150}}`); code != 403 {
		t.Fatalf("a nurse's limits: %d %s", code, body)
	}
	md, err := staff.NewToken(ctx, c.db(t), 1, "MD1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	doc := c
	doc.token = md
	if code, body := doc.do("PUT", "/api/v1/patients/P1/reading-limits", `{"systolic": {"high_above": 150}}`); code != 200 || !strings.Contains(body, `"own":{"systolic":{"high_above":150}}`) {
		t.Fatalf("a practitioner's limits: %d %s", code, body)
	}
	if code, body := c.do("GET", "/api/v1/patients/P1/reading-limits", ""); code != 200 || !strings.Contains(body, `"effective":{"diastolic":{"urgent_above":120,"high_above":100}`) {
		t.Fatalf("limits: %d %s", code, body)
	}
}
