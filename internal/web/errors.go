package web

import (
	"errors"
	"log/slog"
	"net/http"
)

// Error kinds that domain packages wrap, so that handlers answer with the right status.
var (
	ErrInvalid   = errors.New("invalid input")  // 400
	ErrForbidden = errors.New("forbidden")      // 403
	ErrNotFound  = errors.New("not found")      // 404
	ErrConflict  = errors.New("conflict")       // 409
	ErrTooLarge  = errors.New("body too large") // 413
)

// StatusOf maps an error to its HTTP status: the one place where error kinds meet statuses.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// Fail answers with err's status and message; an unexpected error is logged and answered with
// a generic message, so that no internal detail leaks.
func Fail(w http.ResponseWriter, log *slog.Logger, err error) {
	code := StatusOf(err)
	if code == http.StatusInternalServerError {
		log.Error("request failed", "error", err)
		WriteError(w, code, "internal error")
		return
	}
	WriteError(w, code, err.Error())
}
