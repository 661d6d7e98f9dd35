package web

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/staff"
)

// An APIFunc serves one request of the JSON API for the staff member who makes it: it returns
// the status and the value to answer with, or an error whose kind (errkind) gives the status.
type APIFunc func(r *http.Request, who staff.Identity) (int, any, error)

// API turns f into a handler: the caller comes from the request's context (401 without one),
// the value is written as JSON and an error through Fail, so that every route of the API
// answers alike.
func API(log *slog.Logger, f APIFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := IdentityFrom(r.Context())
		if !ok {
			WriteError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		code, v, err := f(r, who)
		if err != nil {
			Fail(w, log, err)
			return
		}
		WriteJSON(w, code, v)
	})
}

// APIBody is API for a request with a JSON body, read into a T (see DecodeJSON) before f runs.
func APIBody[T any](log *slog.Logger, f func(r *http.Request, who staff.Identity, in T) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		API(log, func(r *http.Request, who staff.Identity) (int, any, error) {
			var in T
			if err := DecodeJSON(w, r, &in); err != nil {
				return 0, nil, err
			}
			return f(r, who, in)
		}).ServeHTTP(w, r)
	})
}

// PathID reads the path value name as a positive id; noun names it in the error (an
// errkind.ErrInvalid).
func PathID(r *http.Request, name, noun string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errkind.Errorf(errkind.ErrInvalid, "%s id %q is not a positive integer", noun, r.PathValue(name))
	}
	return id, nil
}
