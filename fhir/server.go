package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

// Prefix is where the FHIR surface is served.
const Prefix = "/fhir/R4"

// Paging of searches: _count's default and largest value.
const (
	DefaultCount = 50
	MaxCount     = 500
)

// MaxBody is the largest request body read (a Bundle of patients).
const MaxBody = 32 << 20

// Server serves the FHIR R4 surface: reads of patients, their conditions, check-ins, texts,
// readings and queue items, the scripts as Questionnaires, and the exchange of patients (a
// Bundle) and readings (an Observation) in. Every read of a patient's data is audited as the
// JSON API's reads are (patient.read).
type Server struct {
	DB       *sqlx.DB
	Engine   *outreach.Engine    // patients, check-ins, texts, scripts, the practice and the clock
	Readings *monitoring.Service // readings
	Queue    *escalation.Queue   // the clinician queue
	Base     string              // the absolute URL of Prefix, for fullUrl, links and canonicals
	Log      *slog.Logger
}

// handlerFunc serves one route for the staff member who asks: the status and the resource to
// answer with, or an error answered as an OperationOutcome.
type handlerFunc func(r *http.Request, who staff.Identity) (int, any, error)

// Handler returns the FHIR surface, every route behind auth (the JSON API's bearer tokens);
// every error, auth's included, is answered as an OperationOutcome.
func (s *Server) Handler(auth func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, f handlerFunc) { mux.Handle(pattern, s.serve(f)) }
	route("GET "+Prefix+"/metadata", s.capability)
	route("GET "+Prefix+"/Patient/{id}", s.readPatient)
	route("GET "+Prefix+"/Patient", s.searchPatients)
	route("GET "+Prefix+"/Condition/{id}", s.readCondition)
	route("GET "+Prefix+"/Condition", s.searchConditions)
	route("GET "+Prefix+"/Questionnaire/{id}", s.readQuestionnaire)
	route("GET "+Prefix+"/Questionnaire", s.searchQuestionnaires)
	route("GET "+Prefix+"/QuestionnaireResponse/{id}", s.readResponse)
	route("GET "+Prefix+"/QuestionnaireResponse", s.searchResponses)
	route("GET "+Prefix+"/Communication/{id}", s.readCommunication)
	route("GET "+Prefix+"/Communication", s.searchCommunications)
	route("GET "+Prefix+"/Observation/{id}", s.readObservation)
	route("GET "+Prefix+"/Observation", s.searchObservations)
	route("POST "+Prefix+"/Observation", s.createObservation)
	route("GET "+Prefix+"/Task/{id}", s.readTask)
	route("GET "+Prefix+"/Task", s.searchTasks)
	route("POST "+Prefix, s.exchange)
	route("POST "+Prefix+"/{$}", s.exchange)
	route(Prefix+"/", func(r *http.Request, _ staff.Identity) (int, any, error) {
		return 0, nil, errkind.Errorf(errkind.ErrNotFound, "no such FHIR interaction: %s %s", r.Method, r.URL.Path)
	})
	return asOutcome(auth(mux))
}

// serve turns f into a handler writing FHIR JSON.
func (s *Server) serve(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := web.IdentityFrom(r.Context())
		if !ok {
			write(w, http.StatusUnauthorized, outcome("error", "login", "authentication required"))
			return
		}
		code, v, err := f(r, who)
		if err != nil {
			code, oo := outcomeOf(err)
			if code == http.StatusInternalServerError {
				s.Log.Error("FHIR request failed", "error", err, "method", r.Method, "route", r.Pattern)
			}
			write(w, code, oo)
			return
		}
		if l, ok := v.(located); ok {
			w.Header().Set("Location", l.location)
		}
		write(w, code, v)
	})
}

// write answers with a resource as FHIR JSON.
func write(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"internal error"}]}`)
	}
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

// asOutcome rewrites the JSON API's error answers ({"error": "…"}, from auth) as
// OperationOutcomes.
func asOutcome(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&outcomeWriter{ResponseWriter: w}, r)
	})
}

// outcomeWriter passes FHIR answers through and turns a plain JSON error into an outcome.
type outcomeWriter struct {
	http.ResponseWriter
	plain  bool // the answer is a plain JSON error, being collected
	code   int
	buffer bytes.Buffer
}

func (o *outcomeWriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(o.Header().Get("Content-Type"), "application/json") {
		o.plain, o.code = true, code
		return
	}
	o.ResponseWriter.WriteHeader(code)
}

func (o *outcomeWriter) Write(b []byte) (int, error) {
	if !o.plain {
		return o.ResponseWriter.Write(b)
	}
	o.buffer.Write(b)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(o.buffer.Bytes(), &e) != nil {
		return len(b), nil // not whole yet
	}
	issue := map[int]string{http.StatusUnauthorized: "login", http.StatusForbidden: "forbidden"}[o.code]
	if issue == "" {
		issue = "exception"
	}
	o.plain = false
	write(o.ResponseWriter, o.code, outcome("error", issue, e.Error))
	return len(b), nil
}

// practiceID is the practice's id as the stores take it.
func (s *Server) practiceID() int64 { return int64(s.Engine.Practice.ID) }

func (s *Server) now() time.Time { return s.Engine.Clock().UTC().Truncate(time.Microsecond) }

// audited records a read of a patient's data by who, as the JSON API's reads are recorded.
func (s *Server) audited(ctx context.Context, who staff.Identity, patient int64, resource string) error {
	return audit.Record(ctx, s.DB, audit.Event{PracticeID: s.practiceID(), At: s.now(), Actor: who.Actor(),
		Action: "patient.read", Entity: "patient", EntityID: strconv.FormatInt(patient, 10),
		Detail: map[string]any{"view": "fhir " + resource}})
}

// patientParam reads a search's patient (patient or subject: "P001" or "Patient/P001") and
// finds its internal id: a 404 for an unknown one.
func (s *Server) patientParam(r *http.Request) (ext string, id int64, err error) {
	q := r.URL.Query()
	v := q.Get("patient")
	if v == "" {
		v = q.Get("subject")
	}
	v = strings.TrimPrefix(v, "Patient/")
	if v == "" {
		return "", 0, errkind.Errorf(errkind.ErrInvalid, "a patient is required: ?patient=ID")
	}
	return s.patientID(r.Context(), v)
}

func (s *Server) patientID(ctx context.Context, ext string) (string, int64, error) {
	ids, err := patients.IDs(ctx, s.DB, s.practiceID(), []string{ext})
	if err != nil {
		return "", 0, err
	}
	id, ok := ids[ext]
	if !ok {
		return "", 0, errkind.Errorf(errkind.ErrNotFound, "no Patient/%s", ext)
	}
	return ext, id, nil
}

// page is a search's paging: _count and _offset.
type page struct {
	count, offset int
}

func pageOf(r *http.Request) (page, error) {
	p := page{count: DefaultCount}
	q := r.URL.Query()
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errkind.Errorf(errkind.ErrInvalid, "_count %q is not a whole number", v)
		}
		p.count = min(n, MaxCount)
	}
	if v := q.Get("_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errkind.Errorf(errkind.ErrInvalid, "_offset %q is not a whole number", v)
		}
		p.offset = n
	}
	return p, nil
}

// searchset makes a page of search results: entries holds up to count+1 matches from the
// page's offset; the one past count, when there is one, makes a next link.
func (s *Server) searchset(r *http.Request, p page, kind string, entries []Resource, ids []string, total *int) Bundle {
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Timestamp: instant(s.now()), Total: total}
	more := len(entries) > p.count
	if more {
		entries, ids = entries[:p.count], ids[:p.count]
	}
	self := s.pageURL(r, kind, p.offset, p.count)
	b.Link = []BundleLink{{Relation: "self", URL: self}}
	if more {
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: s.pageURL(r, kind, p.offset+p.count, p.count)})
	}
	if p.offset > 0 {
		b.Link = append(b.Link, BundleLink{Relation: "previous", URL: s.pageURL(r, kind, max(0, p.offset-p.count), p.count)})
	}
	for i, e := range entries {
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.Base + "/" + e.resourceType() + "/" + ids[i], Resource: e,
			Search: &BundleSearch{Mode: "match"}})
	}
	return b
}

// pageURL is the search's URL at another offset, its other parameters kept.
func (s *Server) pageURL(r *http.Request, kind string, offset, count int) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if k != "_offset" && k != "_count" {
			q[k] = v
		}
	}
	q.Set("_count", strconv.Itoa(count))
	if offset > 0 {
		q.Set("_offset", strconv.Itoa(offset))
	}
	return s.Base + "/" + kind + "?" + q.Encode()
}

// readBody reads a request's body, at most MaxBody.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, fmt.Errorf("the body is larger than %d bytes: %w", MaxBody, errkind.ErrTooLarge)
	case err != nil:
		return nil, fmt.Errorf("the body could not be read: %v: %w", err, errkind.ErrInvalid)
	case len(bytes.TrimSpace(body)) == 0:
		return nil, errkind.Errorf(errkind.ErrInvalid, "the body is empty: a FHIR resource is expected")
	}
	return body, nil
}

// loadProfile loads a patient's profile, a 404 for an unknown one.
func (s *Server) loadProfile(ctx context.Context, ext string) (outreach.Profile, error) {
	p, err := outreach.LoadProfile(ctx, s.DB, s.practiceID(), ext)
	if db.IsNoRows(err) {
		return p, errkind.Errorf(errkind.ErrNotFound, "no Patient/%s", ext)
	}
	return p, err
}
