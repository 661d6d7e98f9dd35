package outreach

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// optOutCases are replies as patients write them, with what each one asks.
var optOutCases = []struct {
	body string
	want OptOutIntent
}{
	// Clear, in English.
	{"Stop texting me", OptOutClear},
	{"STOP texting me!!!", OptOutClear},
	{"Please stop texting me", OptOutClear},
	{"pls stop txting me", OptOutClear},
	{"Stop sending me these texts", OptOutClear},
	{"stop sending me messages please", OptOutClear},
	{"Stop all texts", OptOutClear},
	{"stop the texts 🙏", OptOutClear},
	{"No more texts please", OptOutClear},
	{"no more msgs", OptOutClear},
	{"NO MORE TEXT MESSAGES", OptOutClear},
	{"Don't text me anymore", OptOutClear},
	{"dont text me any more", OptOutClear},
	{"Do not text me again.", OptOutClear},
	{"Do not contact me", OptOutClear},
	{"don’t ever text me again!!", OptOutClear},
	{"Never text me again", OptOutClear},
	{"Please remove me from this list", OptOutClear},
	{"pls remove me from this list", OptOutClear},
	{"Take me off your list", OptOutClear},
	{"Remove my number", OptOutClear},
	{"remove me", OptOutClear},
	{"Unsubscribe me please", OptOutClear},
	{"please unsubscribe", OptOutClear},
	{"I want to unsubscribe", OptOutClear},
	{"Opt me out", OptOutClear},
	{"I want to opt out of these texts", OptOutClear},
	{"I would like to stop receiving these messages", OptOutClear},
	{"I don't want these texts", OptOutClear},
	{"I dont want to receive texts anymore", OptOutClear},
	{"I don't want to get any more messages from you", OptOutClear},
	{"I no longer wish to receive these messages", OptOutClear},
	{"I don't want you to text me anymore", OptOutClear},
	{"Can you stop texting me?", OptOutClear},
	{"Could you please stop sending me texts", OptOutClear},
	{"I told you to stop texting me", OptOutClear},
	{"Stop messaging me", OptOutClear},
	{"stop calling and texting me", OptOutClear},
	{"Stop calling me", OptOutClear},
	{"quit texting me", OptOutClear},
	{"Stop. Stop. Stop.", OptOutClear},
	{"STOP STOP STOP", OptOutClear},
	{"Stop please", OptOutClear},
	{"stop pls", OptOutClear},
	{"Stop!! Not interested", OptOutClear},
	{"Wrong number, stop texting me", OptOutClear},
	{"Stop, wrong number", OptOutClear},
	{"I revoke my consent", OptOutClear},
	{"Stop texting me. Thank you", OptOutClear},
	{"stoooop texting me", OptOutClear},
	{"Stop texting this number", OptOutClear},
	{"No texts please", OptOutClear},
	{"Delete my number", OptOutClear},
	{"lose my number", OptOutClear},
	{"I'm not interested, please stop texting me", OptOutClear},
	{"stop sending texts to this number", OptOutClear},
	{"I dont want to be contacted", OptOutClear},
	{"Stop!!! 😡", OptOutClear},
	{"Cancel the text messages", OptOutClear},
	{"stop these messages now", OptOutClear},
	{"I said stop", OptOutClear},
	{"Stop the reminders", OptOutClear},
	{"dont send me any more texts", OptOutClear},
	{"Unsubscribe me from this list", OptOutClear},
	{"Hi, please stop texting me, thanks", OptOutClear},
	{"STOP TEXTING ME RIGHT NOW", OptOutClear},
	{"I'm opting out", OptOutClear},
	{"Good morning. Please stop sending me messages.", OptOutClear},
	{"u can stop texting me now", OptOutClear},
	{"I'm feeling fine. Please stop texting me.", OptOutClear},
	{"Stop texting me. Stop calling me.", OptOutClear},
	{"STOP texting me!!! Who is this??", OptOutClear},
	{"Stop sending me these damn texts", OptOutClear},
	{"Quit sending me this crap", OptOutClear},
	{"stop with the texts", OptOutClear},
	{"I do not consent to these texts", OptOutClear},
	{"For the last time stop texting me", OptOutClear},
	{"get me off this list", OptOutClear},
	{"Erase my number", OptOutClear},
	{"turn off texts", OptOutClear},
	{"End all texts", OptOutClear},
	{"UNSUBSCRIBE ME", OptOutClear},
	{"unsub", OptOutClear},
	{"Stop - wrong number", OptOutClear},
	{"Stop texting me, I'm not your patient anymore", OptOutClear},
	{"please opt me out", OptOutClear},
	{"Don't contact me again", OptOutClear},
	{"I said stop texting me", OptOutClear},

	// Clear, in Spanish.
	{"Ya no me manden mensajes", OptOutClear},
	{"Por favor ya no me manden mensajes 🙏", OptOutClear},
	{"No me envíen más textos", OptOutClear},
	{"no me envien mas textos", OptOutClear},
	{"Dejen de escribirme", OptOutClear},
	{"dejen de mandarme mensajes!!", OptOutClear},
	{"No más mensajes", OptOutClear},
	{"NO MAS MENSAJES POR FAVOR", OptOutClear},
	{"No quiero recibir más mensajes", OptOutClear},
	{"ya no quiero recibir mensajes", OptOutClear},
	{"No quiero mensajes", OptOutClear},
	{"Quiero darme de baja", OptOutClear},
	{"Denme de baja por favor", OptOutClear},
	{"Sáquenme de la lista", OptOutClear},
	{"Borren mi número", OptOutClear},
	{"no me escriban más", OptOutClear},
	{"No me manden nada", OptOutClear},
	{"Paren los mensajes", OptOutClear},
	{"Basta de mensajes", OptOutClear},
	{"ya no me envien msj", OptOutClear},
	{"Porfa ya no me manden mensajes", OptOutClear},
	{"No me vuelvan a escribir", OptOutClear},
	{"No quiero que me manden más mensajes", OptOutClear},
	{"Cancelar mensajes", OptOutClear},
	{"cancelar suscripción", OptOutClear},
	{"Dejen de mandar mensajes a este número", OptOutClear},
	{"No me contacten más", OptOutClear},
	{"no me llamen mas", OptOutClear},
	{"Alto", OptOutClear},
	{"PARAR", OptOutClear},
	{"Baja", OptOutClear},
	{"Stop por favor", OptOutClear},
	{"ya no quiero mensajes, gracias", OptOutClear},
	{"No deseo recibir mensajes de texto", OptOutClear},
	{"Número equivocado, ya no me manden mensajes", OptOutClear},
	{"Ya dejen de mandarme mensajes!!!", OptOutClear},
	{"Buenas tardes, ya no quiero recibir estos mensajes. Gracias", OptOutClear},
	{"NO ME ENVIEN MAS MENSAJES", OptOutClear},
	{"no me manden mas msjs xfa", OptOutClear},
	{"Ya no me interesa, no me manden más mensajes", OptOutClear},
	{"Alto por favor", OptOutClear},
	{"alto a los mensajes", OptOutClear},
	{"Baja por favor", OptOutClear},
	{"Ya no soy paciente, no me manden mensajes", OptOutClear},
	{"No me escriban por favor", OptOutClear},
	{"deje de mandarme mensajes", OptOutClear},
	{"No quiero que me contacten", OptOutClear},
	{"Cancelen los mensajes", OptOutClear},
	{"parar mensajes", OptOutClear},
	{"me doy de baja", OptOutClear},
	{"dejen de llamarme", OptOutClear},
	{"Estoy bien, ya no me manden mensajes", OptOutClear},

	// None: answers, health reports, the words in other senses, and asking for more.
	{"I stopped my metformin", OptOutNone},
	{"I stopped taking the water pill", OptOutNone},
	{"stop by the pharmacy", OptOutNone},
	{"Can you stop by tomorrow?", OptOutNone},
	{"the pain won't stop", OptOutNone},
	{"I can't stop coughing", OptOutNone},
	{"The bleeding stopped", OptOutNone},
	{"no", OptOutNone},
	{"2", OptOutNone},
	{"yes", OptOutNone},
	{"YES!", OptOutNone},
	{"Y", OptOutNone},
	{"N", OptOutNone},
	{"7", OptOutNone},
	{"150/95", OptOutNone},
	{"my pressure was 150 over 95", OptOutNone},
	{"Please don't stop texting me", OptOutNone},
	{"I don't want to stop", OptOutNone},
	{"Don't stop the texts, they help me", OptOutNone},
	{"Should I stop taking lisinopril?", OptOutNone},
	{"I had to stop walking halfway", OptOutNone},
	{"Doctor told me to stop the aspirin", OptOutNone},
	{"I quit smoking last month!", OptOutNone},
	{"My swelling won't go down", OptOutNone},
	{"I need to cancel my appointment", OptOutNone},
	{"Can you text me the address?", OptOutNone},
	{"I got your text, thanks", OptOutNone},
	{"Thanks for the reminder", OptOutNone},
	{"Sorry I didn't answer, I was at work", OptOutNone},
	{"I'm feeling better today", OptOutNone},
	{"no pain", OptOutNone},
	{"No more pain since Tuesday 🙂", OptOutNone},
	{"no more swelling", OptOutNone},
	{"I stopped the lasix because I was peeing too much", OptOutNone},
	{"Keep texting me please, it helps", OptOutNone},
	{"I love getting these reminders", OptOutNone},
	{"Please call me", OptOutNone},
	{"Text me tomorrow", OptOutNone},
	{"Ok", OptOutNone},
	{"👍", OptOutNone},
	{"end of the month is fine", OptOutNone},
	{"I want to stop smoking", OptOutNone},
	{"my heart won't stop racing", OptOutNone},
	{"I can't stop sneezing lol", OptOutNone},
	{"Had to stop at the ER last night", OptOutNone},
	{"stopped eating salt", OptOutNone},
	{"I ran out of pills", OptOutNone},
	{"Is this Dr. Lopez's office?", OptOutNone},
	{"I'll stop by the clinic Friday", OptOutNone},
	{"I don't want you to stop texting me", OptOutNone},
	{"Stop the swelling how?", OptOutNone},
	{"", OptOutNone},
	{"   ", OptOutNone},
	{"!!!", OptOutNone},
	{"no, no chest pain", OptOutNone},
	{"Nope", OptOutNone},
	{"stop light was red so I was late", OptOutNone},
	{"no thank you", OptOutNone},
	{"my pressure is high, alto", OptOutNone},
	{"no paro de toser", OptOutNone},
	{"Dejé de tomar la pastilla", OptOutNone},
	{"quiero dejar de fumar", OptOutNone},
	{"sí", OptOutNone},
	{"Si", OptOutNone},
	{"ya no me duele", OptOutNone},
	{"No más dolor", OptOutNone},
	{"Mi presión está alta", OptOutNone},
	{"la presión alta, 160/100", OptOutNone},
	{"no puedo parar de toser", OptOutNone},
	{"ya paró el sangrado", OptOutNone},
	{"Paré la medicina porque me mareaba", OptOutNone},
	{"No me llegó el mensaje", OptOutNone},
	{"Mándenme la receta por mensaje", OptOutNone},
	{"Gracias por el recordatorio", OptOutNone},
	{"No dejen de mandarme mensajes por favor", OptOutNone},
	{"Sigan mandando los mensajes, me ayudan", OptOutNone},
	{"No tengo dolor", OptOutNone},
	{"bien gracias", OptOutNone},
	{"Estoy mejor hoy", OptOutNone},
	{"¿Me pueden llamar mañana?", OptOutNone},
	{"Se me acabó la pastilla para la presión", OptOutNone},
	{"Tengo el azúcar alto, 250", OptOutNone},
	{"baja, como 60", OptOutNone},
	{"mi azúcar está baja", OptOutNone},
	{"No quiero dejar de recibir los mensajes", OptOutNone},
	{"ya dejé de fumar", OptOutNone},
	{"no se me quita la tos", OptOutNone},
	{"Please continue the texts", OptOutNone},
	{"Sorry, wrong number, I meant 7", OptOutNone},
	{"Wrong number I meant 120/80", OptOutNone},
	{"I don't want the flu shot", OptOutNone},
	{"take me off the lisinopril", OptOutNone},
	{"I don't want to take insulin", OptOutNone},
	{"My doctor said to stop the metoprolol and call you", OptOutNone},
	{"What happens if I reply stop", OptOutNone},
	{"No more pills left", OptOutNone},
	{"no more chest pain", OptOutNone},
	{"I stopped smoking!", OptOutNone},
	{"Nausea stopped yesterday", OptOutNone},
	{"Stopped by the pharmacy, got my refill", OptOutNone},
	{"Ended up in the ER", OptOutNone},
	{"The end", OptOutNone},
	{"Should I stop?", OptOutNone},
	{"can I stop the medicine", OptOutNone},
	{"Stop worrying about me lol", OptOutNone},
	{"please keep texting me", OptOutNone},
	{"I need these reminders", OptOutNone},
	{"Don't unsubscribe me", OptOutNone},
	{"Texts are fine", OptOutNone},
	{"I dont want a nurse to call", OptOutNone},
	{"No I don't need a call back", OptOutNone},
	{"no me dejen de mandar mensajes", OptOutNone},
	{"No quiero que me pongan insulina", OptOutNone},
	{"Alto el azúcar", OptOutNone},
	{"azúcar baja", OptOutNone},
	{"Necesito cancelar mi cita del martes", OptOutNone},
	{"Los mensajes me ayudan", OptOutNone},
	{"no me mandaron la receta", OptOutNone},
	{"ya no quiero tomar la metformina", OptOutNone},
	{"paren la medicina?", OptOutNone},
	{"¿Puedo parar la medicina?", OptOutNone},
	{"no paran los mareos", OptOutNone},
	{"Presión alta", OptOutNone},
	{"Cancelé la cita", OptOutNone},
	{"Me gustan los mensajes", OptOutNone},
	{"No gracias, estoy bien", OptOutNone},

	// Doubtful: maybe a request to stop, maybe not; a human decides.
	{"why do you keep texting me", OptOutDoubtful},
	{"Why do you keep texting me??", OptOutDoubtful},
	{"who is this, stop", OptOutDoubtful},
	{"Stop. Who is this?", OptOutDoubtful},
	{"I don't want this", OptOutDoubtful},
	{"leave me alone", OptOutDoubtful},
	{"who is this", OptOutDoubtful},
	{"Stop it", OptOutDoubtful},
	{"stop texting me at night", OptOutDoubtful},
	{"Stop texting me so early", OptOutDoubtful},
	{"Please stop texting me until Monday", OptOutDoubtful},
	{"stop texting me, call me instead", OptOutDoubtful},
	{"Don't text me, text my daughter", OptOutDoubtful},
	{"My mother passed away. Please stop texting", OptOutDoubtful},
	{"no more", OptOutDoubtful},
	{"enough!", OptOutDoubtful},
	{"how do I stop these texts?", OptOutDoubtful},
	{"how do I unsubscribe", OptOutDoubtful},
	{"too many texts", OptOutDoubtful},
	{"not interested", OptOutDoubtful},
	{"wrong number", OptOutDoubtful},
	{"Stop, I already took my meds", OptOutDoubtful},
	{"stop texting me about my sugar", OptOutDoubtful},
	{"I never signed up for this", OptOutDoubtful},
	{"this is spam", OptOutDoubtful},
	{"Don't text me today", OptOutDoubtful},
	{"stop texting me. jk", OptOutDoubtful},
	{"Stop texting me, but keep calling", OptOutDoubtful},
	{"Stop texting me. Don't stop calling", OptOutDoubtful},
	{"Cancel please", OptOutDoubtful},
	{"I don't need these texts anymore", OptOutDoubtful},
	{"Stop sending me the same question", OptOutDoubtful},
	{"Stop texting me in English", OptOutDoubtful},
	{"Stop texting me, text me in Spanish", OptOutDoubtful},
	{"If you text me again I will report you", OptOutDoubtful},
	{"no quiero esto", OptOutDoubtful},
	{"¿Quién es?", OptOutDoubtful},
	{"Déjenme en paz", OptOutDoubtful},
	{"¿Por qué me mandan tantos mensajes?", OptOutDoubtful},
	{"ya basta", OptOutDoubtful},
	{"No más", OptOutDoubtful},
	{"Ya no", OptOutDoubtful},
	{"No me molesten", OptOutDoubtful},
	{"número equivocado", OptOutDoubtful},
	{"¿Cómo me doy de baja?", OptOutDoubtful},
	{"Ya no me manden mensajes en la noche", OptOutDoubtful},
	{"No me manden mensajes hoy", OptOutDoubtful},
	{"Ya no me manden mensajes, mándenle a mi hija", OptOutDoubtful},
	{"Mi mamá falleció, ya no manden mensajes", OptOutDoubtful},
	{"No me interesa", OptOutDoubtful},
	{"Paren", OptOutDoubtful},
	{"ya no quiero", OptOutDoubtful},
	{"No me manden mensajes tan temprano", OptOutDoubtful},
	{"Mejor llámenme, no me manden mensajes", OptOutDoubtful},
	{"Stop texting me. I'm fine, I see my doctor every month", OptOutDoubtful},
	// Run-on sentences are not split: a human reads them.
	{"stop texting me stop calling me", OptOutDoubtful},
	{"Please don't call, just text", OptOutDoubtful},
	{"No calls please, texts are fine", OptOutDoubtful},
	{"Stop calling, text me instead", OptOutDoubtful},
	{"stop texting this number, it's my daughter's phone", OptOutDoubtful},
	{"Don't call me after 8pm", OptOutDoubtful},
	{"No me llame antes de las 9", OptOutDoubtful},
	{"Enough with the texts", OptOutDoubtful},
	{"I don't consent", OptOutDoubtful},
	{"who dis", OptOutDoubtful},
	{"stop asking me questions", OptOutDoubtful},
	{"Paren ya", OptOutDoubtful},
	{"Dejen de molestarme", OptOutDoubtful},
	{"turn these off", OptOutDoubtful},
	{"I want out", OptOutDoubtful},
	{"Quiero cancelar", OptOutDoubtful},
	{"ya me siento bien, ya no necesito los mensajes", OptOutDoubtful},
	{"Blocked", OptOutDoubtful},
	{"Reported as spam", OptOutDoubtful},
	{"how did u get my number", OptOutDoubtful},
	{"My husband died, stop texting him", OptOutDoubtful},
	{"STOP!!! I never signed up for this", OptOutDoubtful},
	{"¿Cómo cancelo los mensajes?", OptOutDoubtful},
	{"¿Quién me escribe?", OptOutDoubtful},
	{"Ya no soy paciente de ustedes", OptOutDoubtful},
	{"no me molesten mas", OptOutDoubtful},
	{"Stop sending me reminders about my pills, I take them", OptOutDoubtful},
}

func TestClassifyOptOut(t *testing.T) {
	for _, tt := range optOutCases {
		t.Run(tt.body, func(t *testing.T) {
			if got := ClassifyOptOut(tt.body); got != tt.want {
				t.Errorf("ClassifyOptOut(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

// TestClassifyOptOutCoverage keeps the table large on both sides of the line.
func TestClassifyOptOutCoverage(t *testing.T) {
	n := map[OptOutIntent]int{}
	seen := map[string]bool{}
	for _, tt := range optOutCases {
		if seen[tt.body] {
			t.Errorf("%q is in the table twice", tt.body)
		}
		seen[tt.body] = true
		n[tt.want]++
	}
	for _, i := range []OptOutIntent{OptOutClear, OptOutNone} {
		if n[i] < 60 {
			t.Errorf("%d %v replies in the table, want at least 60", n[i], i)
		}
	}
	if n[OptOutDoubtful] < 30 {
		t.Errorf("%d doubtful replies in the table, want at least 30", n[OptOutDoubtful])
	}
}

// TestClassifyOptOutKeywords: every carrier keyword that stops texts is a clear opt-out, and
// the other keywords are none.
func TestClassifyOptOutKeywords(t *testing.T) {
	for k, kw := range keywords {
		want := OptOutNone
		if kw == KeywordStop {
			want = OptOutClear
		}
		for _, body := range []string{k, strings.ToUpper(k), " " + k + "!! ", k + " 🛑"} {
			if got := ClassifyOptOut(body); got != want {
				t.Errorf("ClassifyOptOut(%q) = %v, want %v", body, got, want)
			}
		}
	}
}

// TestPlainPhrasesLeftKeywords: the plain phrases that were keywords are the classifier's now,
// and still opt out.
func TestPlainPhrasesLeftKeywords(t *testing.T) {
	for _, body := range []string{"stop texting", "stop texting me", "Stop texting me.", "please stop", "stop please",
		"no more texts", "no mas mensajes", "no más mensajes"} {
		if got := ClassifyKeyword(body); got != NoKeyword {
			t.Errorf("ClassifyKeyword(%q) = %v, want no keyword", body, got)
		}
		if got := ClassifyOptOut(body); got != OptOutClear {
			t.Errorf("ClassifyOptOut(%q) = %v, want clear", body, got)
		}
	}
}

func FuzzClassifyOptOut(f *testing.F) {
	for _, tt := range optOutCases {
		f.Add(tt.body)
	}
	for k := range keywords {
		f.Add(k)
	}
	f.Add("\xff\xfestop")
	f.Add("ſtop texting me")
	f.Add(strings.Repeat("stop texting me ", 100))
	f.Fuzz(func(t *testing.T, body string) {
		got := ClassifyOptOut(body)
		switch got {
		case OptOutNone, OptOutClear, OptOutDoubtful:
		default:
			t.Fatalf("ClassifyOptOut(%q) = %d", body, got)
		}
		if again := ClassifyOptOut(body); again != got {
			t.Fatalf("ClassifyOptOut(%q) = %v, then %v", body, got, again)
		}
		if utf8.ValidString(body) {
			for _, b := range []string{strings.ToUpper(body), strings.ToLower(body)} {
				if c := ClassifyOptOut(b); c != got {
					t.Fatalf("ClassifyOptOut(%q) = %v, but %v for %q", body, got, c, b)
				}
			}
		}
		for _, b := range []string{"  " + body + "  ", body + "!!!", "¡" + body + "!", body + "...", "\n" + body + " 🙏"} {
			if c := ClassifyOptOut(b); c != got {
				t.Fatalf("ClassifyOptOut(%q) = %v, but %v for %q", body, got, c, b)
			}
		}
		if ClassifyKeyword(body) == KeywordStop && got != OptOutClear {
			t.Fatalf("ClassifyOptOut(%q) = %v for a STOP keyword", body, got)
		}
		checkRuleWords(t, body)
	})
}

// TestOptOutRuleWords: the table's sentences match the same rules with and without the
// words that pick them.
func TestOptOutRuleWords(t *testing.T) {
	for _, tt := range optOutCases {
		checkRuleWords(t, tt.body)
	}
}

// checkRuleWords fails when a rule matches a sentence without any of its words: the words
// would hide it.
func checkRuleWords(t *testing.T, body string) {
	t.Helper()
	for _, words := range optOutClauses(body) {
		words = dropCourtesy(words)
		sentence := strings.Join(words, " ")
		for name, rs := range map[string]rules{"clear": clearRequests, "keep": keepRequests, "cue": optOutCues} {
			all := false
			for _, re := range rs.patterns {
				all = all || re.MatchString(sentence)
			}
			if picked := rs.match(words, sentence); picked != all {
				t.Fatalf("%s rules on %q: %v through their words, %v run all", name, sentence, picked, all)
			}
		}
	}
}

func BenchmarkClassifyOptOut(b *testing.B) {
	bodies := []string{"Stop texting me", "8", "yes", "I stopped my metformin", "Por favor ya no me manden mensajes 🙏",
		"my pressure was 150 over 95 this morning and I feel a little dizzy when I stand up", "who is this, stop"}
	for b.Loop() {
		for _, body := range bodies {
			ClassifyOptOut(body)
		}
	}
}
