package ivr

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/scripts"
)

var (
	textingWords = regexp.MustCompile(`(?i)\b(reply|responda|text|texto|mensaje)\b|\bSTOP\b`)
	keypadWords  = regexp.MustCompile(`(?i)\b(press|oprima|marque)\b`)
	languages    = []scripts.Language{scripts.English, scripts.Spanish}
)

func bundled(t *testing.T) scripts.Library {
	t.Helper()
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// TestEveryBundledQuestionAsked checks the prompt of every question of every bundled script in
// both languages: the question without texting instructions or the texted choice list, keypad
// instructions (none for free text), every choice named, and the voice offered.
func TestEveryBundledQuestionAsked(t *testing.T) {
	lib := bundled(t)
	for _, id := range lib.IDs() {
		for _, lang := range languages {
			for _, q := range lib[id].Questions {
				t.Run(id+"/"+q.ID+"/"+string(lang), func(t *testing.T) {
					g := Ask(q, lang)
					if g.Step != q.ID || g.Prompt == "" || textingWords.MatchString(g.Prompt) {
						t.Errorf("Ask = %+v", g)
					}
					text := q.Text.In(lang)
					if question, _, _ := strings.Cut(text, "?"); !strings.HasPrefix(g.Prompt, question) {
						t.Errorf("prompt %q does not start with the question %q", g.Prompt, text)
					}
					if keyed := keypadWords.MatchString(g.Prompt); keyed != (q.Type != scripts.FreeText) {
						t.Errorf("keypad instructions %v in %q", keyed, g.Prompt)
					}
					if voice := strings.Contains(g.Prompt, sayIt.In(lang)); voice != (q.Type != scripts.FreeText) {
						t.Errorf("answer by voice offered %v in %q", voice, g.Prompt)
					}
					for i, o := range q.Choices {
						label := o.Label.In(lang)
						if !strings.Contains(g.Prompt, label) {
							t.Errorf("choice %q not said in %q", o.Value, g.Prompt)
						}
						if strings.Contains(g.Prompt, strconv.Itoa(i+1)+" "+label) {
							t.Errorf("the texted choice list is read out: %q", g.Prompt)
						}
					}
					if g.Timeout < keyTimeout || g.Timeout > entryTimeout {
						t.Errorf("timeout %d", g.Timeout)
					}
				})
			}
		}
	}
}

// TestEveryBundledQuestionAnswered answers every question of every bundled script, by keypad
// and by voice, and checks that the question's parser reads what Read gives it.
func TestEveryBundledQuestionAnswered(t *testing.T) {
	lib := bundled(t)
	for _, id := range lib.IDs() {
		for _, lang := range languages {
			for _, q := range lib[id].Questions {
				for _, tt := range answers(q, lang) {
					t.Run(id+"/"+q.ID+"/"+string(lang)+"/"+tt.in.Digits+tt.in.Speech, func(t *testing.T) {
						intent, reply := Read(q, tt.in)
						if intent != Answer {
							t.Fatalf("Read = %v %q, want an answer", intent, reply)
						}
						if a, err := q.Parse(reply); err != nil || a.Value != tt.want {
							t.Errorf("Parse(%q) = %q, %v; want %q", reply, a.Value, err, tt.want)
						}
					})
				}
			}
		}
	}
}

type answer struct {
	in   Input
	want string
}

// answers are keyed and spoken answers to q in lang with the values they should parse to.
func answers(q *scripts.Question, lang scripts.Language) []answer {
	es := lang == scripts.Spanish
	pick := func(en, sp string) string {
		if es {
			return sp
		}
		return en
	}
	switch q.Type {
	case scripts.YesNo:
		return []answer{{Input{Digits: "1"}, "yes"}, {Input{Digits: "2"}, "no"},
			{Input{Speech: pick("Yes.", "Sí.")}, "yes"}, {Input{Speech: pick("No, I did not", "No")}, "no"}}
	case scripts.Choice:
		var out []answer
		for i, o := range q.Choices {
			out = append(out, answer{Input{Digits: strconv.Itoa(i + 1)}, o.Value}, answer{Input{Speech: o.Label.In(lang)}, o.Value})
		}
		return out
	case scripts.Scale:
		return []answer{{Input{Digits: "7#"}, "7"}, {Input{Digits: "0#"}, "0"}, {Input{Digits: "10#"}, "10"},
			{Input{Speech: pick("seven", "siete")}, "7"}, {Input{Speech: pick("8 out of 10", "8 de 10")}, "8"}}
	case scripts.BloodPressure:
		return []answer{{Input{Digits: "130*80#"}, "130/80"}, {Input{Digits: "99*60"}, "99/60"},
			{Input{Speech: pick("130 over 80", "130 sobre 80")}, "130/80"}, {Input{Speech: "130/80"}, "130/80"}}
	case scripts.Number:
		mid := strconv.Itoa(int(*q.Min+*q.Max) / 2)
		return []answer{{Input{Digits: mid + "#"}, mid}, {Input{Digits: mid + "*5#"}, mid + ".5"},
			{Input{Speech: pick("ninety five", "noventa y cinco")}, "95"}, {Input{Speech: "95"}, "95"}}
	}
	return []answer{{Input{Speech: pick("I missed some", "Olvidé algunas")}, pick("I missed some", "Olvidé algunas")}}
}

func TestAsk(t *testing.T) {
	num := func(min, max float64, unit string) *scripts.Question {
		return &scripts.Question{ID: "n", Type: scripts.Number, Min: &min, Max: &max, Unit: unit,
			Text: scripts.Text{scripts.English: "What is it? Reply with a number."}}
	}
	var many []scripts.Option
	for _, v := range strings.Fields("a b c d e f g h i") {
		many = append(many, scripts.Option{Value: v, Label: scripts.Text{scripts.English: "Option " + v}})
	}
	tests := []struct {
		name      string
		q         *scripts.Question
		prompt    string
		numDigits int
	}{
		{"weight", num(70, 600, "lb"), "What is it? Enter the number on your keypad, then press the pound key. For a decimal point, press star. You can also say your answer.", 0},
		{"temperature", num(90, 110, "°F"), "What is it? Enter the number on your keypad, then press the pound key. For a decimal point, press star. You can also say your answer.", 0},
		{"fractional range", num(0.5, 4.5, "L"), "What is it? Enter the number on your keypad, then press the pound key. For a decimal point, press star. You can also say your answer.", 0},
		{"whole", num(50, 100, "%"), "What is it? Enter the number on your keypad, then press the pound key. You can also say your answer.", 0},
		{"nine choices", &scripts.Question{ID: "c", Type: scripts.Choice, Text: scripts.Text{scripts.English: "Which?"}, Choices: many},
			"Which? Press 1 for Option a. Press 2 for Option b. Press 3 for Option c. Press 4 for Option d. Press 5 for Option e. Press 6 for Option f. Press 7 for Option g. Press 8 for Option h. Press 9 for Option i. Then press the pound key. You can also say your answer.", 0},
		{"eight choices", &scripts.Question{ID: "c", Type: scripts.Choice, Text: scripts.Text{scripts.English: "Which? 1. Option a 2. Option b"}, Choices: many[:8]},
			"Which? Press 1 for Option a. Press 2 for Option b. Press 3 for Option c. Press 4 for Option d. Press 5 for Option e. Press 6 for Option f. Press 7 for Option g. Press 8 for Option h. You can also say your answer.", 1},
		{"only instructions", &scripts.Question{ID: "y", Type: scripts.YesNo, Text: scripts.Text{scripts.English: "Reply YES or NO."}},
			"Press 1 for yes, or 2 for no. You can also say your answer.", 1},
		{"free text", &scripts.Question{ID: "t", Type: scripts.FreeText, Text: scripts.Text{scripts.English: "What changed?"}},
			"What changed? Say your answer in a few words.", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Ask(tt.q, scripts.English)
			if g.Prompt != tt.prompt || g.NumDigits != tt.numDigits {
				t.Errorf("Ask = %q (%d digits), want %q (%d digits)", g.Prompt, g.NumDigits, tt.prompt, tt.numDigits)
			}
		})
	}
}

func TestAskHints(t *testing.T) {
	lib := bundled(t)
	tests := []struct {
		q     *scripts.Question
		lang  scripts.Language
		hints []string
	}{
		{lib["ccm-monthly"].Question("new_symptoms"), scripts.Spanish, []string{"sí", "no"}},
		{lib["ccm-monthly"].Question("medicines"), scripts.English, []string{"Yes, all of them", "yes", "all", "all of them",
			"I missed some", "missed", "some", "forgot", "I stopped one or more", "stopped", "no"}},
		{lib["depression"].Question("mood"), scripts.Spanish, []string{"Ningún día", "nunca", "para nada",
			"Varios días", "varios", "algunos días", "Más de la mitad de los días", "más de la mitad",
			"la mayoría de los días", "Casi todos los días", "todos los días", "casi siempre", "siempre"}},
		{lib["ccm-monthly"].Question("symptoms"), scripts.English, nil},
	}
	for _, tt := range tests {
		t.Run(tt.q.ID+"/"+string(tt.lang), func(t *testing.T) {
			if got := Ask(tt.q, tt.lang).Hints; strings.Join(got, "|") != strings.Join(tt.hints, "|") {
				t.Errorf("hints = %q, want %q", got, tt.hints)
			}
		})
	}
}

func TestReask(t *testing.T) {
	q := &scripts.Question{ID: "q", Type: scripts.YesNo, Text: scripts.Text{scripts.English: "OK? Reply YES or NO.", scripts.Spanish: "¿Bien? Responda SÍ o NO."}}
	tests := []struct {
		lang   scripts.Language
		silent bool
		prompt string
	}{
		{scripts.English, true, "Sorry, I did not hear an answer. OK? Press 1 for yes, or 2 for no. You can also say your answer."},
		{scripts.English, false, "Sorry, I did not understand. OK? Press 1 for yes, or 2 for no. You can also say your answer."},
		{scripts.Spanish, true, "Perdón, no escuché su respuesta. ¿Bien? Oprima 1 para sí, o 2 para no. También puede decir su respuesta."},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+strconv.FormatBool(tt.silent), func(t *testing.T) {
			if g := Reask(q, tt.lang, tt.silent); g.Prompt != tt.prompt || g.Step != "q" || g.NumDigits != 1 {
				t.Errorf("Reask = %+v, want prompt %q", g, tt.prompt)
			}
		})
	}
}

func TestSpoken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello from your care team. This is your monthly check-in. Reply STOP to opt out. If this is an emergency, call 911.",
			"Hello from your care team. This is your monthly check-in. If this is an emergency, call 911."},
		{scripts.EmergencyMessage.In(scripts.English), scripts.EmergencyMessage.In(scripts.English)},
		{scripts.EmergencyMessage.In(scripts.Spanish), scripts.EmergencyMessage.In(scripts.Spanish)},
		{"Did you stop any medicine? Reply YES or NO.", "Did you stop any medicine?"},
		{"¿Está bien? Responda SÍ o NO.", "¿Está bien?"},
		{"Your temperature of 100.4 is a fever! Text us if it goes up.", "Your temperature of 100.4 is a fever!"},
		{"Llámenos o envíenos un mensaje. Gracias.", "Gracias."},
		{"Reply STOP to opt out.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Spoken(tt.in); got != tt.want {
				t.Errorf("Spoken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIntroAndClosing(t *testing.T) {
	lib := bundled(t)
	for _, id := range lib.IDs() {
		for _, lang := range languages {
			t.Run(id+"/"+string(lang), func(t *testing.T) {
				intro, closing := Intro(lib[id], lang), Closing(lib[id], lang)
				if intro == "" || textingWords.MatchString(intro) || !strings.Contains(intro, "911") {
					t.Errorf("intro %q", intro)
				}
				if closing == "" || regexp.MustCompile(`(?i)\b(reply|responda)\b|\bSTOP\b`).MatchString(closing) || !strings.Contains(closing, "911") {
					t.Errorf("closing %q", closing)
				}
			})
		}
	}
	texting := &scripts.Script{Intro: scripts.Text{scripts.English: "Reply STOP to opt out.", scripts.Spanish: "Responda STOP para salir."}}
	for lang, want := range map[scripts.Language]string{scripts.English: "This is your check-in from your care team.",
		scripts.Spanish: "Este es su control de parte de su equipo de cuidado."} {
		if got := Intro(texting, lang); got != want {
			t.Errorf("%s: intro with nothing to say = %q, want %q", lang, got, want)
		}
	}
}

func TestMenu(t *testing.T) {
	tests := []struct {
		practice string
		lang     scripts.Language
		again    bool
		prompt   string
		hints    []string
	}{
		{"Maple Clinic", scripts.English, false, "Hello, this is Maple Clinic calling. To start your check-in, press 1 or say yes. For a nurse to call you back, press 0 or say nurse. To stop these calls, press 9 or say stop.",
			[]string{"yes", "start", "nurse", "stop"}},
		{"Maple Clinic", scripts.English, true, "Sorry, I did not get that. This is Maple Clinic calling. To start your check-in, press 1 or say yes. For a nurse to call you back, press 0 or say nurse. To stop these calls, press 9 or say stop.",
			[]string{"yes", "start", "nurse", "stop"}},
		{"", scripts.Spanish, false, "Hola, le llamamos de su equipo de cuidado. Para empezar su control, oprima 1 o diga sí. Para que una enfermera le devuelva la llamada, oprima 0 o diga enfermera. Para dejar de recibir estas llamadas, oprima 9 o diga parar.",
			[]string{"sí", "empezar", "enfermera", "parar"}},
		{"Clínica Maple", scripts.Spanish, true, "Perdón, no le escuché bien. Le llamamos de Clínica Maple. Para empezar su control, oprima 1 o diga sí. Para que una enfermera le devuelva la llamada, oprima 0 o diga enfermera. Para dejar de recibir estas llamadas, oprima 9 o diga parar.",
			[]string{"sí", "empezar", "enfermera", "parar"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+"/"+tt.practice+"/"+strconv.FormatBool(tt.again), func(t *testing.T) {
			turn := Menu(tt.practice, tt.lang, tt.again)
			g := turn.Gather
			if turn.Lang != tt.lang || len(turn.Say) != 0 || g == nil {
				t.Fatalf("Menu = %+v", turn)
			}
			if g.Step != StepMenu || g.Prompt != tt.prompt || g.NumDigits != 1 || g.Timeout != keyTimeout || strings.Join(g.Hints, "|") != strings.Join(tt.hints, "|") {
				t.Errorf("Menu gathers %+v, want prompt %q and hints %q", g, tt.prompt, tt.hints)
			}
		})
	}
}

func TestVoicemail(t *testing.T) {
	tests := []struct {
		practice, phone string
		lang            scripts.Language
		want            string
	}{
		{"Maple Clinic", "+15555550100", scripts.English, "Hello, this is Maple Clinic calling for a routine check-in. Please call us back at 555-555-0100. Thank you."},
		{"Maple Clinic", "", scripts.English, "Hello, this is Maple Clinic calling for a routine check-in. Thank you."},
		{"", "", scripts.English, "Hello, this is your care team calling for a routine check-in. Thank you."},
		{"Clínica Maple", "+15555550100", scripts.Spanish, "Hola, le llamamos de Clínica Maple para un control de rutina. Por favor, devuélvanos la llamada al 555-555-0100. Gracias."},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+"/"+tt.practice+"/"+tt.phone, func(t *testing.T) {
			turn := Voicemail(tt.practice, tt.phone, tt.lang)
			if turn.Gather != nil || turn.Lang != tt.lang || len(turn.Say) != 1 || turn.Say[0] != tt.want {
				t.Errorf("Voicemail = %+v, want %q", turn, tt.want)
			}
		})
	}
}

func TestSpokenPhone(t *testing.T) {
	tests := map[string]string{
		"+15555550100":   "555-555-0100",
		"5555550100":     "555-555-0100",
		"(555) 555-0100": "555-555-0100",
		"+442079460958":  "4 4 2 0 7 9 4 6 0 9 5 8",
		"911":            "9 1 1",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := spokenPhone(in); got != want {
				t.Errorf("spokenPhone = %q, want %q", got, want)
			}
		})
	}
}

// TestNothingAboutThePatientBeforeTheMenu: whoever picks up, or listens to the answering
// machine, hears the practice and its number only.
func TestNothingAboutThePatientBeforeTheMenu(t *testing.T) {
	lib := bundled(t)
	for _, lang := range languages {
		said := strings.ToLower(Voicemail("Maple Clinic", "+15555550100", lang).Say[0] + " " +
			Menu("Maple Clinic", lang, false).Gather.Prompt + " " + Menu("Maple Clinic", lang, true).Gather.Prompt)
		var secrets []string
		for _, s := range lib {
			secrets = append(secrets, s.ID, s.Name, s.Intro.In(lang), s.Closing.In(lang))
			for _, q := range s.Questions {
				secrets = append(secrets, q.Text.In(lang))
			}
		}
		secrets = append(secrets, "blood", "pressure", "presión", "diabet", "sugar", "azúcar", "heart", "corazón",
			"copd", "breath", "respira", "mood", "ánimo", "depres", "monthly", "mensual")
		for _, s := range secrets {
			if strings.Contains(said, strings.ToLower(s)) {
				t.Errorf("%s: %q is said before the patient chose to start: %q", lang, s, said)
			}
		}
	}
}

// TestPhrases: every phrase a call says exists in both languages.
func TestPhrases(t *testing.T) {
	for name, p := range map[string]scripts.Text{"NurseAck": NurseAck, "OptOutAck": OptOutAck, "Dial911": Dial911,
		"TryLater": TryLater, "Trouble": Trouble} {
		for _, lang := range languages {
			if s, ok := p[lang]; !ok || s == "" || textingWords.MatchString(s) {
				t.Errorf("%s in %s = %q", name, lang, s)
			}
		}
	}
}
