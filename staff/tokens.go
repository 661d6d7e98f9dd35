package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// TokenPrefix marks the engine's API tokens, so that a leaked one is easy to recognise.
const TokenPrefix = "otk_"

// DefaultTokenTTL is how long an API token lasts unless its creator says otherwise.
const DefaultTokenTTL = 90 * 24 * time.Hour

// tokenUseEvery is how often a token's last use is written: at most once a minute.
const tokenUseEvery = time.Minute

// ErrBadToken is an API token that is unknown, expired, revoked, or whose staff member is
// disabled.
var ErrBadToken = errors.New("invalid, expired or revoked API token")

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("error making token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

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
	token, err := randomToken(TokenPrefix)
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

// TokenIdentity returns whose API token this is, at now: ErrBadToken when it is malformed,
// unknown, revoked or expired. It records the token's last use, at most once a minute.
func TokenIdentity(ctx context.Context, q db.Querier, token string, now time.Time) (Identity, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Identity{}, ErrBadToken
	}
	var row struct {
		Identity
		TokenID  int64      `db:"token_id"`
		LastUsed *time.Time `db:"last_used_at"`
	}
	err := q.GetContext(ctx, &row, selectTokenIdentity, tokenDigest(token), now, DefaultTokenTTL.Seconds())
	if db.IsNoRows(err) {
		return Identity{}, ErrBadToken
	}
	if err == nil && (row.LastUsed == nil || row.LastUsed.Before(now.Add(-tokenUseEvery))) {
		_, err = q.ExecContext(ctx, touchToken, row.PracticeID, row.TokenID, now, now.Add(-tokenUseEvery))
	}
	if err != nil {
		return Identity{}, fmt.Errorf("error reading API token: %w", err)
	}
	return row.Identity, nil
}
