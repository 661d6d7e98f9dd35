package fhir

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

// readPatient serves GET /Patient/{id}; the read is audited.
func (s *Server) readPatient(r *http.Request, who staff.Identity) (int, any, error) {
	p, err := s.loadProfile(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, p.ID, "Patient"); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, PatientOf(p), nil
}

// searchPatients serves GET /Patient?identifier=[system|]value (or ?_id=): the patient whose
// practice id it is, or none. A match is an audited read.
func (s *Server) searchPatients(r *http.Request, who staff.Identity) (int, any, error) {
	p, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	ext := q.Get("_id")
	if v := q.Get("identifier"); v != "" {
		system, value, hasSystem := strings.Cut(v, "|")
		if !hasSystem {
			value = v
		} else if system != "" && system != systemPatientID {
			value = "" // an identifier system the engine does not keep
		}
		if value == "" {
			return http.StatusOK, s.searchset(r, p, "Patient", nil, nil, intPtr(0)), nil
		}
		ext = value
	}
	if ext == "" {
		return 0, nil, errkind.Errorf(errkind.ErrInvalid, "search patients by identifier (?identifier=ID) or _id")
	}
	prof, err := s.loadProfile(r.Context(), ext)
	if errors.Is(err, errkind.ErrNotFound) {
		return http.StatusOK, s.searchset(r, p, "Patient", nil, nil, intPtr(0)), nil
	}
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, prof.ID, "Patient"); err != nil {
		return 0, nil, err
	}
	var entries []Resource
	var ids []string
	if p.offset == 0 {
		entries, ids = []Resource{PatientOf(prof)}, []string{prof.Ext}
	}
	return http.StatusOK, s.searchset(r, p, "Patient", entries, ids, intPtr(1)), nil
}

func intPtr(n int) *int { return &n }

// readCondition serves GET /Condition/{id}, the id being the patient's and the code's.
func (s *Server) readCondition(r *http.Request, who staff.Identity) (int, any, error) {
	id := r.PathValue("id")
	patient, code, ok := splitConditionID(id)
	if !ok {
		return 0, nil, errkind.Errorf(errkind.ErrNotFound, "no Condition/%s", id)
	}
	p, err := s.loadProfile(r.Context(), patient)
	if errors.Is(err, errkind.ErrNotFound) {
		return 0, nil, errkind.Errorf(errkind.ErrNotFound, "no Condition/%s", id)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, p.ID, "Condition"); err != nil {
		return 0, nil, err
	}
	for _, c := range ConditionsOf(p) {
		if c.Code.Coding[0].Code == code {
			return http.StatusOK, c, nil
		}
	}
	return 0, nil, errkind.Errorf(errkind.ErrNotFound, "no Condition/%s", id)
}

// searchConditions serves GET /Condition?patient=: the patient's conditions.
func (s *Server) searchConditions(r *http.Request, who staff.Identity) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ext, _, err := s.patientParam(r)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.loadProfile(r.Context(), ext)
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, p.ID, "Condition"); err != nil {
		return 0, nil, err
	}
	all := ConditionsOf(p)
	entries, ids := []Resource{}, []string{}
	for _, c := range all[min(pg.offset, len(all)):] {
		entries, ids = append(entries, c), append(ids, c.ID)
	}
	return http.StatusOK, s.searchset(r, pg, "Condition", entries, ids, intPtr(len(all))), nil
}

// readQuestionnaire serves GET /Questionnaire/{id}: a check-in script.
func (s *Server) readQuestionnaire(r *http.Request, _ staff.Identity) (int, any, error) {
	sc := s.Engine.Scripts[r.PathValue("id")]
	if sc == nil {
		return 0, nil, errkind.Errorf(errkind.ErrNotFound, "no Questionnaire/%s", r.PathValue("id"))
	}
	return http.StatusOK, QuestionnaireOf(sc, s.Base), nil
}

// searchQuestionnaires serves GET /Questionnaire: every script, by id.
func (s *Server) searchQuestionnaires(r *http.Request, _ staff.Identity) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	all := s.Engine.Scripts.IDs()
	if v := r.URL.Query().Get("_id"); v != "" {
		all = slices.DeleteFunc(all, func(id string) bool { return id != v })
	}
	entries, ids := []Resource{}, []string{}
	for _, id := range all[min(pg.offset, len(all)):] {
		entries, ids = append(entries, QuestionnaireOf(s.Engine.Scripts[id], s.Base)), append(ids, id)
	}
	return http.StatusOK, s.searchset(r, pg, "Questionnaire", entries, ids, intPtr(len(all))), nil
}

// searchResponses serves GET /QuestionnaireResponse?patient=: the patient's check-ins with their
// answers, newest first.
func (s *Server) searchResponses(r *http.Request, who staff.Identity) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ext, id, err := s.patientParam(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Engine.Checkins(r.Context(), s.DB, id, pg.offset+pg.count+1)
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, id, "QuestionnaireResponse"); err != nil {
		return 0, nil, err
	}
	entries, ids := []Resource{}, []string{}
	for _, c := range list[min(pg.offset, len(list)):] {
		entries = append(entries, ResponseOf(c, ext, s.Engine.Scripts[c.Script], s.Base))
		ids = append(ids, strconv.FormatInt(c.ID, 10))
	}
	return http.StatusOK, s.searchset(r, pg, "QuestionnaireResponse", entries, ids, nil), nil
}

// searchCommunications serves GET /Communication?patient=: the patient's texts both ways,
// newest first (the newest outreach.MaxThread at most, as the conversation reads them).
func (s *Server) searchCommunications(r *http.Request, who staff.Identity) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ext, id, err := s.patientParam(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Engine.Thread(r.Context(), s.DB, outreach.Party{Patient: id}, min(pg.offset+pg.count+1, outreach.MaxThread))
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, id, "Communication"); err != nil {
		return 0, nil, err
	}
	entries, ids := []Resource{}, []string{}
	for _, m := range list[min(pg.offset, len(list)):] {
		entries, ids = append(entries, CommunicationOf(m, ext)), append(ids, strconv.FormatInt(m.ID, 10))
	}
	return http.StatusOK, s.searchset(r, pg, "Communication", entries, ids, nil), nil
}

// searchObservations serves GET /Observation?patient=: the patient's readings, newest first.
func (s *Server) searchObservations(r *http.Request, who staff.Identity) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ext, id, err := s.patientParam(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Readings.History(r.Context(), s.DB, id, pg.count+1, pg.offset)
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, id, "Observation"); err != nil {
		return 0, nil, err
	}
	entries, ids := []Resource{}, []string{}
	for _, o := range list {
		entries, ids = append(entries, ObservationOf(o, ext)), append(ids, strconv.FormatInt(o.ID, 10))
	}
	return http.StatusOK, s.searchset(r, pg, "Observation", entries, ids, nil), nil
}

// searchTasks serves GET /Task?patient=: the patient's items on the clinician queue, newest
// first.
func (s *Server) searchTasks(r *http.Request, who staff.Identity) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ext, id, err := s.patientParam(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Queue.OfPatient(r.Context(), id, pg.count+1, pg.offset)
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, id, "Task"); err != nil {
		return 0, nil, err
	}
	entries, ids := []Resource{}, []string{}
	for _, v := range list {
		entries, ids = append(entries, TaskOf(v, ext)), append(ids, strconv.FormatInt(v.ID, 10))
	}
	return http.StatusOK, s.searchset(r, pg, "Task", entries, ids, nil), nil
}
