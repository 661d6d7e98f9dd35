package scripts

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Answer is a parsed reply.
type Answer struct {
	Value     string   // canonical: "yes"/"no", "7", "182.5", "150/95", a choice value, or the text
	Number    *float64 // number and scale
	Systolic  int      // blood pressure
	Diastolic int
}

// ParseError says why a reply could not be read as an answer; its hint is re-asked.
type ParseError struct {
	Hint Text
}

func (e *ParseError) Error() string { return "unreadable reply: " + e.Hint.In(English) }

func reask(en, es string) *ParseError { return &ParseError{Hint: Text{English: en, Spanish: es}} }

// yesWords and noWords are read in either language: bilingual patients mix them.
var (
	yesWords = []string{"yes", "y", "yep", "yeah", "yea", "ya", "yup", "yas", "sure", "ok", "okay", "k",
		"correct", "right", "affirmative", "absolutely", "definitely", "indeed", "true", "si", "s", "claro",
		"correcto", "cierto", "afirmativo", "sip", "seguro", "1"}
	noWords = []string{"no", "n", "nope", "nah", "na", "nay", "negative", "never", "none", "not", "false",
		"nunca", "nada", "ninguno", "ninguna", "tampoco", "2"}
	// unsureWords make a yes/no reply ambiguous whatever else it says.
	unsureWords = []string{"maybe", "perhaps", "unsure", "idk", "dunno", "sometimes", "kinda",
		"quizas", "quiza", "talvez", "aveces", "depende"}
	unsurePhrases = []string{"not sure", "don't know", "dont know", "i guess", "kind of", "sort of",
		"no se", "tal vez", "a veces", "mas o menos", "yes and no", "si y no"}
)

// Parse reads a reply as an answer to q. A reply that cannot be read for sure is a *ParseError
// (never a guess): empty, ambiguous ("yes and no", "maybe"), several different numbers, out of
// range, or not one of the choices.
func (q *Question) Parse(reply string) (Answer, error) {
	text := fold(reply)
	if text == "" && q.Type != FreeText {
		return Answer{}, q.hint()
	}
	switch q.Type {
	case YesNo:
		return parseYesNo(text, q)
	case Number:
		return q.parseNumber(text)
	case Scale:
		return q.parseScale(text)
	case Choice:
		return q.parseChoice(text)
	case BloodPressure:
		return parseBloodPressure(text)
	default:
		s := strings.TrimSpace(reply)
		if s == "" {
			return Answer{}, reask("Please reply with a few words.", "Por favor responda con unas palabras.")
		}
		return Answer{Value: s}, nil
	}
}

// hint is what to ask again when a reply to q could not be read.
func (q *Question) hint() *ParseError {
	switch q.Type {
	case YesNo:
		return reask("Please reply YES or NO.", "Por favor responda SÍ o NO.")
	case Number:
		return reask(fmt.Sprintf("Please reply with one number from %s to %s%s.", fmtNum(*q.Min), fmtNum(*q.Max), unitSuffix(q.Unit)),
			fmt.Sprintf("Por favor responda con un número de %s a %s%s.", fmtNum(*q.Min), fmtNum(*q.Max), unitSuffix(q.Unit)))
	case Scale:
		return reask("Please reply with one number from 0 to 10.", "Por favor responda con un número del 0 al 10.")
	case Choice:
		var en, es []string
		for i, o := range q.Choices {
			en = append(en, fmt.Sprintf("%d %s", i+1, o.Label.In(English)))
			es = append(es, fmt.Sprintf("%d %s", i+1, o.Label.In(Spanish)))
		}
		return reask("Please reply with the number of your answer: "+strings.Join(en, ", ")+".",
			"Por favor responda con el número de su respuesta: "+strings.Join(es, ", ")+".")
	case BloodPressure:
		return reask("Please reply with your reading like 135/85.", "Por favor responda con su lectura así: 135/85.")
	default:
		return reask("Please reply with a few words.", "Por favor responda con unas palabras.")
	}
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func parseYesNo(text string, q *Question) (Answer, error) {
	for _, p := range unsurePhrases {
		if containsPhrase(text, p) {
			return Answer{}, q.hint()
		}
	}
	yes, no := false, false
	for i, w := range words(text) {
		switch {
		case slices.Contains(unsureWords, w):
			return Answer{}, q.hint()
		case slices.Contains(yesWords, w):
			// "1" and "2" count only as the whole reply's first word, as in "1" or "2 thanks".
			if w == "1" && i > 0 {
				continue
			}
			yes = true
		case slices.Contains(noWords, w):
			if w == "2" && i > 0 {
				continue
			}
			no = true
		}
		if i == 0 && (yes || no) {
			// The first word decides "yes I did", "no, not today", "nope, all good".
			break
		}
	}
	switch {
	case yes && !no:
		return Answer{Value: "yes"}, nil
	case no && !yes:
		return Answer{Value: "no"}, nil
	default:
		return Answer{}, q.hint()
	}
}

// oneNumber returns the single number in text; none, or several different ones, is an error.
func oneNumber(nums []float64) (float64, bool) {
	if len(nums) == 0 {
		return 0, false
	}
	for _, n := range nums[1:] {
		if n != nums[0] {
			return 0, false
		}
	}
	return nums[0], true
}

func (q *Question) parseNumber(text string) (Answer, error) {
	n, ok := oneNumber(numbersIn(text))
	if !ok || n < *q.Min || n > *q.Max {
		return Answer{}, q.hint()
	}
	return Answer{Value: fmtNum(n), Number: &n}, nil
}

func (q *Question) parseScale(text string) (Answer, error) {
	n, ok := oneNumber(numbersIn(outOfTen.ReplaceAllString(text, "$1")))
	if !ok || n < 0 || n > 10 || n != math.Trunc(n) {
		return Answer{}, q.hint()
	}
	return Answer{Value: fmtNum(n), Number: &n}, nil
}

func (q *Question) parseChoice(text string) (Answer, error) {
	var found []string
	add := func(v string) {
		if !slices.Contains(found, v) {
			found = append(found, v)
		}
	}
	ws := words(text)
	if len(ws) > 0 {
		if n, err := strconv.Atoi(ws[0]); err == nil {
			if n < 1 || n > len(q.Choices) {
				return Answer{}, q.hint()
			}
			return Answer{Value: q.Choices[n-1].Value}, nil
		}
	}
	for _, o := range q.Choices {
		names := []string{o.Value, strings.ReplaceAll(o.Value, "_", " ")}
		for _, l := range o.Label {
			names = append(names, l)
		}
		for _, as := range o.Aliases {
			names = append(names, as...)
		}
		for _, name := range names {
			if containsPhrase(text, name) {
				add(o.Value)
				break
			}
		}
	}
	if len(found) != 1 {
		return Answer{}, q.hint()
	}
	return Answer{Value: found[0]}, nil
}

// bpForm matches "150/95", "150 / 95", "150-95", "150 over 95" and "150 sobre 95".
var bpForm = regexp.MustCompile(`\b(\d{2,3})\s*(?:/|-|over|sobre|x)\s*(\d{2,3})\b`)

func parseBloodPressure(text string) (Answer, error) {
	q := &Question{Type: BloodPressure}
	ms := bpForm.FindAllStringSubmatch(text, -1)
	if len(ms) != 1 {
		return Answer{}, q.hint()
	}
	sys, _ := strconv.Atoi(ms[0][1])
	dia, _ := strconv.Atoi(ms[0][2])
	if sys < 60 || sys > 300 || dia < 30 || dia > 200 || sys <= dia {
		return Answer{}, reask("That reading does not look right. Please reply with your reading like 135/85 (the top number first).",
			"Esa lectura no parece correcta. Por favor responda así: 135/85 (el número de arriba primero).")
	}
	return Answer{Value: fmt.Sprintf("%d/%d", sys, dia), Systolic: sys, Diastolic: dia}, nil
}

// Holds reports whether an answer to q (in lang, for free text) meets the condition.
func (c Condition) Holds(q *Question, lang Language, a Answer) bool {
	var n *float64
	switch {
	case q.Type == BloodPressure && c.Field == "systolic":
		v := float64(a.Systolic)
		n = &v
	case q.Type == BloodPressure && c.Field == "diastolic":
		v := float64(a.Diastolic)
		n = &v
	default:
		n = a.Number
	}
	if c.Equals != "" && a.Value != c.Equals {
		return false
	}
	if c.In != nil && !slices.Contains(c.In, a.Value) {
		return false
	}
	for _, t := range []struct {
		bound *float64
		ok    func(x, b float64) bool
	}{
		{c.Lt, func(x, b float64) bool { return x < b }}, {c.Lte, func(x, b float64) bool { return x <= b }},
		{c.Gt, func(x, b float64) bool { return x > b }}, {c.Gte, func(x, b float64) bool { return x >= b }},
	} {
		if t.bound != nil && (n == nil || !t.ok(*n, *t.bound)) {
			return false
		}
	}
	if c.ContainsAny != nil {
		text := fold(a.Value)
		hit := false
		for _, l := range []Language{lang, English, Spanish} {
			for _, p := range c.ContainsAny[l] {
				if containsPhrase(text, p) || strings.Contains(text, fold(p)) && len(fold(p)) > 4 {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// Escalation is the most severe rule an answer meets, if any.
func (q *Question) Escalation(lang Language, a Answer) *Rule {
	var best *Rule
	for i := range q.Escalate {
		r := &q.Escalate[i]
		if r.When.Holds(q, lang, a) && (best == nil || rank(r.Severity) < rank(best.Severity)) {
			best = r
		}
	}
	return best
}

func rank(s Severity) int {
	switch s {
	case Urgent:
		return 0
	case High:
		return 1
	default:
		return 2
	}
}
