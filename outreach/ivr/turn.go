// Package ivr words check-ins for the telephone: what a call says and listens for at each step,
// the keypad and speech hints, and how a keypad entry or a spoken reply is read. It is pure:
// the engine decides what happens, this package says it, and the Twilio layer renders it as
// TwiML.
package ivr

import (
	"strconv"

	"github.com/outreach-engine/outreach/scripts"
)

// Turn is what a call does next: say things in order, then listen (Gather) or hang up.
type Turn struct {
	Lang   scripts.Language
	Say    []string // spoken in order, before listening
	Gather *Gather  // listen for a key press or speech; nil: hang up after speaking
}

// Gather is a prompt that waits for the patient's input.
type Gather struct {
	Step      string   // what the input answers: StepMenu or a question id
	Prompt    string   // spoken while listening: the patient may answer before it ends
	NumDigits int      // 1: a single key ends the input; 0: an entry ended by # (or silence)
	Hints     []string // words the speech recognizer should expect
	Timeout   int      // seconds of silence that end the input
}

// StepMenu is the opening menu's step: start, ask for a nurse, or stop the calls.
const StepMenu = "menu"

// Input is what the patient pressed or said in answer to a Gather; both empty means silence.
type Input struct {
	Digits string
	Speech string
}

// Empty reports whether the patient gave no input.
func (in Input) Empty() bool { return in.Digits == "" && in.Speech == "" }

// Intent is what an input asks for beyond an answer.
type Intent int

// Intents.
const (
	Answer  Intent = iota // a reply to read with the question's parser
	Start                 // menu: begin the check-in
	Nurse                 // a nurse should call back (0, "nurse")
	OptOut                // stop these calls (9, "stop")
	Silence               // no input
	Unclear               // menu: nothing it understands
)

// String names the intent, for logs.
func (i Intent) String() string {
	switch i {
	case Answer:
		return "answer"
	case Start:
		return "start"
	case Nurse:
		return "nurse"
	case OptOut:
		return "opt_out"
	case Silence:
		return "silence"
	case Unclear:
		return "unclear"
	}
	return "intent(" + strconv.Itoa(int(i)) + ")"
}

// Voice returns the text-to-speech voice and the language code a call uses for lang.
func Voice(lang scripts.Language) (voice, code string) {
	if lang == scripts.Spanish {
		return "Polly.Lupe", "es-US"
	}
	return "Polly.Joanna", "en-US"
}
