package tz

import (
	"strings"
	"testing"
)

func TestZones(t *testing.T) {
	var z Zones
	a, err := z.Load("America/Chicago")
	if err != nil || a.String() != "America/Chicago" {
		t.Fatalf("Load = %v, %v", a, err)
	}
	if b, _ := z.Load("America/Chicago"); b != a {
		t.Error("the second load did not come from the cache")
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus_Mons"} {
		if _, err := z.Load(bad); err == nil {
			t.Errorf("Load(%q) gave no error", bad)
		}
	}
	// Stored zones load whatever a person may no longer give.
	if loc, err := z.Load("EST"); err != nil || loc.String() != "EST" {
		t.Errorf("Zones.Load(EST) = %v, %v; want the stored zone", loc, err)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		err  string // "" when the zone loads
	}{
		{"America/New_York", ""},
		{"America/Phoenix", ""}, // no daylight saving time, but the zone of a place
		{"Asia/Tokyo", ""},
		{"US/Eastern", ""}, // an old name of a place's zone
		{"UTC", ""},
		{"Etc/UTC", ""},
		{"EST", `"EST" is a fixed offset from UTC (-05:00 all year, no daylight saving time), not the time zone of a place: use America/New_York`},
		{"MST", `"MST" is a fixed offset from UTC (-07:00 all year, no daylight saving time), not the time zone of a place: use America/Denver (or America/Phoenix, which keeps standard time all year)`},
		{"HST", `"HST" is a fixed offset from UTC (-10:00 all year, no daylight saving time), not the time zone of a place: use Pacific/Honolulu`},
		{"Etc/GMT+5", `"Etc/GMT+5" is a fixed offset from UTC (-05:00 all year, no daylight saving time; Etc/GMT names invert the sign), not the time zone of a place: use America/New_York`},
		{"Etc/GMT-9", `"Etc/GMT-9" is a fixed offset from UTC (+09:00 all year, no daylight saving time; Etc/GMT names invert the sign), not the time zone of a place: use the zone of a place, like America/Chicago`},
		{"Etc/GMT-10", "use Pacific/Guam"},
		{"GMT", `"GMT" is a fixed offset from UTC (+00:00 all year, no daylight saving time), not the time zone of a place: use Europe/London (or UTC)`},
		{"Etc/GMT", "use Europe/London (or UTC)"},
		{"Zulu", "use UTC"},
		{"EST5EDT", `"EST5EDT" is not the time zone of a place: use America/New_York`},
		{"CST6CDT", `"CST6CDT" is not the time zone of a place: use America/Chicago`},
		{"PST8PDT", "use America/Los_Angeles"},
		{"CET", "use the zone of a city, like Europe/Paris or Europe/Berlin"},
		{"CST", `"CST" is not an IANA time zone: use America/Chicago`},
		{"PST", `"PST" is not an IANA time zone: use America/Los_Angeles`},
		{"AKST", `"AKST" is not an IANA time zone: use America/Anchorage`},
		{"est", `"est" is not an IANA time zone: use America/New_York`},
		{"utc", `"utc" is not an IANA time zone: use UTC`},
		{"posix/America/Chicago", "use America/Chicago"}, // in the system's zone files only
		{"right/America/Chicago", "use America/Chicago"},
		{"localtime", "use the zone of a place, like America/Chicago"},
		{"Mars/Olympus_Mons", `"Mars/Olympus_Mons" is not an IANA time zone (like America/Chicago)`},
		{"", `"" is not an IANA time zone`},
		{"Local", `"Local" is not an IANA time zone`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := Load(tt.name)
			if tt.err == "" {
				if err != nil || loc.String() != tt.name {
					t.Errorf("Load(%q) = %v, %v", tt.name, loc, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Load(%q) = %v, %v; want an error containing %q", tt.name, loc, err, tt.err)
			}
		})
	}
}
