package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/staff"
)

// staffCmd runs "staff token STAFF_ID [--ttl DURATION]" (print a new API token for that staff
// member), "staff revoke STAFF_ID" (revoke their tokens and sessions) and "staff password
// STAFF_ID [ACCESS]" (set the password, and the access).
func (a *app) staffCmd(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("staff", args)
	if err != nil {
		return err
	}
	fs := u.flagSet()
	ttl := staff.DefaultTokenTTL
	if u.name == "staff token" {
		fs.Func("ttl", "how long the token lasts, a `DURATION` like 720h or 30d (default 90d, at most 366d)", func(v string) error {
			d, err := parseTTL(v)
			ttl = d
			return err
		})
		// The staff id may come before the flag, as CONTRACT writes it.
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			args = append(slices.Clone(args[1:]), args[0])
		}
	}
	if args, err = a.parse(u, fs, args); err != nil {
		return err
	}
	access := ""
	if u.name == "staff password" && len(args) == 2 {
		access = args[1]
		if !staff.KnownAccess(access) {
			return u.fail("access %q is not nurse, practitioner, manager or admin", access)
		}
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		practice := int64(a.cfg.practiceSettings().ID)
		switch u.name {
		case "staff password":
			password, err := a.readPassword(args[0])
			if err != nil {
				return err
			}
			if err := staff.SetPassword(ctx, d, practice, args[0], password, access, audit.ActorCLI, a.now()); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "password set for %s\n", args[0])
			return nil
		case "staff revoke":
			tokens, sessions, err := staff.Revoke(ctx, d, practice, args[0], audit.ActorCLI, a.now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked %d API tokens and ended %d sessions of %s\n", tokens, sessions, args[0])
			return nil
		}
		token, err := staff.NewTokenTTL(ctx, d, practice, args[0], ttl, audit.ActorCLI, a.now())
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, token)
		return nil
	})
}

// parseTTL reads a token's lifetime: a Go duration ("720h") or whole days ("30d"), from one
// minute to 366 days.
func parseTTL(v string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration like 720h or 30d", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("%q is not a duration like 720h or 30d", v)
		}
	}
	if d < time.Minute || d > 366*24*time.Hour {
		return 0, fmt.Errorf("%q is not from 1m to 366d", v)
	}
	return d, nil
}

// readPassword reads a password from standard input. At a terminal it asks on standard error,
// twice, without echo; otherwise it reads one line.
func (a *app) readPassword(member string) (string, error) {
	in := bufio.NewReader(a.stdin)
	f, isFile := a.stdin.(*os.File)
	if !isFile {
		return readLine(in)
	}
	restore, tty := echoOff(f)
	if !tty {
		return readLine(in)
	}
	defer restore()
	fmt.Fprintf(a.stderr, "New password for %s (12 to 72 characters, not shown): ", member)
	first, err := readLine(in)
	if err != nil {
		return "", err
	}
	fmt.Fprint(a.stderr, "The same password again: ")
	second, err := readLine(in)
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	return first, nil
}

// readLine reads one line, without its line ending.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("error reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
