package ivr

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/outreach-engine/outreach/scripts"
)

// Seconds of silence that end an input: one key press is quick, an entry or a sentence is not.
const (
	keyTimeout   = 7
	entryTimeout = 10
)

// Menu is the opening of a call a person answered: a greeting that names the practice only
// (whoever picks up may hear it: never the patient, a condition or a script), then the choices:
// 1 or "yes" to start the check-in, 0 or "nurse" for a nurse to call back, 9 or "stop" to stop
// these calls. again starts with an apology, after silence or an input it did not understand.
func Menu(practice string, lang scripts.Language, again bool) Turn {
	who := orCareTeam(practice, lang)
	greet := fmt.Sprintf(hello.In(lang), who)
	if again {
		greet = notGotten.In(lang) + " " + fmt.Sprintf(thisIs.In(lang), who)
	}
	hints, ok := menuHints[lang]
	if !ok {
		hints = menuHints[scripts.English]
	}
	return Turn{Lang: lang, Gather: &Gather{Step: StepMenu, Prompt: greet + " " + menuKeys.In(lang), NumDigits: 1,
		Hints: slices.Clone(hints), Timeout: keyTimeout}}
}

// Voicemail is the message left on an answering machine: the practice and, unless phone is "",
// the number to call back; nothing about the patient or their health. The call hangs up after it.
func Voicemail(practice, phone string, lang scripts.Language) Turn {
	say := []string{fmt.Sprintf(voicemail.In(lang), orCareTeam(practice, lang))}
	if phone != "" {
		say = append(say, fmt.Sprintf(callBack.In(lang), spokenPhone(phone)))
	}
	return Turn{Lang: lang, Say: []string{strings.Join(append(say, thanks.In(lang)), " ")}}
}

func orCareTeam(practice string, lang scripts.Language) string {
	if practice == "" {
		return careTeam.In(lang)
	}
	return practice
}

// spokenPhone writes a phone number the way a voice reads it well: a North American number
// (+15555550100, 5555550100) as 555-555-0100, read in groups; any other as its digits one by one.
func spokenPhone(phone string) string {
	var d []string
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			d = append(d, string(r))
		}
	}
	if len(d) == 11 && d[0] == "1" {
		d = d[1:]
	}
	if len(d) == 10 {
		return strings.Join(d[:3], "") + "-" + strings.Join(d[3:6], "") + "-" + strings.Join(d[6:], "")
	}
	return strings.Join(d, " ")
}

// sentenceEnd ends a sentence: a run of . ! or ? before a space ("98.6" goes on).
var sentenceEnd = regexp.MustCompile(`[.!?]+\s+`)

// aboutTexting matches a sentence that only makes sense in a text message: a reply instruction,
// a request to text us, or the STOP keyword (in capitals: "did you stop a medicine?" is a
// question). "Call or text 988" is not one.
var aboutTexting = regexp.MustCompile(`(?i:\b(reply|text (us|back)|responda|conteste|env[ií]enos|m[aá]ndenos|escr[ií]banos)\b)|\bSTOP\b`)

// Spoken makes a message written for texting fit to speak (a rule's "tell", the emergency
// message): sentences that tell the patient to reply or to text us are dropped; the rest ("call
// 911", "call or text 988") stays.
func Spoken(text string) string {
	var kept []string
	start := 0
	for _, end := range append(sentenceEnd.FindAllStringIndex(text, -1), []int{len(text), len(text)}) {
		if s := strings.TrimSpace(text[start:end[1]]); s != "" && !aboutTexting.MatchString(s) {
			kept = append(kept, s)
		}
		start = end[1]
	}
	return strings.Join(kept, " ")
}

// Intro is a script's introduction fit to speak, or a generic one when nothing of it is.
func Intro(s *scripts.Script, lang scripts.Language) string {
	if t := Spoken(s.Intro.In(lang)); t != "" {
		return t
	}
	return genericIntro.In(lang)
}

// Closing is a script's closing fit to speak.
func Closing(s *scripts.Script, lang scripts.Language) string { return Spoken(s.Closing.In(lang)) }

// Ask is the prompt of a question: the question without its texting instructions or its
// numbered list of choices, then how to answer with the keypad, and that one may answer by
// voice. A free-text question is answered by voice only.
func Ask(q *scripts.Question, lang scripts.Language) *Gather {
	g := &Gather{Step: q.ID, Timeout: entryTimeout}
	parts := []string{Spoken(withoutChoiceList(q, lang))}
	switch q.Type {
	case scripts.YesNo:
		parts = append(parts, pressYesNo.In(lang))
		g.Hints = []string{yes.In(lang), "no"}
	case scripts.Choice:
		for i, o := range q.Choices {
			label := strings.TrimRight(o.Label.In(lang), ".")
			parts = append(parts, fmt.Sprintf(pressChoice.In(lang), i+1, label))
			for _, h := range append([]string{label}, o.Aliases[lang]...) {
				if !slices.ContainsFunc(g.Hints, func(had string) bool { return fold(had) == fold(h) }) {
					g.Hints = append(g.Hints, h)
				}
			}
		}
		if !singleKey(q) {
			parts = append(parts, thenPound.In(lang))
		}
	case scripts.Number:
		parts = append(parts, enterNumber.In(lang))
		if decimal(q) {
			parts = append(parts, decimalStar.In(lang))
		}
	case scripts.Scale:
		parts = append(parts, enterScale.In(lang))
	case scripts.BloodPressure:
		parts = append(parts, enterReading.In(lang))
	default:
		parts = append(parts, tellUs.In(lang))
	}
	if q.Type != scripts.FreeText {
		parts = append(parts, sayIt.In(lang))
	}
	if singleKey(q) {
		g.NumDigits, g.Timeout = 1, keyTimeout
	}
	g.Prompt = strings.TrimSpace(strings.Join(parts, " "))
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

// withoutChoiceList is a question's text without the numbered list of choices a choice
// question's text ends with for texting ("… 1 Yes, all of them  2 I missed some").
func withoutChoiceList(q *scripts.Question, lang scripts.Language) string {
	text := q.Text.In(lang)
	if q.Type != scripts.Choice || len(q.Choices) == 0 {
		return text
	}
	first := q.Choices[0].Label.In(lang)
	for _, item := range []string{"1 ", "1. ", "1) ", "(1) "} {
		if i := strings.Index(text, item+first); i >= 0 {
			return strings.TrimSpace(text[:i])
		}
	}
	return text
}

// decimalUnits are the units of readings taken with decimals: weights and temperatures.
var decimalUnits = []string{"lb", "lbs", "pounds", "kg", "°f", "°c", "f", "c", "degrees"}

// decimal reports whether a number question may be answered with a decimal: its unit is one of
// decimalUnits or its range has a bound that is not whole.
func decimal(q *scripts.Question) bool {
	notWhole := func(f *float64) bool { return f != nil && *f != math.Trunc(*f) }
	return slices.Contains(decimalUnits, strings.ToLower(q.Unit)) || notWhole(q.Min) || notWhole(q.Max)
}
