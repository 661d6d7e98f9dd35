package scripts

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// clinicalModules are the bundled disease modules whose every rule the tests below must prove.
var clinicalModules = []string{"heart-failure", "hypertension", "diabetes", "copd", "depression"}

// escalationCases are replies as patients write them, in both languages, with the severity each
// must raise ("" for none).
var escalationCases = []struct {
	script, question string
	lang             Language
	reply            string
	want             Severity
}{
	{"ccm-monthly", "overall", English, "2", High},
	{"ccm-monthly", "overall", Spanish, "ocho", ""},
	{"ccm-monthly", "medicines", Spanish, "dejé una", High},
	{"ccm-monthly", "call_me", English, "yes please", Routine},

	// Heart failure: rapid gain, swelling, breathlessness at rest (urgent) or with activity.
	{"heart-failure", "weight", English, "182 lbs", ""},
	{"heart-failure", "weight", Spanish, "pesé ciento ochenta libras", ""},
	{"heart-failure", "weight_gain", English, "Yes", High},
	{"heart-failure", "weight_gain", English, "yes, about 4 pounds since Monday", High},
	{"heart-failure", "weight_gain", English, "nope", ""},
	{"heart-failure", "weight_gain", Spanish, "sí, subí 4 libras", High},
	{"heart-failure", "weight_gain", Spanish, "no", ""},
	{"heart-failure", "swelling", English, "yes my ankles", High},
	{"heart-failure", "swelling", English, "No", ""},
	{"heart-failure", "swelling", Spanish, "sí, en los tobillos", High},
	{"heart-failure", "swelling", Spanish, "no, nada", ""},
	{"heart-failure", "breathing", English, "3", Urgent},
	{"heart-failure", "breathing", English, "I wake up at night short of breath", Urgent},
	{"heart-failure", "breathing", English, "2", High},
	{"heart-failure", "breathing", English, "worse on the stairs", High},
	{"heart-failure", "breathing", English, "1", ""},
	{"heart-failure", "breathing", English, "no change", ""},
	{"heart-failure", "breathing", Spanish, "3", Urgent},
	{"heart-failure", "breathing", Spanish, "me falta el aire en reposo", Urgent},
	{"heart-failure", "breathing", Spanish, "me despierto sin aire", Urgent},
	{"heart-failure", "breathing", Spanish, "2", High},
	{"heart-failure", "breathing", Spanish, "cuando subo las escaleras", High},
	{"heart-failure", "breathing", Spanish, "1", ""},
	{"heart-failure", "breathing", Spanish, "sin cambios", ""},
	{"heart-failure", "medicines", English, "no, I ran out", Routine},
	{"heart-failure", "medicines", English, "yes", ""},
	{"heart-failure", "medicines", Spanish, "no", Routine},
	{"heart-failure", "medicines", Spanish, "sí, todos los días", ""},

	// Hypertension: crisis range urgent, 160/100 high, under 90 high; symptoms urgent; medicines.
	{"hypertension", "reading", English, "185/100", Urgent},
	{"hypertension", "reading", English, "180/110", Urgent},
	{"hypertension", "reading", English, "150/125", Urgent},
	{"hypertension", "reading", English, "It was 165 over 95", High},
	{"hypertension", "reading", English, "179/99", High},
	{"hypertension", "reading", English, "140/102", High},
	{"hypertension", "reading", English, "85/60", High},
	{"hypertension", "reading", English, "128/82", ""},
	{"hypertension", "reading", English, "BP 159/99 this morning", ""},
	{"hypertension", "reading", English, "90/60", ""},
	{"hypertension", "reading", Spanish, "mi presión es 190/100", Urgent},
	{"hypertension", "reading", Spanish, "150 sobre 125", Urgent},
	{"hypertension", "reading", Spanish, "170/95", High},
	{"hypertension", "reading", Spanish, "140/105", High},
	{"hypertension", "reading", Spanish, "88/58", High},
	{"hypertension", "reading", Spanish, "la última fue 128/82", ""},
	{"hypertension", "reading", Spanish, "135 sobre 85", ""},
	{"hypertension", "symptoms", English, "yes", Urgent},
	{"hypertension", "symptoms", English, "yes bad headache", Urgent},
	{"hypertension", "symptoms", English, "No, I feel fine", ""},
	{"hypertension", "symptoms", Spanish, "sí, me duele mucho la cabeza", Urgent},
	{"hypertension", "symptoms", Spanish, "no, me siento bien", ""},
	{"hypertension", "medicines", English, "3", High},
	{"hypertension", "medicines", English, "I stopped the water pill", High},
	{"hypertension", "medicines", English, "I missed some", Routine},
	{"hypertension", "medicines", English, "yes every day", ""},
	{"hypertension", "medicines", Spanish, "3", High},
	{"hypertension", "medicines", Spanish, "dejé una", High},
	{"hypertension", "medicines", Spanish, "olvidé algunas", Routine},
	{"hypertension", "medicines", Spanish, "2", Routine},
	{"hypertension", "medicines", Spanish, "sí, todos los días", ""},

	// Diabetes: under 54 urgent, under 70 high, over 300 high, 400 or more urgent; lows; feet.
	{"diabetes", "glucose", English, "50", Urgent},
	{"diabetes", "glucose", English, "53", Urgent},
	{"diabetes", "glucose", English, "54", High},
	{"diabetes", "glucose", English, "69", High},
	{"diabetes", "glucose", English, "70", ""},
	{"diabetes", "glucose", English, "It was 128 this morning", ""},
	{"diabetes", "glucose", English, "300", ""},
	{"diabetes", "glucose", English, "301", High},
	{"diabetes", "glucose", English, "399", High},
	{"diabetes", "glucose", English, "400", Urgent},
	{"diabetes", "glucose", English, "480 mg/dl", Urgent},
	{"diabetes", "glucose", Spanish, "cincuenta", Urgent},
	{"diabetes", "glucose", Spanish, "sesenta y cinco", High},
	{"diabetes", "glucose", Spanish, "mi azúcar estaba en 95", ""},
	{"diabetes", "glucose", Spanish, "trescientos veinte", High},
	{"diabetes", "glucose", Spanish, "cuatrocientos cincuenta", Urgent},
	{"diabetes", "lows", English, "yes", Routine},
	{"diabetes", "lows", English, "no", ""},
	{"diabetes", "lows", Spanish, "sí", Routine},
	{"diabetes", "lows", Spanish, "no", ""},
	{"diabetes", "needed_help", English, "yes, my wife helped me", High},
	{"diabetes", "needed_help", English, "no", ""},
	{"diabetes", "needed_help", Spanish, "sí, mi esposo me ayudó", High},
	{"diabetes", "needed_help", Spanish, "no", ""},
	{"diabetes", "feet", English, "yes, a blister on my toe", High},
	{"diabetes", "feet", English, "nope", ""},
	{"diabetes", "feet", Spanish, "sí, una llaga", High},
	{"diabetes", "feet", Spanish, "no", ""},

	// COPD: much worse urgent, a bit worse high; inhaler and flare signs high; oxygen < 88 urgent,
	// < 92 high.
	{"copd", "breathing", English, "3", Urgent},
	{"copd", "breathing", English, "much worse", Urgent},
	{"copd", "breathing", English, "2", High},
	{"copd", "breathing", English, "a little worse", High},
	{"copd", "breathing", English, "same as usual", ""},
	{"copd", "breathing", Spanish, "3", Urgent},
	{"copd", "breathing", Spanish, "mucho peor", Urgent},
	{"copd", "breathing", Spanish, "2", High},
	{"copd", "breathing", Spanish, "un poco peor", High},
	{"copd", "breathing", Spanish, "igual", ""},
	{"copd", "breathing", Spanish, "1", ""},
	{"copd", "rescue_inhaler", English, "yeah", High},
	{"copd", "rescue_inhaler", English, "no", ""},
	{"copd", "rescue_inhaler", Spanish, "sí, más seguido", High},
	{"copd", "rescue_inhaler", Spanish, "no", ""},
	{"copd", "flare_signs", English, "yes, yellow mucus", High},
	{"copd", "flare_signs", English, "no", ""},
	{"copd", "flare_signs", Spanish, "sí, tengo fiebre", High},
	{"copd", "flare_signs", Spanish, "no", ""},
	{"copd", "oxygen", English, "86", Urgent},
	{"copd", "oxygen", English, "87%", Urgent},
	{"copd", "oxygen", English, "88", High},
	{"copd", "oxygen", English, "91", High},
	{"copd", "oxygen", English, "92", ""},
	{"copd", "oxygen", English, "96", ""},
	{"copd", "oxygen", Spanish, "85", Urgent},
	{"copd", "oxygen", Spanish, "90%", High},
	{"copd", "oxygen", Spanish, "noventa y cinco", ""},
	{"copd", "oxygen", Spanish, "mi oxígeno está en 97", ""},

	// Depression: PHQ-2 items at 2 or more (replies 3 and 4) routine; self-harm urgent.
	{"depression", "interest", English, "1", ""},
	{"depression", "interest", English, "not at all", ""},
	{"depression", "interest", English, "2", ""},
	{"depression", "interest", English, "several days", ""},
	{"depression", "interest", English, "3", Routine},
	{"depression", "interest", English, "most days", Routine},
	{"depression", "interest", English, "4", Routine},
	{"depression", "interest", English, "nearly every day", Routine},
	{"depression", "interest", Spanish, "1", ""},
	{"depression", "interest", Spanish, "ningún día", ""},
	{"depression", "interest", Spanish, "varios días", ""},
	{"depression", "interest", Spanish, "3", Routine},
	{"depression", "interest", Spanish, "casi todos los días", Routine},
	{"depression", "mood", English, "2", ""},
	{"depression", "mood", English, "never", ""},
	{"depression", "mood", English, "More than half the days", Routine},
	{"depression", "mood", English, "4", Routine},
	{"depression", "mood", Spanish, "nunca", ""},
	{"depression", "mood", Spanish, "2", ""},
	{"depression", "mood", Spanish, "más de la mitad de los días", Routine},
	{"depression", "mood", Spanish, "4", Routine},
	{"depression", "mood", Spanish, "siempre", Routine},
	{"depression", "self_harm", English, "yes", Urgent},
	{"depression", "self_harm", English, "Yes I have", Urgent},
	{"depression", "self_harm", English, "no", ""},
	{"depression", "self_harm", English, "No, never", ""},
	{"depression", "self_harm", Spanish, "sí", Urgent},
	{"depression", "self_harm", Spanish, "Si", Urgent},
	{"depression", "self_harm", Spanish, "no", ""},
	{"depression", "self_harm", Spanish, "no, nunca", ""},
}

// TestBundledEscalations drives real replies, in both languages, through the escalation rules
// of the bundled scripts, then checks that every rule of every clinical module fired in each
// language and that each of their questions with rules stayed quiet on a normal answer in each.
func TestBundledEscalations(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	fired := map[*Rule]map[Language]bool{}
	quiet := map[*Question]map[Language]bool{}
	mark := func(m map[Language]bool, l Language) map[Language]bool {
		if m == nil {
			m = map[Language]bool{}
		}
		m[l] = true
		return m
	}
	for _, tt := range escalationCases {
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
			r := q.Escalation(tt.lang, a)
			if r != nil {
				got = r.Severity
			}
			if got != tt.want {
				t.Fatalf("%q (read as %q) escalates %q, want %q", tt.reply, a.Value, got, tt.want)
			}
			if r != nil {
				fired[r] = mark(fired[r], tt.lang)
			} else {
				quiet[q] = mark(quiet[q], tt.lang)
			}
		})
	}
	for _, id := range clinicalModules {
		s := lib[id]
		if s == nil {
			t.Errorf("no bundled script %q", id)
			continue
		}
		for _, q := range s.Questions {
			for i := range q.Escalate {
				r := &q.Escalate[i]
				for _, l := range s.Languages {
					if !fired[r][l] {
						t.Errorf("%s/%s: no %s reply raises the rule %q (line %d)", id, q.ID, l, r.Reason, r.Line)
					}
				}
			}
			for _, l := range s.Languages {
				if len(q.Escalate) > 0 && !quiet[q][l] {
					t.Errorf("%s/%s: no normal %s reply shows that its rules stay quiet", id, q.ID, l)
				}
			}
		}
	}
}

// TestBundledRereads lists replies that must be asked again rather than guessed at.
func TestBundledRereads(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ script, question, reply string }{
		{"heart-failure", "weight", "I don't have a scale"},
		{"heart-failure", "weight", "1820"},
		{"heart-failure", "breathing", "fine at rest, worse walking"},
		{"hypertension", "reading", "150"},
		{"hypertension", "reading", "150/95 then 140/90"},
		{"diabetes", "glucose", "HI"},
		{"diabetes", "glucose", "700"},
		{"copd", "oxygen", "101"},
		{"depression", "interest", "0"}, // the choices are numbered 1 to 4
		{"depression", "interest", "5"},
		{"depression", "self_harm", "sometimes"},
		{"depression", "self_harm", "a veces"},
		{"depression", "self_harm", "no sé"},
	} {
		t.Run(tt.script+"/"+tt.question+"/"+tt.reply, func(t *testing.T) {
			q := lib[tt.script].Question(tt.question)
			a, err := q.Parse(tt.reply)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q read as %q, %v; want it asked again", tt.reply, a.Value, err)
			}
			for _, l := range []Language{English, Spanish} {
				if pe.Hint.In(l) == "" {
					t.Errorf("no %s hint", l)
				}
			}
		})
	}
}

// TestBundledSkips checks the follow-up questions that a "no" to an earlier question skips.
func TestBundledSkips(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		script, question string
		lang             Language
		earlier          string // the reply to the question skip_if names
		skip             bool
	}{
		{"heart-failure", "weight", English, "no", true},
		{"heart-failure", "weight", English, "yes", false},
		{"heart-failure", "weight", Spanish, "no, hoy no", true},
		{"heart-failure", "weight", Spanish, "sí", false},
		{"hypertension", "reading", English, "nope", true},
		{"hypertension", "reading", English, "yes", false},
		{"hypertension", "reading", Spanish, "no", true},
		{"hypertension", "reading", Spanish, "sí, ayer", false},
		{"diabetes", "glucose", English, "no, I don't", true},
		{"diabetes", "glucose", English, "yes", false},
		{"diabetes", "glucose", Spanish, "no", true},
		{"diabetes", "glucose", Spanish, "sí", false},
		{"diabetes", "needed_help", English, "no", true},
		{"diabetes", "needed_help", English, "yes", false},
		{"diabetes", "needed_help", Spanish, "no", true},
		{"diabetes", "needed_help", Spanish, "sí", false},
		{"copd", "oxygen", English, "no", true},
		{"copd", "oxygen", English, "yes", false},
		{"copd", "oxygen", Spanish, "no tengo", true},
		{"copd", "oxygen", Spanish, "sí", false},
	}
	tested := map[*Question]map[bool]bool{}
	for _, tt := range tests {
		t.Run(tt.script+"/"+tt.question+"/"+string(tt.lang)+"/"+tt.earlier, func(t *testing.T) {
			q := lib[tt.script].Question(tt.question)
			if q == nil || q.SkipIf == nil {
				t.Fatalf("%s/%s has no skip_if", tt.script, tt.question)
			}
			earlier := lib[tt.script].Question(q.SkipIf.Question)
			a, err := earlier.Parse(tt.earlier)
			if err != nil {
				t.Fatalf("%q not read: %v", tt.earlier, err)
			}
			if got := q.SkipIf.Holds(earlier, tt.lang, a); got != tt.skip {
				t.Errorf("after %q to %s, skipped = %v, want %v", tt.earlier, earlier.ID, got, tt.skip)
			}
			if tested[q] == nil {
				tested[q] = map[bool]bool{}
			}
			tested[q][tt.skip] = true
		})
	}
	for _, id := range clinicalModules {
		for _, q := range lib[id].Questions {
			if q.SkipIf != nil && (!tested[q][true] || !tested[q][false]) {
				t.Errorf("%s/%s: its skip_if is not tested both ways", id, q.ID)
			}
		}
	}
}

// TestBundledUrgentRules pins which rules are urgent: a change of severity must be deliberate.
// Every urgent rule's message names 911 in each language.
func TestBundledUrgentRules(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{ // the question of each urgent rule, in order
		"heart-failure": {"breathing"},
		"hypertension":  {"reading", "reading", "symptoms"},
		"diabetes":      {"glucose", "glucose"},
		"copd":          {"breathing", "oxygen"},
		"depression":    {"self_harm"},
	}
	for _, id := range clinicalModules {
		var got []string
		for _, q := range lib[id].Questions {
			for _, r := range q.Escalate {
				if r.Severity != Urgent {
					continue
				}
				got = append(got, q.ID)
				for _, l := range []Language{English, Spanish} {
					if !strings.Contains(r.Tell[l], "911") {
						t.Errorf("%s/%s: the urgent rule %q does not tell the patient to call 911 in %s", id, q.ID, r.Reason, l)
					}
				}
			}
		}
		if !slices.Equal(got, want[id]) {
			t.Errorf("%s: urgent rules on %v, want %v", id, got, want[id])
		}
	}
	selfHarm := lib["depression"].Question("self_harm")
	for _, l := range []Language{English, Spanish} {
		if tell := selfHarm.Escalate[0].Tell[l]; !strings.Contains(tell, "988") {
			t.Errorf("depression/self_harm: the %s message does not name 988: %q", l, tell)
		}
	}
}

// TestBundledScriptsSpeakBothLanguages checks every bundled script: its id is its file name,
// every text exists in English and Spanish, the introduction says how to opt out and to call
// 911, questions fit an SMS and say how to answer, choices are numbered as they are read, and
// no two scripts start at the same time.
func TestBundledScriptsSpeakBothLanguages(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(library, "library/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := library.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(path.Base(name), data)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".yaml"); s.ID != want {
			t.Errorf("%s: id %q, want %q", name, s.ID, want)
		}
	}
	for _, id := range clinicalModules {
		if lib[id] == nil {
			t.Errorf("no bundled script %q", id)
		}
	}
	schedules := map[string]string{}
	for _, id := range lib.IDs() {
		s := lib[id]
		t.Run(id, func(t *testing.T) {
			if other, ok := schedules[s.Schedule]; ok {
				t.Errorf("schedule %q is also %s's", s.Schedule, other)
			}
			schedules[s.Schedule] = id
			if !slices.Equal(s.Languages, []Language{English, Spanish}) {
				t.Errorf("languages %v, want [en es]", s.Languages)
			}
			texts := map[string]Text{"intro": s.Intro, "closing": s.Closing, "reminder": s.ReminderText}
			for _, q := range s.Questions {
				texts[q.ID] = q.Text
				for i, o := range q.Choices {
					texts[fmt.Sprintf("%s choice %d", q.ID, i+1)] = o.Label
				}
				for _, r := range q.Escalate {
					if r.Tell != nil {
						texts[q.ID+" tell: "+r.Reason] = r.Tell
					}
				}
			}
			for name, text := range texts {
				for _, l := range []Language{English, Spanish} {
					if strings.TrimSpace(text[l]) == "" {
						t.Errorf("%s has no %s text", name, l)
					}
				}
			}
			for _, l := range []Language{English, Spanish} {
				if intro := s.Intro[l]; !strings.Contains(intro, "STOP") || !strings.Contains(intro, "911") {
					t.Errorf("the %s introduction does not say STOP and 911: %q", l, intro)
				}
			}
			for _, q := range s.Questions {
				checkQuestionWording(t, q)
			}
		})
	}
}

// howToAnswer is what a question of each type says, in each language, about how to reply.
var howToAnswer = map[AnswerType]Text{
	YesNo:         {English: "Reply YES or NO", Spanish: "Responda SÍ o NO"},
	Number:        {English: "Reply with a number", Spanish: "Responda con un número"},
	BloodPressure: {English: "Reply with both numbers", Spanish: "Responda con los dos números"},
	Scale:         {English: "from 0", Spanish: "de 0"},
}

func checkQuestionWording(t *testing.T, q *Question) {
	t.Helper()
	for _, l := range []Language{English, Spanish} {
		text := q.Text[l]
		if n := utf8.RuneCountInString(text); n > 300 {
			t.Errorf("%s: the %s text is %d characters; keep questions under 300", q.ID, l, n)
		}
		if how := howToAnswer[q.Type][l]; how != "" && !strings.Contains(text, how) {
			t.Errorf("%s: the %s text does not say %q: %q", q.ID, l, how, text)
		}
		// A reply of a digit picks the choice at that position: the text must number them so.
		for i, o := range q.Choices {
			if shown := fmt.Sprintf("%d %s", i+1, o.Label[l]); !strings.Contains(text, shown) {
				t.Errorf("%s: the %s text does not show %q", q.ID, l, shown)
			}
			a, err := q.Parse(fmt.Sprint(i + 1))
			if err != nil || a.Value != o.Value {
				t.Errorf("%s: reply %d read as %q, %v; want %q", q.ID, i+1, a.Value, err, o.Value)
			}
			a, err = q.Parse(o.Label[l])
			if err != nil || a.Value != o.Value {
				t.Errorf("%s: the %s label %q read as %q, %v; want %q", q.ID, l, o.Label[l], a.Value, err, o.Value)
			}
		}
	}
}
