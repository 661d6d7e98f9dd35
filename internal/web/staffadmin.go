package web

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/staff"
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
func ChangeAccount(ctx context.Context, d *sqlx.DB, by staff.Identity, member, access, change string, now time.Time) error {
	if access != "" && !staff.KnownAccess(access) {
		return errkind.Errorf(errkind.ErrInvalid, "access %q is not one of nurse, practitioner, manager, admin", access)
	}
	if change != "" && change != "disable" && change != "enable" {
		return errkind.Errorf(errkind.ErrInvalid, "change %q is not disable or enable", change)
	}
	if member == by.Staff && (change == "disable" || (access != "" && access != string(staff.AccessAdmin))) {
		return errkind.Errorf(errkind.ErrConflict, "you cannot lower or disable your own account")
	}
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, updateAccount, by.PracticeID, member, access, change, now)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no member member %q", member)
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
