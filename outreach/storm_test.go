package outreach_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/twilio"
)

// Helpers shared by the provider fault tests (this file and replicas_test.go): a twiliofake
// whose dates follow the rig's pinned clock, real twilio-go channels pointed at it, a few hundred
// SMS patients due their first monthly check-in, and what the fake received per patient.

const (
	fakeAccount = "AC5707a0000000000000000000000000fa"
	fakeToken   = "storm0token1"
	fakeFrom    = "+15550001111"
)

// stormStart is 10:00 in New York on the 1st: the default monthly script's slot is due.
var stormStart = time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)

// newTwilioFake starts a fake Twilio whose message dates are the rig's clock, so that lookups
// (which Twilio filters by the day sent) agree with the pinned clock.
func newTwilioFake(t *testing.T, clk *clock) *twiliofake.Server {
	t.Helper()
	f := twiliofake.New(fakeAccount, fakeToken)
	t.Cleanup(f.Close)
	f.SetClock(clk.Now)
	return f
}

// twilioChannel is the production channel (twilio-go) sending to the fake.
func twilioChannel(t *testing.T, f *twiliofake.Server, timeout time.Duration) *twilio.Channel {
	t.Helper()
	u, err := url.Parse(f.URL())
	if err != nil {
		t.Fatal(err)
	}
	return twilio.New(twilio.Config{AccountSID: fakeAccount, AuthToken: fakeToken, FromNumber: fakeFrom, APIURL: u, Timeout: timeout})
}

// smsPatients imports n SMS patients in New York on the default monthly script and returns
// their phone numbers.
func (r *rig) smsPatients(n int) []string {
	r.t.Helper()
	lines := make([]string, n)
	phones := make([]string, n)
	for i := range n {
		phones[i] = fmt.Sprintf("+1555%07d", 8100000+i)
		lines[i] = fmt.Sprintf("F%05d %s America/New_York en -", i, phones[i])
	}
	r.patients(lines...)
	return phones
}

// pending counts the messages not settled yet: queued, being sent, or in doubt.
func (r *rig) pending() int {
	r.t.Helper()
	return r.count("SELECT count(*) FROM messages WHERE status IN ('queued', 'sending', 'unknown')")
}

// delivery is what reached the provider, against the patients who should each get one message.
type delivery struct {
	tried      int            // patients
	requests   int            // message creations the fake received
	accepted   map[string]int // messages the fake holds, per number
	lost       int            // patients with no message at the provider
	duplicated int            // messages beyond the first, summed over patients
	strangers  int            // messages to numbers that are not patients
}

func deliveries(f *twiliofake.Server, phones []string) delivery {
	d := delivery{tried: len(phones), requests: f.Count(), accepted: map[string]int{}}
	for _, m := range f.Messages() {
		d.accepted[m.To]++
	}
	known := map[string]bool{}
	for _, p := range phones {
		known[p] = true
		switch n := d.accepted[p]; {
		case n == 0:
			d.lost++
		case n > 1:
			d.duplicated += n - 1
		}
	}
	for to, n := range d.accepted {
		if !known[to] {
			d.strangers += n
		}
	}
	return d
}

// checkOneEach checks the invariant of every fault test: each patient has one check-in and one
// first message, accepted once by the provider, recorded as sent with the provider's id.
func (r *rig) checkOneEach(f *twiliofake.Server, phones []string, d delivery) {
	t := r.t
	t.Helper()
	if d.lost != 0 || d.duplicated != 0 || d.strangers != 0 {
		t.Errorf("%d patients: %d lost, %d duplicated, %d to strangers; want each patient texted exactly once",
			d.tried, d.lost, d.duplicated, d.strangers)
	}
	if n := r.count("SELECT count(*) FROM checkins"); n != len(phones) {
		t.Errorf("check-ins = %d, want %d", n, len(phones))
	}
	if n := r.count("SELECT count(*) FROM (SELECT patient_id FROM checkins GROUP BY 1 HAVING count(*) > 1) x"); n != 0 {
		t.Errorf("%d patients have more than one check-in", n)
	}
	var byStatus []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := r.db.Select(&byStatus, "SELECT status, count(*) AS n FROM messages GROUP BY 1 ORDER BY 1"); err != nil {
		t.Fatal(err)
	}
	if len(byStatus) != 1 || byStatus[0].Status != "sent" || byStatus[0].N != len(phones) {
		t.Errorf("messages by status = %+v, want all %d sent", byStatus, len(phones))
	}
	// The provider id recorded is the one of the message the provider holds.
	sids := map[string]string{}
	for _, m := range f.Messages() {
		sids[m.To] = m.SID
	}
	var rows []struct {
		Phone string  `db:"phone"`
		SID   *string `db:"twilio_sid"`
	}
	if err := r.db.Select(&rows, "SELECT phone, twilio_sid FROM messages"); err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for _, row := range rows {
		if row.SID == nil || *row.SID != sids[row.Phone] {
			wrong++
		}
	}
	if wrong != 0 {
		t.Errorf("%d messages do not carry the sid of the message the provider holds", wrong)
	}
}

// providerMetrics reads the runtime metrics of requests to the provider from a registry.
type providerMetrics struct {
	errors   map[string]float64 // "operation/outcome/error_code" → count
	requests map[string]uint64  // operation → requests timed
}

func gatherProvider(t *testing.T, reg *prometheus.Registry) providerMetrics {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	pm := providerMetrics{errors: map[string]float64{}, requests: map[string]uint64{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetName() {
			case "outreach_provider_errors_total":
				pm.errors[l["operation"]+"/"+l["outcome"]+"/"+l["error_code"]] += m.GetCounter().GetValue()
			case "outreach_provider_request_duration_seconds":
				pm.requests[l["operation"]] += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return pm
}

// since returns the counts that rose since before.
func (pm providerMetrics) since(before providerMetrics) providerMetrics {
	d := providerMetrics{errors: map[string]float64{}, requests: map[string]uint64{}}
	for k, v := range pm.errors {
		if v -= before.errors[k]; v != 0 {
			d.errors[k] = v
		}
	}
	for k, v := range pm.requests {
		d.requests[k] = v - before.requests[k]
	}
	return d
}

// sum adds the error counts of an operation and outcome, over error codes.
func (pm providerMetrics) sum(op, outcome string) int {
	n := 0.0
	for k, v := range pm.errors {
		if strings.HasPrefix(k, op+"/"+outcome+"/") {
			n += v
		}
	}
	return int(n)
}

// retriesByHTTPStatus groups the send_sms retry counts by the HTTP status behind their code:
// Twilio's JSON errors carry 20429, 20500, 20503 (20000 + the status); a proxy's page carries
// the status itself.
func (pm providerMetrics) retriesByHTTPStatus() map[int]int {
	out := map[int]int{}
	for k, v := range pm.errors {
		parts := strings.Split(k, "/")
		if parts[0] != "send_sms" || parts[1] != "retry" {
			continue
		}
		code, _ := strconv.Atoi(parts[2])
		if code >= 20000 {
			code -= 20000
		}
		out[code] += int(v)
	}
	return out
}

func (pm providerMetrics) String() string {
	keys := make([]string, 0, len(pm.errors))
	for k := range pm.errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%g", k, pm.errors[k])
	}
	return strings.TrimSpace(b.String())
}

// TestProviderStorms sends the first check-in message of a few hundred patients through the
// real twilio-go channel to a fake Twilio that misbehaves (slow answers past the client's
// timeout, dropped connections, a storm of 429s, a storm of 500s), with the channel wrapped in
// the metrics the server exports. The engine runs scheduling and dispatch passes on a pinned
// clock, advanced past backoffs, leases and the settle time between passes, through the storm
// and after it. After recovery every patient was texted exactly once (0 lost, 0 duplicated),
// every message is recorded as sent with the provider's id, ambiguous sends were settled by a
// lookup (never sent blindly again), and the provider error counters rose by the failures the
// fake produced.
func TestProviderStorms(t *testing.T) {
	const patients = 300
	type outcome struct {
		scriptedAmbiguous int // creations the fake was scripted to leave the client in doubt about (hung)
		lookupFailures    int // lookups the fake was scripted to refuse
	}
	tests := []struct {
		name    string
		timeout time.Duration // the channel's request timeout
		passes  int           // dispatch passes that run in the storm; then it ends
		// storm scripts the fake before the first pass.
		storm func(f *twiliofake.Server) outcome
		// afterFirst checks the state after the first pass, when given.
		afterFirst func(t *testing.T, r *rig)
		// check checks the storm's own promises once everything settled.
		check func(t *testing.T, r *rig, reqs []twiliofake.Request)
	}{
		{
			// One creation in ten hangs past the client's timeout, though the fake accepted the
			// message; a few connections drop without the fake creating anything. Both are
			// ambiguous: the lookup finds the first kind (settled, not sent again) and not the
			// second (sent again). The first lookups fail and are retried later.
			name:    "slow provider",
			timeout: 750 * time.Millisecond,
			passes:  1,
			storm: func(f *twiliofake.Server) outcome {
				var o outcome
				// Twilio's own queue is backed up too: the messages it accepted wait there, with
				// no date_sent, past the time the lookups run.
				f.SetSendAfter(time.Hour)
				for i := range patients {
					switch {
					case i%10 == 4:
						f.Hang(time.Minute) // ends when the client gives up
						o.scriptedAmbiguous++
					case i%37 == 20:
						f.Drop()
					default:
						f.Hang(0) // accepted at once
					}
				}
				for range 3 {
					f.FailLookup(http.StatusInternalServerError, 20500)
					o.lookupFailures++
				}
				return o
			},
			afterFirst: func(t *testing.T, r *rig) {
				if n := r.count("SELECT count(*) FROM messages WHERE status = 'unknown'"); n == 0 {
					t.Error("no send was left in doubt by the slow provider")
				}
			},
			check: func(t *testing.T, r *rig, reqs []twiliofake.Request) {
				// The fake takes its scripted answers in the order requests arrive: the first
				// pass's requests i%10 == 4 hung after the message was created.
				perTo := map[string]int{}
				for _, q := range reqs {
					perTo[q.To]++
				}
				resent, dropped := 0, 0
				for i, q := range reqs[:min(len(reqs), patients)] {
					switch {
					case i%10 == 4:
						if q.SID == "" {
							t.Errorf("hung request %d created nothing", i)
						}
						if perTo[q.To] != 1 {
							resent++
						}
					case i%37 == 20:
						dropped++
						if q.Status != 0 || perTo[q.To] != 2 {
							t.Errorf("dropped request %d: status %d, %d requests to its number; want 0 and 2 (sent again after a lookup found nothing)",
								i, q.Status, perTo[q.To])
						}
					}
				}
				if resent != 0 {
					t.Errorf("%d sends that hung after the provider accepted them were sent again, want 0 (a lookup settles them)", resent)
				}
				if dropped == 0 {
					t.Error("no dropped connection in the storm")
				}
			},
		},
		{
			// 70% of creations answer Twilio's 429 (code 20429) for three passes; the first ten
			// are a proxy's 429 page with Retry-After: 90, which the backoff must honour.
			name:    "429 storm",
			timeout: 5 * time.Second,
			passes:  3,
			storm: func(f *twiliofake.Server) outcome {
				for range 10 {
					f.FailHTML(http.StatusTooManyRequests, 90)
				}
				f.SetErrorRate(0.7, http.StatusTooManyRequests, 20429)
				return outcome{}
			},
			afterFirst: func(t *testing.T, r *rig) {
				var held struct {
					N     int        `db:"n"`
					First *time.Time `db:"first"`
				}
				if err := r.db.Get(&held, "SELECT count(*) AS n, min(next_attempt_at) AS first FROM messages WHERE status = 'queued' AND error_code = 429"); err != nil {
					t.Fatal(err)
				}
				if held.N != 10 || held.First == nil || held.First.Before(r.clock.Now().Add(90*time.Second)) {
					t.Errorf("after the 429 pages with Retry-After: 90: %d messages held, the first until %v; want 10, not before %v",
						held.N, held.First, r.clock.Now().Add(90*time.Second))
				}
			},
		},
		{
			// 80% of creations answer Twilio's 500 for three passes; a few are a proxy's 503 page
			// (retryable) or 502 page (the request may have gone through: ambiguous, settled by
			// a lookup that finds nothing, then sent).
			name:    "500 storm",
			timeout: 5 * time.Second,
			passes:  3,
			storm: func(f *twiliofake.Server) outcome {
				for range 5 {
					f.FailHTML(http.StatusServiceUnavailable, 0)
					f.FailHTML(http.StatusBadGateway, 0)
				}
				f.SetErrorRate(0.8, http.StatusInternalServerError, 20500)
				return outcome{}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started := time.Now()
			r := newRig(t, stormStart, practice.QuietHours{}, "")
			f := newTwilioFake(t, r.clock)
			phones := r.smsPatients(patients)
			reg := prometheus.NewRegistry()
			rt := metrics.NewRuntime(reg)
			// As the server does: the runtime metrics wrap the channel.
			r.eng.Channel = rt.Channel(twilioChannel(t, f, tt.timeout))
			r.eng.Send.Batch = 2 * patients // a pass claims everything due
			before := gatherProvider(t, reg)

			want := tt.storm(f)
			ctx := context.Background()
			var total outreach.DispatchResult
			created, passes := 0, 0
			for passes < 20 {
				if passes == tt.passes {
					f.SetErrorRate(0, 0, 0) // the storm is over
				}
				s, err := r.eng.Schedule(ctx)
				if err != nil {
					t.Fatal(err)
				}
				created += s.Created
				res, err := r.eng.Dispatch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				passes++
				total.Add(res)
				if passes == 1 && tt.afterFirst != nil {
					tt.afterFirst(t, r)
				}
				if passes >= tt.passes && r.pending() == 0 {
					break
				}
				// Past the longest backoff of the attempts so far, the lease and the settle time.
				r.clock.Add(20 * time.Minute)
			}
			if created != patients {
				t.Errorf("scheduling created %d check-ins, want %d", created, patients)
			}
			if n := r.pending(); n != 0 {
				t.Fatalf("after %d passes %d messages are still not settled (dispatch totals %+v)", passes, n, total)
			}

			reqs := f.Requests()
			d := deliveries(f, phones)
			r.checkOneEach(f, phones, d)
			if tt.check != nil {
				tt.check(t, r, reqs)
			}

			// The metrics show the storm: every failure the fake produced was counted once, by class.
			m := gatherProvider(t, reg).since(before)
			fakeStatus := map[int]int{}
			for _, q := range reqs {
				fakeStatus[q.Status]++
			}
			fakeRetry := map[int]int{}
			for _, st := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable} {
				if fakeStatus[st] > 0 {
					fakeRetry[st] = fakeStatus[st]
				}
			}
			if got := m.retriesByHTTPStatus(); fmt.Sprint(got) != fmt.Sprint(fakeRetry) {
				t.Errorf("retryable send errors counted by HTTP status = %v; the fake answered %v", got, fakeRetry)
			}
			// Ambiguous: the hung creations, the dropped connections and the 502 pages. A send the
			// fake answered in time but that a loaded machine still timed out on is ambiguous
			// too, so the count may be higher, but never differs from what the engine saw.
			fakeAmbiguous := want.scriptedAmbiguous + fakeStatus[0] + fakeStatus[http.StatusBadGateway]
			retry, ambiguous, final := m.sum("send_sms", "retry"), m.sum("send_sms", "ambiguous"), m.sum("send_sms", "final")
			if ambiguous < fakeAmbiguous || ambiguous != total.Unknown {
				t.Errorf("ambiguous send errors counted = %d; the fake left %d in doubt and the engine marked %d unknown",
					ambiguous, fakeAmbiguous, total.Unknown)
			}
			if final != 0 || total.Failed != 0 {
				t.Errorf("final send errors counted = %d, messages failed = %d; want none", final, total.Failed)
			}
			if retry != total.Retrying {
				t.Errorf("retryable send errors counted = %d, the engine requeued %d", retry, total.Retrying)
			}
			if n := int(m.requests["send_sms"]); n != len(reqs) {
				t.Errorf("send requests timed = %d, the fake received %d", n, len(reqs))
			}
			if n := m.sum("find_sms", "error"); n != want.lookupFailures {
				t.Errorf("lookup errors counted = %d, the fake refused %d", n, want.lookupFailures)
			}
			if retry+ambiguous == 0 {
				t.Error("the storm produced no provider error")
			}
			if ambiguous > 0 && total.Settled == 0 {
				t.Error("sends in doubt, but no lookup settled any")
			}

			t.Logf("%s: %d tried, %d lost, %d duplicated, %d provider errors (%d retryable, %d ambiguous, %d lookups failed); "+
				"%d requests, %d passes, %d settled by lookup, %v",
				tt.name, d.tried, d.lost, d.duplicated, retry+ambiguous+final, retry, ambiguous, want.lookupFailures,
				d.requests, passes, total.Settled, time.Since(started).Round(time.Millisecond))
			t.Logf("%s: provider_errors_total: %s", tt.name, m)
		})
	}
}
