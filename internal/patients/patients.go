// Package patients finds patients by the practice's own ids, for the packages that take those
// ids in files and requests (billing's services, monitoring's readings) and sit below outreach,
// which owns the patients.
package patients

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
)

const selectIDs = `SELECT ext_id, id FROM patients WHERE practice_id = $1 AND ext_id = ANY ($2)`

// IDs maps the practice's patient ids to internal ids; ids that match no patient are left out.
func IDs(ctx context.Context, q db.Querier, practice int64, ext []string) (map[string]int64, error) {
	var found []struct {
		Ext string `db:"ext_id"`
		ID  int64  `db:"id"`
	}
	if err := q.SelectContext(ctx, &found, selectIDs, practice, pq.Array(ext)); err != nil {
		return nil, fmt.Errorf("error looking up patients: %w", err)
	}
	ids := make(map[string]int64, len(found))
	for _, f := range found {
		ids[f.Ext] = f.ID
	}
	return ids, nil
}

const selectExtID = `SELECT ext_id FROM patients WHERE practice_id = $1 AND id = $2`

// ExtID returns the practice's id of the patient with internal id id; db.IsNoRows reports no
// such patient.
func ExtID(ctx context.Context, q db.Querier, practice, id int64) (string, error) {
	var ext string
	if err := q.GetContext(ctx, &ext, selectExtID, practice, id); err != nil {
		return "", fmt.Errorf("error looking up patient %d: %w", id, err)
	}
	return ext, nil
}
