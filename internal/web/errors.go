package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// StatusOf maps an error to its HTTP status: the one place where error kinds meet statuses.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, errkind.ErrInvalid), db.IsUnstorableText(err):
		return http.StatusBadRequest
	case errors.Is(err, errkind.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, errkind.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errkind.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, errkind.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// Fail answers with err's status and message; an unexpected error is logged and answered with
// a generic message, so that no internal detail leaks.
func Fail(w http.ResponseWriter, log *slog.Logger, err error) {
	code := StatusOf(err)
	switch {
	case code == http.StatusInternalServerError:
		log.Error("request failed", "err", err)
		WriteError(w, code, "internal error")
	case db.IsUnstorableText(err):
		WriteError(w, code, "the request holds text that cannot be stored: a NUL character or bytes that are not UTF-8")
	default:
		WriteError(w, code, err.Error())
	}
}

// maxJSONBody is the largest JSON request body accepted.
const maxJSONBody = 1 << 20

// DecodeJSON reads a JSON request body into v, refusing unknown fields, trailing data and
// bodies over 1 MiB, with an error that says what was wrong (an errkind.ErrInvalid or errkind.ErrTooLarge).
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Errorf("the body is larger than %d bytes: %w", maxJSONBody, errkind.ErrTooLarge)
	case err != nil:
		return fmt.Errorf("the body could not be read: %v: %w", err, errkind.ErrInvalid)
	case !utf8.Valid(body):
		// encoding/json would quietly replace the bytes; the sender should know.
		return fmt.Errorf("the body is not valid UTF-8 (at byte %d): %w", validPrefix(body), errkind.ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return fmt.Errorf("the body has data after its JSON value: %w", errkind.ErrInvalid)
		}
		return nil
	case errors.Is(err, io.EOF):
		return fmt.Errorf("the body is empty; a JSON object is expected: %w", errkind.ErrInvalid)
	case errors.As(err, &syntax):
		return fmt.Errorf("the body is not valid JSON (at byte %d): %w", syntax.Offset, errkind.ErrInvalid)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the body is not valid JSON (it ends too soon): %w", errkind.ErrInvalid)
	case errors.As(err, &typ):
		return fmt.Errorf("field %q must be %s, not %s: %w", typ.Field, typ.Type, typ.Value, errkind.ErrInvalid)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s: %w", strings.TrimPrefix(err.Error(), "json: unknown field "), errkind.ErrInvalid)
	default:
		return fmt.Errorf("the body could not be read: %v: %w", err, errkind.ErrInvalid)
	}
}

// validPrefix returns the length of b's longest prefix that is valid UTF-8.
func validPrefix(b []byte) int {
	n := 0
	for n < len(b) {
		r, size := utf8.DecodeRune(b[n:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		n += size
	}
	return n
}
