package ivr

import (
	"slices"
	"strings"
	"unicode"

	"github.com/outreach-engine/outreach/scripts"
)

// Whole utterances that ask for a nurse or to stop the calls (folded: lower case, no accents or
// punctuation). Only the whole utterance counts: "I had to stop walking" is an answer.
var (
	nursePhrases = []string{"nurse", "a nurse", "nurse please", "a nurse please", "talk to a nurse",
		"speak to a nurse", "i want a nurse", "enfermera", "una enfermera", "enfermera por favor",
		"hablar con una enfermera", "quiero una enfermera"}
	stopPhrases = []string{"stop", "stop calling", "stop calling me", "stop these calls", "stop the calls",
		"unsubscribe", "parar", "para", "alto", "no me llamen", "no me llame", "no me llamen mas", "no me llame mas",
		"no llamen mas"}
	startWords = []string{"yes", "yeah", "yep", "sure", "ok", "okay", "start", "begin", "si", "claro", "empezar",
		"comenzar", "bueno", "vale"}
)

// fold lower-cases text and drops accents and punctuation, leaving words separated by single
// spaces.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case strings.ContainsRune("áàä", r):
			r = 'a'
		case strings.ContainsRune("éèë", r):
			r = 'e'
		case strings.ContainsRune("íìï", r):
			r = 'i'
		case strings.ContainsRune("óòö", r):
			r = 'o'
		case strings.ContainsRune("úùü", r):
			r = 'u'
		case r == 'ñ':
			r = 'n'
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// spokenIntent reads an utterance that asks for a nurse or to stop the calls.
func spokenIntent(speech string) (Intent, bool) {
	f := fold(speech)
	switch {
	case slices.Contains(stopPhrases, f):
		return OptOut, true
	case slices.Contains(nursePhrases, f):
		return Nurse, true
	}
	return Answer, false
}

// ReadMenu reads the input to the opening menu.
func ReadMenu(in Input) Intent {
	switch {
	case in.Digits != "":
		switch strings.TrimSuffix(in.Digits, "#") {
		case "1":
			return Start
		case "0":
			return Nurse
		case "9":
			return OptOut
		}
		return Unclear
	case in.Speech != "":
		if intent, ok := spokenIntent(in.Speech); ok {
			return intent
		}
		for _, w := range strings.Fields(fold(in.Speech)) {
			if slices.Contains(startWords, w) {
				return Start
			}
		}
		return Unclear
	}
	return Silence
}

// Read reads the input to a question. Keys 0 and 9 ask for a nurse and stop the calls on
// questions answered with one key; on number entries they are digits. Speech that is only a
// request for a nurse or to stop counts on any question. Anything else is an answer, given as
// the text the question's parser reads: a blood pressure keyed as 130*80 becomes "130/80", a
// number keyed as 98*6 becomes "98.6". Digits win over speech.
func Read(q *scripts.Question, in Input) (Intent, string) {
	switch {
	case in.Digits != "":
		d := strings.TrimSuffix(in.Digits, "#")
		if d == "" {
			return Silence, ""
		}
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
	case strings.TrimSpace(in.Speech) != "":
		if intent, ok := spokenIntent(in.Speech); ok {
			return intent, ""
		}
		return Answer, in.Speech
	}
	return Silence, ""
}
