package escalation_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/dbgauge"
)

// TestQueueMetrics opens items, claims one (then renews and reassigns it: no second first
// claim), resolves it (a second resolution is refused and not counted), and reads the gauges:
// every value counts the events once, and every known label shows from 0.
func TestQueueMetrics(t *testing.T) {
	ctx := context.Background()
	r := newQueueRig(t)
	reg := prometheus.NewPedanticRegistry()
	m := escalation.NewMetrics(reg)
	r.queue.Metrics = m
	reg.MustRegister(escalation.Gauges(r.db, 1, r.clock, dbgauge.NewErrors(reg), slog.New(slog.NewTextHandler(io.Discard, nil))))

	var patient int64
	if err := r.db.Get(&patient, `SELECT id FROM patients WHERE ext_id = 'P1'`); err != nil {
		t.Fatal(err)
	}
	raise := func(sev escalation.Severity, reason string) (int64, error) {
		var id int64
		err := aftercommit.WithTx(ctx, r.db, func(ctx context.Context, tx *sqlx.Tx) error {
			it := escalation.Item{PracticeID: 1, PatientID: patient, Severity: sev, Reason: reason, Source: escalation.SourceRule}
			got, err := escalation.Raise(ctx, tx, it, escalation.DefaultDueTimes, r.clock(), ny)
			if err != nil {
				return err
			}
			m.Raised(ctx, it, got)
			id = got.ID
			return nil
		})
		return id, err
	}
	urgent, err := raise(escalation.Urgent, "Chest pain")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raise(escalation.Urgent, "Chest pain"); err != nil { // joins the open item
		t.Fatal(err)
	}
	if _, err := raise(escalation.High, "Feels unwell"); err != nil {
		t.Fatal(err)
	}
	// An item raised in a transaction that rolls back is not counted.
	rollback := errors.New("rolled back")
	err = aftercommit.WithTx(ctx, r.db, func(ctx context.Context, tx *sqlx.Tx) error {
		it := escalation.Item{PracticeID: 1, PatientID: patient, Severity: escalation.Routine, Reason: "Gone", Source: escalation.SourceRule}
		got, err := escalation.Raise(ctx, tx, it, escalation.DefaultDueTimes, r.clock(), ny)
		if err != nil {
			return err
		}
		m.Raised(ctx, it, got)
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}

	r.advance(20 * time.Minute)
	if _, err := r.queue.Claim(ctx, urgent, r.staff["RN00"]); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Minute)
	if _, err := r.queue.Claim(ctx, urgent, r.staff["RN00"]); err != nil { // a renewal
		t.Fatal(err)
	}
	if err := r.queue.Reassign(ctx, urgent, r.staff["RN01"], "RN02"); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP outreach_escalations_opened_total Escalation items opened, by severity and source.
# TYPE outreach_escalations_opened_total counter
` + zeroOpened(map[string]int{"high/rule": 1, "urgent/rule": 1}) + `
# HELP outreach_escalation_time_to_claim_seconds Time from an item's opening to its first claim, by severity.
# TYPE outreach_escalation_time_to_claim_seconds histogram
` + claims("high", 0, 0) + claims("routine", 0, 0) + claims("urgent", 1, 1200) + `
# HELP outreach_escalations_open Unresolved escalation items, by severity and whether someone holds a claim.
# TYPE outreach_escalations_open gauge
outreach_escalations_open{claimed="false",severity="high"} 1
outreach_escalations_open{claimed="false",severity="routine"} 0
outreach_escalations_open{claimed="false",severity="urgent"} 0
outreach_escalations_open{claimed="true",severity="high"} 0
outreach_escalations_open{claimed="true",severity="routine"} 0
outreach_escalations_open{claimed="true",severity="urgent"} 1
# HELP outreach_escalation_oldest_unclaimed_urgent_seconds Age of the oldest urgent item nobody holds; 0 when there is none.
# TYPE outreach_escalation_oldest_unclaimed_urgent_seconds gauge
outreach_escalation_oldest_unclaimed_urgent_seconds 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "outreach_escalations_opened_total",
		"outreach_escalation_time_to_claim_seconds", "outreach_escalations_open", "outreach_escalation_oldest_unclaimed_urgent_seconds"); err != nil {
		t.Error(err)
	}

	r.advance(5 * time.Minute)
	if _, err := r.queue.Resolve(ctx, urgent, r.staff["RN02"], "advised_ed_911", "Went to the ED."); err != nil {
		t.Fatal(err)
	}
	if _, err := r.queue.Resolve(ctx, urgent, r.staff["RN02"], "advised_ed_911", "again"); !errors.Is(err, escalation.ErrClaimed) {
		t.Fatalf("second resolution: %v", err)
	}
	r.advance(4 * time.Hour) // the high item is overdue; past the gauges' cache
	var resolved strings.Builder
	for _, o := range escalation.Outcomes {
		n := 0
		if o == "advised_ed_911" {
			n = 1
		}
		fmt.Fprintf(&resolved, "outreach_escalations_resolved_total{outcome=%q} %d\n", o, n)
	}
	want = `
# HELP outreach_escalations_resolved_total Escalation items resolved, by outcome.
# TYPE outreach_escalations_resolved_total counter
` + resolved.String() + `
# HELP outreach_escalations_overdue Unresolved escalation items past their due time, by severity.
# TYPE outreach_escalations_overdue gauge
outreach_escalations_overdue{severity="high"} 1
outreach_escalations_overdue{severity="routine"} 0
outreach_escalations_overdue{severity="urgent"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "outreach_escalations_overdue", "outreach_escalations_resolved_total"); err != nil {
		t.Error(err)
	}
}

// zeroOpened is the exposition of the opened counter: n["severity/source"] for the pairs
// given, 0 for every other pair.
func zeroOpened(n map[string]int) string {
	var b strings.Builder
	for _, sev := range escalation.Severities {
		for _, src := range escalation.Sources {
			fmt.Fprintf(&b, "outreach_escalations_opened_total{severity=%q,source=%q} %d\n", sev, src, n[string(sev)+"/"+string(src)])
		}
	}
	return b.String()
}

// claims is the exposition of the time-to-claim histogram of a severity with count first
// claims that all took sum seconds.
func claims(severity string, count int, sum float64) string {
	var b strings.Builder
	for _, le := range append(escalation.ClaimBuckets, math.Inf(1)) {
		n := 0
		if count > 0 && sum <= le {
			n = count
		}
		bound := strconv.FormatFloat(le, 'g', -1, 64)
		if math.IsInf(le, 1) {
			bound = "+Inf"
		}
		fmt.Fprintf(&b, "outreach_escalation_time_to_claim_seconds_bucket{severity=%q,le=%q} %d\n", severity, bound, n)
	}
	fmt.Fprintf(&b, "outreach_escalation_time_to_claim_seconds_sum{severity=%q} %g\n", severity, sum)
	fmt.Fprintf(&b, "outreach_escalation_time_to_claim_seconds_count{severity=%q} %d\n", severity, count)
	return b.String()
}
