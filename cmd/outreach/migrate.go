package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbrole"
	"github.com/outreach-engine/outreach/internal/practice"
)

func (a *app) migrate(ctx context.Context, args []string) error {
	if _, err := a.parse(migrateUsage, nil, args); err != nil {
		return err
	}
	d, err := a.openMigrated(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	return d.Close()
}

// openMigrated creates the database when it is missing, applies pending migrations and stores
// the practice settings: for migrate, serve and demo only. The months ahead of the tables of
// history get their partitions. A database whose schema is
// newer than this binary is refused. Migrations run on sessions of their own, whose statements
// may take longer than the engine's. With OUTREACH_DATABASE_ROLE, the role's rights are granted
// after the migrations, and the database returned acts as the role.
func (a *app) openMigrated(ctx context.Context, actor audit.Actor) (*sqlx.DB, error) {
	if err := db.CreateIfMissing(ctx, a.cfg.DatabaseURL); err != nil {
		return nil, err
	}
	m, err := db.OpenWith(ctx, a.cfg.DatabaseURL, db.MigrationSession)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx, m, a.now)
	if err == nil {
		// Not made now (a table's lock not granted in time), a month's rows go to its table's
		// DEFAULT partition meanwhile: worth a warning, not a refusal to start.
		if perr := a.ensurePartitions(ctx, m); perr != nil {
			a.log.Warn("the partitions of the months ahead were not made; serve tries again daily", "err", perr)
		}
	}
	m.Close()
	if err != nil {
		return nil, err
	}
	d, err := db.OpenWith(ctx, a.cfg.DatabaseURL, a.cfg.DBSession)
	if err != nil {
		return nil, err
	}
	st, err := db.CheckSchema(ctx, d)
	if err != nil {
		d.Close()
		return nil, err
	}
	a.log.Info("database schema ready", "applied", applied, "version", st.Applied)
	if role := a.cfg.DatabaseRole; role != "" {
		err := dbrole.Grant(ctx, d, role)
		d.Close()
		if err != nil {
			return nil, err
		}
		a.log.Info("database role granted its rights", "role", role)
		if d, err = a.openAsRole(ctx); err != nil {
			return nil, err
		}
	}
	return a.withPractice(ctx, d, actor)
}

// openAsRole opens the database of DATABASE_URL with every connection acting as
// OUTREACH_DATABASE_ROLE.
func (a *app) openAsRole(ctx context.Context) (*sqlx.DB, error) {
	conn, err := dbrole.Conn(a.cfg.DatabaseURL, a.cfg.DatabaseRole)
	if err != nil {
		return nil, err
	}
	d, err := db.OpenWith(ctx, conn, a.cfg.DBSession)
	if err != nil {
		return nil, fmt.Errorf("error connecting as role %s (run 'outreach migrate' with OUTREACH_DATABASE_ROLE set to grant it): %w", a.cfg.DatabaseRole, err)
	}
	return d, nil
}

// withDB runs fn on the database of DATABASE_URL, opened for the command line as openCurrent
// opens it, and closes it afterwards.
func (a *app) withDB(ctx context.Context, fn func(d *sqlx.DB) error) error {
	d, err := a.openCurrent(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}

// openCurrent opens the database for every other command: it must exist and be migrated to
// exactly this binary's schema, so that a mistyped DATABASE_URL fails rather than reads or
// fills an empty database. With OUTREACH_DATABASE_ROLE, it acts as the role.
func (a *app) openCurrent(ctx context.Context, actor audit.Actor) (*sqlx.DB, error) {
	name, err := db.DatabaseName(a.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	conn := a.cfg.DatabaseURL
	if a.cfg.DatabaseRole != "" {
		if conn, err = dbrole.Conn(conn, a.cfg.DatabaseRole); err != nil {
			return nil, err
		}
	}
	d, err := db.OpenWith(ctx, conn, a.cfg.DBSession)
	if errors.Is(err, db.ErrNoDatabase) {
		return nil, fmt.Errorf("database %q does not exist: check DATABASE_URL, or create it with 'outreach migrate'", name)
	}
	if err != nil {
		return nil, err
	}
	st, err := db.CheckSchema(ctx, d)
	switch {
	case err != nil:
		d.Close()
		return nil, fmt.Errorf("database %q: %w", name, err)
	case st.Applied == 0:
		d.Close()
		return nil, fmt.Errorf("database %q has no outreach schema: check DATABASE_URL, or set it up with 'outreach migrate'", name)
	case !st.Current():
		d.Close()
		return nil, fmt.Errorf("database %q is at schema version %d and this binary needs %d: run 'outreach migrate'", name, st.Applied, st.Known)
	}
	return a.withPractice(ctx, d, actor)
}

// withPractice stores the practice settings of the configuration in d, closing d on failure.
func (a *app) withPractice(ctx context.Context, d *sqlx.DB, actor audit.Actor) (*sqlx.DB, error) {
	if err := practice.Ensure(ctx, d, a.cfg.practiceSettings(), actor, a.now()); err != nil {
		d.Close()
		return nil, fmt.Errorf("error storing practice settings: %w", err)
	}
	return d, nil
}
