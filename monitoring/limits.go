package monitoring

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/outreach-engine/outreach/escalation"
)

// Limit is the range of one measure. A value at or above UrgentAbove, or below UrgentBelow,
// raises an urgent item; at or above HighAbove, or below HighBelow, a high one. A nil bound
// does not apply.
type Limit struct {
	UrgentAbove *float64 `json:"urgent_above,omitempty"`
	HighAbove   *float64 `json:"high_above,omitempty"`
	HighBelow   *float64 `json:"high_below,omitempty"`
	UrgentBelow *float64 `json:"urgent_below,omitempty"`
}

// Limits are the limits of each measure; a measure with none is never out of range.
type Limits map[Measure]Limit

func bound(v float64) *float64 { return &v }

// DefaultLimits are the practice's limits for a patient with none of their own: systolic 180
// or diastolic 120 and above urgent, systolic 160 or diastolic 100 and above high; SpO2 below
// 88% urgent.
func DefaultLimits() Limits {
	return Limits{
		Systolic:  {UrgentAbove: bound(180), HighAbove: bound(160)},
		Diastolic: {UrgentAbove: bound(120), HighAbove: bound(100)},
		SpO2Pct:   {UrgentBelow: bound(88)},
	}
}

// With returns the limits with a patient's own: each measure the patient has limits for
// replaces the measure's default whole.
func (l Limits) With(own Limits) Limits {
	out := make(Limits, len(l)+len(own))
	for m, v := range l {
		out[m] = v
	}
	for m, v := range own {
		out[m] = v
	}
	return out
}

// Check says what is wrong with a patient's limits, measure by measure: unknown measures,
// bounds outside what a reading can be, or bounds in the wrong order.
func (l Limits) Check() []FieldError {
	var errs []FieldError
	for _, m := range slices.Sorted(maps.Keys(l)) {
		lim := l[m]
		p, ok := plausible[m]
		if !ok {
			errs = append(errs, FieldError{Field: string(m), Msg: fmt.Sprintf("%q is not a measure (%s)", m, measureList())})
			continue
		}
		for _, b := range []struct {
			name string
			v    *float64
		}{{"urgent_above", lim.UrgentAbove}, {"high_above", lim.HighAbove}, {"high_below", lim.HighBelow}, {"urgent_below", lim.UrgentBelow}} {
			if b.v != nil && (*b.v < p[0] || *b.v > p[1]) {
				errs = append(errs, FieldError{Field: string(m) + "." + b.name,
					Msg: fmt.Sprintf("%g %s is outside what a reading can be (%g to %g)", *b.v, MeasureUnit(m), p[0], p[1])})
			}
		}
		order := func(lo, hi *float64, loName, hiName string) {
			if lo != nil && hi != nil && *lo > *hi {
				errs = append(errs, FieldError{Field: string(m) + "." + loName, Msg: fmt.Sprintf("%s %g is above %s %g", loName, *lo, hiName, *hi)})
			}
		}
		order(lim.HighAbove, lim.UrgentAbove, "high_above", "urgent_above")
		order(lim.UrgentBelow, lim.HighBelow, "urgent_below", "high_below")
		order(lim.HighBelow, lim.HighAbove, "high_below", "high_above")
		order(lim.UrgentBelow, lim.UrgentAbove, "urgent_below", "urgent_above")
	}
	return errs
}

func measureList() string {
	s := make([]string, len(Measures))
	for i, m := range Measures {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// Breach is a reading out of its patient's limits: how severe, and why in words.
type Breach struct {
	Severity escalation.Severity
	Why      string // "systolic 182 at or above 180 mmHg"
}

// Assess returns how a reading stands against limits: ok is false when it is within them.
// The most severe breach of any of its measures wins.
func (l Limits) Assess(r Reading) (Breach, bool) {
	var worst Breach
	rank := map[escalation.Severity]int{escalation.Urgent: 2, escalation.High: 1}
	for _, mv := range r.Values() {
		lim, ok := l[mv.Measure]
		if !ok {
			continue
		}
		for _, c := range []struct {
			sev   escalation.Severity
			b     *float64
			above bool
		}{{escalation.Urgent, lim.UrgentAbove, true}, {escalation.Urgent, lim.UrgentBelow, false},
			{escalation.High, lim.HighAbove, true}, {escalation.High, lim.HighBelow, false}} {
			if c.b == nil || (c.above && mv.Value < *c.b) || (!c.above && mv.Value >= *c.b) {
				continue
			}
			if rank[c.sev] > rank[worst.Severity] {
				dir := "at or above"
				if !c.above {
					dir = "below"
				}
				worst = Breach{Severity: c.sev, Why: fmt.Sprintf("%s %s %s %s %s", mv.Measure, number(mv.Value), dir, number(*c.b), MeasureUnit(mv.Measure))}
			}
			break
		}
	}
	return worst, worst.Severity != ""
}
