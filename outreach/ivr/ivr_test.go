package ivr

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/scripts"
)

var textingWords = regexp.MustCompile(`(?i)\b(reply|responda)\b|\bSTOP\b`)

// TestEveryBundledQuestionOnThePhone checks every question of every bundled script in both
// languages: a spoken prompt without texting instructions or the texted choice list, keypad
// instructions, every choice named, and a keypad entry that the question's parser reads.
func TestEveryBundledQuestionOnThePhone(t *testing.T) {
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range lib.IDs() {
		s := lib[id]
		for _, lang := range s.Languages {
			for _, text := range []string{Intro(s, lang), Closing(s, lang)} {
				if text == "" || textingWords.MatchString(text) {
					t.Errorf("%s/%s: spoken intro or closing %q", id, lang, text)
				}
			}
			for _, q := range s.Questions {
				name := id + "/" + q.ID + "/" + string(lang)
				g := Ask(q, lang)
				if g.Step != q.ID || g.Prompt == "" || textingWords.MatchString(g.Prompt) {
					t.Errorf("%s: prompt %q", name, g.Prompt)
				}
				if q.Type != scripts.FreeText && !regexp.MustCompile(`Press|Enter|Oprima|Marque`).MatchString(g.Prompt) {
					t.Errorf("%s: no keypad instructions in %q", name, g.Prompt)
				}
				for i, o := range q.Choices {
					label := strings.TrimRight(o.Label.In(lang), ".")
					if !strings.Contains(g.Prompt, label) {
						t.Errorf("%s: choice %q not said in %q", name, o.Value, g.Prompt)
					}
					if strings.Contains(g.Prompt, strconv.Itoa(i+1)+" "+label) {
						t.Errorf("%s: the texted choice list is read out: %q", name, g.Prompt)
					}
				}
				entry, want := keypadEntry(q)
				if entry == "" {
					continue
				}
				intent, reply := Read(q, Input{Digits: entry})
				a, err := q.Parse(reply)
				if intent != Answer || err != nil || a.Value != want {
					t.Errorf("%s: keyed %q read as %v %q → %q, %v; want %q", name, entry, intent, reply, a.Value, err, want)
				}
			}
		}
	}
}

// keypadEntry is a valid keypad answer to q and the value it should read as.
func keypadEntry(q *scripts.Question) (string, string) {
	switch q.Type {
	case scripts.YesNo:
		return "1", "yes"
	case scripts.Choice:
		return "2", q.Choices[1].Value
	case scripts.Scale:
		return "7#", "7"
	case scripts.BloodPressure:
		return "130*80#", "130/80"
	case scripts.Number:
		mid := (*q.Min + *q.Max) / 2
		whole := strconv.Itoa(int(mid))
		return whole + "*5#", whole + ".5"
	}
	return "", ""
}

func TestRead(t *testing.T) {
	yesno := &scripts.Question{ID: "q", Type: scripts.YesNo}
	scale := &scripts.Question{ID: "s", Type: scripts.Scale}
	text := &scripts.Question{ID: "t", Type: scripts.FreeText}
	tests := []struct {
		q      *scripts.Question
		in     Input
		intent Intent
		reply  string
	}{
		{yesno, Input{}, Silence, ""},
		{yesno, Input{Digits: "#"}, Silence, ""},
		{yesno, Input{Digits: "1"}, Answer, "1"},
		{yesno, Input{Digits: "0"}, Nurse, ""},
		{yesno, Input{Digits: "9"}, OptOut, ""},
		{scale, Input{Digits: "0#"}, Answer, "0"}, // a number entry: 0 and 9 are digits
		{scale, Input{Digits: "9"}, Answer, "9"},
		{scale, Input{Speech: "A nurse, please."}, Nurse, ""},
		{yesno, Input{Speech: "Stop calling me!"}, OptOut, ""},
		{yesno, Input{Speech: "No me llamen más"}, OptOut, ""},
		{yesno, Input{Speech: "Enfermera"}, Nurse, ""},
		{text, Input{Speech: "I had to stop walking"}, Answer, "I had to stop walking"},
		{yesno, Input{Digits: "2", Speech: "yes"}, Answer, "2"}, // keys win
	}
	for _, tt := range tests {
		intent, reply := Read(tt.q, tt.in)
		if intent != tt.intent || reply != tt.reply {
			t.Errorf("Read(%s, %+v) = %v %q, want %v %q", tt.q.Type, tt.in, intent, reply, tt.intent, tt.reply)
		}
	}
}

func TestReadMenu(t *testing.T) {
	tests := map[Input]Intent{
		{}:                            Silence,
		{Digits: "1"}:                 Start,
		{Digits: "0"}:                 Nurse,
		{Digits: "9"}:                 OptOut,
		{Digits: "5"}:                 Unclear,
		{Speech: "Yes."}:              Start,
		{Speech: "Sí, claro"}:         Start,
		{Speech: "stop"}:              OptOut,
		{Speech: "talk to a nurse"}:   Nurse,
		{Speech: "who is this?"}:      Unclear,
		{Digits: "1", Speech: "stop"}: Start,
	}
	for in, want := range tests {
		if got := ReadMenu(in); got != want {
			t.Errorf("ReadMenu(%+v) = %v, want %v", in, got, want)
		}
	}
}

// TestNothingAboutThePatientBeforeTheMenu: whoever picks up, or listens to the answering
// machine, hears the practice and its number only.
func TestNothingAboutThePatientBeforeTheMenu(t *testing.T) {
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []scripts.Language{scripts.English, scripts.Spanish} {
		vm := Voicemail("Maple Clinic", "+15550100999", lang)
		menu := Menu("Maple Clinic", lang, false)
		if vm.Gather != nil || len(vm.Say) != 1 || !strings.Contains(vm.Say[0], "555-010-0999") || !strings.Contains(vm.Say[0], "Maple Clinic") {
			t.Errorf("%s voicemail = %+v", lang, vm)
		}
		if menu.Gather == nil || menu.Gather.Step != StepMenu || menu.Gather.NumDigits != 1 || !strings.Contains(menu.Gather.Prompt, "Maple Clinic") {
			t.Errorf("%s menu = %+v", lang, menu)
		}
		said := strings.ToLower(vm.Say[0] + " " + menu.Gather.Prompt)
		for _, s := range lib {
			for _, words := range []string{s.Name, s.Intro.In(lang)} {
				if strings.Contains(said, strings.ToLower(words)) {
					t.Errorf("%s: %q is said before the patient chose to start", lang, words)
				}
			}
		}
		for _, condition := range []string{"blood pressure", "diabetes", "heart", "copd", "depress", "presión", "corazón"} {
			if strings.Contains(said, condition) {
				t.Errorf("%s: %q is said before the patient chose to start", lang, condition)
			}
		}
	}
	if got := Voicemail("", "", scripts.English).Say[0]; strings.Contains(got, "call us back at") || !strings.Contains(got, "your care team") {
		t.Errorf("voicemail without a practice = %q", got)
	}
}

func TestSpoken(t *testing.T) {
	tests := map[string]string{
		"Hello from your care team. This is your monthly check-in. Reply STOP to opt out. If this is an emergency, call 911.": "Hello from your care team. This is your monthly check-in. If this is an emergency, call 911.",
		"If this is an emergency, call 911 now. For thoughts of suicide, call or text 988.":                                   "If this is an emergency, call 911 now. For thoughts of suicide, call or text 988.",
		"Did you stop any medicine? Reply YES or NO.":                                                                         "Did you stop any medicine?",
		"¿Está bien? Responda SÍ o NO.":                                                                                       "¿Está bien?",
	}
	for in, want := range tests {
		if got := Spoken(in); got != want {
			t.Errorf("Spoken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReaskApologises(t *testing.T) {
	q := &scripts.Question{ID: "q", Type: scripts.YesNo, Text: scripts.Text{scripts.English: "OK? Reply YES or NO."}}
	if g := Reask(q, scripts.English, true); !strings.HasPrefix(g.Prompt, "Sorry, I did not hear") || g.Step != "q" {
		t.Errorf("silent reask = %+v", g)
	}
	if g := Reask(q, scripts.English, false); !strings.HasPrefix(g.Prompt, "Sorry, I did not understand") {
		t.Errorf("reask = %+v", g)
	}
}
