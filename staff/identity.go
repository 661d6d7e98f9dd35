package staff

import (
	"slices"

	"github.com/outreach-engine/outreach/internal/audit"
)

// Access is what a staff member may do on the pages and the API.
type Access string

// Access levels.
const (
	AccessNurse        Access = "nurse"
	AccessPractitioner Access = "practitioner"
	AccessManager      Access = "manager"
	AccessAdmin        Access = "admin"
)

// Identity is the staff member a request or a command acts for.
type Identity struct {
	PracticeID int64  `db:"practice_id"`
	StaffID    int64  `db:"id"`
	Staff      string `db:"ext_id"` // the practice's own staff id
	Role       Role   `db:"role"`   // the billing role: clinical, practitioner or non_clinical
	Access     Access `db:"access"` // what they may do: nurse, practitioner, manager or admin
}

// Allowed reports whether the identity's access is one of levels.
func (id Identity) Allowed(levels ...Access) bool { return slices.Contains(levels, id.Access) }

// Actor returns the identity as an audit actor.
func (id Identity) Actor() audit.Actor { return audit.Staff(id.StaffID) }

// Clinical reports whether the staff member's time is care-management time: clinical staff and
// practitioners.
func (id Identity) Clinical() bool { return id.Role == RoleClinical || id.Role == RolePractitioner }

// Levels are the access levels, least first.
var Levels = []Access{AccessNurse, AccessPractitioner, AccessManager, AccessAdmin}

// KnownAccess reports whether s names an access level.
func KnownAccess(s string) bool { return slices.Contains(Levels, Access(s)) }
