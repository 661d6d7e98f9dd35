package ivr

import (
	"testing"

	"github.com/outreach-engine/outreach/scripts"
)

func TestRead(t *testing.T) {
	yesno := &scripts.Question{ID: "q", Type: scripts.YesNo}
	scale := &scripts.Question{ID: "s", Type: scripts.Scale}
	bp := &scripts.Question{ID: "bp", Type: scripts.BloodPressure}
	weight := &scripts.Question{ID: "w", Type: scripts.Number}
	text := &scripts.Question{ID: "t", Type: scripts.FreeText}
	choice := &scripts.Question{ID: "c", Type: scripts.Choice, Choices: make([]scripts.Option, 3)}
	long := &scripts.Question{ID: "l", Type: scripts.Choice, Choices: make([]scripts.Option, 9)}
	tests := []struct {
		name   string
		q      *scripts.Question
		in     Input
		intent Intent
		reply  string
	}{
		{"nothing", yesno, Input{}, Silence, ""},
		{"pound only", yesno, Input{Digits: "#"}, Silence, ""},
		{"blank speech", text, Input{Speech: " … "}, Silence, ""},
		{"key", yesno, Input{Digits: "1"}, Answer, "1"},
		{"zero on yes/no", yesno, Input{Digits: "0"}, Nurse, ""},
		{"nine on yes/no", yesno, Input{Digits: "9"}, OptOut, ""},
		{"zero on a choice", choice, Input{Digits: "0"}, Nurse, ""},
		{"nine on a choice", choice, Input{Digits: "9"}, OptOut, ""},
		{"nine on a long choice", long, Input{Digits: "9#"}, Answer, "9"},
		{"zero on a scale", scale, Input{Digits: "0#"}, Answer, "0"},
		{"nine on a scale", scale, Input{Digits: "9"}, Answer, "9"},
		{"nine on a number", weight, Input{Digits: "9"}, Answer, "9"},
		{"zero on blood pressure", bp, Input{Digits: "0"}, Answer, "0"},
		{"blood pressure keyed", bp, Input{Digits: "130*80#"}, Answer, "130/80"},
		{"blood pressure, extra star", bp, Input{Digits: "130*80*"}, Answer, "130/80"},
		{"decimal keyed", weight, Input{Digits: "98*6#"}, Answer, "98.6"},
		{"decimal, extra star", weight, Input{Digits: "98*6*2"}, Answer, "98.62"},
		{"star on a choice", choice, Input{Digits: "2*"}, Answer, "2"},
		{"keys win", yesno, Input{Digits: "2", Speech: "yes"}, Answer, "2"},
		{"speech as said", bp, Input{Speech: "130 over 80"}, Answer, "130 over 80"},
		{"nurse", scale, Input{Speech: "Nurse."}, Nurse, ""},
		{"a nurse please", scale, Input{Speech: "A nurse, please."}, Nurse, ""},
		{"talk to a nurse", text, Input{Speech: "talk to a nurse"}, Nurse, ""},
		{"I'd like to speak with a nurse", yesno, Input{Speech: "I'd like to speak with a nurse"}, Nurse, ""},
		{"enfermera", yesno, Input{Speech: "Enfermera"}, Nurse, ""},
		{"hablar con una enfermera", bp, Input{Speech: "Quiero hablar con una enfermera, por favor"}, Nurse, ""},
		{"stop", text, Input{Speech: "Stop!"}, OptOut, ""},
		{"stop calling", yesno, Input{Speech: "Stop calling me!"}, OptOut, ""},
		{"stop these calls", choice, Input{Speech: "please stop these calls"}, OptOut, ""},
		{"don't call me", yesno, Input{Speech: "Don't call me again."}, OptOut, ""},
		{"parar", weight, Input{Speech: "parar"}, OptOut, ""},
		{"no me llamen más", yesno, Input{Speech: "No me llamen más"}, OptOut, ""},
		{"answer with stop", text, Input{Speech: "I had to stop walking"}, Answer, "I had to stop walking"},
		{"answer with nurse", text, Input{Speech: "The nurse changed my pills"}, Answer, "The nurse changed my pills"},
		{"no", yesno, Input{Speech: "no"}, Answer, "no"},
		{"no thanks", yesno, Input{Speech: "No, thank you"}, Answer, "No, thank you"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			intent, reply := Read(tt.q, tt.in)
			if intent != tt.intent || reply != tt.reply {
				t.Errorf("Read(%s, %+v) = %v %q, want %v %q", tt.q.Type, tt.in, intent, reply, tt.intent, tt.reply)
			}
		})
	}
}

func TestReadMenu(t *testing.T) {
	tests := []struct {
		in   Input
		want Intent
	}{
		{Input{}, Silence},
		{Input{Digits: "#"}, Silence},
		{Input{Digits: "1"}, Start},
		{Input{Digits: "0"}, Nurse},
		{Input{Digits: "9"}, OptOut},
		{Input{Digits: "5"}, Unclear},
		{Input{Digits: "1", Speech: "stop"}, Start},
		{Input{Speech: "Yes."}, Start},
		{Input{Speech: "OK, go ahead"}, Start},
		{Input{Speech: "Sí, claro"}, Start},
		{Input{Speech: "Empezar"}, Start},
		{Input{Speech: "one"}, Start},
		{Input{Speech: "nurse"}, Nurse},
		{Input{Speech: "I want to talk to a nurse"}, Nurse},
		{Input{Speech: "a nurse please"}, Nurse},
		{Input{Speech: "Enfermera, por favor"}, Nurse},
		{Input{Speech: "zero"}, Nurse},
		{Input{Speech: "stop"}, OptOut},
		{Input{Speech: "Parar"}, OptOut},
		{Input{Speech: "No me llame"}, OptOut},
		{Input{Speech: "unsubscribe me"}, OptOut},
		{Input{Speech: "yes, a nurse"}, Unclear},
		{Input{Speech: "who is this?"}, Unclear},
		{Input{Speech: "no"}, Unclear},
	}
	for _, tt := range tests {
		t.Run(tt.in.Digits+tt.in.Speech, func(t *testing.T) {
			if got := ReadMenu(tt.in); got != tt.want {
				t.Errorf("ReadMenu(%+v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{
		"  Sí, ¡CLARO!  ":    "si claro",
		"No me llamen más.":  "no me llamen mas",
		"Don't call me":      "dont call me",
		"130/80":             "130 80",
		"Niño — enfermería…": "nino enfermeria",
		"":                   "",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := fold(in); got != want {
				t.Errorf("fold = %q, want %q", got, want)
			}
		})
	}
}
