package outreach_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
)

// fakeChannel records sends; a plan scripts the outcome of the next sends (success otherwise).
type fakeChannel struct {
	mu    sync.Mutex
	sent  []outreach.SMS
	plan  []func(outreach.SMS) (string, error)
	found map[string]*outreach.Found // FindSMS answers, by body
	seq   int

	calls    []outreach.Call
	callPlan []error // the outcome of the next calls (nil: placed)
}

func (c *fakeChannel) StartCall(ctx context.Context, call outreach.Call) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.callPlan) > 0 {
		err := c.callPlan[0]
		c.callPlan = c.callPlan[1:]
		if err != nil {
			return "", err
		}
	}
	c.seq++
	c.calls = append(c.calls, call)
	return fmt.Sprintf("CA%032d", c.seq), nil
}

func (c *fakeChannel) placed() []outreach.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]outreach.Call(nil), c.calls...)
}

func (c *fakeChannel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	c.mu.Lock()
	var step func(outreach.SMS) (string, error)
	if len(c.plan) > 0 {
		step, c.plan = c.plan[0], c.plan[1:]
	}
	c.seq++
	sid := fmt.Sprintf("SM%032d", c.seq)
	c.mu.Unlock()
	if step != nil {
		s, err := step(m)
		if err != nil {
			return "", err
		}
		if s != "" {
			sid = s
		}
	}
	c.mu.Lock()
	c.sent = append(c.sent, m)
	c.mu.Unlock()
	return sid, nil
}

func (c *fakeChannel) FindSMS(ctx context.Context, to, body string, since time.Time) (*outreach.Found, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.found[body], nil
}

func (c *fakeChannel) then(f func(outreach.SMS) (string, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plan = append(c.plan, f)
}

func (c *fakeChannel) sends() []outreach.SMS {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]outreach.SMS(nil), c.sent...)
}

func fail(f outreach.Failure, code int) func(outreach.SMS) (string, error) {
	return func(outreach.SMS) (string, error) {
		return "", &outreach.SendError{Failure: f, Code: code, Err: fmt.Errorf("provider said %d", code)}
	}
}

// clock is a settable clock safe to read from the dispatcher's workers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// testScript is a short daily script for the scheduling tests.
const testScript = `
id: daily
schedule: "%s"
languages: [en, es]
intro: {en: "Hi from your care team.", es: "Hola de su equipo."}
questions:
  - id: ok
    type: yesno
    text: {en: "Are you OK? Reply YES or NO.", es: "¿Está bien? Responda SÍ o NO."}
    escalate:
      - when: {equals: "no"}
        severity: high
        reason: Not OK
closing: {en: "Thanks!", es: "¡Gracias!"}
`

type rig struct {
	t     testing.TB
	db    *sqlx.DB
	clock *clock
	ch    *fakeChannel
	eng   *outreach.Engine
	lib   scripts.Library
}

var quietNight = practice.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}

// newRig returns an engine on a fresh database, with the bundled scripts and a "daily" script
// on the given schedule ("" for none).
func newRig(t testing.TB, now time.Time, quiet practice.QuietHours, schedule string) *rig {
	t.Helper()
	d, _ := dbtest.Fresh(t)
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	if schedule != "" {
		s, err := scripts.Parse("daily.yaml", []byte(fmt.Sprintf(testScript, schedule)))
		if err != nil {
			t.Fatal(err)
		}
		lib[s.ID] = s
	}
	r := &rig{t: t, db: d, clock: &clock{now: now}, ch: &fakeChannel{found: map[string]*outreach.Found{}}, lib: lib}
	r.eng = r.engine(r.ch)
	r.eng.Practice.Quiet = quiet
	return r
}

// engine returns another engine (a replica) on the rig's database and clock.
func (r *rig) engine(ch outreach.Channel) *outreach.Engine {
	e := outreach.New(r.db, r.lib, ch, r.clock.Now,
		practice.Settings{ID: practice.Default, Location: newYork, Quiet: quietNight},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Send.PerSecond = 0
	e.PublicURL = &url.URL{Scheme: "https", Host: "outreach.example.org"}
	e.Contact = outreach.Contact{Name: "Maple Clinic", Phone: "+15550100999"}
	if r.eng != nil {
		e.Practice.Quiet = r.eng.Practice.Quiet
	}
	return e
}

// patients imports patients in CCM who consented in 2025: "ext phone zone lang script" per line
// ("-" for an empty field).
func (r *rig) patients(lines ...string) {
	r.t.Helper()
	var b strings.Builder
	b.WriteString("id,phone,timezone,language,programs,script,billing_npi,consent_at\n")
	for _, l := range lines {
		f := strings.Fields(l)
		for i := range f {
			if f[i] == "-" {
				f[i] = ""
			}
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,ccm,%s,1111111112,2025-01-01\n", f[0], f[1], f[2], f[3], f[4])
	}
	if _, err := importString(r.t, r.db, "patients.csv", b.String(), r.clock.Now()); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) id(ext string) int64 {
	r.t.Helper()
	var id int64
	if err := r.db.Get(&id, "SELECT id FROM patients WHERE ext_id = $1", ext); err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *rig) schedule() outreach.ScheduleResult {
	r.t.Helper()
	res, err := r.eng.Schedule(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *rig) dispatch() outreach.DispatchResult {
	r.t.Helper()
	res, err := r.eng.Dispatch(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *rig) receive(from, body string) outreach.Handled {
	r.t.Helper()
	r.ch.mu.Lock()
	r.ch.seq++
	sid := fmt.Sprintf("SMin%030d", r.ch.seq)
	r.ch.mu.Unlock()
	return r.receiveSID(sid, from, body)
}

// receiveSID delivers a text with the provider's id given, as a redelivery keeps it.
func (r *rig) receiveSID(sid, from, body string) outreach.Handled {
	r.t.Helper()
	h, err := r.eng.Receive(context.Background(), outreach.Inbound{SID: sid, From: from, Body: body})
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *rig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.Get(&n, query, args...); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (r *rig) str(query string, args ...any) string {
	r.t.Helper()
	var s string
	if err := r.db.Get(&s, query, args...); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
	return s
}

func TestReplicasScheduleTheSameMinuteOnce(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), quietNight, "")
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("R%03d +1555020%04d America/New_York en -", i, i))
	}
	r.patients(lines...)
	replicas := []*outreach.Engine{r.eng, r.engine(r.ch), r.engine(r.ch)}
	var wg sync.WaitGroup
	for _, e := range replicas {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.Schedule(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if n := r.count("SELECT count(*) FROM checkins"); n != 40 {
		t.Errorf("check-ins = %d, want 40", n)
	}
	if n := r.count("SELECT count(*) FROM messages"); n != 40 {
		t.Errorf("messages = %d, want 40", n)
	}
	if p := r.str("SELECT DISTINCT period FROM checkins"); p != "2026-12-01T10:00" {
		t.Errorf("period = %q", p)
	}
	// Every replica dispatching at once sends each message once.
	for _, e := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Dispatch(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(r.ch.sends()); n != 40 {
		t.Errorf("sent %d messages, want 40", n)
	}
}

func TestQuietHoursAcrossZones(t *testing.T) {
	// 07:00 local is in quiet hours (21:00-08:00): the check-in waits for 08:00 in each zone.
	r := newRig(t, time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC), quietNight, "0 7 1 * *")
	r.patients("NY +15550300001 America/New_York en daily", "LA +15550300002 America/Los_Angeles en daily")
	steps := []struct {
		at      time.Time
		created int
	}{
		{time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC), 0}, // New York 07:30, Los Angeles 04:30
		{time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC), 1},  // New York 08:00
		{time.Date(2026, 12, 1, 15, 59, 0, 0, time.UTC), 0}, // Los Angeles 07:59
		{time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), 1},  // Los Angeles 08:00
		{time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC), 0},
	}
	for _, s := range steps {
		r.clock.Set(s.at)
		if got := r.schedule(); got.Created != s.created {
			t.Errorf("at %v: created %d, want %d", s.at, got.Created, s.created)
		}
	}
	// A queued scheduled message is held in quiet hours and goes when the window opens; a
	// reply to a patient who just wrote goes at once.
	r.clock.Set(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)) // New York 01:00, Los Angeles 22:00
	if _, err := r.db.Exec("UPDATE messages SET next_attempt_at = $1", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if res := r.dispatch(); res.Deferred != 2 || res.Sent != 0 {
		t.Errorf("dispatch in quiet hours = %+v, want 2 deferred", res)
	}
	var opens time.Time
	if err := r.db.Get(&opens, "SELECT next_attempt_at FROM messages m JOIN patients p ON p.id = m.patient_id WHERE p.ext_id = 'NY'"); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 2, 8, 0, 0, 0, newYork); !opens.Equal(want) {
		t.Errorf("deferred to %v, want %v", opens, want)
	}
	if h := r.receive("+15550300001", "help"); h != outreach.HandledHelp {
		t.Fatalf("help = %s", h)
	}
	if res := r.dispatch(); res.Sent != 1 {
		t.Errorf("the HELP reply was not sent in quiet hours: %+v", res)
	}
	r.clock.Set(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC))
	if res := r.dispatch(); res.Sent != 1 {
		t.Errorf("at 08:00 New York: %+v, want the New York message sent", res)
	}
}

func TestDaylightSavingTransitions(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		from, to   time.Time
		wantPeriod []string
		wantAt     map[string]time.Time // when a period's check-in is created
	}{
		{
			name: "spring forward: the 02:30 slot that does not exist falls due at 03:00",
			spec: "30 2 * * *", from: time.Date(2026, 3, 7, 5, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC),
			// The first tick catches up on the day before's slot.
			wantPeriod: []string{"2026-03-06T02:30", "2026-03-07T02:30", "2026-03-08T02:30", "2026-03-09T02:30"},
			wantAt:     map[string]time.Time{"2026-03-08T02:30": time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		},
		{
			name: "fall back: the 01:30 slot that comes twice starts one check-in",
			spec: "30 1 * * *", from: time.Date(2026, 10, 31, 4, 0, 0, 0, time.UTC), to: time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC),
			wantPeriod: []string{"2026-10-30T01:30", "2026-10-31T01:30", "2026-11-01T01:30", "2026-11-02T01:30"},
			wantAt:     map[string]time.Time{"2026-11-01T01:30": time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.from, practice.QuietHours{}, tt.spec)
			r.patients("D1 +15550400001 America/New_York en daily")
			for at := tt.from; !at.After(tt.to); at = at.Add(5 * time.Minute) {
				r.clock.Set(at)
				r.schedule()
				// The patient answers at once, so that the next slot may start a new one.
				if _, err := r.db.Exec("UPDATE checkins SET status = 'completed', ended_at = $1 WHERE status = 'open'", at); err != nil {
					t.Fatal(err)
				}
			}
			var rows []struct {
				Period  string    `db:"period"`
				Started time.Time `db:"started_at"`
			}
			if err := r.db.Select(&rows, "SELECT period, started_at FROM checkins ORDER BY started_at"); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, row := range rows {
				got = append(got, row.Period)
				if want, ok := tt.wantAt[row.Period]; ok && !row.Started.Equal(want) {
					t.Errorf("%s started at %v, want %v", row.Period, row.Started.UTC(), want)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantPeriod) {
				t.Errorf("periods = %v, want %v", got, tt.wantPeriod)
			}
		})
	}
}

func TestOneConversationAtATime(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "0 9 1 * *")
	r.patients("C1 +15550500001 America/New_York en -")
	if _, err := r.db.Exec("UPDATE patients SET programs = '{ccm}'"); err != nil {
		t.Fatal(err)
	}
	started, err := r.eng.StartNow(context.Background(), outreach.PatientID(r.id("C1")), "daily")
	if err != nil || !started {
		t.Fatalf("StartNow = %v, %v", started, err)
	}
	if res := r.schedule(); res.Created != 0 {
		t.Errorf("a second script interrupted an open conversation: %+v", res)
	}
	r.dispatch()
	r.receive("+15550500001", "yes")
	if res := r.schedule(); res.Created != 1 {
		t.Errorf("after the conversation ended: %+v, want the monthly check-in", res)
	}
}
