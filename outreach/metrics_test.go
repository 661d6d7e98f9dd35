package outreach_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// series gathers reg as "name{label=value,...}" → value, counters, gauges and histogram counts.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.Metric {
			out[key(mf.GetName(), m.Label)] = m.GetCounter().GetValue() + m.GetGauge().GetValue() +
				float64(m.GetHistogram().GetSampleCount())
		}
	}
	return out
}

func key(name string, labels []*dto.LabelPair) string {
	var l []string
	for _, p := range labels {
		l = append(l, p.GetName()+"="+p.GetValue())
	}
	sort.Strings(l)
	return name + "{" + strings.Join(l, ",") + "}"
}

// recount is what the metrics counted before: whole-table counts, by label, as series keys. The
// counters of a process that recorded every event of a database must equal them.
var recount = map[string]string{
	"outreach_checkins_created_total": `SELECT format('channel=%s,script=%s', channel, script_id) AS labels, count(*) AS n
		FROM checkins GROUP BY 1`,
	"outreach_checkins_ended_total": `SELECT format('channel=%s,script=%s,status=%s', channel, script_id, status) AS labels, count(*) AS n
		FROM checkins WHERE status <> 'open' GROUP BY 1`,
	"outreach_messages_sent_total": `SELECT format('kind=%s', kind) AS labels, count(*) AS n
		FROM messages WHERE direction = 'out' AND sent_at IS NOT NULL GROUP BY 1`,
	"outreach_messages_delivered_total": `SELECT '' AS labels, count(*) AS n FROM messages WHERE status = 'delivered'`,
	"outreach_messages_failed_total": `SELECT format('error_code=%s', COALESCE(CAST(error_code AS text), 'none')) AS labels, count(*) AS n
		FROM messages WHERE status IN ('failed', 'undelivered') GROUP BY 1`,
	"outreach_inbound_messages_total": `SELECT '' AS labels, count(*) AS n FROM messages WHERE direction = 'in'`,
	"outreach_answer_parse_failures_total": `SELECT format('script=%s', c.script_id) AS labels, count(*) AS n
		FROM checkin_answers a JOIN checkins c ON c.practice_id = a.practice_id AND c.id = a.checkin_id WHERE a.value = '' GROUP BY 1`,
	"outreach_calls_total": `SELECT format('status=%s', status) AS labels, count(*) AS n
		FROM calls WHERE call_status_rank(status) = 6 GROUP BY 1`,
	"outreach_escalations_opened_total": `SELECT format('severity=%s,source=%s', severity, source) AS labels, count(*) AS n
		FROM escalations GROUP BY 1`,
	"outreach_checkin_completion_ratio": `SELECT format('script=%s', script_id) AS labels, avg(CAST(status = 'completed' AS int)) AS n
		FROM checkins GROUP BY 1`,
}

// checkRecount compares every series of reg named in recount with the database's recount:
// each value the recount finds is the series' value, and every other series is 0.
func checkRecount(t *testing.T, r *rig, reg *prometheus.Registry) {
	t.Helper()
	got := series(t, reg)
	for name, q := range recount {
		var rows []struct {
			Labels string  `db:"labels"`
			N      float64 `db:"n"`
		}
		if err := r.db.Select(&rows, q); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := map[string]float64{}
		for _, row := range rows {
			want[name+"{"+row.Labels+"}"] = row.N
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s = %v (present %v), want %v as recounted", k, g, ok, v)
			}
		}
		for k, v := range got {
			if strings.HasPrefix(k, name+"{") && want[k] == 0 && v != 0 {
				t.Errorf("%s = %v, want 0 as recounted", k, v)
			}
		}
	}
}

// metered gives the rig's engine the event counters and returns the registry they are on, with
// the engine's gauges.
func metered(r *rig) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	r.eng.Metrics = outreach.NewMetrics(reg, r.lib.IDs())
	r.eng.Escalations = escalation.NewMetrics(reg)
	errs := dbgauge.NewErrors(reg)
	reg.MustRegister(outreach.Gauges(r.db, practice.Default, r.lib.IDs(), r.clock.Now, errs, slog.New(slog.NewTextHandler(io.Discard, nil))))
	return reg
}

// TestCountersFollowEvents runs check-ins by text and by phone through the engine, with
// replies, a redelivered webhook, delivery reports (one sent twice) and a call that was not
// answered, and checks that the counters count each event once: equal to the whole-table
// recounts the metrics used to run, and to the values the events make.
func TestCountersFollowEvents(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "0 9 * * *")
	r.patients("M1 +15550810001 America/New_York en daily", "M2 +15550810002 America/New_York en daily",
		"M3 +15550810003 America/New_York en daily", "M4 +15550810004 America/New_York en daily")
	reg := metered(r)
	if res := r.schedule(); res.Created != 4 {
		t.Fatalf("schedule = %+v", res)
	}
	r.voicePatient("V1", "+15550810009", "en", "daily")
	r.dispatch()

	// Delivery reports: M1's question delivered (reported twice), M2's undelivered.
	var questions []int64
	if err := r.db.Select(&questions, "SELECT id FROM messages WHERE kind = 'question' ORDER BY id"); err != nil || len(questions) != 4 {
		t.Fatalf("questions %v, %v", questions, err)
	}
	for _, rep := range []outreach.Report{
		{Message: questions[0], Status: "delivered"}, {Message: questions[0], Status: "delivered"},
		{Message: questions[1], Status: "undelivered", ErrorCode: 30003},
	} {
		if _, err := r.eng.UpdateStatus(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	// Replies: M1 answers (the webhook delivered twice), M2 says no (an item), M3 cannot be read
	// until the question is given up on, M4 opts out.
	r.receiveSID("SMdup0000000000000000000000000001", "+15550810001", "yes")
	r.receiveSID("SMdup0000000000000000000000000001", "+15550810001", "yes")
	r.receive("+15550810002", "no")
	for range 3 {
		r.receive("+15550810003", "purple")
	}
	r.receive("+15550810004", "STOP")
	r.dispatch()
	// The call was not answered (the report sent twice).
	var call int64
	if err := r.db.Get(&call, "SELECT id FROM calls"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.eng.UpdateCallStatus(ctx, outreach.CallReport{Call: call, Status: "no-answer"}); err != nil {
			t.Fatal(err)
		}
	}

	got := series(t, reg)
	for k, want := range map[string]float64{
		"outreach_checkins_created_total{channel=sms,script=daily}":                          4,
		"outreach_checkins_created_total{channel=voice,script=daily}":                        1,
		"outreach_checkins_ended_total{channel=sms,script=daily,status=completed}":           3,
		"outreach_checkins_ended_total{channel=sms,script=daily,status=cancelled}":           1,
		"outreach_checkins_ended_total{channel=voice,script=daily,status=completed}":         0,
		"outreach_messages_sent_total{kind=question}":                                        4,
		"outreach_messages_delivered_total{}":                                                1,
		"outreach_messages_failed_total{error_code=30003}":                                   1,
		"outreach_inbound_messages_total{}":                                                  6,
		"outreach_answer_parse_failures_total{script=daily}":                                 1,
		"outreach_calls_total{status=no-answer}":                                             1,
		"outreach_escalations_opened_total{severity=high,source=rule}":                       1,
		"outreach_patients_opted_out{source=sms}":                                            1,
		"outreach_checkin_completion_ratio{script=daily}":                                    0.6,
		"outreach_outbox_depth{kind=call}":                                                   1, // the call again, later
		"outreach_checkins_created_total{channel=sms,script=" + outreach.DefaultScript + "}": 0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	checkRecount(t, r, reg)
}

// TestKnownLabelsStartAtZero: before any event, every bundled script, channel, end status,
// message kind and call status shows 0, and so do the gauges of every known label.
func TestKnownLabelsStartAtZero(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	reg := metered(r)
	scripts := len(r.lib.IDs())
	want := map[string]int{
		"outreach_checkins_created_total":      scripts * len(outreach.Channels),
		"outreach_checkins_ended_total":        scripts * len(outreach.Channels) * len(outreach.EndStatuses),
		"outreach_messages_sent_total":         len(outreach.OutgoingKinds),
		"outreach_messages_delivered_total":    1,
		"outreach_inbound_messages_total":      1,
		"outreach_answer_parse_failures_total": scripts,
		"outreach_calls_total":                 len(outreach.CallEndStatuses),
		"outreach_escalations_opened_total":    len(escalation.Severities) * len(escalation.Sources),
		"outreach_escalations_resolved_total":  len(escalation.Outcomes),
		"outreach_patients_opted_out":          len(outreach.OptOutSources),
		"outreach_outbox_depth":                2,
		"outreach_outbox_oldest_due_seconds":   2,
		"outreach_outbox_unknown":              2,
		"outreach_checkin_completion_ratio":    scripts,
	}
	n := map[string]int{}
	for k, v := range series(t, reg) {
		name, _, _ := strings.Cut(k, "{")
		n[name]++
		if v != 0 {
			t.Errorf("%s = %v on an empty database, want 0", k, v)
		}
	}
	for name, w := range want {
		if n[name] != w {
			t.Errorf("%s: %d series, want %d", name, n[name], w)
		}
	}
	if !strings.Contains(fmt.Sprint(r.lib.IDs()), outreach.DefaultScript) {
		t.Errorf("the bundled scripts %v lack %s", r.lib.IDs(), outreach.DefaultScript)
	}
}

// TestCompletionRollupEqualsRecount changes check-ins in every way a statement can (started in
// one statement, in two months of the practice's zone, one late on a month's last evening;
// completed, reopened, moved to another script and month, deleted) and checks after each step
// that the rollup the triggers keep equals a full recount.
func TestCompletionRollupEqualsRecount(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	r.patients("C1 +15550820001 America/New_York en -", "C2 +15550820002 America/New_York en -",
		"C3 +15550820003 America/New_York en -", "C4 +15550820004 America/New_York en -")
	const recount = `
SELECT to_char(date_trunc('month', c.started_at AT TIME ZONE p.timezone), 'YYYY-MM') || ' ' || c.script_id AS key,
	count(*) AS started, count(*) FILTER (WHERE c.status = 'completed') AS completed
FROM checkins c JOIN practices p ON p.id = c.practice_id GROUP BY 1`
	const rolled = `
SELECT to_char(month, 'YYYY-MM') || ' ' || script_id AS key, sum(started) AS started, sum(completed) AS completed
FROM checkin_months GROUP BY 1 HAVING sum(started) <> 0 OR sum(completed) <> 0`
	read := func(q string) string {
		var rows []struct {
			Key       string `db:"key"`
			Started   int    `db:"started"`
			Completed int    `db:"completed"`
		}
		if err := r.db.Select(&rows, q+" ORDER BY 1"); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(rows)
	}
	steps := []struct{ name, sql string }{
		{"started", `INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at, ended_at)
			SELECT 1, id, CASE WHEN ext_id = 'C4' THEN 'hypertension' ELSE 'ccm-monthly' END, 'p', 'en', 'sms',
				CASE WHEN ext_id = 'C3' THEN 'completed' ELSE 'open' END,
				CASE WHEN ext_id = 'C2' THEN '2026-12-01T04:30:00Z'::timestamptz ELSE '2026-12-01T15:00:00Z' END, '2026-12-01T15:00:00Z',
				CASE WHEN ext_id = 'C3' THEN '2026-12-01T16:00:00Z'::timestamptz END
			FROM patients`}, // C2 on November's last evening in New York
		{"completed", `UPDATE checkins SET status = 'completed', ended_at = '2026-12-01T16:00:00Z' WHERE patient_id IN (SELECT id FROM patients WHERE ext_id IN ('C1', 'C2'))`},
		{"answered, nothing to count", `UPDATE checkins SET last_sent_at = '2026-12-01T16:00:00Z'`},
		{"expired", `UPDATE checkins SET status = 'expired', ended_at = '2026-12-02T16:00:00Z' WHERE status = 'open'`},
		{"no longer completed", `UPDATE checkins SET status = 'handed_off' WHERE patient_id = (SELECT id FROM patients WHERE ext_id = 'C1')`},
		{"moved", `UPDATE checkins SET script_id = 'hypertension', started_at = started_at + interval '40 days' WHERE patient_id = (SELECT id FROM patients WHERE ext_id = 'C3')`},
		{"deleted", `DELETE FROM checkins WHERE patient_id = (SELECT id FROM patients WHERE ext_id = 'C2')`},
	}
	for _, s := range steps {
		if _, err := r.db.Exec(s.sql); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got, want := read(rolled), read(recount); got != want {
			t.Errorf("after %s: rollup %s, recount %s", s.name, got, want)
		}
	}
}
