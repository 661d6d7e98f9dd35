package scripts

import (
	"strings"
	"testing"
)

// TestBundledEscalations drives real replies, in both languages, through every escalation rule
// of the bundled scripts: each fires on the answers it is for and stays quiet on normal ones.
func TestBundledEscalations(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		script, question string
		lang             Language
		reply            string
		want             Severity // "" for none
	}{
		{"ccm-monthly", "overall", English, "2", High},
		{"ccm-monthly", "overall", Spanish, "ocho", ""},
		{"ccm-monthly", "medicines", Spanish, "dejé una", High},
		{"ccm-monthly", "call_me", English, "yes please", Routine},

		{"heart-failure", "weight", English, "182 lbs", ""},
		{"heart-failure", "weight_gain", English, "Yes", High},
		{"heart-failure", "weight_gain", Spanish, "no", ""},
		{"heart-failure", "swelling", Spanish, "sí, en los tobillos", High},
		{"heart-failure", "breathing", English, "3", Urgent},
		{"heart-failure", "breathing", Spanish, "me falta el aire en reposo", Urgent},
		{"heart-failure", "breathing", English, "2", High},
		{"heart-failure", "breathing", Spanish, "1", ""},
		{"heart-failure", "medicines", English, "no", Routine},

		{"hypertension", "reading", English, "185/100", Urgent},
		{"hypertension", "reading", Spanish, "mi presión es 150/125", Urgent},
		{"hypertension", "reading", English, "It was 165 over 95", High},
		{"hypertension", "reading", Spanish, "140/102", High},
		{"hypertension", "reading", English, "85/60", High},
		{"hypertension", "reading", Spanish, "128/82", ""},
		{"hypertension", "symptoms", English, "yes", Urgent},
		{"hypertension", "symptoms", Spanish, "no", ""},
		{"hypertension", "medicines", Spanish, "3", High},
		{"hypertension", "medicines", English, "I missed some", Routine},

		{"diabetes", "glucose", English, "50", Urgent},
		{"diabetes", "glucose", Spanish, "sesenta y cinco", High},
		{"diabetes", "glucose", English, "110", ""},
		{"diabetes", "glucose", English, "350", High},
		{"diabetes", "glucose", Spanish, "450", Urgent},
		{"diabetes", "lows", Spanish, "sí", Routine},
		{"diabetes", "needed_help", English, "yes", High},
		{"diabetes", "feet", Spanish, "sí, una llaga", High},
		{"diabetes", "feet", English, "nope", ""},

		{"copd", "breathing", English, "much worse", Urgent},
		{"copd", "breathing", Spanish, "2", High},
		{"copd", "breathing", Spanish, "igual", ""},
		{"copd", "rescue_inhaler", English, "yeah", High},
		{"copd", "flare_signs", Spanish, "sí", High},
		{"copd", "oxygen", English, "86", Urgent},
		{"copd", "oxygen", Spanish, "90%", High},
		{"copd", "oxygen", English, "96", ""},

		{"depression", "interest", English, "1", ""},
		{"depression", "interest", English, "2", ""},
		{"depression", "interest", English, "nearly every day", Routine},
		{"depression", "mood", Spanish, "más de la mitad de los días", Routine},
		{"depression", "mood", Spanish, "4", Routine},
		{"depression", "self_harm", English, "yes", Urgent},
		{"depression", "self_harm", Spanish, "sí", Urgent},
		{"depression", "self_harm", Spanish, "no", ""},
	}
	for _, tt := range tests {
		t.Run(tt.script+"/"+tt.question+"/"+string(tt.lang)+"/"+tt.reply, func(t *testing.T) {
			s := lib[tt.script]
			if s == nil {
				t.Fatalf("no bundled script %q", tt.script)
			}
			q := s.Question(tt.question)
			if q == nil {
				t.Fatalf("no question %q", tt.question)
			}
			a, err := q.Parse(tt.reply)
			if err != nil {
				t.Fatalf("%q not read: %v", tt.reply, err)
			}
			var got Severity
			if r := q.Escalation(tt.lang, a); r != nil {
				got = r.Severity
			}
			if got != tt.want {
				t.Errorf("%q (read as %q) escalates %q, want %q", tt.reply, a.Value, got, tt.want)
			}
		})
	}
}

// TestBundledScriptsSpeakBothLanguages checks that every text of every bundled script exists in
// English and Spanish, and that every urgent rule tells the patient to call 911.
func TestBundledScriptsSpeakBothLanguages(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ccm-monthly", "copd", "depression", "diabetes", "heart-failure", "hypertension"}
	if got := strings.Join(lib.IDs(), " "); got != strings.Join(want, " ") {
		t.Errorf("bundled scripts = %s, want %s", got, strings.Join(want, " "))
	}
	for _, s := range lib {
		texts := map[string]Text{"intro": s.Intro, "closing": s.Closing, "reminder": s.ReminderText}
		for _, q := range s.Questions {
			texts[q.ID] = q.Text
			for _, r := range q.Escalate {
				if len(r.Tell) > 0 {
					texts[q.ID+" tell"] = r.Tell
				}
				if r.Severity == Urgent && len(r.Tell) > 0 && !strings.Contains(r.Tell.In(English)+r.Tell.In(Spanish), "911") {
					t.Errorf("%s/%s: an urgent rule's message does not mention 911", s.ID, q.ID)
				}
			}
		}
		for name, text := range texts {
			for _, l := range []Language{English, Spanish} {
				if strings.TrimSpace(text[l]) == "" {
					t.Errorf("%s: %s has no %s text", s.ID, name, l)
				}
			}
		}
		if !strings.Contains(s.Intro.In(English), "STOP") || !strings.Contains(s.Intro.In(Spanish), "STOP") {
			t.Errorf("%s: the introduction does not say how to opt out", s.ID)
		}
	}
}
