package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/outreach"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fakeChannel answers sends with a scripted error.
type fakeChannel struct{ err error }

func (f fakeChannel) SendSMS(context.Context, outreach.SMS) (string, error)    { return "SM1", f.err }
func (f fakeChannel) StartCall(context.Context, outreach.Call) (string, error) { return "CA1", f.err }
func (f fakeChannel) FindSMS(context.Context, string, string, time.Time) (*outreach.Found, error) {
	return nil, f.err
}

// TestScrapeAfterAScriptedRun fills a database as a day of check-ins would, scrapes the
// metrics and checks their values, then has promtool check the exposition.
func TestScrapeAfterAScriptedRun(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', $1, $1)`,
		`INSERT INTO patients (practice_id, ext_id, phone, timezone, programs, opted_out_at, opt_out_source, created_at, updated_at) VALUES
			(1, 'P1', '+15550000001', 'America/New_York', '{ccm}', NULL, NULL, $1, $1),
			(1, 'P2', '+15550000002', 'America/New_York', '{ccm}', $1, 'sms', $1, $1),
			(1, 'P3', '+15550000003', 'America/New_York', '{ccm}', NULL, NULL, $1, $1)`,
		`INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at, ended_at)
			SELECT 1, id, 'ccm-monthly', '2026-12-01T10:00', 'en', 'sms',
				CASE ext_id WHEN 'P1' THEN 'completed' WHEN 'P2' THEN 'cancelled' ELSE 'open' END,
				$1::timestamptz - interval '2 days', $1::timestamptz - interval '2 days', CASE WHEN ext_id = 'P3' THEN NULL ELSE $1::timestamptz - interval '1 day' END
			FROM patients`,
		`INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, error_code, sent_at, next_attempt_at, created_at, updated_at)
			SELECT 1, id, 'out', 'question', phone, 'q', s.status, s.code, CASE WHEN s.status <> 'queued' THEN $1::timestamptz END, $1::timestamptz - interval '10 minutes', $1::timestamptz, $1::timestamptz
			FROM patients, (VALUES ('delivered', NULL), ('failed', 30006), ('queued', NULL)) AS s (status, code)
			WHERE ext_id = 'P1'`,
		// An RPM patient with consent, whose device data the billing store is handed below.
		`INSERT INTO patients (practice_id, ext_id, phone, timezone, programs, billing_npi, created_at, updated_at) VALUES
			(1, 'R1', '+15550000004', 'America/New_York', '{rpm}', '1111111112', $1, $1)`,
		`INSERT INTO consents (practice_id, patient_id, given_at, npi, method, documented, created_at, updated_at)
			SELECT 1, id, '2026-01-15', '1111111112', 'verbal', true, $1, $1 FROM patients WHERE ext_id = 'R1'`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	var patient, staff int64
	d.Get(&patient, `SELECT id FROM patients WHERE ext_id = 'P1'`)
	d.Get(&staff, `SELECT id FROM staff`)
	raise := func(sev escalation.Severity, reason string, at time.Time) int64 {
		r, err := escalation.Raise(ctx, d, escalation.Item{PracticeID: 1, PatientID: patient, Severity: sev, Reason: reason,
			Source: escalation.SourceRule}, escalation.DefaultDueTimes, at, ny)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	raise(escalation.Urgent, "Chest pain", now.Add(-20*time.Minute)) // unclaimed, overdue
	high := raise(escalation.High, "Feels unwell", now.Add(-2*time.Hour))
	q := &escalation.Queue{DB: d, Practice: 1, Clock: func() time.Time { return now.Add(-90 * time.Minute) }}
	if _, err := q.Claim(ctx, high, staff); err != nil { // 30 minutes after it opened
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	rates, _ := billing.BundledRates()
	clock := now
	c := &metrics.Collector{DB: d, Practice: 1, Location: ny, Clock: func() time.Time { return clock },
		Billing: &billing.Store{DB: d, Practice: 1, Location: ny, Rates: rates, Clock: func() time.Time { return clock },
			Devices: func(context.Context, db.Querier, time.Time, time.Time) (map[string]billing.Device, error) {
				return map[string]billing.Device{"R1": {Days: 17}}, nil // the first month of R1's episode
			}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	reg.MustRegister(c)
	rt := metrics.NewRuntime(reg)
	ch := rt.Channel(fakeChannel{err: &outreach.SendError{Failure: outreach.Final, Code: 21211, Err: errors.New("invalid")}})
	ch.SendSMS(ctx, outreach.SMS{})
	rt.Tick(now, false)

	want := `
# HELP outreach_checkins_created_total Check-ins started, by script and channel.
# TYPE outreach_checkins_created_total counter
outreach_checkins_created_total{channel="sms",script="ccm-monthly"} 3
# HELP outreach_checkins_ended_total Check-ins ended, by script, channel and how (completed, expired, cancelled, handed_off).
# TYPE outreach_checkins_ended_total counter
outreach_checkins_ended_total{channel="sms",script="ccm-monthly",status="cancelled"} 1
outreach_checkins_ended_total{channel="sms",script="ccm-monthly",status="completed"} 1
# HELP outreach_checkin_completion_ratio Share of this month's check-ins that were completed, by script.
# TYPE outreach_checkin_completion_ratio gauge
outreach_checkin_completion_ratio{script="ccm-monthly"} 0.3333333333333333
# HELP outreach_messages_failed_total Texts that failed or were undelivered, by provider error code.
# TYPE outreach_messages_failed_total counter
outreach_messages_failed_total{error_code="30006"} 1
# HELP outreach_messages_delivered_total Texts reported delivered.
# TYPE outreach_messages_delivered_total counter
outreach_messages_delivered_total 1
# HELP outreach_patients_opted_out Patients opted out of outreach, by how (sms, voice, carrier, staff).
# TYPE outreach_patients_opted_out gauge
outreach_patients_opted_out{source="sms"} 1
# HELP outreach_escalations_open Unresolved escalation items, by severity and whether someone holds a claim.
# TYPE outreach_escalations_open gauge
outreach_escalations_open{claimed="false",severity="high"} 1
outreach_escalations_open{claimed="false",severity="routine"} 0
outreach_escalations_open{claimed="false",severity="urgent"} 1
outreach_escalations_open{claimed="true",severity="high"} 0
outreach_escalations_open{claimed="true",severity="routine"} 0
outreach_escalations_open{claimed="true",severity="urgent"} 0
# HELP outreach_escalations_overdue Unresolved escalation items past their due time, by severity.
# TYPE outreach_escalations_overdue gauge
outreach_escalations_overdue{severity="high"} 0
outreach_escalations_overdue{severity="routine"} 0
outreach_escalations_overdue{severity="urgent"} 1
# HELP outreach_escalation_oldest_unclaimed_urgent_seconds Age of the oldest urgent item nobody holds; 0 when there is none.
# TYPE outreach_escalation_oldest_unclaimed_urgent_seconds gauge
outreach_escalation_oldest_unclaimed_urgent_seconds 1200
# HELP outreach_outbox_depth Texts and calls waiting to go out (due or not), by kind.
# TYPE outreach_outbox_depth gauge
outreach_outbox_depth{kind="call"} 0
outreach_outbox_depth{kind="message"} 1
# HELP outreach_outbox_oldest_due_seconds How long the oldest due text or call has waited, by kind; 0 when none is due.
# TYPE outreach_outbox_oldest_due_seconds gauge
outreach_outbox_oldest_due_seconds{kind="call"} 0
outreach_outbox_oldest_due_seconds{kind="message"} 600
# HELP outreach_escalation_time_to_claim_seconds Time from an item's opening to its first claim, by severity.
# TYPE outreach_escalation_time_to_claim_seconds histogram
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="60"} 0
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="300"} 0
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="900"} 0
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="1800"} 1
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="3600"} 1
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="14400"} 1
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="86400"} 1
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="172800"} 1
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="432000"} 1
outreach_escalation_time_to_claim_seconds_bucket{severity="high",le="+Inf"} 1
outreach_escalation_time_to_claim_seconds_sum{severity="high"} 1800
outreach_escalation_time_to_claim_seconds_count{severity="high"} 1
# HELP outreach_provider_errors_total Failed requests to the provider, by operation, failure class and the provider's error code (0: none given).
# TYPE outreach_provider_errors_total counter
outreach_provider_errors_total{error_code="21211",operation="send_sms",outcome="final"} 1
# HELP outreach_rpm_patients_device_code RPM patients billable this month for each device code (99453 set-up, 99454 16+ days of data, 99445 2 to 15 days); 0 for a code nobody reached.
# TYPE outreach_rpm_patients_device_code gauge
outreach_rpm_patients_device_code{code="99445"} 0
outreach_rpm_patients_device_code{code="99453"} 1
outreach_rpm_patients_device_code{code="99454"} 1
# HELP outreach_scheduler_last_tick_timestamp_seconds When the scheduler's minute last ran, in Unix seconds.
# TYPE outreach_scheduler_last_tick_timestamp_seconds gauge
outreach_scheduler_last_tick_timestamp_seconds 1.7969148e+09
`
	names := []string{"outreach_checkins_created_total", "outreach_checkins_ended_total", "outreach_checkin_completion_ratio",
		"outreach_messages_failed_total", "outreach_messages_delivered_total", "outreach_patients_opted_out",
		"outreach_escalations_open", "outreach_escalations_overdue", "outreach_escalation_oldest_unclaimed_urgent_seconds",
		"outreach_outbox_depth", "outreach_outbox_oldest_due_seconds", "outreach_escalation_time_to_claim_seconds",
		"outreach_provider_errors_total", "outreach_rpm_patients_device_code", "outreach_scheduler_last_tick_timestamp_seconds"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// The whole exposition passes promtool's lint.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("OUTREACH_PROMTOOL") == "required" {
			t.Fatal("promtool is not installed (Debian package prometheus)")
		}
		t.Skip("promtool is not installed (Debian package prometheus)")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "metrics.txt")
	f, _ := os.Create(path)
	for _, mf := range families {
		if _, err := expfmt.MetricFamilyToText(f, mf); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	in, _ := os.Open(path)
	defer in.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestCollectorCaches: scrapes within the cache time reuse the last answers; the next one after
// it queries again.
func TestCollectorCaches(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`, now); err != nil {
		t.Fatal(err)
	}
	clock := now
	c := &metrics.Collector{DB: d, Practice: 1, Clock: func() time.Time { return clock }, CacheFor: time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	optedOut := func() int {
		n, err := testutil.GatherAndCount(reg, "outreach_patients_opted_out")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := optedOut(); n != 0 {
		t.Fatalf("opted-out series = %d", n)
	}
	if _, err := d.Exec(`INSERT INTO patients (practice_id, ext_id, timezone, opted_out_at, opt_out_source, created_at, updated_at)
		VALUES (1, 'P1', 'America/New_York', $1, 'voice', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(59 * time.Second)
	if n := optedOut(); n != 0 {
		t.Errorf("a scrape within the cache time queried again")
	}
	clock = now.Add(time.Minute)
	if n := optedOut(); n != 1 {
		t.Errorf("a scrape after the cache time did not query again")
	}
}

// TestKnownLabelsStartAtZero: on a new install, every severity, source, outcome and program
// shows 0 rather than no series at all, so that dashboards show 0, not "No data".
func TestKnownLabelsStartAtZero(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
	if _, err := d.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1) ON CONFLICT DO NOTHING`, now); err != nil {
		t.Fatal(err)
	}
	c := &metrics.Collector{DB: d, Practice: 1, Location: time.UTC, Clock: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := map[string]int{ // series per metric: every known label value, or pair of them
		"outreach_escalations_opened_total":   len(escalation.Severities) * len(escalation.Sources),
		"outreach_escalations_resolved_total": len(escalation.Outcomes),
		"outreach_escalations_open":           len(escalation.Severities) * 2,
		"outreach_escalations_overdue":        len(escalation.Severities),
		"outreach_care_time_seconds":          len(care.Programs),
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		n, ok := want[mf.GetName()]
		if !ok {
			continue
		}
		delete(want, mf.GetName())
		if len(mf.Metric) != n {
			t.Errorf("%s: %d series, want %d", mf.GetName(), len(mf.Metric), n)
		}
		for _, m := range mf.Metric {
			if v := m.GetCounter().GetValue() + m.GetGauge().GetValue(); v != 0 {
				t.Errorf("%s%v = %v on an empty database, want 0", mf.GetName(), m.Label, v)
			}
		}
	}
	for name := range want {
		t.Errorf("%s is missing on an empty database", name)
	}
}
