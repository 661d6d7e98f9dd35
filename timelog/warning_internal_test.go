package timelog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
)

func TestOverlapsWithin(t *testing.T) {
	sp := func(line int, staff int64, from, minutes int) span {
		f := start.Add(time.Duration(from) * time.Minute)
		return span{line: line, staffID: staff, from: f, to: f.Add(time.Duration(minutes) * time.Minute)}
	}
	tests := []struct {
		name  string
		spans []span
		want  map[int][]int
	}{
		{"none", []span{sp(2, 1, 0, 10), sp(3, 1, 10, 10), sp(4, 1, 30, 5)}, map[int][]int{}},
		{"two", []span{sp(2, 1, 0, 30), sp(3, 1, 20, 30)}, map[int][]int{2: {3}, 3: {2}}},
		{"other staff", []span{sp(2, 1, 0, 30), sp(3, 2, 10, 30)}, map[int][]int{}},
		{"out of order", []span{sp(2, 1, 60, 10), sp(3, 1, 0, 90), sp(4, 1, 30, 5)}, map[int][]int{2: {3}, 3: {2, 4}, 4: {3}}},
		{"one inside another", []span{sp(2, 1, 0, 120), sp(3, 1, 100, 60), sp(4, 1, 10, 5)}, map[int][]int{2: {3, 4}, 3: {2}, 4: {2}}},
		{"same time", []span{sp(5, 1, 0, 10), sp(2, 1, 0, 10)}, map[int][]int{2: {5}, 5: {2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := overlapsWithin(tt.spans)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("overlapsWithin = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWarningsFor(t *testing.T) {
	feb := billing.Month{Year: 2026, Month: time.February}
	febStart, febEnd := feb.Bounds(nyc)
	closed := []billing.ClosedMonth{{Month: feb, Start: febStart, End: febEnd, ClosedAt: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}}
	entry := func(from time.Time, minutes int) span {
		return span{staffID: 1, staff: "RN1", from: from, to: from.Add(time.Duration(minutes) * time.Minute)}
	}
	tests := []struct {
		name    string
		e       span
		entries []EntryID
		lines   []int
		want    []string // each warning's kind, month and message, or their start
	}{
		{"nothing to say", entry(start, 20), nil, nil, nil},
		{"overlaps", entry(start, 20), []EntryID{12}, []int{4}, []string{
			"overlap: 2026-03-02 10:00–10:20 EST overlaps entry 12, line 4 of staff RN1: the overlapping time counts for neither until one is amended or voided"}},
		{"in a closed month", entry(febStart.Add(24*time.Hour), 10), nil, nil, []string{
			"closed_month 2026-02: 2026-02-02 00:00 EST falls in 2026-02, whose billing was closed on 2026-03-02 09:00 EST: the closed report does not reflect it (it is listed under amended_after_close)"}},
		{"across the close", entry(febEnd.Add(-5*time.Minute), 10), nil, nil, []string{"closed_month 2026-02"}},
		{"right after the close", entry(febEnd, 10), nil, nil, nil},
		{"right before the month", entry(febStart.Add(-10*time.Minute), 10), nil, nil, nil},
		{"both", entry(febEnd.Add(-time.Hour), 10), []EntryID{3}, nil, []string{"overlap: 2026-02-28 23:00–23:10 EST overlaps entry 3 of", "closed_month 2026-02"}},
		{"across midnight", entry(start.Add(13*time.Hour+50*time.Minute), 20), nil, []int{2}, []string{"overlap: 2026-03-02 23:50 EST – 2026-03-03 00:10 EST overlaps line 2 of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := warningsFor(tt.e, tt.entries, tt.lines, closed, nyc)
			if len(ws) != len(tt.want) {
				t.Fatalf("warnings = %+v, want %d", ws, len(tt.want))
			}
			for i, w := range ws {
				got := string(w.Kind)
				if w.Month != "" {
					got += " " + w.Month
				}
				if got += ": " + w.Message; !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("warning %d = %q\nwant %q", i, got, tt.want[i])
				}
			}
			if len(ws) > 0 && ws[0].Kind == WarnOverlap && (!slices.Equal(ws[0].Entries, tt.entries) || !slices.Equal(ws[0].Lines, tt.lines)) {
				t.Errorf("overlap warning names %v and lines %v", ws[0].Entries, ws[0].Lines)
			}
		})
	}
}

func TestWarningString(t *testing.T) {
	w := Warning{Kind: WarnOverlap, Message: "overlaps entry 3"}
	if w.String() != "overlaps entry 3" {
		t.Errorf("String() = %q", w.String())
	}
	w.File, w.Line = "time.csv", 7
	if w.String() != "time.csv:7: overlaps entry 3" {
		t.Errorf("String() = %q", w.String())
	}
}
