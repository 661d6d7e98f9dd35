package timelog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// Patch is what an amendment changes: each field given replaces the current version's value,
// each nil field keeps it. The end is given as EndedAt, or as Minutes or Seconds counted from
// the start (the new one if StartedAt is given); when only StartedAt is given, the end stays.
type Patch struct {
	Patients    []string // nil keeps them; an empty list is refused
	Staff       *string
	Program     *care.Program
	StartedAt   *time.Time
	EndedAt     *time.Time
	Minutes     *int64
	Seconds     *int64
	Activity    *Activity
	Note        *string
	Changed     *Change
	MDM         *MDM
	Interactive *bool
}

// Apply returns the current version's draft with the patch applied, or what is wrong with the
// patch. The result is not normalized.
func (p Patch) Apply(cur Draft) (Draft, []*FieldError) {
	d := cur
	if p.Patients != nil {
		d.Patients = p.Patients
	}
	set(&d.Staff, p.Staff)
	set(&d.Program, p.Program)
	set(&d.StartedAt, p.StartedAt)
	set(&d.Activity, p.Activity)
	set(&d.Note, p.Note)
	set(&d.Changed, p.Changed)
	set(&d.MDM, p.MDM)
	set(&d.Interactive, p.Interactive)
	end, given, fe := endOf(d.StartedAt, p.EndedAt, p.Minutes, p.Seconds)
	if fe != nil {
		return d, []*FieldError{fe}
	}
	if given {
		d.EndedAt = end
	}
	return d, nil
}

func set[T any](field *T, v *T) {
	if v != nil {
		*field = *v
	}
}

// endOf works out an entry's end from what was given: ended_at, or minutes or seconds counted
// from start. given is false when none of them was. Seconds given with ended_at must agree with
// it to within a second (the seconds of a proposed entry are its whole seconds).
func endOf(start time.Time, endedAt *time.Time, minutes, seconds *int64) (end time.Time, given bool, fe *FieldError) {
	maxSeconds := int64(MaxDuration / time.Second)
	switch {
	case minutes != nil && endedAt != nil:
		return end, true, fieldErr("minutes", "give ended_at or minutes, not both")
	case minutes != nil && seconds != nil:
		return end, true, fieldErr("minutes", "give seconds or minutes, not both")
	case minutes != nil:
		if *minutes < 1 || *minutes > maxSeconds/60 {
			return end, true, fieldErr("minutes", "minutes %d is not from 1 to %d", *minutes, maxSeconds/60)
		}
		return start.Add(time.Duration(*minutes) * time.Minute), true, nil
	case seconds != nil && (*seconds < 1 || *seconds > maxSeconds):
		return end, true, fieldErr("seconds", "seconds %d is not from 1 to %d", *seconds, maxSeconds)
	case seconds != nil && endedAt != nil:
		if gap := endedAt.Sub(start) - time.Duration(*seconds)*time.Second; gap <= -time.Second || gap >= time.Second {
			return end, true, fieldErr("seconds", "seconds %d does not agree with started_at %s and ended_at %s, which are %s apart: give ended_at or seconds, or make them agree",
				*seconds, start.Format(time.RFC3339), endedAt.Format(time.RFC3339), endedAt.Sub(start))
		}
		return *endedAt, true, nil
	case seconds != nil:
		return start.Add(time.Duration(*seconds) * time.Second), true, nil
	case endedAt != nil:
		return *endedAt, true, nil
	}
	return end, false, nil
}

// same reports whether two normalized drafts record the same facts (patients in any order).
func same(a, b Draft) bool {
	pa, pb := slices.Clone(a.Patients), slices.Clone(b.Patients)
	slices.Sort(pa)
	slices.Sort(pb)
	return slices.Equal(pa, pb) && a.Staff == b.Staff && a.Program == b.Program &&
		a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) && a.Activity == b.Activity &&
		a.Note == b.Note && a.Changed == b.Changed && a.MDM == b.MDM && a.Interactive == b.Interactive
}

// Amend records a corrected version of a current entry that c may amend (see Permit): the
// patch applied to it, with the reason. The original stays stored and is marked superseded. An
// amendment that changes nothing is refused. The amendment carries warnings as a recorded
// entry does.
func (s *Service) Amend(ctx context.Context, c Caller, id EntryID, p Patch, reason string) (Entry, error) {
	// An entry's staff member never changes: who may amend it is known before the lock.
	permit := func(cur Entry) error { return MayActFor(c, VerbAmend, cur.Staff) }
	return s.supersede(ctx, c, id, reason, VerbAmend, permit, func(tx *sqlx.Tx, cur Entry, now time.Time) (resolved, Source, bool, error) {
		d, errs := p.Apply(cur.draft())
		if len(errs) == 0 {
			errs = d.Normalize(now)
		}
		if len(errs) > 0 {
			return resolved{}, "", false, &InvalidError{errs}
		}
		if same(d, cur.draft()) {
			return resolved{}, "", false, errkind.Errorf(errkind.ErrInvalid, "the amendment changes nothing in time entry %d: give the fields that change", id)
		}
		before := cur.attribution()
		e, err := s.resolveOne(ctx, tx, c, VerbAmend, d, &before)
		if err != nil {
			return resolved{}, "", false, fmt.Errorf("time entry %d: %w", id, err)
		}
		return e, SourceManual, false, nil
	})
}

// Void withdraws a current entry that c may void (see Permit), with the reason: it stays
// stored and counts for nothing. A void in a closed billing month carries a warning: the
// closed report still counts the entry.
func (s *Service) Void(ctx context.Context, c Caller, id EntryID, reason string) (Entry, error) {
	permit := func(old Entry) error { return Permit(c, Act{Verb: VerbVoid, Entry: old.attribution()}) }
	return s.supersede(ctx, c, id, reason, VerbVoid, permit, func(tx *sqlx.Tx, old Entry, _ time.Time) (resolved, Source, bool, error) {
		r, err := newResolver(ctx, tx, int64(s.Practice), []Draft{old.draft()})
		if err != nil {
			return resolved{}, "", false, err
		}
		e, _ := r.resolve(old.draft())
		// The void keeps the voided entry's facts, including its role at the time.
		e.role, e.credential, e.npi = old.StaffRole, old.StaffCredential, old.StaffNPI
		return e, old.Source, true, nil
	})
}

// supersede records, with the reason, a version that supersedes the current entry id, under
// the entry's lock: permit says whether c may (before the lock), and next makes the version
// from the entry as it stands, its source and whether it voids the entry.
func (s *Service) supersede(ctx context.Context, c Caller, id EntryID, reason string, verb Verb, permit func(cur Entry) error,
	next func(tx *sqlx.Tx, cur Entry, now time.Time) (resolved, Source, bool, error)) (Entry, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Entry{}, &InvalidError{[]*FieldError{fieldErr("reason", "reason is empty: say why the entry is %s", verbDone[verb])}}
	}
	now := s.Clock()
	var newID EntryID
	var ws []Warning
	err := db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		cur, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := permit(cur); err != nil {
			return fmt.Errorf("time entry %d: %w", id, err)
		}
		if err := s.lockCurrent(ctx, tx, id, string(verb)); err != nil {
			return err
		}
		e, src, voided, err := next(tx, cur, now)
		if err != nil {
			return err
		}
		newID, ws, err = s.store(ctx, tx, e, src, amendment{supersedes: &id, voided: voided, reason: &reason}, c.Actor, now)
		return err
	})
	if err != nil {
		return Entry{}, err
	}
	return s.recorded(ctx, newID, ws)
}

// verbDone is what an amendment or a void does to an entry, as its errors say it.
var verbDone = map[Verb]string{VerbAmend: "amended", VerbVoid: "voided"}

const lockEntry = `
SELECT id FROM time_entries WHERE practice_id = $1 AND id = $2 FOR UPDATE`

// selectTrail loads an entry and, in order, each version that superseded it.
const selectTrail = `
WITH RECURSIVE down AS (
	SELECT id, supersedes, voided, created_at, 0 AS depth
	FROM time_entries WHERE practice_id = $1 AND id = $2
	UNION ALL
	SELECT e.id, e.supersedes, e.voided, e.created_at, down.depth + 1
	FROM time_entries e JOIN down ON e.practice_id = $1 AND e.supersedes = down.id
)
SELECT id, supersedes, voided, created_at FROM down ORDER BY depth`

// version is one step of an entry's trail.
type version struct {
	ID         EntryID   `db:"id"`
	Supersedes *EntryID  `db:"supersedes"`
	Voided     bool      `db:"voided"`
	CreatedAt  time.Time `db:"created_at"`
}

// lockCurrent locks an entry to amend or void (verb): it must exist, be current and not be a
// void. The trail is read after the lock, so that it includes what a concurrent amendment
// committed.
func (s *Service) lockCurrent(ctx context.Context, tx *sqlx.Tx, id EntryID, verb string) error {
	var locked EntryID
	err := tx.GetContext(ctx, &locked, lockEntry, int64(s.Practice), int64(id))
	if db.IsNoRows(err) {
		return errkind.Errorf(errkind.ErrNotFound, "time entry %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("error locking time entry %d: %w", id, err)
	}
	var trail []version
	if err := tx.SelectContext(ctx, &trail, selectTrail, int64(s.Practice), int64(id)); err != nil {
		return fmt.Errorf("error loading the versions of time entry %d: %w", id, err)
	}
	return whyNotCurrent(verb, trail, s.loc())
}

// whyNotCurrent says why the first entry of a trail cannot be amended or voided (verb), naming
// the versions that stand in the way and when they were recorded; nil when it can.
func whyNotCurrent(verb string, trail []version, loc *time.Location) error {
	e := trail[0]
	if e.Voided {
		if verb == "void" {
			return errkind.Errorf(errkind.ErrConflict, "time entry %d is itself a void: it voided entry %d on %s", e.ID, *e.Supersedes, localTime(e.CreatedAt, loc))
		}
		return errkind.Errorf(errkind.ErrConflict, "time entry %d is a void (of entry %d, on %s) and cannot be amended; record a new entry instead", e.ID, *e.Supersedes, localTime(e.CreatedAt, loc))
	}
	if len(trail) == 1 {
		return nil
	}
	next, head := trail[1], trail[len(trail)-1]
	if head.Voided {
		how := fmt.Sprintf("entry %d voided it on %s", head.ID, localTime(head.CreatedAt, loc))
		if next.ID != head.ID {
			how = fmt.Sprintf("entry %d amended it on %s, and entry %d voided the amended entry on %s", next.ID, localTime(next.CreatedAt, loc), head.ID, localTime(head.CreatedAt, loc))
		}
		if verb == "void" {
			return errkind.Errorf(errkind.ErrConflict, "time entry %d is already voided: %s", e.ID, how)
		}
		return errkind.Errorf(errkind.ErrConflict, "time entry %d was voided and cannot be amended (%s); record a new entry instead", e.ID, how)
	}
	current := ""
	if next.ID != head.ID {
		current = fmt.Sprintf("; the current version is entry %d", head.ID)
	}
	return errkind.Errorf(errkind.ErrConflict, "time entry %d was already amended by entry %d on %s%s: %s that one", e.ID, next.ID, localTime(next.CreatedAt, loc), current, verb)
}
