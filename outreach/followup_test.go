package outreach

import (
	"testing"
	"time"

	"github.com/outreach-engine/outreach/scripts"
)

func TestFollowUpCutoffs(t *testing.T) {
	now := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC) // the morning the clocks go back in New York
	for _, c := range []struct {
		name          string
		reminder, exp time.Duration
		remindBefore  time.Time
		remind        bool
		expireBefore  time.Time
	}{
		{"defaults: a day, then five", 24 * time.Hour, 5 * 24 * time.Hour,
			now.Add(-24 * time.Hour), true, now.Add(-5 * 24 * time.Hour)},
		{"no reminder", 0, 48 * time.Hour, time.Time{}, false, now.Add(-48 * time.Hour)},
		{"hours, not calendar days, across a change of the clocks", 30 * time.Hour, 72 * time.Hour,
			time.Date(2026, 10, 31, 0, 30, 0, 0, time.UTC), true, time.Date(2026, 10, 29, 6, 30, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &scripts.Script{Reminder: scripts.Duration(c.reminder), Expire: scripts.Duration(c.exp)}
			remindBefore, remind, expireBefore := followUpCutoffs(s, now)
			if !remindBefore.Equal(c.remindBefore) || remind != c.remind || !expireBefore.Equal(c.expireBefore) {
				t.Errorf("followUpCutoffs = %v, %v, %v; want %v, %v, %v", remindBefore, remind, expireBefore,
					c.remindBefore, c.remind, c.expireBefore)
			}
		})
	}
}
