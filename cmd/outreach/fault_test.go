package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
)

// TestKilledMidDispatchLosesNothing kills "checkins run" (SIGKILL) while it sends, then runs it
// again as a restarted replica would, later: every patient gets exactly one first message.
// Sends whose outcome the dead process never recorded are settled by a lookup at the provider,
// not sent again.
func TestKilledMidDispatchLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const patients = 1500
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	sid := "AC" + strings.Repeat("0", 31) + "7"
	fake := twiliofake.New(sid, e2eToken)
	t.Cleanup(fake.Close)
	at := time.Date(2026, 12, 1, 18, 30, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return at }) // the provider's dates agree with the pinned clock
	fake.SetDelay(15 * time.Millisecond)
	env := map[string]string{"DATABASE_URL": conn, "TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": e2eToken,
		"TWILIO_FROM_NUMBER": "+15550001111", "TWILIO_API_URL": fake.URL(), "OUTREACH_PUBLIC_URL": e2ePublic,
		"OUTREACH_SEND_RATE": "0", "OUTREACH_LOG_LEVEL": "error"}
	var csv strings.Builder
	csv.WriteString("id,phone,timezone,programs,billing_npi,consent_at\n")
	for i := range patients {
		fmt.Fprintf(&csv, "K%05d,+1555%07d,America/New_York,ccm,1111111112,2025-01-01\n", i, i)
	}
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "p.csv", csv.String())); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "OUTREACH_TEST_CHILD=checkins run --at "+at.Format(time.RFC3339))
	for k, v := range env {
		child.Env = append(child.Env, k+"="+v)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for fake.Count() < patients/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killedAt := fake.Count()
	if killedAt >= patients {
		t.Fatalf("the run finished (%d sends) before it could be killed", killedAt)
	}
	var inDoubt int
	d.Get(&inDoubt, `SELECT count(*) FROM messages WHERE status = 'sending'`)

	// The restarted replica: after the claims' lease its pass turns them into unknown and sends
	// what was never claimed; after the settle time, lookups settle the unknown ones.
	for _, later := range []time.Duration{6 * time.Minute, 17 * time.Minute, 28 * time.Minute} {
		if _, _, err := runCmd(t, ctx, env, "checkins", "run", "--at", at.Add(later).Format(time.RFC3339)); err != nil {
			t.Fatal(err)
		}
	}
	sent := map[string]int{}
	for _, r := range fake.Requests() {
		if r.SID != "" {
			sent[r.To]++
		}
	}
	doubled := 0
	for _, n := range sent {
		if n > 1 {
			doubled++
		}
	}
	var left int
	d.Get(&left, `SELECT count(*) FROM messages WHERE status NOT IN ('sent', 'delivered')`)
	t.Logf("killed after %d sends with %d claims in doubt; %d patients reached, %d doubled, %d messages unsettled",
		killedAt, inDoubt, len(sent), doubled, left)
	if len(sent) != patients || doubled != 0 || left != 0 {
		t.Errorf("%d of %d patients got their first message, %d got it twice, %d messages unsettled", len(sent), patients, doubled, left)
	}
}
