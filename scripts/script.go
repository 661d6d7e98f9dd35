// Package scripts holds check-in scripts: their model (questions, answer types, branching and
// escalation rules), their loading and validation from YAML, answer parsing, and the bundled
// library. It depends on nothing else of the engine.
package scripts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Language is a language a script speaks.
type Language string

// Languages.
const (
	English Language = "en"
	Spanish Language = "es"
)

// AnswerType is the kind of answer a question expects.
type AnswerType string

// Answer types.
const (
	YesNo         AnswerType = "yesno"
	Number        AnswerType = "number"         // with min, max and a unit
	Scale         AnswerType = "scale"          // a whole number from 0 to 10
	Choice        AnswerType = "choice"         // one of a list, by number, value or label
	FreeText      AnswerType = "text"           // anything
	BloodPressure AnswerType = "blood_pressure" // systolic/diastolic, as "150/95"
)

// Severity is how urgently a concerning answer needs a clinician.
type Severity string

// Severities, most urgent first.
const (
	Urgent  Severity = "urgent"
	High    Severity = "high"
	Routine Severity = "routine"
)

// Text is a message in each of a script's languages.
type Text map[Language]string

// In returns the text in lang, or in English when the script lacks lang.
func (t Text) In(lang Language) string {
	if s, ok := t[lang]; ok {
		return s
	}
	return t[English]
}

// Duration is a YAML duration: Go's form ("36h", "90m") or whole days ("3d").
type Duration time.Duration

// ParseDuration parses "3d" or any time.ParseDuration form.
func ParseDuration(s string) (Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a duration (like 36h or 3d)", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration (like 36h or 3d)", s)
	}
	return Duration(d), nil
}

// Defaults for scripts that do not set their reminder and expiry.
const (
	DefaultReminder = Duration(24 * time.Hour)
	DefaultExpire   = Duration(5 * 24 * time.Hour)
)

// DefaultReminderText is the reminder of scripts that do not word their own.
var DefaultReminderText = Text{
	English: "Reminder from your care team: please answer the question above when you can. Reply STOP to opt out.",
	Spanish: "Recordatorio de su equipo de cuidado: por favor responda la pregunta de arriba cuando pueda. Responda STOP para no recibir más mensajes.",
}

// Script is a structured check-in.
type Script struct {
	ID        string
	Name      string
	Schedule  string // a five-field cron spec, read in the patient's time zone
	Languages []Language
	Intro     Text
	Questions []*Question
	Closing   Text
	// Reminder is sent once when a question stays unanswered this long (0: never); Expire ends
	// the check-in when it stays unanswered this long after its last message.
	Reminder     Duration
	ReminderText Text
	Expire       Duration
}

// Question is one question of a script.
type Question struct {
	ID       string
	Type     AnswerType
	Text     Text
	Min, Max *float64 // number
	Unit     string   // number
	Choices  []Option // choice
	SkipIf   *Condition
	Escalate []Rule
	Line     int // in the script file
}

// Option is one answer of a choice question.
type Option struct {
	Value   string
	Label   Text
	Aliases map[Language][]string
}

// Condition tests an answer: to skip a question (against an earlier answer) or to escalate.
// Every test given must hold.
type Condition struct {
	Question    string                // skip_if: the earlier question's id
	Equals      string                // yes, no, a choice value
	In          []string              // one of
	Field       string                // blood pressure: systolic or diastolic
	Lt, Lte     *float64              // number, scale, blood pressure field
	Gt, Gte     *float64              //
	ContainsAny map[Language][]string // free text: any of these words or phrases
}

// Rule escalates an answer that meets its condition.
type Rule struct {
	When     Condition
	Severity Severity
	Reason   string
	Tell     Text // said to the patient; urgent rules default to the emergency message
	Line     int
}

// Question returns the question with an id, or nil.
func (s *Script) Question(id string) *Question {
	for _, q := range s.Questions {
		if q.ID == id {
			return q
		}
	}
	return nil
}

// Speaks reports whether the script has the language.
func (s *Script) Speaks(lang Language) bool {
	for _, l := range s.Languages {
		if l == lang {
			return true
		}
	}
	return false
}
