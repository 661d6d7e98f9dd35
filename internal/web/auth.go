package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
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

// tokenPrefix marks the engine's API tokens, so that a leaked one is easy to recognise.
const tokenPrefix = "otk_"

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// DefaultTokenTTL is how long an API token lasts unless its creator says otherwise.
const DefaultTokenTTL = 90 * 24 * time.Hour

// tokenUseEvery is how often a token's last use is written: at most once a minute.
const tokenUseEvery = time.Minute

const insertToken = `
INSERT INTO api_tokens (practice_id, staff_id, token_sha256, created_at, created_by, expires_at)
SELECT practice_id, id, $3, $4, $5, $6 FROM staff WHERE practice_id = $1 AND ext_id = $2
RETURNING id`

// NewToken creates an API token for a staff member (the practice's own id) that expires after
// DefaultTokenTTL, and returns it; only its digest is stored, so it cannot be shown again.
func NewToken(ctx context.Context, q db.Querier, practiceID int64, member string, actor audit.Actor, now time.Time) (string, error) {
	return NewTokenTTL(ctx, q, practiceID, member, DefaultTokenTTL, actor, now)
}

// NewTokenTTL is NewToken with the token's lifetime.
func NewTokenTTL(ctx context.Context, q db.Querier, practiceID int64, member string, ttl time.Duration, actor audit.Actor, now time.Time) (string, error) {
	if ttl <= 0 {
		return "", errkind.Errorf(errkind.ErrInvalid, "a token's lifetime must be positive, not %v", ttl)
	}
	token, err := randomToken(tokenPrefix)
	if err != nil {
		return "", err
	}
	expires := now.Add(ttl)
	var id int64
	err = q.GetContext(ctx, &id, insertToken, practiceID, member, tokenDigest(token), now, string(actor), expires)
	if db.IsNoRows(err) {
		return "", fmt.Errorf("staff %q: %w", member, errkind.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("error storing token: %w", err)
	}
	err = audit.Record(ctx, q, audit.Event{PracticeID: practiceID, At: now, Actor: actor, Action: "api_token.create",
		Entity: "api_token", EntityID: fmt.Sprint(id), Detail: map[string]any{"expires_at": expires.UTC().Format(time.RFC3339)}})
	return token, err
}

// revokeCredentials revokes every API token of a staff member (by internal id) and ends their
// sessions, within q's transaction; it returns how many of each.
func revokeCredentials(ctx context.Context, q db.Querier, practiceID, staffID int64, now time.Time) (tokens, sessions int64, err error) {
	res, err := q.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE practice_id = $1 AND staff_id = $2 AND revoked_at IS NULL`,
		practiceID, staffID, now)
	if err != nil {
		return 0, 0, fmt.Errorf("error revoking API tokens: %w", err)
	}
	tokens, _ = res.RowsAffected()
	res, err = q.ExecContext(ctx, `DELETE FROM sessions WHERE practice_id = $1 AND staff_id = $2`, practiceID, staffID)
	if err != nil {
		return 0, 0, fmt.Errorf("error ending sessions: %w", err)
	}
	sessions, _ = res.RowsAffected()
	return tokens, sessions, nil
}

// Revoke revokes every API token of a staff member (the practice's own id) and ends their
// sessions, and writes it to the audit log; it returns how many of each.
func Revoke(ctx context.Context, d *sqlx.DB, practiceID int64, member string, actor audit.Actor, now time.Time) (tokens, sessions int64, err error) {
	err = db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM staff WHERE practice_id = $1 AND ext_id = $2`, practiceID, member)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no staff member %q", member)
		}
		if err != nil {
			return fmt.Errorf("error reading staff member: %w", err)
		}
		if tokens, sessions, err = revokeCredentials(ctx, tx, practiceID, id, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: practiceID, At: now, Actor: actor, Action: "staff.revoke",
			Entity: "staff", EntityID: fmt.Sprint(id), Detail: map[string]any{"tokens_revoked": tokens, "sessions_ended": sessions}})
	})
	return tokens, sessions, err
}

// selectTokenIdentity finds a token that is neither revoked nor expired; a token made before
// tokens had an expiry lasts DefaultTokenTTL from its creation ($3).
const selectTokenIdentity = `
SELECT s.practice_id, s.id, s.ext_id, s.role, s.access, t.id AS token_id, t.last_used_at
FROM api_tokens t
JOIN staff s ON s.practice_id = t.practice_id AND s.id = t.staff_id
WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND s.disabled_at IS NULL
	AND COALESCE(t.expires_at, t.created_at + make_interval(secs => $3)) > $2`

const touchToken = `
UPDATE api_tokens SET last_used_at = $3
WHERE practice_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $4)`

// RequireToken lets through only requests with a valid "Authorization: Bearer TOKEN" header
// (not revoked, not expired at clock's time), carrying the token's staff identity; others get
// 401. It records the token's last use, at most once a minute.
func RequireToken(q db.Querier, clock func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, tokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach"`)
			WriteError(w, http.StatusUnauthorized, "missing or malformed API token (Authorization: Bearer TOKEN)")
			return
		}
		now := clock()
		var row struct {
			staff.Identity
			TokenID  int64      `db:"token_id"`
			LastUsed *time.Time `db:"last_used_at"`
		}
		err := q.GetContext(r.Context(), &row, selectTokenIdentity, tokenDigest(token), now, DefaultTokenTTL.Seconds())
		if db.IsNoRows(err) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach", error="invalid_token"`)
			WriteError(w, http.StatusUnauthorized, "invalid, expired or revoked API token")
			return
		}
		if err == nil && (row.LastUsed == nil || row.LastUsed.Before(now.Add(-tokenUseEvery))) {
			_, err = q.ExecContext(r.Context(), touchToken, row.PracticeID, row.TokenID, now, now.Add(-tokenUseEvery))
		}
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), row.Identity)))
	})
}
