package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
)

// A range of days is read in the practice's zone, both days included, across a change of
// clocks; a missing, malformed or reversed date is refused with its name.
func TestDayRange(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	from, to, err := audit.DayRange("2026-03-08", "2026-03-08", ny) // 23 hours: clocks go forward
	if err != nil {
		t.Fatal(err)
	}
	if got := from.UTC().Format(time.RFC3339) + " " + to.UTC().Format(time.RFC3339); got != "2026-03-08T05:00:00Z 2026-03-09T04:00:00Z" {
		t.Errorf("range = %s", got)
	}
	for _, tt := range []struct{ from, to, want string }{
		{"", "2026-03-01", "from is missing"},
		{"2026-03-01", "", "to is missing"},
		{"2026-3-1", "2026-03-01", `from "2026-3-1" is not a date`},
		{"2026-03-02", "2026-03-01", "to 2026-03-01 is before from 2026-03-02"},
	} {
		if _, _, err := audit.DayRange(tt.from, tt.to, ny); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("DayRange(%q, %q) = %v, want %q…", tt.from, tt.to, err, tt.want)
		}
	}
}
