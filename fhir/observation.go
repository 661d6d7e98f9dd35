package fhir

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/monitoring"
)

// vital is how one type of reading is coded: its LOINC code and category.
type vital struct {
	code     Coding
	category string // observation-category code
}

var (
	systolicCode  = loinc("8480-6", "Systolic blood pressure")
	diastolicCode = loinc("8462-4", "Diastolic blood pressure")
)

// vitals are the codes of the engine's types of reading.
var vitals = map[monitoring.Type]vital{
	monitoring.BloodPressure: {loinc("85354-9", "Blood pressure panel with all children optional"), "vital-signs"},
	monitoring.Weight:        {loinc("29463-7", "Body weight"), "vital-signs"},
	monitoring.Glucose:       {loinc("2339-0", "Glucose [Mass/volume] in Blood"), "laboratory"},
	monitoring.SpO2:          {loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"), "vital-signs"},
	monitoring.HeartRate:     {loinc("8867-4", "Heart rate"), "vital-signs"},
}

// unitCodes are the UCUM codes of the engine's units; mmHg is blood pressure's.
var unitCodes = map[monitoring.Unit]string{
	monitoring.Kilograms: "kg", monitoring.Pounds: "[lb_av]", monitoring.MgPerDL: "mg/dL", monitoring.Percent: "%",
	monitoring.BPM: "/min",
}

func quantity(v float64, unit, code string) *Quantity {
	return &Quantity{Value: json.Number(strconv.FormatFloat(v, 'f', -1, 64)), Unit: unit, System: systemUCUM, Code: code}
}

// ObservationOf maps a stored reading to an Observation: LOINC coded, the value in UCUM (blood
// pressure as the panel with its systolic and diastolic components), the device by its
// identifier, a reading the patient typed in with that method.
func ObservationOf(r monitoring.Stored, patient string) Observation {
	v := vitals[r.Type]
	o := Observation{ResourceType: "Observation", ID: strconv.FormatInt(r.ID, 10), Status: "final",
		Category: []CodeableConcept{{Coding: []Coding{{System: systemObsCategory, Code: v.category,
			Display: map[string]string{"vital-signs": "Vital Signs", "laboratory": "Laboratory"}[v.category]}}}},
		Code: CodeableConcept{Coding: []Coding{v.code}, Text: r.Type.Label()}, Subject: ref("Patient", patient),
		EffectiveDateTime: instant(r.TakenAt)}
	if r.Type == monitoring.BloodPressure {
		o.Component = []ObservationComponent{
			{Code: CodeableConcept{Coding: []Coding{systolicCode}}, ValueQuantity: quantity(float64(r.Systolic), "mmHg", "mm[Hg]")},
			{Code: CodeableConcept{Coding: []Coding{diastolicCode}}, ValueQuantity: quantity(float64(r.Diastolic), "mmHg", "mm[Hg]")},
		}
	} else {
		o.ValueQuantity = quantity(r.Value, string(r.Unit), unitCodes[r.Unit])
	}
	if r.Device != "" {
		o.Device = &Reference{Identifier: &Identifier{Value: r.Device}, Display: r.Device}
	}
	if r.Manual {
		o.Method = &CodeableConcept{Text: "entered by the patient"}
	}
	return o
}

// InObservation is an Observation a client posts, with the elements a reading is read from.
type InObservation struct {
	ResourceType      string                   `json:"resourceType"`
	ID                string                   `json:"id"`
	Status            string                   `json:"status"`
	Code              CodeableConcept          `json:"code"`
	Subject           *Reference               `json:"subject"`
	EffectiveDateTime string                   `json:"effectiveDateTime"`
	EffectiveInstant  string                   `json:"effectiveInstant"`
	ValueQuantity     *inQuantity              `json:"valueQuantity"`
	Device            *Reference               `json:"device"`
	Component         []inObservationComponent `json:"component"`
}

type inQuantity struct {
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
	Code  string   `json:"code"`
}

type inObservationComponent struct {
	Code          CodeableConcept `json:"code"`
	ValueQuantity *inQuantity     `json:"valueQuantity"`
}

// hasCode reports whether a concept holds the LOINC code.
func (c CodeableConcept) hasCode(code string) bool {
	for _, cd := range c.Coding {
		if cd.System == systemLOINC && cd.Code == code {
			return true
		}
	}
	return false
}

// unitOf reads a quantity's unit: its UCUM code, else its unit, as the engine names it.
func unitOf(q *inQuantity) string {
	for u, code := range unitCodes {
		if q.Code == code || q.Code == string(u) || (q.Code == "" && q.Unit == string(u)) {
			return string(u)
		}
	}
	if q.Code == "mm[Hg]" || q.Unit == "mmHg" {
		return "mmHg"
	}
	if q.Code != "" {
		return q.Code
	}
	return q.Unit
}

// patientOfRef reads a patient's id from a reference "Patient/ID".
func patientOfRef(r *Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	id, ok := strings.CutPrefix(r.Reference, "Patient/")
	return id, ok && id != ""
}

// ReadingInput maps a posted Observation to the engine's reading input, or says which
// elements are wrong. The type is read from its LOINC code; the patient from subject; the time
// from effectiveDateTime (with an offset); the device from device (its identifier, display or
// reference id), and an Observation with no device is one the patient typed in (manual).
func ReadingInput(o InObservation) (monitoring.Input, []ElementError) {
	name := "Observation"
	if o.ID != "" {
		name += "/" + o.ID
	}
	var errs []ElementError
	bad := func(element, msg string) {
		errs = append(errs, ElementError{Resource: name, Element: element, Msg: msg})
	}
	in := monitoring.Input{}
	if o.ResourceType != "Observation" {
		bad("resourceType", "resourceType "+strconv.Quote(o.ResourceType)+" is not Observation")
		return in, errs
	}
	switch o.Status {
	case "final", "amended", "corrected":
	default:
		bad("status", "status "+strconv.Quote(o.Status)+" is not final, amended or corrected: only results are stored")
	}
	for t, v := range vitals {
		if o.Code.hasCode(v.code.Code) {
			in.Type = string(t)
		}
	}
	if in.Type == "" && o.Code.hasCode(systolicCode.Code) {
		in.Type = string(monitoring.BloodPressure)
	}
	if in.Type == "" {
		bad("code", "code has none of the LOINC codes 85354-9 (blood pressure), 29463-7 (weight), 2339-0 (glucose), 59408-5 (SpO2), 8867-4 (heart rate)")
	}
	if p, ok := patientOfRef(o.Subject); ok {
		in.Patient = p
	} else {
		bad("subject", "subject must reference the patient as Patient/ID")
	}
	in.TakenAt = o.EffectiveDateTime
	if in.TakenAt == "" {
		in.TakenAt = o.EffectiveInstant
	}
	if o.Device != nil {
		switch {
		case o.Device.Identifier != nil && o.Device.Identifier.Value != "":
			in.Device = o.Device.Identifier.Value
		case o.Device.Display != "":
			in.Device = o.Device.Display
		default:
			in.Device = strings.TrimPrefix(o.Device.Reference, "Device/")
		}
	}
	in.Manual = in.Device == ""
	if in.Type == string(monitoring.BloodPressure) {
		for _, c := range o.Component {
			if c.ValueQuantity == nil {
				continue
			}
			switch {
			case c.Code.hasCode(systolicCode.Code):
				in.Systolic = c.ValueQuantity.Value
			case c.Code.hasCode(diastolicCode.Code):
				in.Diastolic = c.ValueQuantity.Value
			}
		}
	} else if o.ValueQuantity != nil {
		in.Value, in.Unit = o.ValueQuantity.Value, unitOf(o.ValueQuantity)
	}
	return in, errs
}

// readingElements name the Observation element of each field of a reading's input.
var readingElements = map[string]string{
	"patient": "subject", "device": "device", "type": "code", "taken_at": "effectiveDateTime",
	"systolic": "component.where(code = '8480-6').valueQuantity", "diastolic": "component.where(code = '8462-4').valueQuantity",
	"value": "valueQuantity.value", "unit": "valueQuantity.code",
}
