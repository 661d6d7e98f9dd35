package outreach

import (
	"testing"
	"time"
)

func TestScheduleMemoValid(t *testing.T) {
	made := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	f := memoFor{Practice: 1}
	var m scheduleMemo
	m.reset("100:100:", f, []group{{Script: DefaultScript, Zone: "America/New_York", Patients: 3}}, made, time.Time{})
	for _, tc := range []struct {
		name    string
		memo    scheduleMemo
		now     time.Time
		f       memoFor
		changed bool
		want    bool
	}{
		{"nothing noted, a minute later", m, made.Add(time.Minute), f, false, true},
		{"a change noted", m, made.Add(time.Minute), f, true, false},
		{"just before it expires", m, made.Add(memoMaxAge - time.Second), f, false, true},
		{"expired", m, made.Add(memoMaxAge), f, false, false},
		{"the practice's exemption documented since", m, made.Add(time.Minute), memoFor{Practice: 1, Exempt: true}, false, false},
		{"never made", scheduleMemo{}, made, f, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.memo.valid(tc.now, tc.f, tc.changed); got != tc.want {
				t.Errorf("valid = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMemoExpiry(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		next time.Time
		want time.Time
	}{
		{"no consent to come", time.Time{}, now.Add(memoMaxAge)},
		{"a consent in force in ten minutes", now.Add(10 * time.Minute), now.Add(10 * time.Minute)},
		{"a consent in force tomorrow", now.Add(24 * time.Hour), now.Add(memoMaxAge)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := memoExpiry(now, tc.next); !got.Equal(tc.want) {
				t.Errorf("memoExpiry = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSlotDone(t *testing.T) {
	for _, tc := range []struct {
		name             string
		missing, created int
		want             bool
	}{
		{"everyone already had the check-in", 0, 0, true},
		{"everyone missing was started", 40, 40, true},
		{"some in another conversation", 40, 38, false},
		{"all started by another replica", 40, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slotDone(tc.missing, tc.created); got != tc.want {
				t.Errorf("slotDone(%d, %d) = %v, want %v", tc.missing, tc.created, got, tc.want)
			}
		})
	}
}
