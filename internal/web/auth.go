package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
)

// Identity is the staff member a request acts for.
type Identity struct {
	PracticeID int64  `db:"practice_id"`
	StaffID    int64  `db:"id"`
	Staff      string `db:"ext_id"` // the practice's own staff id
	Role       string `db:"role"`   // the billing role: clinical, practitioner or non_clinical
	Access     string `db:"access"` // what they may do: nurse, practitioner, manager or admin
}

// Access levels.
const (
	AccessNurse        = "nurse"
	AccessPractitioner = "practitioner"
	AccessManager      = "manager"
	AccessAdmin        = "admin"
)

// Allowed reports whether the identity's access is one of levels.
func (id Identity) Allowed(levels ...string) bool { return slices.Contains(levels, id.Access) }

// RequireAccess lets through only identities whose access is one of levels; others get 403.
func RequireAccess(next http.Handler, levels ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := IdentityFrom(r.Context())
		if !ok {
			WriteError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		if !id.Allowed(levels...) {
			WriteError(w, http.StatusForbidden, "this needs "+strings.Join(levels, " or ")+" access")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Actor returns the identity as an audit actor.
func (id Identity) Actor() audit.Actor { return audit.Staff(id.StaffID) }

type identityKey struct{}

// IdentityFrom returns the identity an authenticated request carries.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// tokenPrefix marks the engine's API tokens, so that a leaked one is easy to recognise.
const tokenPrefix = "otk_"

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

const insertToken = `
INSERT INTO api_tokens (practice_id, staff_id, token_sha256, created_at, created_by)
SELECT practice_id, id, $3, $4, $5 FROM staff WHERE practice_id = $1 AND ext_id = $2
RETURNING id`

// NewToken creates an API token for a staff member (the practice's own id) and returns it; only
// its digest is stored, so it cannot be shown again.
func NewToken(ctx context.Context, q db.Querier, practiceID int64, staff string, actor audit.Actor, now time.Time) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("error making token: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	var id int64
	err := q.GetContext(ctx, &id, insertToken, practiceID, staff, tokenDigest(token), now, string(actor))
	if db.IsNoRows(err) {
		return "", fmt.Errorf("staff %q: %w", staff, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("error storing token: %w", err)
	}
	err = audit.Record(ctx, q, audit.Event{PracticeID: practiceID, At: now, Actor: actor, Action: "api_token.create",
		Entity: "api_token", EntityID: fmt.Sprint(id)})
	return token, err
}

const selectTokenIdentity = `
SELECT s.practice_id, s.id, s.ext_id, s.role, s.access
FROM api_tokens t
JOIN staff s ON s.practice_id = t.practice_id AND s.id = t.staff_id
WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND s.disabled_at IS NULL`

// RequireToken lets through only requests with a valid "Authorization: Bearer TOKEN" header,
// carrying the token's staff identity; others get 401.
func RequireToken(q db.Querier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, tokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach"`)
			WriteError(w, http.StatusUnauthorized, "missing or malformed API token (Authorization: Bearer TOKEN)")
			return
		}
		var id Identity
		err := q.GetContext(r.Context(), &id, selectTokenIdentity, tokenDigest(token))
		if db.IsNoRows(err) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach", error="invalid_token"`)
			WriteError(w, http.StatusUnauthorized, "invalid or revoked API token")
			return
		}
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}
