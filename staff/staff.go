// Package staff keeps the practice's staff directory: who each member is, their credential,
// their role for billing (clinical staff, billing practitioner, non-clinical) and their NPI.
package staff

import (
	"context"
	"fmt"

	"github.com/outreach-engine/outreach/internal/db"
)

// ID is a staff member's internal id.
type ID int64

// Role decides whether a staff member's time counts toward care-management codes.
type Role string

// Roles.
const (
	RoleClinical     Role = "clinical"
	RolePractitioner Role = "practitioner"
	RoleNonClinical  Role = "non_clinical"
)

// practitionerCredentials are the credentials of practitioners who may bill care management.
var practitionerCredentials = map[string]bool{"MD": true, "DO": true, "NP": true, "PA": true, "CNS": true, "CNM": true}

// clinicalCredentials are credentials of clinical staff who work under a practitioner's
// supervision.
var clinicalCredentials = map[string]bool{
	"RN": true, "LPN": true, "LVN": true, "MA": true, "CMA": true, "RMA": true, "PHARMD": true,
	"RPH": true, "LCSW": true, "LPC": true, "RD": true, "CDCES": true, "CNA": true, "EMT": true, "PARAMEDIC": true,
}

// RoleFor returns the role a credential implies, if it implies one.
func RoleFor(credential string) (Role, bool) {
	switch {
	case practitionerCredentials[credential]:
		return RolePractitioner, true
	case clinicalCredentials[credential]:
		return RoleClinical, true
	}
	return "", false
}

// Member is a staff member as stored.
type Member struct {
	ID         ID      `db:"id"`
	ExtID      string  `db:"ext_id"`
	Name       string  `db:"name"`
	Credential string  `db:"credential"`
	Role       Role    `db:"role"`
	NPI        *string `db:"npi"`
}

const selectByExtID = `
SELECT id, ext_id, name, credential, role, npi
FROM staff WHERE practice_id = $1 AND ext_id = $2`

// ByExtID loads a staff member by the practice's own id.
func ByExtID(ctx context.Context, q db.Querier, practiceID int64, extID string) (Member, error) {
	var m Member
	err := q.GetContext(ctx, &m, selectByExtID, practiceID, extID)
	if db.IsNoRows(err) {
		return Member{}, fmt.Errorf("staff member %q: %w", extID, ErrNotFound)
	}
	if err != nil {
		return Member{}, fmt.Errorf("error loading staff member: %w", err)
	}
	return m, nil
}
