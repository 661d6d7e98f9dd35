// Package fhir speaks FHIR R4 for the engine: it maps patients, their conditions, check-in
// scripts and check-ins, texts, readings and queue items to R4 resources (Patient, Condition,
// Questionnaire, QuestionnaireResponse, Communication, Observation, Task), serves them under
// /fhir/R4, and reads Patient and Condition resources (a Bundle, a Bulk Data NDJSON export)
// and Observations back in through the engine's own imports. It sits above the domain
// packages; none of them imports it.
package fhir

import "encoding/json"

// The media type of FHIR JSON.
const mediaType = "application/fhir+json"

// Code systems and extension URLs used by the mapping.
const (
	systemLOINC        = "http://loinc.org"
	systemUCUM         = "http://unitsofmeasure.org"
	systemICD10CM      = "http://hl7.org/fhir/sid/icd-10-cm"
	systemLanguage     = "urn:ietf:bcp:47"
	systemObsCategory  = "http://terminology.hl7.org/CodeSystem/observation-category"
	systemCondClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	systemCondCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
	systemParticipMode = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
	systemIssueType    = "http://hl7.org/fhir/issue-type"
	extOrdinalValue    = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
	extMinValue        = "http://hl7.org/fhir/StructureDefinition/minValue"
	extMaxValue        = "http://hl7.org/fhir/StructureDefinition/maxValue"
	extUnit            = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
	extHidden          = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"
	extCalculated      = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"

	// ns is where the engine's own code systems and extensions are named.
	ns               = "https://github.com/outreach-engine/outreach/fhir"
	extEscalation    = ns + "/StructureDefinition/escalation-rule"
	extSkipIf        = ns + "/StructureDefinition/skip-if"
	systemAnswers    = ns + "/CodeSystem/answer"
	systemTaskSource = ns + "/CodeSystem/item-source"
	systemMsgKind    = ns + "/CodeSystem/message-kind"
	systemPatientID  = ns + "/sid/patient-id"
)

// Resource is any resource the adapter writes: a struct with a ResourceType field.
type Resource interface{ resourceType() string }

// Meta is a resource's meta element.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
}

// Coding is a code in a system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
	// Extension carries an answer option's score (ordinalValue).
	Extension []Extension `json:"extension,omitempty"`
}

// CodeableConcept is codings and a text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	Use    string `json:"use,omitempty"`
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference points at another resource.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Quantity is a value with a UCUM unit.
type Quantity struct {
	Value  json.Number `json:"value"`
	Unit   string      `json:"unit,omitempty"`
	System string      `json:"system,omitempty"`
	Code   string      `json:"code,omitempty"`
}

// Period is a start and an end.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Expression is an SDC expression.
type Expression struct {
	Description string `json:"description,omitempty"`
	Language    string `json:"language"`
	Expression  string `json:"expression,omitempty"`
}

// Extension is an extension with one of the value types the adapter uses, or sub-extensions.
type Extension struct {
	URL             string       `json:"url"`
	Extension       []Extension  `json:"extension,omitempty"`
	ValueString     string       `json:"valueString,omitempty"`
	ValueCode       string       `json:"valueCode,omitempty"`
	ValueDecimal    *json.Number `json:"valueDecimal,omitempty"`
	ValueInteger    *int         `json:"valueInteger,omitempty"`
	ValueBoolean    *bool        `json:"valueBoolean,omitempty"`
	ValueCoding     *Coding      `json:"valueCoding,omitempty"`
	ValueExpression *Expression  `json:"valueExpression,omitempty"`
}

// Narrative is a resource's human-readable text.
type Narrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// ContactPoint is a phone number or other contact.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// PatientCommunication is a language a patient speaks.
type PatientCommunication struct {
	Language  CodeableConcept `json:"language"`
	Preferred *bool           `json:"preferred,omitempty"`
}

// Patient is the R4 Patient resource (the elements the engine keeps).
type Patient struct {
	ResourceType      string                 `json:"resourceType"`
	ID                string                 `json:"id,omitempty"`
	Meta              *Meta                  `json:"meta,omitempty"`
	Identifier        []Identifier           `json:"identifier,omitempty"`
	Active            *bool                  `json:"active,omitempty"`
	Name              []HumanName            `json:"name,omitempty"`
	Telecom           []ContactPoint         `json:"telecom,omitempty"`
	Communication     []PatientCommunication `json:"communication,omitempty"`
	DeceasedBoolean   *bool                  `json:"deceasedBoolean,omitempty"`
	DeceasedDateTime  string                 `json:"deceasedDateTime,omitempty"`
	GeneralPractition []Reference            `json:"generalPractitioner,omitempty"`
}

func (Patient) resourceType() string { return "Patient" }

// Condition is the R4 Condition resource.
type Condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Subject            Reference         `json:"subject"`
	Note               []Annotation      `json:"note,omitempty"`
}

func (Condition) resourceType() string { return "Condition" }

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// Observation is the R4 Observation resource.
type Observation struct {
	ResourceType      string                 `json:"resourceType"`
	ID                string                 `json:"id,omitempty"`
	Identifier        []Identifier           `json:"identifier,omitempty"`
	Status            string                 `json:"status"`
	Category          []CodeableConcept      `json:"category,omitempty"`
	Code              CodeableConcept        `json:"code"`
	Subject           *Reference             `json:"subject,omitempty"`
	EffectiveDateTime string                 `json:"effectiveDateTime,omitempty"`
	ValueQuantity     *Quantity              `json:"valueQuantity,omitempty"`
	Method            *CodeableConcept       `json:"method,omitempty"`
	Device            *Reference             `json:"device,omitempty"`
	Component         []ObservationComponent `json:"component,omitempty"`
}

func (Observation) resourceType() string { return "Observation" }

// ObservationComponent is one part of a panel (systolic, diastolic).
type ObservationComponent struct {
	Code          CodeableConcept `json:"code"`
	ValueQuantity *Quantity       `json:"valueQuantity,omitempty"`
}

// Communication is the R4 Communication resource: one text.
type Communication struct {
	ResourceType string                 `json:"resourceType"`
	ID           string                 `json:"id,omitempty"`
	Status       string                 `json:"status"`
	Category     []CodeableConcept      `json:"category,omitempty"`
	Medium       []CodeableConcept      `json:"medium,omitempty"`
	Subject      *Reference             `json:"subject,omitempty"`
	Sent         string                 `json:"sent,omitempty"`
	Received     string                 `json:"received,omitempty"`
	Recipient    []Reference            `json:"recipient,omitempty"`
	Sender       *Reference             `json:"sender,omitempty"`
	Payload      []CommunicationPayload `json:"payload,omitempty"`
}

func (Communication) resourceType() string { return "Communication" }

// CommunicationPayload is a text's body.
type CommunicationPayload struct {
	ContentString string `json:"contentString"`
}

// Task is the R4 Task resource: one item of the clinician queue.
type Task struct {
	ResourceType   string           `json:"resourceType"`
	ID             string           `json:"id,omitempty"`
	Status         string           `json:"status"`
	BusinessStatus *CodeableConcept `json:"businessStatus,omitempty"`
	Intent         string           `json:"intent"`
	Priority       string           `json:"priority,omitempty"`
	Code           *CodeableConcept `json:"code,omitempty"`
	Description    string           `json:"description,omitempty"`
	Focus          *Reference       `json:"focus,omitempty"`
	For            *Reference       `json:"for,omitempty"`
	AuthoredOn     string           `json:"authoredOn,omitempty"`
	LastModified   string           `json:"lastModified,omitempty"`
	Owner          *Reference       `json:"owner,omitempty"`
	Restriction    *TaskRestriction `json:"restriction,omitempty"`
}

func (Task) resourceType() string { return "Task" }

// TaskRestriction bounds when a task is to be done.
type TaskRestriction struct {
	Period *Period `json:"period,omitempty"`
}
