package fhir

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/monitoring"
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
	return patientSearch(s, r, who, "QuestionnaireResponse",
		func(ctx context.Context, patient int64, pg page) ([]outreach.CheckinView, error) {
			list, err := s.Engine.Checkins(ctx, s.DB, patient, pg.offset+pg.count+1)
			return list[min(pg.offset, len(list)):], err
		},
		func(c outreach.CheckinView, ext string) (Resource, int64) {
			return ResponseOf(c, ext, s.Engine.Scripts[c.Script], s.Base), c.ID
		})
}

// searchCommunications serves GET /Communication?patient=: the patient's texts both ways,
// newest first (the newest outreach.MaxThread at most, as the conversation reads them).
func (s *Server) searchCommunications(r *http.Request, who staff.Identity) (int, any, error) {
	return patientSearch(s, r, who, "Communication",
		func(ctx context.Context, patient int64, pg page) ([]outreach.MessageView, error) {
			list, err := s.Engine.Thread(ctx, s.DB, outreach.Party{Patient: patient}, min(pg.offset+pg.count+1, outreach.MaxThread))
			return list[min(pg.offset, len(list)):], err
		},
		func(m outreach.MessageView, ext string) (Resource, int64) { return CommunicationOf(m, ext), m.ID })
}

// searchObservations serves GET /Observation?patient=: the patient's readings, newest first.
func (s *Server) searchObservations(r *http.Request, who staff.Identity) (int, any, error) {
	return patientSearch(s, r, who, "Observation",
		func(ctx context.Context, patient int64, pg page) ([]monitoring.Stored, error) {
			return s.Readings.History(ctx, s.DB, patient, pg.count+1, pg.offset)
		},
		func(o monitoring.Stored, ext string) (Resource, int64) { return ObservationOf(o, ext), o.ID })
}

// searchTasks serves GET /Task?patient=: the patient's items on the clinician queue, newest
// first.
func (s *Server) searchTasks(r *http.Request, who staff.Identity) (int, any, error) {
	return patientSearch(s, r, who, "Task",
		func(ctx context.Context, patient int64, pg page) ([]escalation.View, error) {
			return s.Queue.OfPatient(ctx, patient, pg.count+1, pg.offset)
		},
		func(v escalation.View, ext string) (Resource, int64) { return TaskOf(v, ext), v.ID })
}

// patientSearch serves a search of typ resources by patient (?patient=): load reads the page's
// items, the page's offset applied and one more than its count when a next page exists; as
// turns an item into its resource and id. The read is audited.
func patientSearch[T any](s *Server, r *http.Request, who staff.Identity, typ string,
	load func(ctx context.Context, patient int64, pg page) ([]T, error), as func(item T, ext string) (Resource, int64)) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ext, id, err := s.patientParam(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := load(r.Context(), id, pg)
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, id, typ); err != nil {
		return 0, nil, err
	}
	entries, ids := []Resource{}, []string{}
	for _, item := range list {
		res, rid := as(item, ext)
		entries, ids = append(entries, res), append(ids, strconv.FormatInt(rid, 10))
	}
	return http.StatusOK, s.searchset(r, pg, typ, entries, ids, nil), nil
}

// readResponse serves GET /QuestionnaireResponse/{id}: one check-in with its answers.
func (s *Server) readResponse(r *http.Request, who staff.Identity) (int, any, error) {
	return readByID(s, r, who, "QuestionnaireResponse",
		func(ctx context.Context, id int64) (outreach.CheckinView, int64, error) {
			return s.Engine.Checkin(ctx, s.DB, id)
		},
		func(c outreach.CheckinView, ext string) Resource {
			return ResponseOf(c, ext, s.Engine.Scripts[c.Script], s.Base)
		})
}

// readCommunication serves GET /Communication/{id}: one of a patient's texts.
func (s *Server) readCommunication(r *http.Request, who staff.Identity) (int, any, error) {
	return readByID(s, r, who, "Communication",
		func(ctx context.Context, id int64) (outreach.MessageView, int64, error) {
			return s.Engine.Text(ctx, s.DB, id)
		},
		func(m outreach.MessageView, ext string) Resource { return CommunicationOf(m, ext) })
}

// readObservation serves GET /Observation/{id}: one reading.
func (s *Server) readObservation(r *http.Request, who staff.Identity) (int, any, error) {
	return readByID(s, r, who, "Observation",
		func(ctx context.Context, id int64) (monitoring.Stored, int64, error) {
			return s.Readings.Read(ctx, s.DB, id)
		},
		func(o monitoring.Stored, ext string) Resource { return ObservationOf(o, ext) })
}

// readTask serves GET /Task/{id}: one item raised for a patient on the clinician queue.
func (s *Server) readTask(r *http.Request, who staff.Identity) (int, any, error) {
	return readByID(s, r, who, "Task",
		func(ctx context.Context, id int64) (escalation.View, int64, error) {
			return s.Queue.PatientItem(ctx, id)
		},
		func(v escalation.View, ext string) Resource { return TaskOf(v, ext) })
}

// readByID serves a read of one typ resource by its id: load finds the item and its patient's
// internal id; as turns it into the resource for the patient with the practice's id ext. An id
// that is not a number, or that load does not find, is a 404. The read is audited.
func readByID[T any](s *Server, r *http.Request, who staff.Identity, typ string,
	load func(ctx context.Context, id int64) (T, int64, error), as func(item T, ext string) Resource) (int, any, error) {
	notFound := errkind.Errorf(errkind.ErrNotFound, "no %s/%s", typ, r.PathValue("id"))
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, nil, notFound
	}
	item, patient, err := load(r.Context(), id)
	if errors.Is(err, errkind.ErrNotFound) || db.IsNoRows(err) {
		return 0, nil, notFound
	}
	if err != nil {
		return 0, nil, err
	}
	ext, err := patients.ExtID(r.Context(), s.DB, s.practiceID(), patient)
	if err != nil {
		return 0, nil, err
	}
	if err := s.audited(r.Context(), who, patient, typ); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, as(item, ext), nil
}
