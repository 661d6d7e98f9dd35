package simulator

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/outreach"
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
