package ui

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
)

// The patient's page reads which check-ins and which month of time it shows from its address;
// what it cannot read is a clear error, and the months ahead are refused.
func TestPatientPaging(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC) // 22:00 on 1 December in New York
	for _, c := range []struct {
		query  string
		before int64
		month  time.Time
		bad    bool
	}{
		{"", 0, time.Date(2026, 12, 1, 0, 0, 0, 0, ny), false},
		{"checkins_before=42", 42, time.Date(2026, 12, 1, 0, 0, 0, 0, ny), false},
		{"month=2026-02", 0, time.Date(2026, 2, 1, 0, 0, 0, 0, ny), false},
		{"month=2026-12&checkins_before=7", 7, time.Date(2026, 12, 1, 0, 0, 0, 0, ny), false},
		{"month=2027-01", 0, time.Time{}, true},
		{"month=2026-13", 0, time.Time{}, true},
		{"month=March", 0, time.Time{}, true},
		{"checkins_before=0", 0, time.Time{}, true},
		{"checkins_before=x", 0, time.Time{}, true},
	} {
		r := httptest.NewRequest("GET", "/patients/P1?"+c.query, nil)
		before, month, err := patientPaging(r, now.In(ny), ny)
		if c.bad {
			if !errors.Is(err, errkind.ErrInvalid) {
				t.Errorf("?%s: %v, want ErrInvalid", c.query, err)
			}
			continue
		}
		if err != nil || before != c.before || !month.Equal(c.month) {
			t.Errorf("?%s = %d, %v, %v; want %d, %v", c.query, before, month, err, c.before, c.month)
		}
	}
}

// The links to other pages of a patient's history keep the section in view, and this month's
// time is the page without a month.
func TestPageLinks(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	this := time.Date(2026, 12, 1, 0, 0, 0, 0, ny)
	for _, c := range []struct{ got, want string }{
		{pageAt("/patients/P%201", threadPaging, 17, "thread"), "/patients/P%201?texts_before=17#thread"},
		{pageAt("/items/5", threadPaging, 3, "thread"), "/items/5?texts_before=3#thread"},
		{monthPage("/patients/P1", this.AddDate(0, -1, 0), this), "/patients/P1?month=2026-11#time"},
		{monthPage("/patients/P1", this, this), "/patients/P1#time"},
	} {
		if c.got != c.want {
			t.Errorf("link %q, want %q", c.got, c.want)
		}
	}
}
