package fhir

import (
	"net/http"

	"github.com/outreach-engine/outreach/staff"
)

// CapabilityStatement is the R4 CapabilityStatement resource: what the server does.
type CapabilityStatement struct {
	ResourceType   string          `json:"resourceType"`
	Status         string          `json:"status"`
	Date           string          `json:"date"`
	Publisher      string          `json:"publisher,omitempty"`
	Kind           string          `json:"kind"`
	Software       *Software       `json:"software,omitempty"`
	Implementation *Implementation `json:"implementation,omitempty"`
	FHIRVersion    string          `json:"fhirVersion"`
	Format         []string        `json:"format"`
	Rest           []Rest          `json:"rest"`
}

func (CapabilityStatement) resourceType() string { return "CapabilityStatement" }

// Software names the server's software.
type Software struct {
	Name string `json:"name"`
}

// Implementation is the server instance the statement describes.
type Implementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// Rest is the RESTful side of the statement.
type Rest struct {
	Mode        string         `json:"mode"`
	Security    *RestSecurity  `json:"security,omitempty"`
	Resource    []RestResource `json:"resource"`
	Interaction []Interaction  `json:"interaction,omitempty"`
}

// RestSecurity says how clients authenticate.
type RestSecurity struct {
	Description string `json:"description"`
}

// RestResource is what the server does with one resource type.
type RestResource struct {
	Type          string        `json:"type"`
	Interaction   []Interaction `json:"interaction"`
	SearchParam   []SearchParam `json:"searchParam,omitempty"`
	Documentation string        `json:"documentation,omitempty"`
}

// Interaction is one interaction (read, search-type, create, batch, transaction).
type Interaction struct {
	Code string `json:"code"`
}

// SearchParam is a search parameter a resource type takes.
type SearchParam struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func interactions(codes ...string) []Interaction {
	out := make([]Interaction, len(codes))
	for i, c := range codes {
		out[i] = Interaction{Code: c}
	}
	return out
}

var (
	byPatient = []SearchParam{{Name: "patient", Type: "reference"}, {Name: "_count", Type: "number"}}
	released  = "2026-12-01"
)

// Capability is the server's CapabilityStatement.
func Capability(base string) CapabilityStatement {
	return CapabilityStatement{ResourceType: "CapabilityStatement", Status: "active", Date: released,
		Publisher: "outreach", Kind: "instance", Software: &Software{Name: "outreach"},
		Implementation: &Implementation{Description: "Patient outreach engine", URL: base},
		FHIRVersion:    "4.0.1", Format: []string{"json"},
		Rest: []Rest{{Mode: "server",
			Security:    &RestSecurity{Description: "Authorization: Bearer TOKEN, a staff member's API token (outreach staff token)"},
			Interaction: interactions("batch", "transaction"),
			Resource: []RestResource{
				{Type: "Patient", Interaction: interactions("read", "search-type"),
					SearchParam:   []SearchParam{{Name: "identifier", Type: "token"}, {Name: "_id", Type: "token"}},
					Documentation: "id is the practice's patient id; Patient and Condition resources come in as a batch or transaction Bundle (POST [base]), enrolling nobody in a program and recording no consent"},
				{Type: "Condition", Interaction: interactions("read", "search-type"), SearchParam: byPatient,
					Documentation: "the patient's chronic conditions (ICD-10-CM); id is the patient's id, '-' and the code"},
				{Type: "Questionnaire", Interaction: interactions("read", "search-type"),
					SearchParam:   []SearchParam{{Name: "_id", Type: "token"}},
					Documentation: "the check-in scripts; escalation rules are escalation-rule extensions on their items"},
				{Type: "QuestionnaireResponse", Interaction: interactions("read", "search-type"), SearchParam: byPatient},
				{Type: "Communication", Interaction: interactions("read", "search-type"), SearchParam: byPatient},
				{Type: "Observation", Interaction: interactions("read", "search-type", "create"), SearchParam: byPatient},
				{Type: "Task", Interaction: interactions("read", "search-type"), SearchParam: byPatient},
			}}}}
}

// capability serves GET /metadata.
func (s *Server) capability(_ *http.Request, _ staff.Identity) (int, any, error) {
	return http.StatusOK, Capability(s.Base), nil
}
