package escalation

import (
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	thursday := time.Date(2026, 12, 3, 16, 0, 0, 0, ny)
	friday := time.Date(2026, 12, 4, 16, 0, 0, 0, ny)
	tests := []struct {
		sev  Severity
		now  time.Time
		want time.Time
	}{
		{Urgent, thursday, thursday.Add(15 * time.Minute)},
		{High, thursday, thursday.Add(4 * time.Hour)},
		{Routine, thursday, time.Date(2026, 12, 7, 16, 0, 0, 0, ny)}, // Friday, Monday
		{Routine, friday, time.Date(2026, 12, 8, 16, 0, 0, 0, ny)},   // Monday, Tuesday
		{Routine, time.Date(2026, 12, 5, 10, 0, 0, 0, ny), time.Date(2026, 12, 8, 10, 0, 0, 0, ny)},
	}
	for _, tt := range tests {
		if got := DefaultDueTimes.Due(tt.sev, tt.now, ny); !got.Equal(tt.want) {
			t.Errorf("Due(%s, %v) = %v, want %v", tt.sev, tt.now, got, tt.want)
		}
	}
}
