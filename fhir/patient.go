package fhir

import (
	"strings"
	"time"

	"github.com/outreach-engine/outreach/outreach"
)

// instant formats a time as a FHIR instant or dateTime, in UTC.
func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func ref(kind, id string) *Reference { return &Reference{Reference: kind + "/" + id} }

func boolPtr(b bool) *bool { return &b }

// languageNames are the display names of the languages the engine speaks.
var languageNames = map[string]string{"en": "English", "es": "Spanish"}

// PatientOf maps a patient's profile to a Patient: the practice's id as the resource id and as
// an identifier, the name, the phone, the language and whether the patient is active.
func PatientOf(p outreach.Profile) Patient {
	out := Patient{ResourceType: "Patient", ID: p.Ext,
		Identifier: []Identifier{{Use: "usual", System: systemPatientID, Value: p.Ext}},
		Active:     boolPtr(p.Active)}
	if p.FirstName != "" || p.LastName != "" {
		n := HumanName{Use: "official", Family: p.LastName}
		if p.FirstName != "" {
			n.Given = []string{p.FirstName}
		}
		out.Name = []HumanName{n}
	}
	if p.Phone != nil && *p.Phone != "" {
		out.Telecom = []ContactPoint{{System: "phone", Value: *p.Phone, Use: "mobile"}}
		if p.Channel == string(outreach.MediumSMS) {
			out.Telecom = append(out.Telecom, ContactPoint{System: "sms", Value: *p.Phone, Use: "mobile"})
		}
	}
	if p.Language != "" {
		out.Communication = []PatientCommunication{{Language: CodeableConcept{
			Coding: []Coding{{System: systemLanguage, Code: p.Language, Display: languageNames[p.Language]}},
			Text:   languageNames[p.Language]}, Preferred: boolPtr(true)}}
	}
	return out
}

// conditionID is a condition's resource id: the patient's id and the ICD-10 code (codes have
// no '-', so the last one splits them).
func conditionID(patient, code string) string { return patient + "-" + code }

// splitConditionID reverses conditionID.
func splitConditionID(id string) (patient, code string, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || i == len(id)-1 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

// ConditionsOf maps a patient's conditions (chronic ones, then those expected to last 3 to 12
// months) to Conditions: active problem-list items coded in ICD-10-CM.
func ConditionsOf(p outreach.Profile) []Condition {
	out := make([]Condition, 0, len(p.Conditions)+len(p.ShortTerm))
	for _, c := range p.Conditions {
		out = append(out, conditionOf(p.Ext, c, ""))
	}
	for _, c := range p.ShortTerm {
		out = append(out, conditionOf(p.Ext, c, "expected to last 3 to 12 months"))
	}
	return out
}

func conditionOf(patient, code, note string) Condition {
	c := Condition{ResourceType: "Condition", ID: conditionID(patient, code),
		ClinicalStatus: &CodeableConcept{Coding: []Coding{{System: systemCondClinical, Code: "active", Display: "Active"}}},
		Category: []CodeableConcept{{Coding: []Coding{{System: systemCondCategory, Code: "problem-list-item",
			Display: "Problem List Item"}}}},
		Code:    &CodeableConcept{Coding: []Coding{{System: systemICD10CM, Code: code}}, Text: code},
		Subject: Reference{Reference: "Patient/" + patient}}
	if note != "" {
		c.Note = []Annotation{{Text: note}}
	}
	return c
}
