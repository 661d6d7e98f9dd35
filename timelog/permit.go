package timelog

import (
	"context"
	"fmt"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/staff"
)

// Caller is who acts on the time log: a staff member signed in to the pages or holding an API
// token, or the command line.
type Caller struct {
	Actor  audit.Actor  // as stored in created_by and the audit log
	Staff  string       // the staff member's own id; empty for the command line
	Access staff.Access // what the caller may do
}

// CallerOf returns a signed-in staff member as a caller.
func CallerOf(id staff.Identity) Caller {
	return Caller{Actor: id.Actor(), Staff: id.Staff, Access: id.Access}
}

const selectCaller = `
SELECT practice_id, id, ext_id, role, access, disabled_at IS NOT NULL AS disabled
FROM staff WHERE practice_id = $1 AND ext_id = $2`

// CallerFor returns the staff member whose own id is member as a caller with their own access,
// for the command line acting as them (outreach time amend --as): it has their rights and no
// more, and what it records names them, as their API token would. An unknown staff id is
// errkind.ErrNotFound; a disabled account, which could not sign in, errkind.ErrForbidden.
func (s *Service) CallerFor(ctx context.Context, member string) (Caller, error) {
	var row struct {
		staff.Identity
		Disabled bool `db:"disabled"`
	}
	err := s.DB.GetContext(ctx, &row, selectCaller, int64(s.Practice), member)
	if db.IsNoRows(err) {
		return Caller{}, errkind.Errorf(errkind.ErrNotFound, "staff %q is not a known staff id", member)
	}
	if err != nil {
		return Caller{}, fmt.Errorf("error loading staff member %q: %w", member, err)
	}
	if row.Disabled {
		return Caller{}, errkind.Errorf(errkind.ErrForbidden, "staff %q has a disabled account and may not act", member)
	}
	return CallerOf(row.Identity), nil
}

// CLI is the command line (`outreach import time`). It is run by whoever runs the server, with
// its database, so it acts as the practice's administrator: it imports any staff member's
// time, with the MDM a practitioner documented in the practice's records.
var CLI = Caller{Actor: audit.ActorCLI, Access: staff.AccessAdmin}

// forOthers reports whether the caller may act on other staff members' time.
func (c Caller) forOthers() bool {
	return c.Access == staff.AccessManager || c.Access == staff.AccessAdmin
}

// Verb is what a caller does to the time log.
type Verb string

// Verbs.
const (
	VerbRecord Verb = "record" // a new entry: by hand, from an item's resolution or a timer
	VerbImport Verb = "import" // a line of a time file
	VerbAmend  Verb = "amend"
	VerbVoid   Verb = "void"
)

// Billing roles of staff members, as the staff directory stores them.
const (
	rolePractitioner = "practitioner"
	roleNonClinical  = "non_clinical"
)

// Attribution is whose time an entry records and the medical decision-making it documents.
type Attribution struct {
	Staff string // the staff member's own id
	Role  string // their billing role: clinical, practitioner or non_clinical
	MDM   MDM
}

// Act is one change to the time log, as the rule sees it.
type Act struct {
	Verb   Verb
	Entry  Attribution  // the new entry, the amended version, or the entry voided
	Before *Attribution // an amendment's current version; nil otherwise
}

// MayActFor says whether c may record, amend or void (verb) the time of staff member staff:
// their own, or anyone's for a manager, an admin or the command line. It returns nil or a
// errkind.ErrForbidden error.
func MayActFor(c Caller, verb Verb, staff string) error {
	if c.Staff == staff || c.forOthers() {
		return nil
	}
	if verb == VerbRecord || verb == VerbImport {
		return errkind.Errorf(errkind.ErrForbidden, "%s may not record time for %s: only %s, a manager or an admin may", who(c), staff, staff)
	}
	return errkind.Errorf(errkind.ErrForbidden, "%s may not %s %s's time: only %s, a manager or an admin may", who(c), verb, staff, staff)
}

// Permit applies the rule of who records what, for whom, with which MDM, to an act. It
// returns nil, a errkind.ErrForbidden error, or an *InvalidError on the mdm field.
//
//   - An entry is recorded, amended or voided by the staff member whose time it is, or on their
//     behalf by a manager, an admin or the command line (see MayActFor); an amendment that gives
//     the time to someone else needs that for both. Who acted is kept as the entry's created_by.
//   - Every program (CCM, RPM, PCM, BHI, TCM, G0506) is care-management time, which clinical
//     staff and practitioners provide: nobody records or amends time of non-clinical staff. A
//     time file imported at the command line may hold theirs: it is kept as the practice's
//     record and never counted. A void withdraws any entry.
//   - Only a practitioner's entry documents MDM (otherwise the entry is invalid), and only the
//     practitioner documents it: nobody else records it, changes or removes it, or gives an
//     entry with MDM to another practitioner. A manager may amend the other facts of a
//     practitioner's entry; a time file carries MDM as the practitioner documented it.
func Permit(c Caller, a Act) error {
	if a.Before != nil {
		if err := MayActFor(c, a.Verb, a.Before.Staff); err != nil {
			return err
		}
	}
	verb := a.Verb
	if a.Before != nil && a.Before.Staff != a.Entry.Staff {
		verb = VerbRecord // giving time to someone is recording it for them
	}
	if err := MayActFor(c, verb, a.Entry.Staff); err != nil {
		return err
	}
	if a.Verb == VerbVoid {
		return nil
	}
	e := a.Entry
	if e.Role == roleNonClinical && a.Verb != VerbImport {
		return errkind.Errorf(errkind.ErrForbidden, "%s is non-clinical staff: care-management time, in every program, is recorded for clinical staff and practitioners only", e.Staff)
	}
	if e.MDM != "none" && e.Role != rolePractitioner {
		return &InvalidError{[]*FieldError{fieldErr("mdm", "mdm %q is documented by a practitioner; staff %q is %s", e.MDM, e.Staff, e.Role)}}
	}
	if a.Verb == VerbImport || c.Staff == e.Staff || !documentsMDM(a) {
		return nil
	}
	return errkind.Errorf(errkind.ErrForbidden, "%s may not document medical decision-making for %s: only the practitioner documents or changes their own", who(c), e.Staff)
}

// RecordsOwnTime reports whether the rule lets a signed-in staff member record their own time
// and run a timer: clinical staff and practitioners do, non-clinical staff do not. The pages
// offer the time forms on it.
func RecordsOwnTime(id staff.Identity) bool {
	own := Attribution{Staff: id.Staff, Role: string(id.Role), MDM: "none"}
	return Permit(CallerOf(id), Act{Verb: VerbRecord, Entry: own}) == nil
}

// documentsMDM reports whether an act documents medical decision-making: a new entry with
// MDM, an amendment that changes it, or one that gives an entry with MDM to someone else.
func documentsMDM(a Act) bool {
	if a.Before == nil {
		return a.Entry.MDM != "none"
	}
	return a.Before.MDM != a.Entry.MDM || (a.Before.Staff != a.Entry.Staff && a.Entry.MDM != "none")
}

// who names the caller in a refusal: their staff id, or the actor.
func who(c Caller) string {
	if c.Staff != "" {
		return c.Staff
	}
	return string(c.Actor)
}
