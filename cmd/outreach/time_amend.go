package main

import (
	"context"
	"encoding/json"
	"flag"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/timelog"
)

// timeChange runs "time amend ENTRY_ID [fields] --reason TEXT --as STAFF_ID" and "time void
// ENTRY_ID --reason TEXT --as STAFF_ID": the command line acts as the staff member named by
// --as, with their rights (timelog.Permit), through the same service as the API, and prints
// the version it recorded as JSON.
func (a *app) timeChange(ctx context.Context, u cmdUsage, args []string) error {
	amend, done := u.name == "time amend", "voided"
	if amend {
		done = "amended"
	}
	fs := u.flagSet()
	reason := fs.String("reason", "", "why the entry is "+done+": `TEXT` (required)")
	as := fs.String("as", "", "who acts: a `STAFF_ID` (required); their rights apply, and the trail names them")
	var p timelog.Patch
	if amend {
		setFlag(fs, "minutes", "the new length, `N` whole minutes from the start", &p.Minutes,
			func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) })
		setFlag(fs, "started-at", "the new start, `RFC3339` with offset (the end stays unless given)", &p.StartedAt, parseInstant)
		setFlag(fs, "ended-at", "the new end, `RFC3339` with offset", &p.EndedAt, parseInstant)
		setFlag(fs, "activity", "what was done (`ACTIVITY`): "+joinStrings(timelog.Activities), &p.Activity, text[timelog.Activity])
		setFlag(fs, "note", "the new note (`TEXT`)", &p.Note, text[string])
		setFlag(fs, "changed", "what the work changed (`CHANGE`): "+joinStrings(timelog.Changes), &p.Changed, text[timelog.Change])
		setFlag(fs, "mdm", "the practitioner's medical decision-making (`LEVEL`): "+joinStrings(timelog.MDMs), &p.MDM, text[timelog.MDM])
		setFlag(fs, "interactive", "a real-time conversation with the patient (`true|false`)", &p.Interactive, strconv.ParseBool)
	}
	// The entry id may come before the flags, as the usage writes it.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(slices.Clone(args[1:]), args[0])
	}
	rest, err := a.parse(u, fs, args)
	if err != nil {
		return err
	}
	entry, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || entry <= 0 {
		return u.fail("%q is not an entry id", rest[0])
	}
	switch {
	case *as == "":
		return u.fail("--as is required: the staff id of whoever acts, whose rights apply")
	case strings.TrimSpace(*reason) == "":
		return u.fail("--reason is required: say why the entry is %s", done)
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		svc := a.timelog(d)
		who, err := svc.CallerFor(ctx, *as)
		if err != nil {
			return err
		}
		var e timelog.Entry
		if amend {
			e, err = svc.Amend(ctx, who, timelog.EntryID(entry), p, *reason)
		} else {
			e, err = svc.Void(ctx, who, timelog.EntryID(entry), *reason)
		}
		if err != nil {
			return err
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	})
}

// joinStrings lists values for a flag's help, comma-separated.
func joinStrings[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// setFlag defines a flag that, when given, sets *dst to its value read by parse; left out, *dst
// stays nil.
func setFlag[T any](fs *flag.FlagSet, name, usage string, dst **T, parse func(string) (T, error)) {
	fs.Func(name, usage, func(v string) error {
		x, err := parse(v)
		if err != nil {
			return err
		}
		*dst = &x
		return nil
	})
}

// text reads a flag's text as a string type, as it is; the service checks the value.
func text[T ~string](v string) (T, error) { return T(v), nil }

func parseInstant(v string) (time.Time, error) { return time.Parse(time.RFC3339, v) }
