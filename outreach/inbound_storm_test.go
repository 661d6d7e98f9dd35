package outreach_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/outreach"
)

// TestRepeatedWebhookStorm delivers every text three times at once, as a provider retrying
// webhooks does, to three replicas, from many patients together: answers, STOP, HELP and
// unknown numbers, so that they are handled in shared batches. Each text is handled once and
// seen twice as a duplicate; each check-in moves one step; nothing is lost or doubled.
func TestRepeatedWebhookStorm(t *testing.T) {
	const answering, stopping, helping, strangers, copies = 120, 10, 10, 10, 3
	patients := answering + stopping + helping
	lines := make([]string, patients)
	phones := make([]string, patients)
	for i := range patients {
		phones[i] = fmt.Sprintf("+1555%07d", 7200000+i)
		lines[i] = fmt.Sprintf("W%04d %s America/New_York en -", i, phones[i])
	}
	r := monthly(t, lines...)
	for r.count("SELECT count(*) FROM messages WHERE status = 'queued'") > 0 {
		r.dispatch()
	}

	type text struct{ sid, from, body string }
	var texts []text
	for i, phone := range phones {
		body := "8"
		switch {
		case i >= answering+stopping:
			body = "HELP"
		case i >= answering:
			body = "STOP"
		}
		texts = append(texts, text{fmt.Sprintf("SMstorm%026d", i), phone, body})
	}
	for i := range strangers {
		texts = append(texts, text{fmt.Sprintf("SMstranger%023d", i), fmt.Sprintf("+1555%07d", 7300000+i), "8"})
	}
	replicas := []*outreach.Engine{r.eng, r.engine(r.ch), r.engine(r.ch)}
	outcomes := make([][]outreach.Handled, len(texts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, tx := range texts {
		for c := range copies {
			wg.Go(func() {
				h, err := replicas[c%len(replicas)].Receive(context.Background(), outreach.Inbound{SID: tx.sid, From: tx.from, Body: tx.body})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				outcomes[i] = append(outcomes[i], h)
				mu.Unlock()
			})
		}
	}
	wg.Wait()

	for i, tx := range texts {
		want := outreach.HandledAnswer
		switch {
		case i >= patients:
			want = outreach.HandledUnknown
		case tx.body == "STOP":
			want = outreach.HandledStop
		case tx.body == "HELP":
			want = outreach.HandledHelp
		}
		counts := map[outreach.Handled]int{}
		for _, h := range outcomes[i] {
			counts[h]++
		}
		if counts[want] != 1 || counts[outreach.HandledDuplicate] != copies-1 {
			t.Errorf("%s (%q): %v, want 1 × %s and %d × duplicate", tx.sid, tx.body, counts, want, copies-1)
		}
	}
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'in'"); n != patients+strangers {
		t.Errorf("%d texts stored, want %d (one per text)", n, patients+strangers)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE patient_id IS NULL AND firings = 1"); n != strangers {
		t.Errorf("%d items of unknown numbers fired once, want %d", n, strangers)
	}
	if n := r.count("SELECT count(*) FROM checkin_answers WHERE question_id = 'overall' AND value = '8'"); n != answering {
		t.Errorf("%d answers stored, want %d", n, answering)
	}
	if n := r.count("SELECT count(*) FROM checkin_answers"); n != answering {
		t.Errorf("%d answers in all, want %d", n, answering)
	}
	if n := r.count("SELECT count(*) FROM checkins WHERE status = 'open' AND question_id = 'new_symptoms' AND reasks = 0"); n != answering {
		t.Errorf("%d check-ins moved to the second question, want %d", n, answering)
	}
	if n := r.count("SELECT count(*) FROM patients WHERE opted_out_at IS NOT NULL"); n != stopping {
		t.Errorf("%d patients opted out, want %d", n, stopping)
	}
	if n := r.count("SELECT count(*) FROM checkins WHERE status = 'cancelled'"); n != stopping {
		t.Errorf("%d check-ins cancelled, want %d", n, stopping)
	}
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND kind = 'notice' AND patient_id IS NOT NULL"); n != helping {
		t.Errorf("%d HELP answers queued, want %d", n, helping)
	}
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND kind = 'notice' AND patient_id IS NULL"); n != strangers {
		t.Errorf("%d acknowledgements to unknown numbers queued, want %d", n, strangers)
	}
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND kind = 'question' AND status = 'queued'"); n != answering {
		t.Errorf("%d next questions queued, want %d", n, answering)
	}
}

// TestOneBadTextFailsAlone makes one text fail in the database (a trigger refuses it) while it
// shares a batch with others: the batch is handled again text by text, the bad text's request
// gets the error, and every other text is handled.
func TestOneBadTextFailsAlone(t *testing.T) {
	const others = 30
	lines := make([]string, others+3)
	phones := make([]string, others+3)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1555%07d", 7400000+i)
		lines[i] = fmt.Sprintf("B%04d %s America/New_York en -", i, phones[i])
	}
	r := monthly(t, lines...)
	if _, err := r.db.Exec(`
CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.body = 'poison 7' THEN RAISE EXCEPTION 'refused by the test'; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison()`); err != nil {
		t.Fatal(err)
	}
	// Both leads wait on patients another transaction holds, so that the texts sent meanwhile
	// gather into one batch.
	hold, err := r.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(`SELECT id FROM patients WHERE phone = ANY ($1) FOR UPDATE`, pq.Array(phones[:2])); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, len(phones))
	send := func(i int, body string) {
		wg.Go(func() {
			_, results[i] = r.eng.Receive(context.Background(), outreach.Inbound{SID: fmt.Sprintf("SMbad%028d", i), From: phones[i], Body: body})
		})
	}
	send(0, "7")
	send(1, "7")
	for r.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	for i := 2; i < len(phones); i++ {
		body := "7"
		if i == 2 {
			body = "poison 7"
		}
		send(i, body)
	}
	time.Sleep(100 * time.Millisecond) // the texts wait behind the two leads
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range results {
		switch {
		case i == 2 && (err == nil || !strings.Contains(err.Error(), "refused by the test")):
			t.Errorf("the bad text: error %v, want the trigger's", err)
		case i != 2 && err != nil:
			t.Errorf("text %d: %v", i, err)
		}
	}
	if n := r.count("SELECT count(*) FROM checkin_answers WHERE value = '7'"); n != len(phones)-1 {
		t.Errorf("%d answers stored, want %d", n, len(phones)-1)
	}
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'in'"); n != len(phones)-1 {
		t.Errorf("%d texts stored, want %d", n, len(phones)-1)
	}
}
