package ui

import (
	"testing"
	"time"
)

func TestLocalInstant(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, date, clock string
		want              string // RFC 3339, or "" for an error
	}{
		{"winter", "2026-12-01", "10:05", "2026-12-01T10:05:00-05:00"},
		{"summer", "2026-07-01", "10:05", "2026-07-01T10:05:00-04:00"},
		{"with seconds", "2026-12-01", "10:05:30", "2026-12-01T10:05:30-05:00"},
		{"spaces", " 2026-12-01 ", " 09:00 ", "2026-12-01T09:00:00-05:00"},
		{"skipped hour", "2026-03-08", "02:30", ""},
		{"repeated hour is the first", "2026-11-01", "01:30", "2026-11-01T01:30:00-04:00"},
		{"after the repeated hour", "2026-11-01", "02:30", "2026-11-01T02:30:00-05:00"},
		{"bad date", "12/01/2026", "10:05", ""},
		{"bad time", "2026-12-01", "10am", ""},
		{"empty", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := localInstant(tc.date, tc.clock, ny)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got.Format(time.RFC3339))
				}
				return
			}
			if err != nil || got.Format(time.RFC3339) != tc.want {
				t.Fatalf("got %s, %v; want %s", got.Format(time.RFC3339), err, tc.want)
			}
		})
	}
}

func TestLocalTimeNamesTheZone(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)
	if got := localTime(at, ny); got != "Dec 1 10:04 EST" {
		t.Errorf("localTime = %q", got)
	}
	if got := localTime(at.AddDate(0, -6, 0), ny); got != "Jun 1 11:04 EDT" {
		t.Errorf("localTime = %q", got)
	}
}
