package outreach

import (
	"fmt"
	"strings"

	"github.com/outreach-engine/outreach/scripts"
)

// MaxReasks is how many times an unreadable reply is asked again before a human takes over.
const MaxReasks = 2

// Outgoing is a message a conversation step sends.
type Outgoing struct {
	Kind   string // question, reask, closing, safety, notice
	Body   string
	Urgent bool // sent whatever the hour
}

// Raised is an escalation a conversation step raises.
type Raised struct {
	Severity scripts.Severity
	Reason   string
	Source   string // rule, emergency, unparseable
	Question string
	Value    string
}

// Step is what a conversation does with a start or a reply.
type Step struct {
	Answer   *scripts.Answer // the answer to store for Question
	Question string          // the question answered (or given up on)
	Send     []Outgoing
	Raise    []Raised
	Next     string // the question now waiting; empty when the check-in is done
	Reasks   int
	Done     bool
	HandOff  bool // done early: an urgent answer hands the check-in to the care team
}

// status is where the step leaves its check-in.
func (st Step) status() string {
	switch {
	case st.HandOff:
		return "handed_off"
	case st.Done:
		return "completed"
	default:
		return "open"
	}
}

// urgent reports whether the step raises an urgent item.
func (st Step) urgent() bool {
	for _, r := range st.Raise {
		if r.Severity == scripts.Urgent {
			return true
		}
	}
	return false
}

// Conversation is the state of an open check-in.
type Conversation struct {
	Script   *scripts.Script
	Lang     scripts.Language
	Current  string                    // the question waiting for an answer
	Reasks   int                       // how often it was asked again
	Answered map[string]scripts.Answer // earlier answers, by question id
}

// Start returns the first message: the introduction and the first question.
func (c Conversation) Start() Step {
	first := c.nextAfter(-1)
	body := c.Script.Intro.In(c.Lang)
	if first == nil {
		return Step{Send: []Outgoing{{Kind: "closing", Body: body + "\n" + c.Script.Closing.In(c.Lang)}}, Done: true}
	}
	return Step{Send: []Outgoing{{Kind: "question", Body: body + "\n\n" + first.Text.In(c.Lang)}}, Next: first.ID}
}

// Reply handles a patient's reply to the current question: emergency words first, then the
// answer, its escalation rules and the next question, or a re-ask (at most MaxReasks times,
// then a routine item for a human and the next question). A reply that raises an urgent item
// (emergency words, or an answer an urgent rule catches) ends the check-in there: the patient
// gets the safety message and no further automated question; a human takes over.
func (c Conversation) Reply(text string) Step {
	var st Step
	emergency := scripts.Emergency(text)
	if emergency {
		st.Raise = append(st.Raise, Raised{Severity: scripts.Urgent, Reason: "Emergency words in a reply", Source: "emergency",
			Question: c.Current})
		st.Send = append(st.Send, Outgoing{Kind: "safety", Body: scripts.EmergencyMessage.In(c.Lang), Urgent: true})
	}
	idx, q := c.find(c.Current)
	if q == nil {
		st.Done = true
		st.HandOff = emergency
		return st
	}
	st.Question = q.ID
	a, err := q.Parse(text)
	switch {
	case err != nil && emergency:
		// The patient's words are kept as the reply to the question; nothing is asked again.
	case err != nil:
		var hint string
		if pe, ok := err.(*scripts.ParseError); ok {
			hint = pe.Hint.In(c.Lang)
		}
		if c.Reasks < MaxReasks {
			st.Reasks = c.Reasks + 1
			st.Next = q.ID
			st.Send = append(st.Send, Outgoing{Kind: "reask", Body: hint + "\n" + q.Text.In(c.Lang)})
			return st
		}
		st.Raise = append(st.Raise, Raised{Severity: scripts.Routine, Source: "unparseable", Question: q.ID, Value: text,
			Reason: fmt.Sprintf("Could not read the replies to %q", q.ID)})
	default:
		st.Answer = &a
		if c.Answered == nil {
			c.Answered = map[string]scripts.Answer{}
		}
		c.Answered[q.ID] = a
		if r := q.Escalation(c.Lang, a); r != nil {
			st.Raise = append(st.Raise, Raised{Severity: r.Severity, Reason: r.Reason, Source: "rule", Question: q.ID, Value: a.Value})
			tell := r.Tell.In(c.Lang)
			// An urgent rule's own words stand when they already say to call 911.
			if r.Severity == scripts.Urgent && !hasKind(st.Send, "safety") && !strings.Contains(tell, "911") {
				tell = joinLines(tell, scripts.EmergencyMessage.In(c.Lang))
			}
			if tell != "" {
				st.Send = append(st.Send, Outgoing{Kind: "safety", Body: tell, Urgent: r.Severity == scripts.Urgent})
			}
		}
	}
	if st.urgent() {
		st.Done, st.HandOff = true, true
		return st
	}
	next := c.nextAfter(idx)
	if next == nil {
		st.Done = true
		st.Send = append(st.Send, Outgoing{Kind: "closing", Body: c.Script.Closing.In(c.Lang)})
		return st
	}
	st.Next = next.ID
	st.Send = append(st.Send, Outgoing{Kind: "question", Body: next.Text.In(c.Lang)})
	return st
}

func hasKind(out []Outgoing, kind string) bool {
	for _, o := range out {
		if o.Kind == kind {
			return true
		}
	}
	return false
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

func (c Conversation) find(id string) (int, *scripts.Question) {
	for i, q := range c.Script.Questions {
		if q.ID == id {
			return i, q
		}
	}
	return -1, nil
}

// nextAfter returns the first question after index i whose skip condition does not hold.
func (c Conversation) nextAfter(i int) *scripts.Question {
	for _, q := range c.Script.Questions[i+1:] {
		if q.SkipIf != nil {
			if a, ok := c.Answered[q.SkipIf.Question]; ok {
				_, earlier := c.find(q.SkipIf.Question)
				if q.SkipIf.Holds(earlier, c.Lang, a) {
					continue
				}
			}
		}
		return q
	}
	return nil
}
