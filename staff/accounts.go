package staff

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// Account is a staff member's account as admins see it.
type Account struct {
	Ext         string `db:"ext_id"`
	Name        string `db:"name"`
	Role        string `db:"role"`
	Access      string `db:"access"`
	HasPassword bool   `db:"has_password"`
	Disabled    bool   `db:"disabled"`
}

const selectAccounts = `
SELECT ext_id, name, role, access, password_hash IS NOT NULL AS has_password, disabled_at IS NOT NULL AS disabled
FROM staff WHERE practice_id = $1 ORDER BY ext_id`

// ListAccounts lists the practice's staff accounts.
func ListAccounts(ctx context.Context, q db.Querier, practiceID int64) ([]Account, error) {
	var out []Account
	if err := q.SelectContext(ctx, &out, selectAccounts, practiceID); err != nil {
		return nil, fmt.Errorf("error listing staff accounts: %w", err)
	}
	return out, nil
}

const updateAccount = `
UPDATE staff SET access = COALESCE(NULLIF($3, ''), access),
	disabled_at = CASE WHEN $4 = 'disable' THEN COALESCE(disabled_at, $5) WHEN $4 = 'enable' THEN NULL ELSE disabled_at END,
	updated_at = $5
WHERE practice_id = $1 AND ext_id = $2
RETURNING id`

// ChangeAccount sets a staff member's access (when access is not empty) or disables or enables
// the account (change "disable" or "enable"); disabling ends the account's sessions and revokes
// its API tokens, so that enabling it again brings none of them back. An admin cannot lock
// themselves out.
func ChangeAccount(ctx context.Context, d *sqlx.DB, by Identity, member, access, change string, now time.Time) error {
	if access != "" && !KnownAccess(access) {
		return errkind.Errorf(errkind.ErrInvalid, "access %q is not one of nurse, practitioner, manager, admin", access)
	}
	if change != "" && change != "disable" && change != "enable" {
		return errkind.Errorf(errkind.ErrInvalid, "change %q is not disable or enable", change)
	}
	if member == by.Staff && (change == "disable" || (access != "" && access != string(AccessAdmin))) {
		return errkind.Errorf(errkind.ErrConflict, "you cannot lower or disable your own account")
	}
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, updateAccount, by.PracticeID, member, access, change, now)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no staff member %q", member)
		}
		if err != nil {
			return err
		}
		detail := map[string]any{"access": access, "change": change}
		if change == "disable" {
			tokens, sessions, err := revokeCredentials(ctx, tx, by.PracticeID, id, now)
			if err != nil {
				return err
			}
			detail["tokens_revoked"], detail["sessions_ended"] = tokens, sessions
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: by.PracticeID, At: now, Actor: by.Actor(), Action: "staff.account",
			Entity: "staff", EntityID: fmt.Sprint(id), Detail: detail})
	})
}

// MinPassword is the shortest password accepted.
const MinPassword = 12

// bcryptCost is the work factor of stored passwords.
const bcryptCost = 12

// dummyHash is compared against when the staff id is unknown, so that a login takes as long
// whether or not the id exists. It is made at the first such login, not when the program
// starts: every command would otherwise pay for a bcrypt hash it does not use.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such staff member here"), bcryptCost)
	return h
})

const setPassword = `
UPDATE staff SET password_hash = $3, access = COALESCE(NULLIF($4, ''), access), updated_at = $5
WHERE practice_id = $1 AND ext_id = $2
RETURNING id`

// SetPassword stores a staff member's password (bcrypt) and, when access is not empty, their
// access level; their open sessions end and their API tokens are revoked.
func SetPassword(ctx context.Context, d *sqlx.DB, practiceID int64, member, password, access string, actor audit.Actor, now time.Time) error {
	if n := len([]rune(password)); n < MinPassword || len(password) > 72 {
		return errkind.Errorf(errkind.ErrInvalid, "a password needs %d to 72 characters (this one has %d)", MinPassword, n)
	}
	if access != "" && !KnownAccess(access) {
		return errkind.Errorf(errkind.ErrInvalid, "access %q is not nurse, practitioner, manager or admin", access)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("error hashing password: %w", err)
	}
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, setPassword, practiceID, member, string(hash), access, now)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no staff member %q", member)
		}
		if err != nil {
			return fmt.Errorf("error storing password: %w", err)
		}
		tokens, sessions, err := revokeCredentials(ctx, tx, practiceID, id, now)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: practiceID, At: now, Actor: actor, Action: "staff.password",
			Entity: "staff", EntityID: fmt.Sprint(id), Detail: map[string]any{"access": access, "tokens_revoked": tokens, "sessions_ended": sessions}})
	})
}
