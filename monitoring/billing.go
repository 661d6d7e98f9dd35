package monitoring

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
)

// selectDataBefore finds which of the given patients have a reading that is not manual before
// an instant: it stops at each patient's first such reading (readings_once).
const selectDataBefore = `
SELECT p.ext_id FROM patients p
WHERE p.practice_id = $1 AND p.ext_id = ANY($2)
  AND EXISTS (SELECT 1 FROM readings r
              WHERE r.practice_id = p.practice_id AND r.patient_id = p.id AND NOT r.manual AND r.taken_at < $3)`

// DataBefore returns which of the patients (by the practice's patient id) have a reading that
// is not manual taken before the instant.
func DataBefore(ctx context.Context, q db.Querier, practice int64, patients []string, before time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if len(patients) == 0 {
		return out, nil
	}
	var ids []string
	if err := q.SelectContext(ctx, &ids, selectDataBefore, practice, pq.Array(patients), before); err != nil {
		return nil, fmt.Errorf("error finding earlier device data: %w", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// BillingFacts returns the device facts billing's RPM device codes are computed from, for the
// practice whose zone is loc: each patient's days with device data in the period
// (DataDaysByPatient), and, for those with data, whether they had device data before it (their
// episode began earlier).
func BillingFacts(practiceID practice.ID, loc *time.Location) billing.DeviceFacts {
	return func(ctx context.Context, q db.Querier, from, to time.Time) (map[string]billing.Device, error) {
		days, err := DataDaysByPatient(ctx, q, int64(practiceID), loc, Period{From: from, To: to})
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(days))
		for id := range days {
			ids = append(ids, id)
		}
		earlier, err := DataBefore(ctx, q, int64(practiceID), ids, from)
		if err != nil {
			return nil, err
		}
		out := make(map[string]billing.Device, len(days))
		for id, n := range days {
			out[id] = billing.Device{Days: n, Earlier: earlier[id]}
		}
		return out, nil
	}
}
