package outreach

import "time"

// memoMaxAge is how long the scheduler trusts what it remembers with no change noted: a bound
// on how late it notices what changes with time alone and that no trigger notes.
const memoMaxAge = time.Hour

// slotKey is one group's due slot: its patients' script and zone, and the slot's period.
type slotKey struct {
	Script, Zone, Period string
}

// memoFor is what the statements of a memo were read for: the practice and whether it has the
// exemption (see forExemption).
type memoFor struct {
	Practice int64
	Exempt   bool
}

// scheduleMemo is what one process's scheduler remembers between minutes, so that a minute with
// nothing due reads no patient: the groups of eligible patients and the slots whose check-ins
// were all started. It holds for the settings it was read for, while no change is noted in
// schedule_changes since Snapshot (a database snapshot), and until Until. It is an
// optimisation of one replica: the database's unique keys keep the check-ins single, so a memo
// can only delay a start, never repeat one.
type scheduleMemo struct {
	Snapshot string // the database snapshot the memo holds for; "" when empty
	For      memoFor
	Until    time.Time
	Groups   []group
	Done     map[slotKey]bool
}

// valid reports whether the memo may be used at now for the settings f, given whether a change
// was noted since its snapshot.
func (m *scheduleMemo) valid(now time.Time, f memoFor, changed bool) bool {
	return m.Snapshot != "" && m.For == f && !changed && now.Before(m.Until)
}

// reset makes the memo hold the groups read for f after snapshot at now: it lasts memoMaxAge,
// or until next, when a patient's consent comes into force (zero: none to come).
func (m *scheduleMemo) reset(snapshot string, f memoFor, groups []group, now, next time.Time) {
	m.Snapshot, m.For, m.Groups, m.Done = snapshot, f, groups, map[slotKey]bool{}
	m.Until = memoExpiry(now, next)
}

// memoExpiry is when a memo made at now stops holding: after memoMaxAge, or at next, the
// first moment a consent comes into force, when that comes sooner (zero: none to come).
func memoExpiry(now, next time.Time) time.Time {
	until := now.Add(memoMaxAge)
	if !next.IsZero() && next.Before(until) {
		return next
	}
	return until
}

// slotDone reports whether a run of a slot's group leaves nothing to start until a change:
// every patient it found without the period's check-in got one. Patients left over are in
// another conversation, or were started by another replica at the same moment; the group is
// run again at the next minute.
func slotDone(missing, created int) bool { return missing == created }
