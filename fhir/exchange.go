package fhir

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/staff"
)

// createObservation serves POST /Observation: one reading, stored as POST /api/v1/readings
// stores it (checked, once per patient, type, instant and device, raising an item when out of
// the patient's limits). 201 with the stored Observation and its Location; 200 when it was
// stored before.
func (s *Server) createObservation(r *http.Request, who staff.Identity) (int, any, error) {
	body, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	var o InObservation
	if err := json.Unmarshal(body, &o); err != nil {
		return 0, nil, &ElementErrors{Source: "Observation", Errs: []ElementError{{Resource: "Observation", Msg: jsonProblem(err)}}}
	}
	in, problems := ReadingInput(o)
	errs := &ElementErrors{Source: "Observation", Errs: problems}
	name := "Observation"
	if o.ID != "" {
		name += "/" + o.ID
	}
	reading, fieldErrs := monitoring.Check(in, s.now())
	if len(problems) == 0 {
		for _, fe := range fieldErrs {
			errs.add(name, readingElements[fe.Field], fe.Msg)
		}
	}
	if err := errs.err(); err != nil {
		return 0, nil, err
	}
	res, unknown, err := s.Readings.Receive(r.Context(), []monitoring.Reading{reading}, who.Actor())
	if err != nil {
		return 0, nil, err
	}
	if len(unknown) > 0 {
		errs.add(name, "subject", "Patient/"+reading.Patient+" is not a known patient")
		return 0, nil, errs
	}
	ext, patient, err := s.patientID(r.Context(), reading.Patient)
	if err != nil {
		return 0, nil, err
	}
	id, err := s.Readings.StoredID(r.Context(), s.DB, patient, reading)
	if err != nil {
		return 0, nil, err
	}
	stored := monitoring.Stored{ID: id, Device: reading.Device, Type: reading.Type, TakenAt: reading.TakenAt,
		Systolic: reading.Systolic, Diastolic: reading.Diastolic, Value: reading.Value, Unit: reading.Unit, Manual: reading.Manual}
	code := http.StatusOK
	if res.New > 0 {
		code = http.StatusCreated
	}
	return code, located{ObservationOf(stored, ext), s.Base + "/Observation/" + strconv.FormatInt(id, 10)}, nil
}

// located is a created resource and its Location.
type located struct {
	Resource
	location string
}

// MarshalJSON writes the resource alone.
func (l located) MarshalJSON() ([]byte, error) { return json.Marshal(l.Resource) }

// inBundle is a Bundle a client posts.
type inBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *BundleRequest  `json:"request"`
	} `json:"entry"`
}

// exchange serves POST [base] with a batch or transaction Bundle of Patient and Condition
// resources: they are stored as a patients file is, all or nothing (a batch too: a problem in
// one entry stores none), and the answer is a batch-response or transaction-response Bundle
// with an entry per entry sent. Clinical staff, practitioners, managers and admins only.
func (s *Server) exchange(r *http.Request, who staff.Identity) (int, any, error) {
	if !who.Clinical() && !who.Allowed(staff.AccessManager, staff.AccessAdmin) {
		return 0, nil, errkind.Errorf(errkind.ErrForbidden, "only the care team and managers add or update patients")
	}
	body, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	var b inBundle
	if err := json.Unmarshal(body, &b); err != nil {
		return 0, nil, &ElementErrors{Source: "Bundle", Errs: []ElementError{{Resource: "Bundle", Msg: jsonProblem(err)}}}
	}
	errs := &ElementErrors{Source: "Bundle"}
	if b.ResourceType != "Bundle" {
		errs.add("Bundle", "resourceType", "resourceType "+strconv.Quote(b.ResourceType)+" is not Bundle")
	} else if b.Type != "batch" && b.Type != "transaction" {
		errs.add("Bundle", "type", "type "+strconv.Quote(b.Type)+" is not batch or transaction")
	}
	items := make([]Item, len(b.Entry))
	for i, e := range b.Entry {
		where := "entry[" + strconv.Itoa(i) + "]"
		items[i] = Item{Where: where, JSON: e.Resource}
		if len(e.Resource) == 0 {
			errs.add("Bundle", where+".resource", "the entry holds no resource")
		}
		if e.Request != nil && e.Request.Method != "POST" && e.Request.Method != "PUT" {
			errs.add("Bundle", where+".request.method", "method "+strconv.Quote(e.Request.Method)+" is not POST or PUT")
		}
	}
	if err := errs.err(); err != nil {
		return 0, nil, err
	}
	parsed, perr := ParseResources(items)
	if perr != nil {
		perr.Source = "Bundle"
		return 0, nil, perr
	}
	res, err := Import(r.Context(), s.DB, "bundle.json", parsed, imports.Options{Practice: s.Engine.Practice, Actor: who.Actor(), Now: s.now()})
	if err != nil {
		return 0, nil, err
	}
	out := Bundle{ResourceType: "Bundle", Type: b.Type + "-response", Timestamp: instant(s.now())}
	status := map[bool]string{true: "200 OK", false: "201 Created"}
	patientAt := map[string]string{} // an item's place → the id of the Patient read from it
	for _, p := range parsed.Patients {
		patientAt[p.Where] = p.ID
	}
	for _, it := range items {
		e := BundleEntry{Response: &BundleResponse{Status: "200 OK"}}
		if id, ok := patientAt[it.Where]; ok {
			e.Response = &BundleResponse{Status: status[res.Existed[id]], Location: "Patient/" + id}
		} else {
			var c inCondition
			if json.Unmarshal(it.JSON, &c) == nil {
				patient, _ := patientOfRef(c.Subject)
				if code, _, ok := icd10Of(c.Code); ok {
					e.Response.Location = "Condition/" + conditionID(patient, code)
				}
			}
		}
		out.Entry = append(out.Entry, e)
	}
	return http.StatusOK, out, nil
}
