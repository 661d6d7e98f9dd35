package escalation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type queueRig struct {
	t     *testing.T
	db    *sqlx.DB
	now   time.Time
	mu    sync.Mutex
	queue *escalation.Queue
	staff map[string]int64
}

var ny = func() *time.Location { l, _ := time.LoadLocation("America/New_York"); return l }()

func newQueueRig(t *testing.T) *queueRig {
	d, _ := dbtest.Fresh(t)
	r := &queueRig{t: t, db: d, now: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), staff: map[string]int64{}}
	r.queue = &escalation.Queue{DB: d, Practice: 1, Clock: r.clock}
	r.exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`, r.now)
	r.exec(`INSERT INTO patients (practice_id, ext_id, timezone, created_at, updated_at) VALUES (1, 'P1', 'America/New_York', $1, $1)`, r.now)
	for i := range 20 {
		r.addStaff(fmt.Sprintf("RN%02d", i), "clinical")
	}
	r.addStaff("FRONT", "non_clinical")
	return r
}

func (r *queueRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *queueRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

func (r *queueRig) exec(q string, args ...any) {
	r.t.Helper()
	if _, err := r.db.Exec(q, args...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *queueRig) addStaff(ext, role string) {
	r.t.Helper()
	var id int64
	if err := r.db.Get(&id, `INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, $1, $2, $3, $3) RETURNING id`,
		ext, role, r.now); err != nil {
		r.t.Fatal(err)
	}
	r.staff[ext] = id
}

func (r *queueRig) raise(sev escalation.Severity, reason string) int64 {
	r.t.Helper()
	var patient int64
	if err := r.db.Get(&patient, `SELECT id FROM patients WHERE ext_id = 'P1'`); err != nil {
		r.t.Fatal(err)
	}
	got, err := escalation.Raise(context.Background(), r.db, escalation.Item{PracticeID: 1, PatientID: patient,
		Severity: sev, Reason: reason, Source: escalation.SourceRule}, escalation.DefaultDueTimes, r.clock(), ny)
	if err != nil {
		r.t.Fatal(err)
	}
	return got.ID
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	r := newQueueRig(t)
	id := r.raise(escalation.Urgent, "Chest pain")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	conflicts := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nurse := fmt.Sprintf("RN%02d", i)
			_, err := r.queue.Claim(context.Background(), id, r.staff[nurse])
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, nurse)
			case errors.Is(err, escalation.ErrClaimed) && errors.Is(err, errkind.ErrConflict):
				conflicts++
			default:
				t.Errorf("claim by %s: %v", nurse, err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 || conflicts != 19 {
		t.Fatalf("winners %v, conflicts %d; want exactly one winner", winners, conflicts)
	}
	items, err := r.queue.List(context.Background(), escalation.Filter{Status: "claimed"})
	if err != nil || len(items) != 1 || items[0].ClaimedBy == nil || *items[0].ClaimedBy != winners[0] {
		t.Errorf("claimed items = %+v, %v", items, err)
	}
}

func TestClaimLeaseExpiresAndRenews(t *testing.T) {
	r := newQueueRig(t)
	ctx := context.Background()
	id := r.raise(escalation.High, "Weight gain")
	a, b := r.staff["RN01"], r.staff["RN02"]
	if _, err := r.queue.Claim(ctx, id, a); err != nil {
		t.Fatal(err)
	}
	r.advance(10 * time.Minute)
	// Claiming again renews the holder's lease.
	until, err := r.queue.Claim(ctx, id, a)
	if err != nil || !until.Equal(r.clock().Add(escalation.DefaultLease)) {
		t.Fatalf("renewal = %v, %v", until, err)
	}
	r.advance(escalation.DefaultLease - time.Second)
	if _, err := r.queue.Claim(ctx, id, b); !errors.Is(err, escalation.ErrClaimed) {
		t.Fatalf("claim of a live lease: %v", err)
	}
	if _, err := r.queue.Resolve(ctx, id, b, "no_action_needed", ""); !errors.Is(err, escalation.ErrClaimed) {
		t.Fatalf("resolve of someone else's live claim: %v", err)
	}
	r.advance(time.Second)
	if items, _ := r.queue.List(ctx, escalation.Filter{Status: "open"}); len(items) != 1 || items[0].ClaimedBy != nil {
		t.Errorf("an expired claim lists as %+v; want open", items)
	}
	if _, err := r.queue.Claim(ctx, id, b); err != nil {
		t.Fatalf("claim after the lease expired: %v", err)
	}
	if err := r.queue.Release(ctx, id, a); !errors.Is(err, escalation.ErrClaimed) {
		t.Errorf("release by the former holder: %v", err)
	}
	if err := r.queue.Release(ctx, id, b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.queue.Resolve(ctx, id, a, "reached_patient", "Called; weight down since."); err != nil {
		t.Fatal(err)
	}
	if _, err := r.queue.Claim(ctx, id, b); !errors.Is(err, escalation.ErrClaimed) {
		t.Errorf("claim of a resolved item: %v", err)
	}
	if _, err := r.queue.Claim(ctx, 999999, b); !errors.Is(err, escalation.ErrNotFound) {
		t.Errorf("claim of a missing item: %v", err)
	}
	// A new firing of the same reason after the resolution opens a new item.
	if again := r.raise(escalation.High, "Weight gain"); again == id {
		t.Error("a firing attached to a resolved item")
	}
	var actions []string
	if err := r.db.Select(&actions, `SELECT action FROM audit_log WHERE entity = 'escalation' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(actions, " ") != "escalation.claim escalation.claim escalation.claim escalation.release escalation.resolve" {
		t.Errorf("audit = %v", actions)
	}
}

func TestListOrderAndFilters(t *testing.T) {
	r := newQueueRig(t)
	ctx := context.Background()
	routine := r.raise(escalation.Routine, "Missed doses")
	r.advance(time.Minute)
	high := r.raise(escalation.High, "Feels unwell")
	r.advance(time.Minute)
	urgent := r.raise(escalation.Urgent, "Emergency words")
	// A rule firing again for the open item of the same patient and reason attaches to it.
	if again := r.raise(escalation.Routine, "Missed doses"); again != routine {
		t.Errorf("a repeat firing opened item %d; want it attached to %d", again, routine)
	}
	items, err := r.queue.List(ctx, escalation.Filter{})
	if err != nil || len(items) != 3 || items[0].ID != urgent || items[1].ID != high || items[2].ID != routine || items[2].Firings != 2 {
		t.Fatalf("list = %+v, %v; want urgent, high, routine (fired twice)", items, err)
	}
	if items, _ := r.queue.List(ctx, escalation.Filter{Severity: escalation.High}); len(items) != 1 || items[0].ID != high {
		t.Errorf("severity filter = %+v", items)
	}
	if _, err := r.queue.Claim(ctx, routine, r.staff["RN07"]); err != nil {
		t.Fatal(err)
	}
	if items, _ := r.queue.List(ctx, escalation.Filter{ClaimedBy: "RN07"}); len(items) != 1 || items[0].ID != routine {
		t.Errorf("assignee filter = %+v", items)
	}
	for _, f := range []escalation.Filter{{Status: "done"}, {Severity: "critical"}, {Offset: -1}} {
		if _, err := r.queue.List(ctx, f); !errors.Is(err, errkind.ErrInvalid) {
			t.Errorf("filter %+v: %v", f, err)
		}
	}
	if _, err := r.queue.Resolve(ctx, urgent, r.staff["RN01"], "fixed_it", ""); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("unknown outcome: %v", err)
	}
}

func TestQueueAPI(t *testing.T) {
	r := newQueueRig(t)
	id := r.raise(escalation.Urgent, "Emergency words")
	h := &escalation.Handlers{Queue: r.queue}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/escalations", web.API(log, h.List))
	mux.Handle("GET /api/v1/escalations/{id}", web.API(log, h.Get))
	mux.Handle("POST /api/v1/escalations/{id}/claim", web.API(log, h.Claim))
	mux.Handle("POST /api/v1/escalations/{id}/release", web.API(log, h.Release))
	mux.Handle("POST /api/v1/escalations/{id}/resolve", web.APIBody(log, h.Resolve))
	as := func(member string, role staff.Role) staff.Identity {
		return staff.Identity{PracticeID: 1, StaffID: r.staff[member], Staff: member, Role: role}
	}
	do := func(who staff.Identity, method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(web.WithIdentity(req.Context(), who))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var out map[string]any
		if strings.HasPrefix(strings.TrimSpace(rec.Body.String()), "{") {
			json.Unmarshal(rec.Body.Bytes(), &out)
		}
		return rec.Code, out
	}
	nurse, other, front := as("RN01", "clinical"), as("RN02", "clinical"), as("FRONT", "non_clinical")
	path := fmt.Sprintf("/api/v1/escalations/%d", id)
	tests := []struct {
		who          staff.Identity
		method, path string
		body         string
		want         int
	}{
		{front, "POST", path + "/claim", "", http.StatusForbidden},
		{nurse, "POST", "/api/v1/escalations/abc/claim", "", http.StatusBadRequest},
		{nurse, "POST", "/api/v1/escalations/424242/claim", "", http.StatusNotFound},
		{nurse, "POST", path + "/claim", "", http.StatusOK},
		{other, "POST", path + "/claim", "", http.StatusConflict},
		{other, "POST", path + "/resolve", `{"outcome": "no_action_needed"}`, http.StatusConflict},
		{nurse, "POST", path + "/resolve", `{"outcome": "maybe"}`, http.StatusBadRequest},
		{nurse, "POST", path + "/resolve", `{"outcome": "advised_ed_911", "note": "Told to call 911; EMS en route."}`, http.StatusOK},
		{nurse, "GET", "/api/v1/escalations?status=bogus", "", http.StatusBadRequest},
		{front, "GET", path, "", http.StatusOK},
		{nurse, "GET", "/api/v1/escalations/77777", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		if code, body := do(tt.who, tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %s as %s: %d %v, want %d", tt.method, tt.path, tt.body, tt.who.Staff, code, body, tt.want)
		}
	}
	req := httptest.NewRequest("GET", "/api/v1/escalations?status=resolved", nil)
	req = req.WithContext(web.WithIdentity(req.Context(), nurse))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var list []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 {
		t.Fatalf("resolved list: %s, %v", rec.Body, err)
	}
	for _, k := range []string{"id", "patient", "severity", "reason", "status", "created_at", "claimed_by"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("list item lacks %q: %v", k, list[0])
		}
	}
	if list[0]["patient"] != "P1" || list[0]["outcome"] != "advised_ed_911" || list[0]["resolved_by"] != "RN01" {
		t.Errorf("resolved item = %v, want P1 resolved by RN01 with advised_ed_911", list[0])
	}
	// The item itself names the patient and gives the number to call.
	r.exec(`UPDATE patients SET first_name = 'Ann', last_name = 'Lee', phone = '+15550100001' WHERE ext_id = 'P1'`)
	if code, item := do(nurse, "GET", path, ""); code != http.StatusOK || item["patient_name"] != "Ann Lee" ||
		item["phone"] != "+15550100001" || item["resolved_by"] != "RN01" {
		t.Errorf("item = %d %v, want the name, phone and who resolved it", code, item)
	}
}

func TestUrgentItemsPageTheOnCallUntilClaimed(t *testing.T) {
	r := newQueueRig(t)
	ctx := context.Background()
	r.exec(`UPDATE staff SET phone = '+15550900001' WHERE ext_id = 'RN01'`)
	r.exec(`UPDATE staff SET phone = '+15550900002' WHERE ext_id = 'RN02'`)
	var mu sync.Mutex
	var texts []string
	n := &escalation.Notifier{DB: r.db, Practice: 1, Clock: r.clock, OnCall: []string{"RN01", "RN02", "RN03"},
		QueueURL: "https://outreach.example.org/", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Send: func(_ context.Context, to, body string) error {
			mu.Lock()
			defer mu.Unlock()
			texts = append(texts, to+" "+body)
			return nil
		}}
	notify := func(want int) {
		t.Helper()
		got, err := n.Notify(ctx)
		if err != nil || got != want {
			t.Fatalf("at %v: %d alerts sent, %v; want %d", r.clock(), got, err, want)
		}
	}
	r.raise(escalation.High, "Feels unwell") // never pages
	id := r.raise(escalation.Urgent, "Emergency words")
	notify(2) // the two on-call clinicians with a phone
	want := fmt.Sprintf("+15550900001 Urgent item #%d in the queue: https://outreach.example.org/. Claim it to stop these alerts.", id)
	if texts[0] != want && texts[1] != want {
		t.Errorf("alerts = %q", texts)
	}
	r.advance(time.Minute)
	notify(0)
	r.advance(4 * time.Minute)
	notify(2) // five minutes on, still unclaimed
	if _, err := r.queue.Claim(ctx, id, r.staff["RN05"]); err != nil {
		t.Fatal(err)
	}
	r.advance(10 * time.Minute)
	notify(0) // claimed
	r.advance(escalation.DefaultLease)
	notify(2) // the claim lapsed: paging again
	if _, err := r.queue.Resolve(ctx, id, r.staff["RN05"], "advised_ed_911", ""); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour)
	notify(0)
	for _, text := range texts {
		if strings.Contains(text, "Emergency") || strings.Contains(text, "P1") {
			t.Errorf("an alert carries patient details: %q", text)
		}
	}
}

func TestResolveProposesTheTimeWorked(t *testing.T) {
	r := newQueueRig(t)
	ctx := context.Background()
	r.exec(`UPDATE patients SET programs = '{rpm}'`)
	id := r.raise(escalation.High, "Weight gain")
	nurse := r.staff["RN03"]
	if _, err := r.queue.Claim(ctx, id, nurse); err != nil {
		t.Fatal(err)
	}
	claimed := r.clock()
	r.advance(7*time.Minute + 30*time.Second)
	p, err := r.queue.Resolve(ctx, id, nurse, "medication_changed", "Diuretic dose raised per Dr. Demo.")
	if err != nil {
		t.Fatal(err)
	}
	if p.Seconds != 450 || !p.StartedAt.Equal(claimed) || !p.EndedAt.Equal(r.clock()) || p.Program != "rpm" ||
		p.Activity != "medication_reconciliation" || p.Interactive || p.Staff != "RN03" || len(p.Patients) != 1 || p.Patients[0] != "P1" ||
		!strings.Contains(p.Note, "Diuretic dose raised") {
		t.Errorf("proposal = %+v", p)
	}
	// Resolving without a claim proposes no time.
	other := r.raise(escalation.Routine, "Missed doses")
	if p, err := r.queue.Resolve(ctx, other, nurse, "reached_patient", ""); err != nil || p.Seconds != 0 || !p.Interactive {
		t.Errorf("unclaimed resolve = %+v, %v", p, err)
	}
}

// TestListWithHistory: with more resolved items than the list shows, of every severity and in
// no order of severity by time, the list holds the same items in the same order as a sort of
// every item would, for each filter.
func TestListWithHistory(t *testing.T) {
	r := newQueueRig(t)
	ctx := context.Background()
	// 1,800 resolved items over a year, the severities interleaved, some created at the same
	// instant (the id breaks the tie); and a few unresolved ones, one claimed.
	r.exec(`INSERT INTO escalations (practice_id, patient_id, severity, reason, source, status, created_at, due_at, updated_at,
		resolved_by, resolved_at, outcome)
		SELECT 1, p.id, (ARRAY['urgent', 'high', 'routine'])[1 + i % 3], 'Item ' || i, 'rule', 'resolved',
			$1::timestamptz - make_interval(hours => ((i / 6) * 7919) % 8760), $1, $1, $2, $1, 'no_action_needed'
		FROM patients p CROSS JOIN generate_series(1, 1800) AS i`, r.now, r.staff["RN01"])
	for _, sev := range []escalation.Severity{escalation.Routine, escalation.Urgent, escalation.High, escalation.Routine} {
		r.advance(time.Minute)
		r.raise(sev, "Open "+string(sev)+" "+r.clock().Format("15:04"))
	}
	open := r.raise(escalation.High, "Held")
	if _, err := r.queue.Claim(ctx, open, r.staff["RN07"]); err != nil {
		t.Fatal(err)
	}
	const everyItem = `SELECT e.id FROM escalations e LEFT JOIN staff s ON s.practice_id = e.practice_id AND s.id = e.claimed_by
		WHERE e.practice_id = 1 AND ($1 = '' OR e.status = $1) AND ($2 = '' OR e.severity = $2) AND ($3 = '' OR s.ext_id = $3)
		ORDER BY CASE WHEN e.status = 'resolved' THEN 1 ELSE 0 END,
			array_position(ARRAY['urgent', 'high', 'routine'], e.severity), e.created_at, e.id
		LIMIT $4 OFFSET $5`
	for _, f := range []escalation.Filter{{}, {Status: "resolved"}, {Status: "open"}, {Severity: escalation.High},
		{Status: "resolved", Severity: escalation.Routine}, {ClaimedBy: "RN07"},
		// Pages: across the unresolved and resolved, deep into the resolved, and at the end.
		{Offset: 2, Limit: 5}, {Offset: 497, Limit: 100}, {Status: "resolved", Offset: 1200, Limit: 50},
		{Severity: escalation.Urgent, Offset: 590, Limit: 100}} {
		limit := f.Limit
		if limit == 0 {
			limit = escalation.MaxList
		}
		var want []int64
		if err := r.db.Select(&want, everyItem, f.Status, string(f.Severity), f.ClaimedBy, limit, f.Offset); err != nil {
			t.Fatal(err)
		}
		items, err := r.queue.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int64, len(items))
		for i, it := range items {
			got[i] = it.ID
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("filter %+v: %d items, want %d in the order of a sort of every item", f, len(got), len(want))
		}
	}
}
