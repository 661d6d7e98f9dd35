package fhir

import (
	"strconv"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/outreach"
)

// communicationStatus maps a text's delivery status to a Communication status.
var communicationStatus = map[string]string{
	"queued": "preparation", "sending": "in-progress", "sent": "completed", "delivered": "completed",
	"received": "completed", "undelivered": "not-done", "failed": "not-done", "expired": "not-done",
	"cancelled": "stopped", "unknown": "unknown",
}

// CommunicationOf maps one text of a patient's conversation to a Communication: by SMS, from
// the patient or to them, its body as the payload, its kind (question, reminder, staff, ...) as
// the category.
func CommunicationOf(m outreach.MessageView, patient string) Communication {
	c := Communication{ResourceType: "Communication", ID: strconv.FormatInt(m.ID, 10),
		Status:   communicationStatus[m.Status],
		Category: []CodeableConcept{{Coding: []Coding{{System: systemMsgKind, Code: m.Kind}}}},
		Medium: []CodeableConcept{{Coding: []Coding{{System: systemParticipMode, Code: "SMSWRIT",
			Display: "SMS written"}}}},
		Subject: ref("Patient", patient), Payload: []CommunicationPayload{{ContentString: m.Body}}}
	if c.Status == "" {
		c.Status = "unknown"
	}
	if m.Direction == "in" {
		c.Sender, c.Received = ref("Patient", patient), instant(m.CreatedAt)
	} else {
		c.Recipient, c.Sent = []Reference{*ref("Patient", patient)}, instant(m.CreatedAt)
		if m.Staff != nil {
			c.Sender = &Reference{Identifier: &Identifier{Value: *m.Staff}, Display: "staff " + *m.Staff}
		}
	}
	return c
}

// taskStatus maps an item's status to a Task status.
var taskStatus = map[string]string{"open": "ready", "claimed": "in-progress", "resolved": "completed"}

// taskPriority maps an item's severity to a Task priority.
var taskPriority = map[escalation.Severity]string{escalation.Urgent: "stat", escalation.High: "urgent",
	escalation.Routine: "routine"}

// TaskOf maps an item of the clinician queue to a Task for the patient: its reason, its
// severity as the priority, what raised it as the business status, who holds it as the owner,
// its due time as the restriction's end.
func TaskOf(v escalation.View, patient string) Task {
	t := Task{ResourceType: "Task", ID: strconv.FormatInt(v.ID, 10), Status: taskStatus[v.Status], Intent: "order",
		Priority: taskPriority[v.Severity], Description: v.Reason,
		Code:           &CodeableConcept{Text: "follow up with the patient"},
		BusinessStatus: &CodeableConcept{Coding: []Coding{{System: systemTaskSource, Code: string(v.Source)}}},
		For:            ref("Patient", patient), AuthoredOn: instant(v.CreatedAt),
		Restriction: &TaskRestriction{Period: &Period{End: instant(v.DueAt)}}}
	if t.Status == "" {
		t.Status = "ready"
	}
	if v.ClaimedBy != nil {
		t.Owner = &Reference{Identifier: &Identifier{Value: *v.ClaimedBy}, Display: "staff " + *v.ClaimedBy}
	}
	if v.ResolvedAt != nil {
		t.LastModified = instant(*v.ResolvedAt)
		if v.ResolvedBy != nil {
			t.Owner = &Reference{Identifier: &Identifier{Value: *v.ResolvedBy}, Display: "staff " + *v.ResolvedBy}
		}
	}
	return t
}
