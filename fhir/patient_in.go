package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/outreach-engine/outreach/internal/ident"
)

// inPatient is a Patient a client sends, with the elements the engine reads.
type inPatient struct {
	ResourceType     string                 `json:"resourceType"`
	ID               string                 `json:"id"`
	Identifier       []Identifier           `json:"identifier"`
	Active           *bool                  `json:"active"`
	Name             []HumanName            `json:"name"`
	Telecom          []ContactPoint         `json:"telecom"`
	Communication    []PatientCommunication `json:"communication"`
	DeceasedBoolean  *bool                  `json:"deceasedBoolean"`
	DeceasedDateTime string                 `json:"deceasedDateTime"`
}

// inCondition is a Condition a client sends, with the elements the engine reads.
type inCondition struct {
	ResourceType       string           `json:"resourceType"`
	ID                 string           `json:"id"`
	ClinicalStatus     *CodeableConcept `json:"clinicalStatus"`
	VerificationStatus *CodeableConcept `json:"verificationStatus"`
	Code               *CodeableConcept `json:"code"`
	Subject            *Reference       `json:"subject"`
}

// PatientRecord is a patient as a Patient resource says it, in the patients file's terms.
type PatientRecord struct {
	ID                  string
	FirstName, LastName string
	Phone               string
	Language            string // en or es
	Active              bool
	Conditions          []string // ICD-10 codes, each once
	// ConditionsSent says the input held Conditions of the patient (read or left out): their
	// conditions are then replaced; a patient with none sent keeps the stored ones.
	ConditionsSent bool
	Label          string // how errors name the resource: "Patient/P001 (line 3)"
	Where          string // the item it was read from: "line 3", "entry[2]"
}

// Parsed is what a set of Patient and Condition resources says: the patients in their order,
// how many Conditions were read and left out (not active, or with no ICD-10-CM code), and
// warnings about what was read otherwise than sent.
type Parsed struct {
	Patients      []PatientRecord
	Conditions    int // read into a patient's conditions
	HasConditions bool
	Skipped       int
	Warnings      []string
}

// Item is one resource of an input, raw, with where it is (for errors).
type Item struct {
	Where string // "line 3", "entry[2]"
	JSON  json.RawMessage
}

// clinicalActive are the clinical statuses of a condition the patient has now.
var clinicalActive = map[string]bool{"active": true, "recurrence": true, "relapse": true}

// ParseResources reads Patient and Condition resources (a Bulk Data export's lines, a Bundle's
// entries) as the patients file would say them: the patient's id is the resource id, else its
// first identifier's value; name, phone (the first phone or sms telecom), language (the
// preferred communication, en or es) and active (false when deceased) come from the Patient;
// each active Condition coded in ICD-10-CM is one of its patient's chronic conditions. Every
// problem is reported naming the resource and the element; consent and programs are never read
// from FHIR.
func ParseResources(items []Item) (Parsed, *ElementErrors) {
	errs := &ElementErrors{}
	var out Parsed
	index := map[string]int{}
	type pending struct {
		c     inCondition
		where string
	}
	var conds []pending
	for _, it := range items {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(it.JSON, &head); err != nil {
			errs.add(it.Where, "", "not a JSON resource: "+jsonProblem(err))
			continue
		}
		switch head.ResourceType {
		case "Patient":
			var p inPatient
			if err := json.Unmarshal(it.JSON, &p); err != nil {
				errs.add("Patient ("+it.Where+")", "", jsonProblem(err))
				continue
			}
			rec, ok := patientRecord(p, it.Where, errs, func(w string) { out.Warnings = append(out.Warnings, w) })
			if !ok {
				continue
			}
			if i, dup := index[rec.ID]; dup {
				errs.add(rec.Label, "id", fmt.Sprintf("patient %q is also %s", rec.ID, out.Patients[i].Label))
				continue
			}
			index[rec.ID] = len(out.Patients)
			out.Patients = append(out.Patients, rec)
		case "Condition":
			var c inCondition
			if err := json.Unmarshal(it.JSON, &c); err != nil {
				errs.add("Condition ("+it.Where+")", "", jsonProblem(err))
				continue
			}
			conds = append(conds, pending{c, it.Where})
		case "":
			errs.add(it.Where, "resourceType", "resourceType is missing")
		default:
			errs.add(head.ResourceType+" ("+it.Where+")", "resourceType",
				fmt.Sprintf("resourceType %q is not Patient or Condition", head.ResourceType))
		}
	}
	out.HasConditions = len(conds) > 0
	for _, pc := range conds {
		c := pc.c
		label := "Condition (" + pc.where + ")"
		if c.ID != "" {
			label = "Condition/" + c.ID + " (" + pc.where + ")"
		}
		patient, ok := patientOfRef(c.Subject)
		if !ok {
			errs.add(label, "subject", "subject must reference the patient as Patient/ID")
			continue
		}
		i, ok := index[patient]
		if !ok {
			errs.add(label, "subject", fmt.Sprintf("Patient/%s is not among the Patient resources sent with it", patient))
			continue
		}
		out.Patients[i].ConditionsSent = true
		if c.ClinicalStatus != nil && !anyCode(*c.ClinicalStatus, clinicalActive) ||
			c.VerificationStatus != nil && anyCode(*c.VerificationStatus, map[string]bool{"refuted": true, "entered-in-error": true}) {
			out.Skipped++
			continue
		}
		code, element, found := icd10Of(c.Code)
		if !found {
			out.Skipped++
			out.Warnings = append(out.Warnings, label+" code: no ICD-10-CM coding; the condition is left out")
			continue
		}
		if !ident.ICD10(code) {
			errs.add(label, element, fmt.Sprintf("%q is not an ICD-10 code (like E11.9)", code))
			continue
		}
		p := &out.Patients[i]
		out.Conditions++
		if !slices.Contains(p.Conditions, code) {
			p.Conditions = append(p.Conditions, code)
		}
	}
	if len(errs.Errs) > 0 {
		return Parsed{}, errs
	}
	return out, nil
}

// anyCode reports whether a concept has one of the codes.
func anyCode(c CodeableConcept, codes map[string]bool) bool {
	for _, cd := range c.Coding {
		if codes[cd.Code] {
			return true
		}
	}
	return false
}

// icd10Of finds a concept's ICD-10-CM code, upper-cased, and the element it is in.
func icd10Of(c *CodeableConcept) (code, element string, ok bool) {
	if c == nil {
		return "", "code", false
	}
	for i, cd := range c.Coding {
		if cd.System == systemICD10CM || cd.System == "http://hl7.org/fhir/sid/icd-10" {
			return strings.ToUpper(strings.TrimSpace(cd.Code)), fmt.Sprintf("code.coding[%d].code", i), true
		}
	}
	return "", "code", false
}

// patientRecord reads one Patient; ok is false when it has no id to be known by. What the
// patients file checks (the phone, the lengths of names) is checked there.
func patientRecord(p inPatient, where string, errs *ElementErrors, warn func(string)) (PatientRecord, bool) {
	rec := PatientRecord{ID: p.ID, Active: true, Where: where}
	element := "id"
	if rec.ID == "" && len(p.Identifier) > 0 {
		rec.ID, element = p.Identifier[0].Value, "identifier[0].value"
	}
	rec.Label = "Patient (" + where + ")"
	if rec.ID == "" {
		errs.add(rec.Label, "id", "the Patient has no id and no identifier: the engine needs the practice's id")
		return rec, false
	}
	rec.Label = "Patient/" + rec.ID + " (" + where + ")"
	if !ident.External(rec.ID) {
		errs.add(rec.Label, element, fmt.Sprintf("%q must be 1 to 64 letters, digits, '.', '_', ':' or '-'", rec.ID))
	}
	if n := officialName(p.Name); n != nil {
		rec.FirstName, rec.LastName = strings.Join(n.Given, " "), n.Family
	}
	for _, t := range p.Telecom {
		if (t.System == "phone" || t.System == "sms") && t.Value != "" {
			rec.Phone = t.Value
			if t.Use == "mobile" || t.System == "sms" {
				break
			}
		}
	}
	rec.Language = "en"
	if len(p.Communication) > 0 {
		c := p.Communication[0]
		for _, pc := range p.Communication {
			if pc.Preferred != nil && *pc.Preferred {
				c = pc
				break
			}
		}
		lang := "" // the first code, a BCP 47 one when there is one
		for _, cd := range c.Language.Coding {
			if lang == "" || cd.System == systemLanguage && cd.Code != "" {
				lang = strings.ToLower(cd.Code)
			}
			if cd.System == systemLanguage && cd.Code != "" {
				break
			}
		}
		base, _, _ := strings.Cut(lang, "-")
		switch base {
		case "en", "es":
			rec.Language = base
		case "":
		default:
			// The scripts speak English and Spanish: the patient is contacted in English until
			// the care team says otherwise, and the import says so.
			warn(fmt.Sprintf("%s communication.language: %q is not a language the check-ins speak (en, es); English is used", rec.Label, lang))
		}
	}
	if p.DeceasedBoolean != nil && *p.DeceasedBoolean || p.DeceasedDateTime != "" {
		rec.Active = false
	} else if p.Active != nil {
		rec.Active = *p.Active
	}
	return rec, true
}

// officialName picks the official name, else the usual one, else the first.
func officialName(names []HumanName) *HumanName {
	for _, use := range []string{"official", "usual"} {
		for i := range names {
			if names[i].Use == use {
				return &names[i]
			}
		}
	}
	if len(names) > 0 {
		return &names[0]
	}
	return nil
}

// jsonProblem says what encoding/json found wrong, naming the field.
func jsonProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("%s must be %s, not %s", typ.Field, typ.Type, typ.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
