package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/web"
)

const staffUsage = "usage: outreach staff token STAFF_ID | outreach staff password STAFF_ID [nurse|practitioner|manager|admin] (the password on standard input)"

// staffCmd runs "staff token STAFF_ID" (print a new API token for that staff member) and
// "staff password STAFF_ID [ACCESS]" (set the password read from standard input, and the access).
func (a *app) staffCmd(ctx context.Context, args []string) error {
	if len(args) < 2 || (args[0] == "token" && len(args) != 2) || (args[0] == "password" && len(args) > 3) ||
		(args[0] != "token" && args[0] != "password") {
		return usageError{staffUsage}
	}
	d, err := a.openMigrated(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	defer d.Close()
	practice := int64(a.cfg.practiceSettings().ID)
	if args[0] == "password" {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password from standard input: %w", err)
		}
		access := ""
		if len(args) == 3 {
			access = args[2]
		}
		if err := web.SetPassword(ctx, d, practice, args[1], strings.TrimRight(line, "\r\n"), access, audit.ActorCLI, a.now()); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "password set for %s\n", args[1])
		return nil
	}
	token, err := web.NewToken(ctx, d, practice, args[1], audit.ActorCLI, a.now())
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, token)
	return nil
}
