package tz

import "testing"

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
}
