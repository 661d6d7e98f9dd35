// Package dbrole runs the engine as a database role of its own: a role that may read and
// change the engine's tables but may only add to and read the audit log. Migrations run as
// the owner of the schema, which grants the role its rights; every other connection acts as
// the role.
package dbrole

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
)

// nameRE is the form of role names accepted: a plain lower-case identifier, so that it needs no
// quoting anywhere it is written.
var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Check returns an error when name cannot be a role's name.
func Check(name string) error {
	if !nameRE.MatchString(name) || strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("%q is not a role name: lower-case letters, digits and _, at most 63, not starting with a digit or pg_", name)
	}
	return nil
}

// grantLock is the key of the transaction-level advisory lock that serialises grants of
// replicas starting at once (concurrent GRANTs on one table fail).
const grantLock = 0x6f75747267726e74 // "outrgrnt"

// appendOnly are the tables the role may only add to and read.
var appendOnly = []string{"audit_log"}

// readOnly are the tables the role may only read.
var readOnly = []string{"schema_migrations"}

// Grant brings the role's rights in d's current schema up to date, creating the role (NOLOGIN)
// when it does not exist and making the connected user a member of it, so that it may act as
// it. The role may SELECT, INSERT, UPDATE and DELETE on every table of the schema but
// schema_migrations (SELECT only) and audit_log (INSERT and SELECT only), and use the
// sequences. It runs after the migrations, as their owner, so that tables added later are
// covered.
func Grant(ctx context.Context, d *sqlx.DB, role string) error {
	if err := Check(role); err != nil {
		return err
	}
	r := pq.QuoteIdentifier(role)
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(grantLock)); err != nil {
			return fmt.Errorf("error taking the grant lock: %w", err)
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role); err != nil {
			return fmt.Errorf("error looking up role %s: %w", role, err)
		}
		if !exists {
			if _, err := tx.ExecContext(ctx, `CREATE ROLE `+r+` NOLOGIN`); err != nil {
				return fmt.Errorf("error creating role %s (the migrating user needs CREATEROLE, or create it yourself): %w", role, err)
			}
		}
		var member bool
		if err := tx.GetContext(ctx, &member, `SELECT pg_has_role(current_user, $1, 'MEMBER')`, role); err != nil {
			return fmt.Errorf("error checking membership of role %s: %w", role, err)
		}
		if !member {
			if _, err := tx.ExecContext(ctx, `GRANT `+r+` TO CURRENT_USER`); err != nil {
				return fmt.Errorf("error making the migrating user a member of role %s: %w", role, err)
			}
		}
		var schema string
		if err := tx.GetContext(ctx, &schema, `SELECT current_schema()`); err != nil {
			return fmt.Errorf("error reading the current schema: %w", err)
		}
		s := pq.QuoteIdentifier(schema)
		stmts := []string{
			`GRANT USAGE ON SCHEMA ` + s + ` TO ` + r,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + s + ` TO ` + r,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + s + ` TO ` + r,
		}
		for _, t := range appendOnly {
			// The partitions of a partitioned table too: they are tables of the schema.
			var parts []string
			if err := tx.SelectContext(ctx, &parts, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = to_regclass($1) ORDER BY 1`, s+"."+pq.QuoteIdentifier(t)); err != nil {
				return fmt.Errorf("error listing the partitions of %s: %w", t, err)
			}
			for _, name := range append([]string{t}, parts...) {
				stmts = append(stmts, `REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON `+s+`.`+pq.QuoteIdentifier(name)+` FROM `+r)
			}
		}
		for _, t := range readOnly {
			stmts = append(stmts, `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON `+s+`.`+pq.QuoteIdentifier(t)+` FROM `+r)
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("error granting role %s its rights (%s): %w", role, stmt, err)
			}
		}
		return nil
	})
}

// optionsRE finds the options parameter of a normalised connection string (key='value' pairs,
// quotes and backslashes escaped with a backslash).
var optionsRE = regexp.MustCompile(`(^| )options='((?:[^'\\]|\\.)*)'`)

// Conn returns the connection string conn with the role set for the whole session (the
// server's "-c role=" option), kept with any options conn already has. Every connection opened
// with it acts as the role from its start.
func Conn(conn, role string) (string, error) {
	if err := Check(role); err != nil {
		return "", err
	}
	c, err := db.WithSSLMode(conn)
	if err != nil {
		return "", err
	}
	opt := "-c role=" + role
	if m := optionsRE.FindStringSubmatchIndex(c); m != nil {
		old := unescape(c[m[4]:m[5]])
		return c[:m[4]] + escape(old+" "+opt) + c[m[5]:], nil
	}
	return c + " options='" + escape(opt) + "'", nil
}

func escape(v string) string {
	return strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`)
}

func unescape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
