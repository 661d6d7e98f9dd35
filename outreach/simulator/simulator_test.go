package simulator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/ivr"
)

func TestSimulatedPatientsAnswerQuestions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var replies []outreach.Inbound
	var delivered []int64
	done := make(chan struct{}, 10)
	ch := New(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{
		Delivered: func(_ context.Context, id int64, _ string) {
			mu.Lock()
			delivered = append(delivered, id)
			mu.Unlock()
			done <- struct{}{}
		},
		Replied: func(_ context.Context, in outreach.Inbound) {
			mu.Lock()
			replies = append(replies, in)
			mu.Unlock()
			done <- struct{}{}
		},
	})
	ch.delay = func() time.Duration { return time.Millisecond }
	ch.AddPatient("+15555550101", Patient{Replies: []string{"8", "no"}})
	send := func(kind string, id string) {
		if _, err := ch.SendSMS(ctx, outreach.SMS{To: "+15555550101", Body: "?", Kind: kind,
			StatusCallback: "https://x.example/webhooks/twilio/status?message=" + id}); err != nil {
			t.Fatal(err)
		}
	}
	send("question", "1")
	send("closing", "2") // not a question: no reply
	send("question", "3")
	send("question", "4") // replies used up
	for range 6 {         // 4 deliveries, 2 replies
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("simulator hooks did not run")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Replies arrive in their own goroutines, in any order.
	if len(replies) != 2 || replies[0].Body+replies[1].Body != "8no" && replies[0].Body+replies[1].Body != "no8" || replies[0].SID == replies[1].SID {
		t.Errorf("replies = %+v", replies)
	}
	if len(delivered) != 4 {
		t.Errorf("delivered = %v", delivered)
	}
	if f, _ := ch.FindSMS(ctx, "+15555550101", "?", time.Now().Add(-time.Minute)); f == nil {
		t.Error("FindSMS did not find a sent message")
	}
}

func TestSimulatedCalls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var inputs []ivr.Input
	reports := map[int64][]outreach.CallReport{}
	done := make(chan int64, 10)
	ch := New(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{
		Answered: func(_ context.Context, call int64, _, by string) (ivr.Turn, error) {
			if by == "machine_start" {
				return ivr.Turn{Say: []string{"Please call us back."}}, nil
			}
			return ivr.Turn{Gather: &ivr.Gather{Step: "menu", Prompt: "Press 1 to start.", Timeout: 5}}, nil
		},
		// Two questions, then the closing.
		Input: func(_ context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error) {
			mu.Lock()
			inputs = append(inputs, in)
			n := len(inputs)
			mu.Unlock()
			if n >= 3 {
				return ivr.Turn{Say: []string{"Thank you, goodbye."}}, nil
			}
			return ivr.Turn{Gather: &ivr.Gather{Step: "q", Prompt: "How are you?", Timeout: 5}}, nil
		},
		CallStatus: func(_ context.Context, r outreach.CallReport) {
			mu.Lock()
			reports[r.Call] = append(reports[r.Call], r)
			mu.Unlock()
			if r.Status == "completed" || r.Status == "no-answer" {
				done <- r.Call
			}
		},
	})
	ch.delay = func() time.Duration { return time.Millisecond }
	ch.AddPatient("+15555550201", Patient{Replies: []string{"1", "", "I feel fine"}})
	ch.AddPatient("+15555550202", Patient{Machine: true})
	for i, to := range []string{"+15555550201", "+15555550202", "+15555550203"} {
		cb := fmt.Sprintf("https://x.example/webhooks/twilio/status?call=%d", i+1)
		if _, err := ch.StartCall(ctx, outreach.Call{To: to, StatusCallback: cb}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("simulated calls did not end")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []ivr.Input{{Digits: "1"}, {}, {Speech: "I feel fine"}}
	if fmt.Sprint(inputs) != fmt.Sprint(want) {
		t.Errorf("inputs = %+v, want %+v", inputs, want)
	}
	last := func(call int64) outreach.CallReport { r := reports[call]; return r[len(r)-1] }
	if r := last(1); r.Status != "completed" || r.Duration <= 0 {
		t.Errorf("answered call ended with %+v", r)
	}
	if r := last(2); r.Status != "completed" {
		t.Errorf("machine call ended with %+v", r)
	}
	if r := last(3); r.Status != "no-answer" {
		t.Errorf("a number without a simulated patient: %+v", r)
	}
	if n := len(ch.Calls()); n != 3 {
		t.Errorf("calls = %d", n)
	}
}

// After their check-in a patient may text a question of their own, and answers what the care
// team writes back.
func TestSimulatedPatientAsksAndAnswersStaff(t *testing.T) {
	tests := []struct {
		kinds []string
		want  []string
	}{
		{[]string{"question", "closing", "staff", "staff", "closing"}, []string{"8", "Can I take ibuprofen?", "Thank you!", "", ""}},
		{[]string{"staff", "notice", "safety", "reminder"}, []string{"Thank you!", "", "", ""}},
	}
	for _, tc := range tests {
		p := &Patient{Replies: []string{"8"}, Asks: "Can I take ibuprofen?", Answers: []string{"Thank you!"}}
		var got []string
		for _, k := range tc.kinds {
			got = append(got, p.reply(k))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("replies to %v = %q, want %q", tc.kinds, got, tc.want)
		}
	}
	var none *Patient
	if got := none.reply("question"); got != "" {
		t.Errorf("a number with no simulated patient replied %q", got)
	}
}
