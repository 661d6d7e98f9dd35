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
	// The Spanish words for STOP, CANCEL and UNSUBSCRIBE, as bilingual programs take them.
	"parar": KeywordStop, "alto": KeywordStop, "baja": KeywordStop, "cancelar": KeywordStop,
	"start": KeywordStart, "unstop": KeywordStart,
	"help": KeywordHelp, "info": KeywordHelp, "ayuda": KeywordHelp,
	"yes": KeywordYes,
}

// ClassifyKeyword reads a reply as a carrier keyword: the whole message, in any case, with
// surrounding spaces and punctuation ("Stop.", " STOP!!", "stop 🛑"). A keyword inside a sentence
// ("please don't stop my meds") is not one; plain-language requests ("stop texting me") are
// ClassifyOptOut's.
func ClassifyKeyword(body string) Keyword {
	s := strings.TrimFunc(body, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	return keywords[s]
}
