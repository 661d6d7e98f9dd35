package ivr

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/outreach-engine/outreach/scripts"
)

// ReadMenu reads the input to the opening menu: 1, "yes", "start", "sí", "empezar" start the
// check-in; 0, "nurse", "enfermera" ask for a nurse; 9, "stop", "parar", "no me llame" stop the
// calls. No input is Silence; anything else, or words of two choices ("yes, a nurse"), Unclear.
func ReadMenu(in Input) Intent {
	if d := strings.TrimRight(in.Digits, "#"); d != "" {
		switch d {
		case "1":
			return Start
		case "0":
			return Nurse
		case "9":
			return OptOut
		}
		return Unclear
	}
	f := fold(in.Speech)
	if f == "" {
		return Silence
	}
	if intent, ok := request(f); ok {
		return intent
	}
	found := Unclear
	for _, w := range strings.Fields(f) {
		intent, ok := menuWords[w]
		switch {
		case !ok:
		case found == Unclear:
			found = intent
		case found != intent:
			return Unclear
		}
	}
	return found
}

// menuWords are the words that choose at the menu wherever they are said: "yes, go ahead".
var menuWords = map[string]Intent{
	"1": Start, "one": Start, "yes": Start, "yeah": Start, "yep": Start, "sure": Start, "ok": Start,
	"okay": Start, "start": Start, "begin": Start, "ready": Start, "uno": Start, "si": Start,
	"claro": Start, "empezar": Start, "empiece": Start, "comenzar": Start, "bueno": Start, "listo": Start,
	"lista": Start, "dale": Start,
	"0": Nurse, "zero": Nurse, "nurse": Nurse, "cero": Nurse, "enfermera": Nurse, "enfermero": Nurse,
	"9": OptOut, "nine": OptOut, "stop": OptOut, "unsubscribe": OptOut, "nueve": OptOut, "parar": OptOut,
}

// Read reads the input to a question. Keys 0 and 9 ask for a nurse and stop the calls on
// questions answered with one key; on number, scale and blood pressure entries they are
// digits. Speech that is only a request for a nurse or to stop the calls counts on any
// question. Anything else is an answer, given as the text the question's parser reads: a
// blood pressure keyed as 130*80 becomes "130/80", a number keyed as 98*6 "98.6", a trailing #
// is dropped, and speech is passed on as said. Keys win over speech.
func Read(q *scripts.Question, in Input) (Intent, string) {
	if d := strings.TrimRight(in.Digits, "#"); d != "" {
		if singleKey(q) {
			switch d {
			case "0":
				return Nurse, ""
			case "9":
				return OptOut, ""
			}
		}
		switch q.Type {
		case scripts.BloodPressure:
			d = strings.Replace(d, "*", "/", 1)
		case scripts.Number:
			d = strings.Replace(d, "*", ".", 1)
		}
		return Answer, strings.ReplaceAll(d, "*", "")
	}
	f := fold(in.Speech)
	if f == "" {
		return Silence, ""
	}
	if intent, ok := request(f); ok {
		return intent, ""
	}
	return Answer, in.Speech
}

// singleKey reports whether a question is answered with one key press, which leaves 0 and 9
// free for a nurse and for stopping the calls.
func singleKey(q *scripts.Question) bool {
	return q.Type == scripts.YesNo || q.Type == scripts.Choice && len(q.Choices) <= 8
}

// Whole utterances, folded and without courtesies, that ask for a nurse or to stop the calls.
// Only the whole utterance counts: "I had to stop walking" is an answer.
var (
	courtesy     = regexp.MustCompile(`\b(please|thank you|thanks|por favor|gracias)\b`)
	nurseRequest = wholeUtterance(
		`((i (want|need|would like)|id like|can i|could i|may i) )?(to )?((talk|speak) (to|with) )?((a|the|my) )?nurse`,
		`(have )?(a|the|my) nurse call( me)?( back)?`,
		`((quiero|necesito|quisiera|puedo) )?(hablar con )?((una?|la|el|mi) )?enfermer[ao]`,
		`(que )?me llame (una|la|el|mi) enfermer[ao]`,
	)
	stopRequest = wholeUtterance(
		`(i want to )?stop( it| calling( me)?| (these|the) calls)?`,
		`(do not|dont) call( me)?( again| anymore)?`,
		`no more calls|unsubscribe`,
		`parar|para|pare|paren`,
		`(ya )?no (me )?(llame|llamen|llames)( mas)?`,
		`(ya )?no (quiero )?mas llamadas`,
		`(dejen?|dejar) de llamar(me)?`,
	)
)

// wholeUtterance matches any of the patterns as a whole folded utterance.
func wholeUtterance(patterns ...string) *regexp.Regexp {
	return regexp.MustCompile(`^(` + strings.Join(patterns, "|") + `)$`)
}

// request reads a folded utterance that only asks for a nurse or to stop the calls.
func request(folded string) (Intent, bool) {
	f := strings.Join(strings.Fields(courtesy.ReplaceAllString(folded, " ")), " ")
	switch {
	case stopRequest.MatchString(f):
		return OptOut, true
	case nurseRequest.MatchString(f):
		return Nurse, true
	}
	return Answer, false
}

// fold lower-cases s, drops accents and apostrophes ("don't" → "dont") and turns any other
// punctuation into spaces, leaving words separated by single spaces.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if f, ok := accents[r]; ok {
			r = f
		}
		switch {
		case r == '\'' || r == '’':
			continue
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

var accents = map[rune]rune{
	'á': 'a', 'à': 'a', 'ä': 'a', 'â': 'a', 'é': 'e', 'è': 'e', 'ë': 'e', 'ê': 'e',
	'í': 'i', 'ì': 'i', 'ï': 'i', 'î': 'i', 'ó': 'o', 'ò': 'o', 'ö': 'o', 'ô': 'o',
	'ú': 'u', 'ù': 'u', 'ü': 'u', 'û': 'u', 'ñ': 'n',
}
