package main

import (
	"context"
	"fmt"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/web"
)

// staffCmd runs "staff token STAFF_ID": print a new API token for that staff member.
func (a *app) staffCmd(ctx context.Context, args []string) error {
	if len(args) != 2 || args[0] != "token" {
		return usageError{"usage: outreach staff token STAFF_ID"}
	}
	d, err := a.openMigrated(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	defer d.Close()
	token, err := web.NewToken(ctx, d, int64(a.cfg.practiceSettings().ID), args[1], audit.ActorCLI, a.now())
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, token)
	return nil
}
