// Package errkind holds the kinds of error the domain packages return, so that a caller (a
// handler, a command) can tell bad input from a missing record or a conflict without the domain
// knowing how each is answered. internal/web maps the kinds to HTTP statuses.
package errkind

import (
	"errors"
	"fmt"
)

// The kinds of error. Wrap one (with %w, or with Errorf) to say what went wrong.
var (
	ErrInvalid   = errors.New("invalid input")  // the caller's input is wrong
	ErrForbidden = errors.New("forbidden")      // the caller may not do this
	ErrNotFound  = errors.New("not found")      // the record does not exist
	ErrConflict  = errors.New("conflict")       // the record's state does not allow it
	ErrTooLarge  = errors.New("body too large") // the input is larger than allowed
)

// kindError is an error of a kind whose message does not repeat the kind.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// Errorf returns an error of a kind (ErrInvalid, ErrNotFound, …) with a message of its own;
// %w in format wraps as in fmt.Errorf.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
