package monitoring

import (
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/escalation"
)

func num(v float64) *float64 { return &v }

var checkNow = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	bp := func(s, d float64) Input {
		return Input{Patient: "P1", Device: "BP-1", Type: "blood_pressure", TakenAt: "2026-03-10T08:00:00-05:00", Systolic: num(s), Diastolic: num(d)}
	}
	val := func(typ string, v float64, unit string) Input {
		return Input{Patient: "P1", Device: "D-1", Type: typ, TakenAt: "2026-03-10T08:00:00-05:00", Value: num(v), Unit: unit}
	}
	tests := []struct {
		name  string
		in    Input
		want  string // "" valid; else "field: part of the message"
		check func(Reading) bool
	}{
		{"blood pressure", bp(132, 84), "", func(r Reading) bool { return r.Systolic == 132 && r.Diastolic == 84 && r.Unit == "" }},
		{"blood pressure with mmHg", func() Input { in := bp(120, 80); in.Unit = "mmHg"; return in }(), "", nil},
		{"blood pressure without diastolic", Input{Patient: "P1", Device: "B", Type: "blood_pressure", TakenAt: "2026-03-10T08:00:00Z", Systolic: num(120)}, "diastolic: diastolic is required", nil},
		{"diastolic above systolic", bp(90, 120), "diastolic: diastolic 120 is not below systolic 90", nil},
		{"systolic not whole", bp(120.5, 80), "systolic: systolic 120.5 is not a whole number", nil},
		{"systolic impossible", bp(400, 80), "systolic: systolic 400 mmHg is not a possible reading", nil},
		{"blood pressure with a value", func() Input { in := bp(120, 80); in.Value = num(3); return in }(), "value: value is not used", nil},
		{"weight in pounds", val("weight", 180.456, "lb"), "", func(r Reading) bool { return r.Value == 180.46 && r.Unit == Pounds }},
		{"weight in kg", val("weight", 82, "kg"), "", nil},
		{"weight in stones", val("weight", 12, "st"), `unit: unit "st" is not kg or lb for weight`, nil},
		{"weight impossible", val("weight", 2000, "lb"), "value: value 2000 lb is not a possible weight reading", nil},
		{"glucose", val("glucose", 104, "mg/dL"), "", nil},
		{"glucose in mmol", val("glucose", 5.8, "mmol/L"), `unit: unit "mmol/L" is not mg/dL`, nil},
		{"spo2", val("spo2", 97, "%"), "", nil},
		{"spo2 above 100", val("spo2", 101, "%"), "value: value 101 % is not a possible spo2 reading", nil},
		{"heart rate", val("heart_rate", 72, "bpm"), "", nil},
		{"heart rate without unit", val("heart_rate", 72, ""), "unit: unit is required for heart_rate (bpm)", nil},
		{"value missing", Input{Patient: "P1", Device: "D", Type: "glucose", TakenAt: "2026-03-10T08:00:00Z", Unit: "mg/dL"}, "value: value is required", nil},
		{"unknown type", val("temperature", 37, "C"), `type: type "temperature" is not one of`, nil},
		{"no type", Input{Patient: "P1", Device: "D", TakenAt: "2026-03-10T08:00:00Z"}, "type: type is required", nil},
		{"no patient", func() Input { in := bp(120, 80); in.Patient = " "; return in }(), "patient: patient is required", nil},
		{"no device, not manual", func() Input { in := bp(120, 80); in.Device = ""; return in }(), "device: device is required", nil},
		{"no device, manual", func() Input { in := bp(120, 80); in.Device = ""; in.Manual = true; return in }(), "", func(r Reading) bool { return r.Manual }},
		{"time without offset", func() Input { in := bp(120, 80); in.TakenAt = "2026-03-10T08:00:00"; return in }(), "taken_at: taken_at \"2026-03-10T08:00:00\" is not an RFC 3339 time", nil},
		{"time in the future", func() Input { in := bp(120, 80); in.TakenAt = "2026-03-10T16:00:00Z"; return in }(), "taken_at: taken_at 2026-03-10T16:00:00Z is in the future", nil},
		{"a device's clock a little fast", func() Input { in := bp(120, 80); in.TakenAt = "2026-03-10T15:05:00Z"; return in }(), "", nil},
		{"offset kept as the instant", func() Input { in := bp(120, 80); in.TakenAt = "2026-03-10T01:00:00-08:00"; return in }(), "",
			func(r Reading) bool { return r.TakenAt.Equal(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, errs := Check(tt.in, checkNow)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				if tt.check != nil && !tt.check(r) {
					t.Fatalf("reading %+v", r)
				}
				return
			}
			for _, e := range errs {
				if strings.Contains(e.Error(), tt.want) {
					return
				}
			}
			t.Fatalf("errors %v, want one with %q", errs, tt.want)
		})
	}
}

func TestAssess(t *testing.T) {
	at := time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)
	bp := func(s, d int) Reading { return Reading{Type: BloodPressure, Systolic: s, Diastolic: d, TakenAt: at} }
	v := func(typ Type, x float64, u Unit) Reading { return Reading{Type: typ, Value: x, Unit: u, TakenAt: at} }
	own := Limits{Systolic: {UrgentAbove: num(200), HighAbove: num(170)}, WeightKg: {HighAbove: num(100)},
		GlucoseMgDL: {UrgentBelow: num(54), HighBelow: num(70), HighAbove: num(250), UrgentAbove: num(400)}}
	tests := []struct {
		name   string
		limits Limits
		r      Reading
		sev    escalation.Severity // "" within limits
		why    string
	}{
		{"normal blood pressure", DefaultLimits(), bp(128, 82), "", ""},
		{"systolic 159 is within", DefaultLimits(), bp(159, 99), "", ""},
		{"systolic 160 is high", DefaultLimits(), bp(160, 90), escalation.High, "systolic 160 at or above 160 mmHg"},
		{"diastolic 100 is high", DefaultLimits(), bp(150, 100), escalation.High, "diastolic 100 at or above 100 mmHg"},
		{"systolic 180 is urgent", DefaultLimits(), bp(180, 90), escalation.Urgent, "systolic 180 at or above 180 mmHg"},
		{"diastolic 120 is urgent though systolic is only high", DefaultLimits(), bp(170, 120), escalation.Urgent, "diastolic 120 at or above 120 mmHg"},
		{"spo2 88 is within", DefaultLimits(), v(SpO2, 88, Percent), "", ""},
		{"spo2 87 is urgent", DefaultLimits(), v(SpO2, 87, Percent), escalation.Urgent, "spo2 87 below 88 %"},
		{"no default for weight", DefaultLimits(), v(Weight, 150, Kilograms), "", ""},
		{"a patient's own systolic replaces the default", DefaultLimits().With(own), bp(185, 90), escalation.High, "systolic 185 at or above 170 mmHg"},
		{"the patient's own urgent", DefaultLimits().With(own), bp(200, 90), escalation.Urgent, "systolic 200 at or above 200 mmHg"},
		{"the default diastolic stays", DefaultLimits().With(own), bp(150, 121), escalation.Urgent, "diastolic 121 at or above 120 mmHg"},
		{"weight in pounds against kg", DefaultLimits().With(own), v(Weight, 225, Pounds), escalation.High, "weight 102.06 at or above 100 kg"},
		{"weight in pounds below", DefaultLimits().With(own), v(Weight, 215, Pounds), "", ""},
		{"low glucose", DefaultLimits().With(own), v(Glucose, 60, MgPerDL), escalation.High, "glucose 60 below 70 mg/dL"},
		{"very low glucose", DefaultLimits().With(own), v(Glucose, 50, MgPerDL), escalation.Urgent, "glucose 50 below 54 mg/dL"},
		{"very high glucose", DefaultLimits().With(own), v(Glucose, 420, MgPerDL), escalation.Urgent, "glucose 420 at or above 400 mg/dL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, out := tt.limits.Assess(tt.r)
			if out != (tt.sev != "") || b.Severity != tt.sev || b.Why != tt.why {
				t.Fatalf("Assess = %+v, %v; want %q %q", b, out, tt.sev, tt.why)
			}
		})
	}
}

func TestLimitsCheck(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		want   string
	}{
		{"the defaults", DefaultLimits(), ""},
		{"none", Limits{}, ""},
		{"unknown measure", Limits{"temperature": {HighAbove: num(38)}}, `temperature: "temperature" is not a measure`},
		{"high above urgent", Limits{Systolic: {HighAbove: num(190), UrgentAbove: num(180)}}, "systolic.high_above: high_above 190 is above urgent_above 180"},
		{"urgent below above high below", Limits{GlucoseMgDL: {UrgentBelow: num(80), HighBelow: num(70)}}, "glucose.urgent_below: urgent_below 80 is above high_below 70"},
		{"bounds cross", Limits{HeartRateBPM: {HighBelow: num(120), HighAbove: num(100)}}, "heart_rate.high_below: high_below 120 is above high_above 100"},
		{"impossible bound", Limits{SpO2Pct: {UrgentBelow: num(120)}}, "spo2.urgent_below: 120 % is outside what a reading can be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.limits.Check()
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("errors %v", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("errors %v, want %q", errs, tt.want)
			}
		})
	}
}

func TestDataDays(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	la, _ := time.LoadLocation("America/Los_Angeles")
	utc := time.UTC
	in := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	dev := func(t time.Time) Stamp { return Stamp{At: t} }
	// days returns a device reading at noon (in loc) on each of the first n days of the month.
	days := func(loc *time.Location, y int, m time.Month, n int) []Stamp {
		var out []Stamp
		for d := 1; d <= n; d++ {
			out = append(out, dev(in(loc, y, m, d, 12, 0)))
		}
		return out
	}
	march := CalendarMonth(2026, time.March, ny)
	november := CalendarMonth(2026, time.November, ny)
	tests := []struct {
		name string
		rs   []Stamp
		loc  *time.Location
		p    Period
		want int
	}{
		{"none", nil, ny, march, 0},
		{"one reading", []Stamp{dev(in(ny, 2026, 3, 5, 9, 0))}, ny, march, 1},
		{"several readings on one day count once", []Stamp{dev(in(ny, 2026, 3, 5, 0, 0)), dev(in(ny, 2026, 3, 5, 9, 0)), dev(in(ny, 2026, 3, 5, 23, 59))}, ny, march, 1},
		{"the same reading twice counts once", []Stamp{dev(in(ny, 2026, 3, 5, 9, 0)), dev(in(ny, 2026, 3, 5, 9, 0))}, ny, march, 1},
		{"manual readings are ignored", []Stamp{{At: in(ny, 2026, 3, 5, 9, 0), Manual: true}, {At: in(ny, 2026, 3, 6, 9, 0), Manual: true}}, ny, march, 0},
		{"a manual reading beside a device reading of another day", []Stamp{{At: in(ny, 2026, 3, 5, 9, 0), Manual: true}, dev(in(ny, 2026, 3, 6, 9, 0))}, ny, march, 1},
		{"15 days", days(ny, 2026, 3, 15), ny, march, 15},
		{"16 days", days(ny, 2026, 3, 16), ny, march, 16},
		{"every day of March", days(ny, 2026, 3, 31), ny, march, 31},
		{"late evening in New York is the next day in UTC: it counts in the practice's zone", []Stamp{dev(in(ny, 2026, 3, 5, 22, 0)), dev(in(ny, 2026, 3, 6, 1, 0))}, ny, march, 2},
		{"the same two instants in UTC are one day", []Stamp{dev(in(ny, 2026, 3, 5, 22, 0)), dev(in(ny, 2026, 3, 6, 1, 0))}, utc, CalendarMonth(2026, time.March, utc), 1},
		{"the night of March 31 in Los Angeles is April in New York", []Stamp{dev(in(la, 2026, 3, 31, 22, 0))}, ny, march, 0},
		{"and March in Los Angeles", []Stamp{dev(in(la, 2026, 3, 31, 22, 0))}, la, CalendarMonth(2026, time.March, la), 1},
		{"the first minute of the month counts", []Stamp{dev(in(ny, 2026, 3, 1, 0, 0))}, ny, march, 1},
		{"the last minute of the month before does not", []Stamp{dev(in(ny, 2026, 2, 28, 23, 59))}, ny, march, 0},
		{"the month's end is excluded", []Stamp{dev(in(ny, 2026, 4, 1, 0, 0))}, ny, march, 0},
		// DST starts on March 8, 2026 in New York (02:00 becomes 03:00): a 23-hour day.
		{"spring forward: readings either side of the change are one day", []Stamp{dev(in(ny, 2026, 3, 8, 1, 30)), dev(in(ny, 2026, 3, 8, 23, 30))}, ny, march, 1},
		{"spring forward: the day after starts at local midnight", []Stamp{dev(in(ny, 2026, 3, 8, 23, 59)), dev(in(ny, 2026, 3, 9, 0, 1))}, ny, march, 2},
		// DST ends on November 1, 2026 (02:00 becomes 01:00): a 25-hour day.
		{"fall back: the repeated hour is one day", []Stamp{dev(time.Date(2026, 11, 1, 5, 30, 0, 0, utc)), dev(time.Date(2026, 11, 1, 6, 30, 0, 0, utc)), dev(in(ny, 2026, 11, 1, 23, 30))}, ny, november, 1},
		{"fall back: 16 days across the change", days(ny, 2026, 11, 16), ny, november, 16},
		{"fall back: 15 days across the change", days(ny, 2026, 11, 15), ny, november, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DataDays(tt.rs, tt.loc, tt.p); got != tt.want {
				t.Fatalf("DataDays = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPeriodDays(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, tt := range []struct {
		m    time.Month
		want int
	}{{time.February, 28}, {time.March, 31}, {time.November, 30}} {
		if got := CalendarMonth(2026, tt.m, ny).Days(ny); got != tt.want {
			t.Errorf("%s: %d days, want %d", tt.m, got, tt.want)
		}
	}
}
