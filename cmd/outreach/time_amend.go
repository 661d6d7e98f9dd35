package main

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
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
		fs.Func("minutes", "the new length, `N` whole minutes from the start", func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			p.Minutes = &n
			return err
		})
		fs.Func("started-at", "the new start, `RFC3339` with offset (the end stays unless given)", func(v string) error {
			t, err := time.Parse(time.RFC3339, v)
			p.StartedAt = &t
			return err
		})
		fs.Func("ended-at", "the new end, `RFC3339` with offset", func(v string) error {
			t, err := time.Parse(time.RFC3339, v)
			p.EndedAt = &t
			return err
		})
		fs.Func("activity", "what was done (`ACTIVITY`): "+joinStrings(timelog.Activities), func(v string) error {
			act := timelog.Activity(v)
			p.Activity = &act
			return nil
		})
		fs.Func("note", "the new note (`TEXT`)", func(v string) error {
			p.Note = &v
			return nil
		})
		fs.Func("changed", "what the work changed (`CHANGE`): "+joinStrings(timelog.Changes), func(v string) error {
			c := timelog.Change(v)
			p.Changed = &c
			return nil
		})
		fs.Func("mdm", "the practitioner's medical decision-making (`LEVEL`): "+joinStrings(timelog.MDMs), func(v string) error {
			m := timelog.MDM(v)
			p.MDM = &m
			return nil
		})
		fs.Func("interactive", "a real-time conversation with the patient (`true|false`)", func(v string) error {
			b, err := strconv.ParseBool(v)
			p.Interactive = &b
			return err
		})
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
	d, err := a.openCurrent(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	defer d.Close()
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
}

// joinStrings lists values for a flag's help, comma-separated.
func joinStrings[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
