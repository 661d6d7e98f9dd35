package outreach

import (
	"strings"
	"unicode"
)

// Keyword is a carrier keyword a reply may be.
type Keyword int

// Keywords.
const (
	NoKeyword Keyword = iota
	KeywordStop
	KeywordStart
	KeywordHelp
	// KeywordYes is START only for a patient who opted out; otherwise it is an answer.
	KeywordYes
)

var keywords = map[string]Keyword{
	"stop": KeywordStop, "stopall": KeywordStop, "unsubscribe": KeywordStop, "cancel": KeywordStop,
	"end": KeywordStop, "quit": KeywordStop, "revoke": KeywordStop, "optout": KeywordStop,
	"opt out": KeywordStop, "opt-out": KeywordStop, "stop all": KeywordStop,
	// Plain requests to stop, in English and Spanish: carriers do not act on them, the engine does.
	"stop texting": KeywordStop, "stop texting me": KeywordStop, "please stop": KeywordStop,
	"stop please": KeywordStop, "no more texts": KeywordStop, "parar": KeywordStop, "alto": KeywordStop,
	"baja": KeywordStop, "cancelar": KeywordStop, "no mas mensajes": KeywordStop, "no más mensajes": KeywordStop,
	"start": KeywordStart, "unstop": KeywordStart,
	"help": KeywordHelp, "info": KeywordHelp, "ayuda": KeywordHelp,
	"yes": KeywordYes,
}

// ClassifyKeyword reads a reply as a carrier keyword: the whole message, in any case, with
// surrounding spaces and punctuation ("Stop.", " STOP!!", "stop 🛑"). A keyword inside a sentence
// ("please don't stop my meds") is not one.
func ClassifyKeyword(body string) Keyword {
	s := strings.TrimFunc(body, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	return keywords[s]
}
