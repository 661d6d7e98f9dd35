package practice

import (
	"testing"
	"time"
)

func TestParseQuietHours(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"21:00-08:00", "21:00-08:00", true},
		{"off", "off", true},
		{"12:30-13:45", "12:30-13:45", true},
		{"9:00-17:00", "", false},
		{"24:00-08:00", "", false},
		{"21:60-08:00", "", false},
		{"08:00-08:00", "", false},
		{"", "", false},
		{"21:00 - 08:00", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseQuietHours(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseQuietHours(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && q.String() != tt.want {
				t.Errorf("String() = %q, want %q", q.String(), tt.want)
			}
		})
	}
}

// Quiet hours follow the wall clock in the patient's zone, also on DST days.
func TestQuietHoursContainsAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := ParseQuietHours("21:00-08:00")
	day := QuietHours{Start: 9 * time.Hour, End: 17 * time.Hour}
	tests := []struct {
		name  string
		at    time.Time
		q     QuietHours
		quiet bool
	}{
		{"spring forward 07:59 EDT", time.Date(2026, 3, 8, 7, 59, 0, 0, ny), q, true},
		{"spring forward 08:00 EDT", time.Date(2026, 3, 8, 8, 0, 0, 0, ny), q, false},
		{"fall back 07:59 EST", time.Date(2026, 11, 1, 7, 59, 0, 0, ny), q, true},
		{"fall back 08:00 EST", time.Date(2026, 11, 1, 8, 0, 0, 0, ny), q, false},
		{"same instant seen from UTC is not quiet", time.Date(2026, 3, 8, 12, 30, 0, 0, time.UTC), q, false},
		{"window inside the day", time.Date(2026, 3, 9, 10, 0, 0, 0, ny), day, true},
		{"after a daytime window", time.Date(2026, 3, 9, 17, 0, 0, 0, ny), day, false},
		{"off", time.Date(2026, 3, 9, 23, 0, 0, 0, ny), QuietHours{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Contains(tt.at); got != tt.quiet {
				t.Errorf("Contains(%v) = %v, want %v", tt.at, got, tt.quiet)
			}
		})
	}
}
