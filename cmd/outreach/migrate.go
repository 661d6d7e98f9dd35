package main

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
)

func (a *app) migrate(ctx context.Context, args []string) error {
	if err := noArgs("migrate", args); err != nil {
		return err
	}
	d, err := a.openMigrated(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	return d.Close()
}

// openMigrated opens the database, applies pending migrations and stores the practice settings.
// A database whose schema is newer than this binary is refused.
func (a *app) openMigrated(ctx context.Context, actor audit.Actor) (*sqlx.DB, error) {
	d, err := db.Open(ctx, a.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx, d, a.now)
	if err != nil {
		d.Close()
		return nil, err
	}
	st, _ := db.CheckSchema(ctx, d)
	a.log.Info("database schema ready", "applied", applied, "version", st.Applied)
	if err := practice.Ensure(ctx, d, a.cfg.practiceSettings(), actor, a.now()); err != nil {
		d.Close()
		return nil, fmt.Errorf("error storing practice settings: %w", err)
	}
	return d, nil
}
