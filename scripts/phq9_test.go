package scripts

import (
	"strings"
	"testing"
)

// TestPHQ9SafetyRule: any answer above 0 on item 9 (thoughts of death or self-harm) is urgent
// and tells the patient to call 988 or 911, in both languages; "not at all" raises nothing, and
// no other item raises anything (the total is read by the clinician).
func TestPHQ9SafetyRule(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	s := lib["phq9"]
	if s == nil {
		t.Fatal("no bundled phq9 script")
	}
	wantIDs := []string{"interest", "mood", "sleep", "energy", "appetite", "self_esteem", "concentration",
		"psychomotor", "self_harm", "difficulty"}
	if len(s.Questions) != len(wantIDs) {
		t.Fatalf("%d questions, want %d", len(s.Questions), len(wantIDs))
	}
	for i, q := range s.Questions {
		if q.ID != wantIDs[i] || q.Type != Choice || len(q.Choices) != 4 {
			t.Errorf("question %d = %s (%s, %d choices), want %s, a choice of 4", i+1, q.ID, q.Type, len(q.Choices), wantIDs[i])
		}
	}
	tests := []struct {
		question string
		lang     Language
		reply    string
		want     Severity
	}{
		{"self_harm", English, "1", ""},
		{"self_harm", English, "not at all", ""},
		{"self_harm", English, "2", Urgent},
		{"self_harm", English, "several days", Urgent},
		{"self_harm", English, "3", Urgent},
		{"self_harm", English, "4", Urgent},
		{"self_harm", English, "nearly every day", Urgent},
		{"self_harm", Spanish, "ningún día", ""},
		{"self_harm", Spanish, "varios días", Urgent},
		{"self_harm", Spanish, "casi todos los días", Urgent},
		{"interest", English, "4", ""},
		{"mood", English, "4", ""},
		{"psychomotor", Spanish, "4", ""},
		{"difficulty", English, "4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.question+"/"+string(tt.lang)+"/"+tt.reply, func(t *testing.T) {
			q := s.Question(tt.question)
			a, err := q.Parse(tt.reply)
			if err != nil {
				t.Fatalf("%q not read: %v", tt.reply, err)
			}
			var got Severity
			if r := q.Escalation(tt.lang, a); r != nil {
				got = r.Severity
				for _, l := range []Language{English, Spanish} {
					if !strings.Contains(r.Tell[l], "988") || !strings.Contains(r.Tell[l], "911") {
						t.Errorf("the %s message does not name 988 and 911: %q", l, r.Tell[l])
					}
				}
			}
			if got != tt.want {
				t.Errorf("%q raised %q, want %q", tt.reply, got, tt.want)
			}
		})
	}
}
