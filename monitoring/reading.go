// Package monitoring is remote physiologic monitoring: the readings devices send (blood
// pressure, weight, glucose, SpO2, heart rate) and patients type in, their import and webhook,
// the limits that raise items on the clinician queue, the follow-up of a device gone silent,
// and the days with device data that the device-supply codes are billed from.
package monitoring

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Type is what a reading measures.
type Type string

// The types of reading.
const (
	BloodPressure Type = "blood_pressure"
	Weight        Type = "weight"
	Glucose       Type = "glucose"
	SpO2          Type = "spo2"
	HeartRate     Type = "heart_rate"
)

// Types are the types of reading, in the order pages show them.
var Types = []Type{BloodPressure, Weight, Glucose, SpO2, HeartRate}

// Unit is the unit a reading's value is in. Blood pressure has none (systolic and diastolic
// are in mmHg).
type Unit string

// The units.
const (
	Kilograms Unit = "kg"
	Pounds    Unit = "lb"
	MgPerDL   Unit = "mg/dL"
	Percent   Unit = "%"
	BPM       Unit = "bpm"
)

// units are the units each type of reading may be sent in, the first the one it is shown in.
var units = map[Type][]Unit{Weight: {Kilograms, Pounds}, Glucose: {MgPerDL}, SpO2: {Percent}, HeartRate: {BPM}}

// poundsPerKilogram converts weights.
const poundsPerKilogram = 2.20462262185

// plausible bounds each measure a device or a person can send, in the measure's unit (weight
// in kg): a value outside is a typing or device error, refused, not an alert.
var plausible = map[Measure][2]float64{
	Systolic: {40, 300}, Diastolic: {20, 200}, WeightKg: {1, 700}, GlucoseMgDL: {10, 1500}, SpO2Pct: {50, 100},
	HeartRateBPM: {20, 300},
}

// Label is the type's name in words.
func (t Type) Label() string {
	switch t {
	case BloodPressure:
		return "Blood pressure"
	case Weight:
		return "Weight"
	case Glucose:
		return "Glucose"
	case SpO2:
		return "SpO2"
	case HeartRate:
		return "Heart rate"
	}
	return string(t)
}

// Known reports whether t is a type of reading.
func (t Type) Known() bool { _, ok := units[t]; return ok || t == BloodPressure }

// Input is a reading as a file row or a webhook sends it, before it is checked.
type Input struct {
	Patient   string   `json:"patient"`
	Device    string   `json:"device"`
	Type      string   `json:"type"`
	TakenAt   string   `json:"taken_at"`
	Systolic  *float64 `json:"systolic"`
	Diastolic *float64 `json:"diastolic"`
	Value     *float64 `json:"value"`
	Unit      string   `json:"unit"`
	Manual    bool     `json:"manual"`
}

// Reading is a checked reading.
type Reading struct {
	Patient   string // the practice's patient id
	Device    string // the device's serial or id; may be empty for a manual reading
	Type      Type
	TakenAt   time.Time
	Systolic  int     // blood pressure, mmHg
	Diastolic int     // blood pressure, mmHg
	Value     float64 // the other types, in Unit (two decimals at most)
	Unit      Unit
	Manual    bool // typed in by the patient: not device data
}

// FieldError is a problem with one field of an input.
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// MaxDevice is the longest device id accepted.
const MaxDevice = 100

// FutureSkew is how far ahead of the engine's clock a reading's time may be (a device's clock
// runs a little fast); later is refused.
const FutureSkew = 10 * time.Minute

// Check turns an input into a reading, or says what is wrong with each field. now is the
// engine's clock: a reading from the future is refused.
func Check(in Input, now time.Time) (Reading, []FieldError) {
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	r := Reading{Patient: strings.TrimSpace(in.Patient), Device: strings.TrimSpace(in.Device), Type: Type(strings.TrimSpace(in.Type)),
		Manual: in.Manual}
	if r.Patient == "" {
		bad("patient", "patient is required")
	}
	switch {
	case len(r.Device) > MaxDevice:
		bad("device", "device is longer than %d characters", MaxDevice)
	case r.Device == "" && !r.Manual:
		bad("device", "device is required for a reading that is not manual")
	}
	at := strings.TrimSpace(in.TakenAt)
	if at == "" {
		bad("taken_at", "taken_at is required")
	} else if t, err := time.Parse(time.RFC3339, at); err != nil {
		bad("taken_at", "taken_at %q is not an RFC 3339 time with offset (2026-03-01T09:30:00-05:00)", at)
	} else if t.After(now.Add(FutureSkew)) {
		bad("taken_at", "taken_at %s is in the future", at)
	} else {
		r.TakenAt = t
	}
	switch {
	case r.Type == "":
		bad("type", "type is required")
	case r.Type == BloodPressure:
		for _, f := range []struct {
			name string
			v    *float64
			m    Measure
			to   *int
		}{{"systolic", in.Systolic, Systolic, &r.Systolic}, {"diastolic", in.Diastolic, Diastolic, &r.Diastolic}} {
			switch {
			case f.v == nil:
				bad(f.name, "%s is required for blood pressure", f.name)
			case *f.v != math.Trunc(*f.v):
				bad(f.name, "%s %g is not a whole number of mmHg", f.name, *f.v)
			case !within(f.m, *f.v):
				bad(f.name, "%s %g mmHg is not a possible reading (%g to %g)", f.name, *f.v, plausible[f.m][0], plausible[f.m][1])
			default:
				*f.to = int(*f.v)
			}
		}
		if r.Systolic > 0 && r.Diastolic > 0 && r.Diastolic >= r.Systolic {
			bad("diastolic", "diastolic %d is not below systolic %d", r.Diastolic, r.Systolic)
		}
		if in.Value != nil {
			bad("value", "value is not used for blood pressure: send systolic and diastolic")
		}
		if u := strings.TrimSpace(in.Unit); u != "" && u != "mmHg" {
			bad("unit", "unit %q is not used for blood pressure (mmHg)", u)
		}
	case !r.Type.Known():
		bad("type", "type %q is not one of blood_pressure, weight, glucose, spo2, heart_rate", in.Type)
	default:
		if in.Systolic != nil || in.Diastolic != nil {
			bad("systolic", "systolic and diastolic are for blood pressure only")
		}
		allowed := units[r.Type]
		r.Unit = Unit(strings.TrimSpace(in.Unit))
		if r.Unit == "" {
			bad("unit", "unit is required for %s (%s)", r.Type, unitList(allowed))
		} else if !slices.Contains(allowed, r.Unit) {
			bad("unit", "unit %q is not %s for %s", in.Unit, unitList(allowed), r.Type)
		}
		switch {
		case in.Value == nil:
			bad("value", "value is required for %s", r.Type)
		case math.IsNaN(*in.Value) || math.IsInf(*in.Value, 0):
			bad("value", "value is not a number")
		default:
			r.Value = math.Round(*in.Value*100) / 100
			if m, v := r.measure(); slices.Contains(allowed, r.Unit) && !within(m, v) {
				bad("value", "value %g %s is not a possible %s reading", *in.Value, r.Unit, r.Type)
			}
		}
	}
	if len(errs) > 0 {
		return Reading{}, errs
	}
	return r, nil
}

func within(m Measure, v float64) bool {
	b := plausible[m]
	return v >= b[0] && v <= b[1]
}

func unitList(us []Unit) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = string(u)
	}
	return strings.Join(s, " or ")
}

// Measure is one quantity limits apply to: blood pressure has two, each other type one.
type Measure string

// The measures, in the units limits are set in.
const (
	Systolic     Measure = "systolic"   // mmHg
	Diastolic    Measure = "diastolic"  // mmHg
	WeightKg     Measure = "weight"     // kg
	GlucoseMgDL  Measure = "glucose"    // mg/dL
	SpO2Pct      Measure = "spo2"       // %
	HeartRateBPM Measure = "heart_rate" // bpm
)

// Measures are the measures in the order pages show them.
var Measures = []Measure{Systolic, Diastolic, WeightKg, GlucoseMgDL, SpO2Pct, HeartRateBPM}

// MeasureUnit is the unit a measure's limits are set in.
func MeasureUnit(m Measure) string {
	switch m {
	case Systolic, Diastolic:
		return "mmHg"
	case WeightKg:
		return "kg"
	case GlucoseMgDL:
		return "mg/dL"
	case SpO2Pct:
		return "%"
	}
	return "bpm"
}

// measure is a reading's value (not blood pressure) as its measure, weight in kg.
func (r Reading) measure() (Measure, float64) {
	switch r.Type {
	case Weight:
		if r.Unit == Pounds {
			return WeightKg, r.Value / poundsPerKilogram
		}
		return WeightKg, r.Value
	case Glucose:
		return GlucoseMgDL, r.Value
	case SpO2:
		return SpO2Pct, r.Value
	}
	return HeartRateBPM, r.Value
}

// Values returns the reading's measures and their values, in the limits' units.
func (r Reading) Values() []MeasureValue {
	if r.Type == BloodPressure {
		return []MeasureValue{{Systolic, float64(r.Systolic)}, {Diastolic, float64(r.Diastolic)}}
	}
	m, v := r.measure()
	return []MeasureValue{{m, v}}
}

// MeasureValue is one measure's value.
type MeasureValue struct {
	Measure Measure
	Value   float64
}

// Text is the reading in words, as a clinician reads it: "Blood pressure 182/96 mmHg".
func (r Reading) Text() string {
	if r.Type == BloodPressure {
		return fmt.Sprintf("%s %d/%d mmHg", r.Type.Label(), r.Systolic, r.Diastolic)
	}
	return fmt.Sprintf("%s %s %s", r.Type.Label(), number(r.Value), r.Unit)
}

// number formats a value without trailing zeros.
func number(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
