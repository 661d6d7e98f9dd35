package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/practice"
)

// TestClosedMonths closes January 2026 in UTC and February 2026 in New York, and asks which
// closed months periods overlap: each month's bounds are those of the zone it was closed in.
func TestClosedMonths(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	rates, err := billing.BundledRates()
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	closedAt := time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	if err := practice.Ensure(ctx, d, practice.Settings{ID: practice.Default, Location: newYork}, audit.ActorCLI, closedAt); err != nil {
		t.Fatal(err)
	}
	for m, loc := range map[time.Month]*time.Location{time.January: time.UTC, time.February: newYork} {
		st := &billing.Store{DB: d, Practice: practice.Default, Location: loc, Rates: rates, Clock: func() time.Time { return closedAt }}
		if _, err := st.Close(ctx, audit.ActorCLI, billing.Month{Year: 2026, Month: m}); err != nil {
			t.Fatal(err)
		}
	}
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{"inside February", "2026-02-10T12:00:00Z", "2026-02-11T12:00:00Z", "[2026-02]"},
		{"March in New York", "2026-03-01T05:00:00Z", "2026-03-02T00:00:00Z", "[]"},
		{"across February's end in New York", "2026-03-01T04:59:00Z", "2026-03-01T05:01:00Z", "[2026-02]"},
		{"across January's end in UTC", "2026-01-31T23:30:00Z", "2026-02-01T00:30:00Z", "[2026-01]"},
		{"between the two closes", "2026-02-01T00:00:00Z", "2026-02-01T05:00:00Z", "[]"},
		{"both", "2026-01-15T00:00:00Z", "2026-03-15T00:00:00Z", "[2026-01 2026-02]"},
		{"before", "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z", "[]"},
		{"after", "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cms, err := billing.ClosedMonths(ctx, d, practice.Default, utc(tt.from), utc(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cms {
				got = append(got, c.Month.String())
				if !c.ClosedAt.Equal(closedAt) {
					t.Errorf("%s closed at %s, want %s", c.Month, c.ClosedAt, closedAt)
				}
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("ClosedMonths(%s, %s) = %v, want %s", tt.from, tt.to, got, tt.want)
			}
		})
	}
	feb, err := billing.ClosedMonths(ctx, d, practice.Default, utc("2026-02-10T00:00:00Z"), utc("2026-02-11T00:00:00Z"))
	if err != nil || len(feb) != 1 || !feb[0].Start.Equal(utc("2026-02-01T05:00:00Z")) || !feb[0].End.Equal(utc("2026-03-01T05:00:00Z")) {
		t.Errorf("February's bounds: %+v, %v; want New York's", feb, err)
	}
}
