package scripts

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong in a script file, at a line.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Problems is everything wrong in a script file, in line order. A script with any problem is
// never loaded.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

var (
	idForm = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	// cronParser reads the five standard fields; CRON_TZ is refused (the zone is the patient's).
	cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
)

// loader walks a YAML document, collecting problems with their lines.
type loader struct {
	file     string
	problems Problems
}

func (l *loader) fail(n *yaml.Node, format string, args ...any) {
	line := 1
	if n != nil {
		line = n.Line
	}
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// fields returns a mapping's values by key, reporting keys not in allowed and repeated keys.
func (l *loader) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		l.fail(n, "%s must be a mapping of keys to values", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, k.Value):
			l.fail(k, "unknown key %q in %s (allowed: %s)", k.Value, what, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			l.fail(k, "key %q appears twice in %s", k.Value, what)
		default:
			out[k.Value] = v
		}
	}
	return out
}

func (l *loader) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		l.fail(n, "%s must be a single value", what)
		return ""
	}
	return strings.TrimSpace(n.Value)
}

func (l *loader) required(m map[string]*yaml.Node, parent *yaml.Node, key, what string) *yaml.Node {
	n := m[key]
	if n == nil {
		l.fail(parent, "%s needs %q", what, key)
	}
	return n
}

func (l *loader) number(n *yaml.Node, what string) *float64 {
	if n == nil {
		return nil
	}
	f, err := strconv.ParseFloat(l.str(n, what), 64)
	if err != nil {
		l.fail(n, "%s %q is not a number", what, n.Value)
		return nil
	}
	return &f
}

func (l *loader) strings(n *yaml.Node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.fail(n, "%s must be a list", what)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		out = append(out, l.str(item, what))
	}
	return out
}

// text reads a message given per language: {en: "...", es: "..."}.
func (l *loader) text(n *yaml.Node, what string, langs []Language) Text {
	if n == nil {
		return nil
	}
	allowed := make([]string, len(langs))
	for i, lang := range langs {
		allowed[i] = string(lang)
	}
	t := Text{}
	for k, v := range l.fields(n, what, allowed...) {
		if s := l.str(v, what); s == "" {
			l.fail(v, "%s in %s is empty", what, k)
		} else if len(s) > 600 {
			l.fail(v, "%s in %s is %d characters; keep messages under 600 (4 SMS segments)", what, k, len(s))
		} else {
			t[Language(k)] = s
		}
	}
	for _, lang := range langs {
		if _, ok := t[lang]; !ok && n.Kind == yaml.MappingNode {
			l.fail(n, "%s has no %s text", what, lang)
		}
	}
	return t
}

func (l *loader) duration(n *yaml.Node, what string) Duration {
	if n == nil {
		return 0
	}
	d, err := ParseDuration(l.str(n, what))
	if err != nil {
		l.fail(n, "%s: %v", what, err)
	}
	return d
}

// Parse reads and validates a script. Every problem is reported with its line; a script with any
// problem is not returned.
func Parse(file string, data []byte) (*Script, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, Problems{{File: file, Line: 1, Msg: strings.Join(te.Errors, "; ")}}
		}
		return nil, Problems{{File: file, Line: yamlErrorLine(err), Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Msg: "the file is empty"}}
	}
	l := &loader{file: file}
	if n := findAlias(&doc); n != nil {
		return nil, Problems{{File: file, Line: n.Line, Msg: "YAML aliases (*" + n.Value + ") are not supported: write the value out"}}
	}
	s := l.script(doc.Content[0])
	if len(l.problems) > 0 {
		sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
		return nil, l.problems
	}
	return s, nil
}

// findAlias returns the first alias node under n: a care manager reading the file should see
// every value where it applies.
func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 1
}

func (l *loader) script(root *yaml.Node) *Script {
	m := l.fields(root, "the script", "id", "name", "schedule", "languages", "intro", "questions", "closing", "reminder_after", "reminder", "expire_after")
	s := &Script{}
	if n := l.required(m, root, "id", "the script"); n != nil {
		if s.ID = l.str(n, "id"); !idForm.MatchString(s.ID) {
			l.fail(n, "id %q must be lower-case letters, digits, '-' and '_' (at most 64)", s.ID)
		}
	}
	s.Name = l.str(m["name"], "name")
	if n := l.required(m, root, "schedule", "the script"); n != nil {
		s.Schedule = l.str(n, "schedule")
		if strings.Contains(s.Schedule, "TZ=") {
			l.fail(n, "schedule %q must not name a zone: it is read in each patient's zone", s.Schedule)
		} else if _, err := cronParser.Parse(s.Schedule); err != nil {
			l.fail(n, "schedule %q is not a five-field cron spec (minute hour day-of-month month day-of-week): %v", s.Schedule, err)
		}
	}
	if n := l.required(m, root, "languages", "the script"); n != nil {
		for i, v := range l.strings(n, "languages") {
			lang := Language(v)
			if lang != English && lang != Spanish {
				l.fail(n.Content[i], "language %q is not en or es", v)
				continue
			}
			s.Languages = append(s.Languages, lang)
		}
		if len(s.Languages) == 0 {
			l.fail(n, "languages is empty")
		}
	}
	s.Intro = l.text(l.required(m, root, "intro", "the script"), "intro", s.Languages)
	s.Closing = l.text(l.required(m, root, "closing", "the script"), "closing", s.Languages)
	s.Reminder, s.Expire = DefaultReminder, DefaultExpire
	if n := m["reminder_after"]; n != nil {
		if n.Value == "off" {
			s.Reminder = 0
		} else {
			s.Reminder = l.duration(n, "reminder_after")
		}
	}
	s.ReminderText = DefaultReminderText
	if n := m["reminder"]; n != nil {
		s.ReminderText = l.text(n, "reminder", s.Languages)
	}
	if n := m["expire_after"]; n != nil {
		s.Expire = l.duration(n, "expire_after")
	}
	if s.Expire != 0 && s.Reminder >= s.Expire {
		l.fail(m["reminder_after"], "reminder_after must be shorter than expire_after")
	}
	if n := l.required(m, root, "questions", "the script"); n != nil {
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			l.fail(n, "questions must be a list of at least one question")
		} else {
			for _, qn := range n.Content {
				s.Questions = append(s.Questions, l.question(qn, s))
			}
		}
	}
	return s
}

func (l *loader) question(n *yaml.Node, s *Script) *Question {
	m := l.fields(n, "a question", "id", "type", "text", "min", "max", "unit", "choices", "skip_if", "escalate")
	q := &Question{Line: n.Line}
	if idn := l.required(m, n, "id", "a question"); idn != nil {
		q.ID = l.str(idn, "id")
		switch {
		case !idForm.MatchString(q.ID):
			l.fail(idn, "question id %q must be lower-case letters, digits, '-' and '_'", q.ID)
		case s.Question(q.ID) != nil:
			l.fail(idn, "question id %q is used twice", q.ID)
		}
	}
	if tn := l.required(m, n, "type", "question "+q.ID); tn != nil {
		q.Type = AnswerType(l.str(tn, "type"))
		if !slices.Contains([]AnswerType{YesNo, Number, Scale, Choice, FreeText, BloodPressure}, q.Type) {
			l.fail(tn, "type %q is not one of yesno, number, scale, choice, text, blood_pressure", q.Type)
		}
	}
	q.Text = l.text(l.required(m, n, "text", "question "+q.ID), "text", s.Languages)
	q.Min, q.Max = l.number(m["min"], "min"), l.number(m["max"], "max")
	q.Unit = l.str(m["unit"], "unit")
	switch q.Type {
	case Number:
		if q.Min == nil || q.Max == nil {
			l.fail(n, "question %s: a number question needs min and max", q.ID)
		} else if *q.Min >= *q.Max {
			l.fail(m["max"], "question %s: max must be greater than min", q.ID)
		}
	case Scale:
		if q.Min != nil || q.Max != nil {
			l.fail(n, "question %s: a scale is always 0 to 10; remove min and max", q.ID)
		}
	default:
		if q.Min != nil || q.Max != nil || q.Unit != "" {
			l.fail(n, "question %s: min, max and unit are only for number questions", q.ID)
		}
	}
	if cn := m["choices"]; cn != nil || q.Type == Choice {
		if q.Type != Choice {
			l.fail(cn, "question %s: choices are only for choice questions", q.ID)
		} else if cn == nil || cn.Kind != yaml.SequenceNode || len(cn.Content) < 2 {
			l.fail(n, "question %s: a choice question needs a list of at least two choices", q.ID)
		} else {
			for _, on := range cn.Content {
				q.Choices = append(q.Choices, l.option(on, q, s))
			}
		}
	}
	if sn := m["skip_if"]; sn != nil {
		c := l.condition(sn, "skip_if", s.Languages)
		earlier := s.Question(c.Question)
		switch {
		case c.Question == "":
			l.fail(sn, "question %s: skip_if needs the question it depends on", q.ID)
		case earlier == nil:
			l.fail(sn, "question %s: skip_if names %q, which is not an earlier question", q.ID, c.Question)
		default:
			l.checkCondition(sn, c, earlier, s)
		}
		q.SkipIf = &c
	}
	if en := m["escalate"]; en != nil {
		if en.Kind != yaml.SequenceNode {
			l.fail(en, "question %s: escalate must be a list of rules", q.ID)
		} else {
			for _, rn := range en.Content {
				q.Escalate = append(q.Escalate, l.rule(rn, q, s))
			}
		}
	}
	return q
}

func (l *loader) option(n *yaml.Node, q *Question, s *Script) Option {
	m := l.fields(n, "a choice", "value", "label", "aliases")
	o := Option{}
	if vn := l.required(m, n, "value", "a choice"); vn != nil {
		if o.Value = l.str(vn, "value"); !idForm.MatchString(o.Value) {
			l.fail(vn, "question %s: choice value %q must be lower-case letters, digits, '-' and '_'", q.ID, o.Value)
		}
		for _, other := range q.Choices {
			if other.Value == o.Value {
				l.fail(vn, "question %s: choice value %q is used twice", q.ID, o.Value)
			}
		}
	}
	o.Label = l.text(l.required(m, n, "label", "a choice"), "label", s.Languages)
	if an := m["aliases"]; an != nil {
		o.Aliases = map[Language][]string{}
		for k, v := range l.fields(an, "aliases", langKeys(s.Languages)...) {
			o.Aliases[Language(k)] = l.strings(v, "aliases")
		}
	}
	return o
}

func langKeys(langs []Language) []string {
	out := make([]string, len(langs))
	for i, l := range langs {
		out[i] = string(l)
	}
	return out
}

func (l *loader) condition(n *yaml.Node, what string, langs []Language) Condition {
	m := l.fields(n, what, "question", "equals", "in", "field", "lt", "lte", "gt", "gte", "contains_any")
	c := Condition{
		Question: l.str(m["question"], "question"), Equals: l.str(m["equals"], "equals"),
		In: l.strings(m["in"], "in"), Field: l.str(m["field"], "field"),
		Lt: l.number(m["lt"], "lt"), Lte: l.number(m["lte"], "lte"), Gt: l.number(m["gt"], "gt"), Gte: l.number(m["gte"], "gte"),
	}
	if cn := m["contains_any"]; cn != nil {
		c.ContainsAny = map[Language][]string{}
		for k, v := range l.fields(cn, "contains_any", langKeys(langs)...) {
			c.ContainsAny[Language(k)] = l.strings(v, "contains_any")
		}
	}
	if len(m) == 0 || (len(m) == 1 && m["question"] != nil) {
		l.fail(n, "%s has no test (equals, in, lt, lte, gt, gte or contains_any)", what)
	}
	return c
}

// checkCondition checks that a condition's tests fit the question it is about.
func (l *loader) checkCondition(n *yaml.Node, c Condition, q *Question, s *Script) {
	numeric := c.Lt != nil || c.Lte != nil || c.Gt != nil || c.Gte != nil
	switch q.Type {
	case YesNo:
		if numeric || c.ContainsAny != nil || c.Field != "" || (c.Equals != "" && c.Equals != "yes" && c.Equals != "no") {
			l.fail(n, "question %s is yes/no: test it with equals: yes or equals: no", q.ID)
		}
	case Number, Scale:
		if !numeric || c.Equals != "" || c.In != nil || c.ContainsAny != nil || c.Field != "" {
			l.fail(n, "question %s is a number: test it with lt, lte, gt or gte", q.ID)
		}
	case BloodPressure:
		if !numeric || (c.Field != "systolic" && c.Field != "diastolic") {
			l.fail(n, "question %s is a blood pressure: test field: systolic or diastolic with lt, lte, gt or gte", q.ID)
		}
	case Choice:
		values := append([]string{c.Equals}, c.In...)
		for _, v := range values {
			if v != "" && !slices.ContainsFunc(q.Choices, func(o Option) bool { return o.Value == v }) {
				l.fail(n, "question %s has no choice %q", q.ID, v)
			}
		}
		if numeric || c.ContainsAny != nil || (c.Equals == "" && c.In == nil) {
			l.fail(n, "question %s is a choice: test it with equals or in", q.ID)
		}
	case FreeText:
		if c.ContainsAny == nil || numeric || c.Equals != "" || c.In != nil {
			l.fail(n, "question %s is free text: test it with contains_any", q.ID)
		}
		for _, lang := range s.Languages {
			if len(c.ContainsAny[lang]) == 0 {
				l.fail(n, "question %s: contains_any has no %s words", q.ID, lang)
			}
		}
	}
}

func (l *loader) rule(n *yaml.Node, q *Question, s *Script) Rule {
	m := l.fields(n, "an escalation rule", "when", "severity", "reason", "tell")
	r := Rule{Line: n.Line}
	if wn := l.required(m, n, "when", "an escalation rule"); wn != nil {
		r.When = l.condition(wn, "when", s.Languages)
		if r.When.Question != "" {
			l.fail(wn, "question %s: an escalation rule tests its own question; remove question", q.ID)
		}
		l.checkCondition(wn, r.When, q, s)
	}
	if sn := l.required(m, n, "severity", "an escalation rule"); sn != nil {
		r.Severity = Severity(l.str(sn, "severity"))
		if r.Severity != Urgent && r.Severity != High && r.Severity != Routine {
			l.fail(sn, "severity %q is not urgent, high or routine", r.Severity)
		}
	}
	if rn := l.required(m, n, "reason", "an escalation rule"); rn != nil {
		if r.Reason = l.str(rn, "reason"); len(r.Reason) > 200 {
			l.fail(rn, "reason is longer than 200 characters")
		}
	}
	r.Tell = l.text(m["tell"], "tell", s.Languages)
	return r
}
