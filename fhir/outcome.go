package fhir

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// OperationOutcome is the R4 OperationOutcome resource: the answer to every error.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

func (OperationOutcome) resourceType() string { return "OperationOutcome" }

// Issue is one problem: its severity, its type (issue-type code), what is wrong and where
// (the resource and element, as a FHIRPath-like expression).
type Issue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
}

// outcome returns an outcome of one issue.
func outcome(severity, code, msg string, expression ...string) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: severity, Code: code,
		Diagnostics: msg, Expression: expression}}}
}

// ElementError is a problem with one element of one resource that a client sent.
type ElementError struct {
	Resource string // "Patient/P001", or "Patient #3" (the third of its input) without an id
	Element  string // "telecom[0].value"
	Msg      string
}

func (e ElementError) Error() string {
	if e.Element == "" {
		return e.Resource + ": " + e.Msg
	}
	return e.Resource + " " + e.Element + ": " + e.Msg
}

// ElementErrors is every problem of one input (a Bundle, a file): nothing of it is stored.
type ElementErrors struct {
	Source string // the file's name, or "Bundle"
	Errs   []ElementError
}

func (es *ElementErrors) Error() string {
	var b strings.Builder
	b.WriteString(es.Source)
	if len(es.Errs) == 1 {
		b.WriteString(": " + es.Errs[0].Error())
		return b.String()
	}
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(len(es.Errs)))
	b.WriteString(" errors; nothing was stored:")
	for _, e := range es.Errs {
		b.WriteString("\n" + e.Error())
	}
	return b.String()
}

// add records a problem.
func (es *ElementErrors) add(resource, element, msg string) {
	es.Errs = append(es.Errs, ElementError{Resource: resource, Element: element, Msg: msg})
}

// err returns es when it holds any problem, else nil.
func (es *ElementErrors) err() error {
	if len(es.Errs) == 0 {
		return nil
	}
	return es
}

// statusOf maps an error to its HTTP status and issue type.
func statusOf(err error) (int, string) {
	var ee *ElementErrors
	switch {
	case errors.As(err, &ee):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, errkind.ErrInvalid), db.IsUnstorableText(err):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, errkind.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errkind.ErrNotFound):
		return http.StatusNotFound, "not-found"
	case errors.Is(err, errkind.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errkind.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too-costly"
	}
	return http.StatusInternalServerError, "exception"
}

// outcomeOf is the OperationOutcome for an error: one issue per element problem, naming the
// resource and the element; an unexpected error says nothing of its internals.
func outcomeOf(err error) (int, OperationOutcome) {
	code, issueType := statusOf(err)
	var ee *ElementErrors
	if errors.As(err, &ee) {
		oo := OperationOutcome{ResourceType: "OperationOutcome"}
		for _, e := range ee.Errs {
			is := Issue{Severity: "error", Code: "invalid", Diagnostics: e.Error()}
			if kind := resourceKind(e.Resource); e.Element != "" && kind != "" {
				is.Expression = []string{kind + "." + e.Element}
			}
			oo.Issue = append(oo.Issue, is)
		}
		return code, oo
	}
	switch {
	case code == http.StatusInternalServerError:
		return code, outcome("error", issueType, "internal error")
	case db.IsUnstorableText(err):
		return code, outcome("error", issueType, "the request holds text that cannot be stored: a NUL character or bytes that are not UTF-8")
	}
	return code, outcome("error", issueType, err.Error())
}

// resourceKind is the resource type an error names ("Patient/P1 (line 3)" → "Patient"), ""
// when it names none (a line of a file, say).
func resourceKind(resource string) string {
	kind, _, _ := strings.Cut(resource, "/")
	kind, _, _ = strings.Cut(kind, " ")
	if kind == "" || kind[0] < 'A' || kind[0] > 'Z' {
		return ""
	}
	return kind
}
