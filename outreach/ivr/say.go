package ivr

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/outreach-engine/outreach/scripts"
)

// Phrases a call says.
var (
	NurseAck = scripts.Text{
		scripts.English: "A nurse from your care team will call you back. Goodbye.",
		scripts.Spanish: "Una enfermera de su equipo de cuidado le devolverá la llamada. Adiós.",
	}
	OptOutAck = scripts.Text{
		scripts.English: "You will not get these calls anymore. To start them again, call your care team. Goodbye.",
		scripts.Spanish: "Ya no recibirá estas llamadas. Para recibirlas de nuevo, llame a su equipo de cuidado. Adiós.",
	}
	Dial911 = scripts.Text{
		scripts.English: "Please hang up now and dial 911.",
		scripts.Spanish: "Por favor cuelgue ahora y marque el 911.",
	}
	TryLater = scripts.Text{
		scripts.English: "We will call you another time. Goodbye.",
		scripts.Spanish: "Le llamaremos en otro momento. Adiós.",
	}
	Trouble = scripts.Text{
		scripts.English: "Sorry, we are having a problem. Your care team will call you. Goodbye.",
		scripts.Spanish: "Perdón, tenemos un problema. Su equipo de cuidado le llamará. Adiós.",
	}
)

var (
	careTeam      = scripts.Text{scripts.English: "your care team", scripts.Spanish: "su equipo de cuidado"}
	notHeard      = scripts.Text{scripts.English: "Sorry, I did not hear an answer.", scripts.Spanish: "Perdón, no escuché su respuesta."}
	notUnderstood = scripts.Text{scripts.English: "Sorry, I did not understand.", scripts.Spanish: "Perdón, no le entendí."}
	sayItToo      = scripts.Text{scripts.English: "You can also say your answer.", scripts.Spanish: "También puede decir su respuesta."}
	genericIntro  = scripts.Text{scripts.English: "This is your check-in from your care team.",
		scripts.Spanish: "Este es su control de su equipo de cuidado."}
)

func orCareTeam(practice string, lang scripts.Language) string {
	if practice == "" {
		return careTeam.In(lang)
	}
	return practice
}

// Menu is the opening of a call a person answered: a greeting that names the practice only
// (whoever picks up may hear it: never the patient, a condition or a script), then the choices:
// 1 or "yes" to start, 0 or "nurse" for a call back, 9 or "stop" to stop the calls. again starts
// with an apology, after silence or an input it did not understand.
func Menu(practice string, lang scripts.Language, again bool) Turn {
	who := orCareTeam(practice, lang)
	var greet, options string
	var hints []string
	if lang == scripts.Spanish {
		greet = fmt.Sprintf("Hola, le llamamos de %s para su control de rutina.", who)
		options = "Para empezar, oprima 1 o diga sí. Para que una enfermera le devuelva la llamada, oprima 0 o diga enfermera. Para no recibir más llamadas, oprima 9 o diga parar."
		hints = []string{"sí", "enfermera", "parar"}
	} else {
		greet = fmt.Sprintf("Hello, this is %s calling for your routine check-in.", who)
		options = "To start, press 1 or say yes. For a nurse to call you back, press 0 or say nurse. To stop these calls, press 9 or say stop."
		hints = []string{"yes", "nurse", "stop"}
	}
	if again {
		greet = notUnderstood.In(lang)
	}
	return Turn{Lang: lang, Gather: &Gather{Step: StepMenu, Prompt: greet + " " + options, NumDigits: 1, Hints: hints, Timeout: 7}}
}

// Voicemail is the message left on an answering machine: the practice and a number to call
// back, nothing about the patient or their health. The call hangs up after it.
func Voicemail(practice, phone string, lang scripts.Language) Turn {
	who := orCareTeam(practice, lang)
	var b strings.Builder
	if lang == scripts.Spanish {
		fmt.Fprintf(&b, "Hola, le llamamos de %s para un control de rutina.", who)
		if phone != "" {
			fmt.Fprintf(&b, " Por favor devuélvanos la llamada al %s.", SpokenPhone(phone))
		}
		b.WriteString(" Gracias.")
	} else {
		fmt.Fprintf(&b, "Hello, this is %s calling for a routine check-in.", who)
		if phone != "" {
			fmt.Fprintf(&b, " Please call us back at %s.", SpokenPhone(phone))
		}
		b.WriteString(" Thank you.")
	}
	return Turn{Lang: lang, Say: []string{b.String()}}
}

// SpokenPhone writes a North American E.164 number as 555-555-0100, which a voice reads digit
// by digit in groups; other numbers lose only their plus sign.
func SpokenPhone(e164 string) string {
	d := strings.TrimPrefix(e164, "+")
	if len(d) == 11 && d[0] == '1' {
		return d[1:4] + "-" + d[4:7] + "-" + d[7:]
	}
	return d
}

// sentence splits text after a sentence's end, keeping the punctuation.
var sentence = regexp.MustCompile(`[^.!?]+[.!?]*\s*`)

// aboutTexting matches sentences that only make sense in a text message: a reply instruction,
// or the STOP keyword (in capitals: "did you stop a medicine?" is a question).
var aboutTexting = regexp.MustCompile(`(?i:\b(reply|responda|text back)\b)|\bSTOP\b`)

// Spoken makes a message written for texting fit to speak: sentences that tell the patient to
// reply or to text STOP are dropped; the rest ("call 911", "call or text 988") stays.
func Spoken(text string) string {
	var kept []string
	for _, s := range sentence.FindAllString(text, -1) {
		if s = strings.TrimSpace(s); s != "" && !aboutTexting.MatchString(s) {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, " ")
}

// Intro is a script's introduction fit to speak.
func Intro(s *scripts.Script, lang scripts.Language) string {
	if t := Spoken(s.Intro.In(lang)); t != "" {
		return t
	}
	return genericIntro.In(lang)
}

// Closing is a script's closing fit to speak.
func Closing(s *scripts.Script, lang scripts.Language) string { return Spoken(s.Closing.In(lang)) }

// inlineChoices finds the numbered list a choice question's text ends with ("… 1 Yes  2 No").
var inlineChoices = regexp.MustCompile(`\s+1[\s.)]`)

// singleKey reports whether a question is answered with one key press, which leaves 0 and 9
// free for a nurse and for stopping the calls.
func singleKey(q *scripts.Question) bool {
	return q.Type == scripts.YesNo || (q.Type == scripts.Choice && len(q.Choices) <= 8)
}

// Ask is the prompt of a question: the question without its texting instructions, then how to
// answer with the keypad or by voice.
func Ask(q *scripts.Question, lang scripts.Language) *Gather {
	text := q.Text.In(lang)
	if q.Type == scripts.Choice {
		if loc := inlineChoices.FindStringIndex(text); loc != nil {
			text = text[:loc[0]]
		}
	}
	parts := []string{Spoken(text)}
	g := &Gather{Step: q.ID, Timeout: 10}
	es := lang == scripts.Spanish
	pick := func(en, sp string) string {
		if es {
			return sp
		}
		return en
	}
	pound := pick("then press the pound key.", "y luego oprima la tecla de numeral.")
	switch q.Type {
	case scripts.YesNo:
		parts = append(parts, pick("Press 1 for yes, or 2 for no.", "Oprima 1 para sí, o 2 para no."))
		g.Hints = []string{pick("yes", "sí"), "no"}
	case scripts.Choice:
		for i, o := range q.Choices {
			label := o.Label.In(lang)
			parts = append(parts, fmt.Sprintf(pick("Press %d for %s.", "Oprima %d para %s."), i+1, strings.TrimRight(label, ".")))
			g.Hints = append(g.Hints, label)
			g.Hints = append(g.Hints, o.Aliases[lang]...)
		}
		if !singleKey(q) {
			parts = append(parts, pick("Then press the pound key.", "Luego oprima la tecla de numeral."))
		}
	case scripts.Number:
		parts = append(parts, pick("Enter the number on your keypad, ", "Marque el número en su teclado ")+pound)
		if q.Unit != "" {
			parts = append(parts, pick("For a decimal point, press star.", "Para el punto decimal, oprima asterisco."))
		}
	case scripts.Scale:
		parts = append(parts, pick("Enter a number from 0 to 10, ", "Marque un número del 0 al 10 ")+pound)
	case scripts.BloodPressure:
		parts = append(parts, pick("Enter the top number, press star, then the bottom number, ",
			"Marque el número de arriba, oprima asterisco, luego el número de abajo, ")+pound)
	default:
		parts = append(parts, pick("Say your answer after this message.", "Diga su respuesta después de este mensaje."))
		g.Timeout = 8
	}
	if q.Type != scripts.FreeText {
		parts = append(parts, sayItToo.In(lang))
	}
	if singleKey(q) {
		g.NumDigits, g.Timeout = 1, 7
	}
	g.Prompt = strings.Join(parts, " ")
	return g
}

// Reask is Ask after an apology: no answer was heard (silent) or it could not be read.
func Reask(q *scripts.Question, lang scripts.Language, silent bool) *Gather {
	g := Ask(q, lang)
	sorry := notUnderstood
	if silent {
		sorry = notHeard
	}
	g.Prompt = sorry.In(lang) + " " + g.Prompt
	return g
}
