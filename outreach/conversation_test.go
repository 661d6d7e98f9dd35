package outreach

import (
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/scripts"
)

func monthly(t *testing.T) *scripts.Script {
	t.Helper()
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return lib["ccm-monthly"]
}

// walk feeds replies to a conversation and returns every step.
func walk(t *testing.T, c Conversation, replies ...string) []Step {
	t.Helper()
	steps := []Step{c.Start()}
	c.Current = steps[0].Next
	c.Answered = map[string]scripts.Answer{}
	for _, r := range replies {
		st := c.Reply(r)
		steps = append(steps, st)
		if st.Answer != nil {
			c.Answered[st.Question] = *st.Answer
		}
		c.Current, c.Reasks = st.Next, st.Reasks
		if st.Done {
			break
		}
	}
	return steps
}

func TestConversationHappyPath(t *testing.T) {
	steps := walk(t, Conversation{Script: monthly(t), Lang: scripts.English}, "8", "no", "1", "no")
	if !strings.Contains(steps[0].Send[0].Body, "monthly check-in") || steps[0].Next != "overall" {
		t.Fatalf("start = %+v", steps[0])
	}
	// "no new symptoms" skips the question about them.
	if steps[2].Next != "medicines" {
		t.Errorf("after no new symptoms the next question is %q, want medicines", steps[2].Next)
	}
	last := steps[len(steps)-1]
	if !last.Done || last.Send[len(last.Send)-1].Kind != "closing" || len(last.Raise) != 0 {
		t.Errorf("last step = %+v", last)
	}
}

func TestConversationSpanishEscalations(t *testing.T) {
	steps := walk(t, Conversation{Script: monthly(t), Lang: scripts.Spanish}, "2", "sí", "tengo fiebre", "3", "si")
	if !strings.Contains(steps[0].Send[0].Body, "control mensual") {
		t.Errorf("Spanish start = %q", steps[0].Send[0].Body)
	}
	var reasons []string
	for _, st := range steps {
		for _, r := range st.Raise {
			reasons = append(reasons, string(r.Severity)+":"+r.Reason)
		}
	}
	want := []string{"high:Feels very unwell overall", "high:New symptom that needs a call back", "high:Stopped a medicine", "routine:Asked for a call"}
	if strings.Join(reasons, "|") != strings.Join(want, "|") {
		t.Errorf("escalations = %v, want %v", reasons, want)
	}
	if !strings.Contains(steps[5].Send[0].Body, "enfermera le llamará") {
		t.Errorf("call-back promise = %+v", steps[5].Send)
	}
}

func TestConversationReasksTwiceThenHandsOver(t *testing.T) {
	steps := walk(t, Conversation{Script: monthly(t), Lang: scripts.English}, "great", "very good", "super")
	if steps[1].Reasks != 1 || steps[1].Next != "overall" || steps[1].Send[0].Kind != "reask" || !strings.Contains(steps[1].Send[0].Body, "from 0 to 10") {
		t.Errorf("first re-ask = %+v", steps[1])
	}
	if steps[2].Reasks != 2 || steps[2].Next != "overall" {
		t.Errorf("second re-ask = %+v", steps[2])
	}
	third := steps[3]
	if third.Answer != nil || len(third.Raise) != 1 || third.Raise[0].Source != "unparseable" || third.Raise[0].Severity != scripts.Routine || third.Next != "new_symptoms" {
		t.Errorf("after two re-asks = %+v", third)
	}
}

func TestConversationEmergency(t *testing.T) {
	steps := walk(t, Conversation{Script: monthly(t), Lang: scripts.English}, "my chest hurts")
	st := steps[1]
	if len(st.Raise) == 0 || st.Raise[0].Severity != scripts.Urgent || st.Raise[0].Source != "emergency" {
		t.Fatalf("emergency reply raised %+v", st.Raise)
	}
	if st.Send[0].Kind != "safety" || !st.Send[0].Urgent || !strings.Contains(st.Send[0].Body, "911") {
		t.Errorf("first message = %+v, want the 911 safety message", st.Send[0])
	}
}

// After an urgent reply the check-in goes to a human: the safety message and nothing more.
func TestConversationUrgentHandsOff(t *testing.T) {
	tests := []struct {
		name    string
		lang    scripts.Language
		replies []string
		answer  string // the value stored for the last question, "" for none
	}{
		{"emergency words that also answer", scripts.Spanish, []string{"3", "sí, me duele el pecho"}, "yes"},
		{"emergency words that do not answer", scripts.English, []string{"I can't breathe"}, ""},
		{"emergency words with a number", scripts.English, []string{"chest pain 2"}, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps := walk(t, Conversation{Script: monthly(t), Lang: tc.lang}, tc.replies...)
			st := steps[len(steps)-1]
			if !st.Done || !st.HandOff || st.status() != "handed_off" || st.Next != "" || st.Reasks != 0 {
				t.Fatalf("step = %+v, want the check-in handed off", st)
			}
			if len(st.Send) != 1 || st.Send[0].Kind != "safety" {
				t.Errorf("sends %+v, want the safety message alone", st.Send)
			}
			if st.Question == "" {
				t.Error("the reply is not kept as the answer to the question")
			}
			if got := ""; st.Answer != nil {
				got = st.Answer.Value
				if got != tc.answer {
					t.Errorf("answer = %q, want %q", got, tc.answer)
				}
			} else if tc.answer != "" {
				t.Errorf("no answer stored, want %q", tc.answer)
			}
		})
	}
}
