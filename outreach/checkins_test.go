package outreach_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestAnswersCarryTheQuestionText: the check-ins the API and the page show name each answer's
// question in words.
func TestAnswersCarryTheQuestionText(t *testing.T) {
	r := started(t)
	r.dispatch()
	r.receive("+15550600001", "yes")
	list, err := r.eng.Checkins(context.Background(), r.db, r.id("S1"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || len(list[0].Answers) != 1 {
		t.Fatalf("check-ins = %+v", list)
	}
	b, err := json.Marshal(list[0].Answers[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"question":"ok","question_text":"Are you OK? Reply YES or NO."`) {
		t.Errorf("answer = %s", b)
	}
}
