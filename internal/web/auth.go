package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/staff"
)

// RequireAccess lets through only identities whose access is one of levels; others get 403.
func RequireAccess(next http.Handler, levels ...staff.Access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := IdentityFrom(r.Context())
		if !ok {
			WriteError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		if !id.Allowed(levels...) {
			names := make([]string, len(levels))
			for i, l := range levels {
				names[i] = string(l)
			}
			WriteError(w, http.StatusForbidden, "this needs "+strings.Join(names, " or ")+" access")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type identityKey struct{}

// IdentityFrom returns the identity an authenticated request carries.
func IdentityFrom(ctx context.Context) (staff.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(staff.Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id staff.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// RequireToken lets through only requests with a valid "Authorization: Bearer TOKEN" header
// (not revoked, not expired at clock's time), carrying the token's staff identity; others get
// 401. The token's last use is recorded (staff.TokenIdentity).
func RequireToken(q db.Querier, clock func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, staff.TokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach"`)
			WriteError(w, http.StatusUnauthorized, "missing or malformed API token (Authorization: Bearer TOKEN)")
			return
		}
		id, err := staff.TokenIdentity(r.Context(), q, token, clock())
		if errors.Is(err, staff.ErrBadToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach", error="invalid_token"`)
			WriteError(w, http.StatusUnauthorized, err.Error())
			return
		}
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}
