package fhir

import "encoding/json"

// Questionnaire is the R4 Questionnaire resource (SDC): one check-in script.
type Questionnaire struct {
	ResourceType string              `json:"resourceType"`
	ID           string              `json:"id,omitempty"`
	Extension    []Extension         `json:"extension,omitempty"`
	URL          string              `json:"url,omitempty"`
	Name         string              `json:"name,omitempty"`
	Title        string              `json:"title,omitempty"`
	Status       string              `json:"status"`
	SubjectType  []string            `json:"subjectType,omitempty"`
	Description  string              `json:"description,omitempty"`
	Code         []Coding            `json:"code,omitempty"`
	Item         []QuestionnaireItem `json:"item,omitempty"`
}

func (Questionnaire) resourceType() string { return "Questionnaire" }

// QuestionnaireItem is one question (or group) of a Questionnaire.
type QuestionnaireItem struct {
	Extension      []Extension         `json:"extension,omitempty"`
	LinkID         string              `json:"linkId"`
	Code           []Coding            `json:"code,omitempty"`
	Text           string              `json:"text,omitempty"`
	Type           string              `json:"type"`
	EnableWhen     []EnableWhen        `json:"enableWhen,omitempty"`
	EnableBehavior string              `json:"enableBehavior,omitempty"`
	Required       *bool               `json:"required,omitempty"`
	ReadOnly       *bool               `json:"readOnly,omitempty"`
	AnswerOption   []AnswerOption      `json:"answerOption,omitempty"`
	Item           []QuestionnaireItem `json:"item,omitempty"`
}

// EnableWhen is a condition on an earlier answer for a question to be asked.
type EnableWhen struct {
	Question      string       `json:"question"`
	Operator      string       `json:"operator"`
	AnswerBoolean *bool        `json:"answerBoolean,omitempty"`
	AnswerDecimal *json.Number `json:"answerDecimal,omitempty"`
	AnswerInteger *int         `json:"answerInteger,omitempty"`
	AnswerCoding  *Coding      `json:"answerCoding,omitempty"`
}

// AnswerOption is one permitted answer of a choice question.
type AnswerOption struct {
	ValueCoding Coding `json:"valueCoding"`
}

// QuestionnaireResponse is the R4 QuestionnaireResponse resource: one check-in.
type QuestionnaireResponse struct {
	ResourceType  string                      `json:"resourceType"`
	ID            string                      `json:"id,omitempty"`
	Questionnaire string                      `json:"questionnaire,omitempty"`
	Status        string                      `json:"status"`
	Subject       *Reference                  `json:"subject,omitempty"`
	Authored      string                      `json:"authored,omitempty"`
	Source        *Reference                  `json:"source,omitempty"`
	Item          []QuestionnaireResponseItem `json:"item,omitempty"`
}

func (QuestionnaireResponse) resourceType() string { return "QuestionnaireResponse" }

// QuestionnaireResponseItem is one answered question (or group).
type QuestionnaireResponseItem struct {
	LinkID string                        `json:"linkId"`
	Text   string                        `json:"text,omitempty"`
	Answer []QuestionnaireResponseAnswer `json:"answer,omitempty"`
	Item   []QuestionnaireResponseItem   `json:"item,omitempty"`
}

// QuestionnaireResponseAnswer is one typed answer.
type QuestionnaireResponseAnswer struct {
	ValueBoolean *bool        `json:"valueBoolean,omitempty"`
	ValueDecimal *json.Number `json:"valueDecimal,omitempty"`
	ValueInteger *int         `json:"valueInteger,omitempty"`
	ValueString  string       `json:"valueString,omitempty"`
	ValueCoding  *Coding      `json:"valueCoding,omitempty"`
}
