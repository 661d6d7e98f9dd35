package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/internal/audit"
)

// auditCmd runs "audit export --from YYYY-MM-DD --to YYYY-MM-DD [--out FILE]".
func (a *app) auditCmd(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("audit", args)
	if err != nil {
		return err
	}
	fs := u.flagSet()
	from := fs.String("from", "", "the first `YYYY-MM-DD` day, in the practice's time zone")
	to := fs.String("to", "", "the last `YYYY-MM-DD` day, included")
	out := fs.String("out", "", "write to `FILE` (a new file, mode 0600) rather than standard output")
	if _, err := a.parse(u, fs, args); err != nil {
		return err
	}
	start, end, err := audit.DayRange(*from, *to, a.cfg.Location)
	if err != nil {
		return u.fail("%v", err)
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		w, closeOut := io.Writer(a.stdout), func() error { return nil }
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("--out %s exists: give a new file", *out)
			}
			if err != nil {
				return fmt.Errorf("error creating --out file: %w", err)
			}
			w, closeOut = f, f.Close
		}
		practice := int64(a.cfg.practiceSettings().ID)
		if err := audit.Record(ctx, d, audit.Event{PracticeID: practice, At: a.now(), Actor: audit.ActorCLI,
			Action: "audit_log.export", Entity: "audit_log", Detail: map[string]any{"from": *from, "to": *to}}); err != nil {
			closeOut()
			return err
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		n, err := audit.Export(ctx, d, practice, start, end, bw, nil)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := closeOut(); err == nil && cerr != nil {
			err = fmt.Errorf("error writing --out file: %w", cerr)
		}
		if err != nil {
			return err
		}
		if *out != "" {
			fmt.Fprintf(a.stderr, "%d audit events written to %s\n", n, *out)
		}
		return nil
	})
}
