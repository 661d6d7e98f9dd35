package outreach

import (
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
)

func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestDueSlot(t *testing.T) {
	ny := zone("America/New_York")
	la := zone("America/Los_Angeles")
	tests := []struct {
		name string
		spec string
		loc  *time.Location
		now  time.Time
		want string // "" when nothing is due
	}{
		{"before the first slot", "0 10 1 * *", ny, time.Date(2026, 3, 1, 9, 59, 0, 0, ny), ""},
		{"at the slot", "0 10 1 * *", ny, time.Date(2026, 3, 1, 10, 0, 0, 0, ny), "2026-03-01T10:00"},
		{"later in the catch-up window", "0 10 1 * *", ny, time.Date(2026, 3, 6, 8, 0, 0, 0, ny), "2026-03-01T10:00"},
		{"past the catch-up window", "0 10 1 * *", ny, time.Date(2026, 3, 9, 8, 0, 0, 0, ny), ""},
		{"the patient's zone decides", "0 10 1 * *", la, time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC), ""},
		{"the patient's zone decides later", "0 10 1 * *", la, time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC), "2026-03-01T10:00"},
		{"slot in the DST gap is not yet due at 01:59", "30 2 8 3 *", ny, time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC), ""},
		{"slot in the DST gap falls due when the clock jumps", "30 2 8 3 *", ny, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), "2026-03-08T02:30"},
		{"slot before the fall-back hour", "30 1 1 11 *", ny, time.Date(2026, 11, 1, 5, 29, 0, 0, time.UTC), ""},
		{"slot in the fall-back hour, first pass", "30 1 1 11 *", ny, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), "2026-11-01T01:30"},
		{"slot in the fall-back hour keys once", "30 1 1 11 *", ny, time.Date(2026, 11, 1, 6, 45, 0, 0, time.UTC), "2026-11-01T01:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slot, ok, err := DueSlot(tt.spec, tt.loc, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if ok {
				got = Period(slot)
			}
			if got != tt.want {
				t.Errorf("DueSlot = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLatestSlot(t *testing.T) {
	ny := zone("America/New_York")
	tests := []struct {
		name string
		spec string
		now  time.Time
		want string // "" when the schedule has no slot
	}{
		{"at the slot", "0 10 1 * *", time.Date(2026, 3, 1, 10, 0, 0, 0, ny), "2026-03-01T10:00"},
		{"a minute before the slot: the month before", "0 10 1 * *", time.Date(2026, 3, 1, 9, 59, 0, 0, ny), "2026-02-01T10:00"},
		{"past the catch-up window", "0 10 1 * *", time.Date(2026, 3, 20, 8, 0, 0, 0, ny), "2026-03-01T10:00"},
		{"yearly", "0 9 15 4 *", time.Date(2026, 3, 20, 8, 0, 0, 0, ny), "2025-04-15T09:00"},
		{"leap day, years back", "0 9 29 2 *", time.Date(2027, 3, 1, 8, 0, 0, 0, ny), "2024-02-29T09:00"},
		{"every minute", "* * * * *", time.Date(2026, 3, 1, 10, 0, 30, 0, ny), "2026-03-01T10:00"},
		{"the patient's wall clock", "0 10 1 * *", time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC), "2026-02-01T10:00"},
		{"a day that never comes", "0 10 31 2 *", time.Date(2026, 3, 1, 10, 0, 0, 0, ny), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slot, ok, err := LatestSlot(tt.spec, ny, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if ok {
				got = Period(slot)
			}
			if got != tt.want {
				t.Errorf("LatestSlot = %q, want %q", got, tt.want)
			}
			// Within the catch-up window, DueSlot names the same slot.
			if due, ok, _ := DueSlot(tt.spec, ny, tt.now); ok && Period(due) != got {
				t.Errorf("DueSlot = %q, LatestSlot = %q", Period(due), got)
			}
		})
	}
	if _, _, err := LatestSlot("not a schedule", ny, time.Now()); err == nil {
		t.Error("an unreadable schedule was read")
	}
}

func TestWindowOpens(t *testing.T) {
	ny := zone("America/New_York")
	q := practice.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}
	got := WindowOpens(q, ny, time.Date(2026, 3, 1, 22, 15, 0, 0, ny))
	if want := time.Date(2026, 3, 2, 8, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("WindowOpens = %v, want %v", got, want)
	}
	if now := time.Date(2026, 3, 1, 12, 0, 0, 0, ny); !WindowOpens(q, ny, now).Equal(now) {
		t.Error("an open window moved")
	}
}
