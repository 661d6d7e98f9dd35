// Package ui serves the care team's pages: server-rendered html/template with htmx (embedded,
// no CDN) for the live parts. Every page needs a session; every change is a same-origin POST.
package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/timelog"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var static embed.FS

// Pages holds what the pages need.
type Pages struct {
	DB       *sqlx.DB
	Practice int64
	Accounts *web.Accounts
	Queue    *escalation.Queue
	Engine   *outreach.Engine // the patient's check-ins
	Billing  *billing.Store
	Time     *timelog.Service
	Location *time.Location // times are shown in the practice's zone
	Log      *slog.Logger

	tmpl *template.Template
}

// page is what every template gets.
type page struct {
	Title, Error, Notice string
	Me                   web.Identity
}

// Handler returns the pages' routes behind session checks and cross-origin protection: a POST
// from another site (a forged form) gets 403 before it reaches a handler.
func (p *Pages) Handler() http.Handler {
	funcs := template.FuncMap{
		"when":      func(t time.Time) string { return t.In(p.Location).Format("Jan 2 15:04") },
		"rfc":       func(t time.Time) string { return t.In(p.Location).Format(time.RFC3339) },
		"overdue":   func(t time.Time) bool { return p.Queue.Clock().After(t) },
		"label":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"minutes":   func(s int) string { return fmt.Sprintf("%d min %02d s", s/60, s%60) },
		"minutesOf": func(s int64) string { return strconv.FormatFloat(float64(s)/60, 'f', 1, 64) },
		"dollars":   func(c int64) string { return fmt.Sprintf("$%d.%02d", c/100, c%100) },
	}
	// The templates are part of the binary: one that does not parse fails every test.
	p.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"))
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	auth := func(h http.HandlerFunc) http.Handler { return p.Accounts.RequireSession(h, "/login") }
	mux.Handle("POST /logout", auth(p.logout))
	mux.Handle("GET /{$}", auth(p.queuePage))
	mux.Handle("GET /queue/table", auth(p.queueTable))
	mux.Handle("GET /items/{id}", auth(p.itemPage))
	mux.Handle("POST /items/{id}/{action}", auth(p.itemAction))
	mux.Handle("GET /patients/{id}", auth(p.patientPage))
	mux.Handle("GET /billing", auth(p.billingPage))
	admin := func(h http.HandlerFunc) http.Handler { return auth(web.RequireAccess(h, web.AccessAdmin).ServeHTTP) }
	mux.Handle("GET /staff", admin(p.staffPage))
	mux.Handle("GET /audit", auth(web.RequireAccess(http.HandlerFunc(p.auditPage), web.AccessManager, web.AccessAdmin).ServeHTTP))
	mux.Handle("POST /staff/{id}/{change}", admin(p.staffChange))
	mux.Handle("GET /billing.csv", auth(p.billingCSV))
	mux.Handle("POST /patients/{id}/time", auth(p.patientTime))
	mux.Handle("POST /patients/{id}/timer/{action}", auth(p.patientTimer))
	return http.NewCrossOriginProtection().Handler(securityHeaders(mux))
}

// securityHeaders keep the pages out of frames and scripts to this origin.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, data); err != nil {
		p.Log.Error("page not rendered", "page", name, "error", err)
	}
}

func me(r *http.Request) web.Identity {
	id, _ := web.IdentityFrom(r.Context())
	return id
}

// localPath keeps a post-login destination on this site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "login", struct {
		page
		Next string
	}{page{Title: "Log in"}, localPath(r.URL.Query().Get("next"))})
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	next := localPath(r.PostFormValue("next"))
	addr := r.RemoteAddr
	if host, _, ok := strings.Cut(addr, ":"); ok && !strings.Contains(host, "[") {
		addr = host
	}
	token, id, err := p.Accounts.Login(r.Context(), strings.TrimSpace(r.PostFormValue("staff")), r.PostFormValue("password"), addr)
	if err != nil {
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, web.ErrTooManyAttempts):
			status = http.StatusTooManyRequests
		case !errors.Is(err, web.ErrBadLogin):
			p.Log.Error("login failed", "error", err)
			status, err = http.StatusServiceUnavailable, errors.New("the service is unavailable; try again")
		}
		p.render(w, status, "login", struct {
			page
			Next string
		}{page{Title: "Log in", Error: err.Error()}, next})
		return
	}
	p.Accounts.SetCookie(w, token)
	p.Log.Info("staff logged in", "staff", id.Staff)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if err := p.Accounts.Logout(w, r); err != nil {
		p.Log.Error("logout failed", "error", err)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// queueData is the queue page.
type queueData struct {
	page
	Filter     escalation.Filter
	Mine       bool // only the items the staff member holds
	Query      string
	Items      []escalation.View
	Statuses   []string
	Severities []string
}

func (p *Pages) queue(r *http.Request) (queueData, error) {
	q := r.URL.Query()
	f := escalation.Filter{Status: q.Get("status"), Severity: escalation.Severity(q.Get("severity")), ClaimedBy: q.Get("claimed_by")}
	mine := f.ClaimedBy == "me"
	if mine {
		f.ClaimedBy = me(r).Staff
	}
	items, err := p.Queue.List(r.Context(), f)
	return queueData{page: page{Title: "Queue", Me: me(r)}, Filter: f, Items: items,
		Query:      url.Values{"status": {f.Status}, "severity": {string(f.Severity)}, "claimed_by": {q.Get("claimed_by")}}.Encode(),
		Mine:       mine,
		Statuses:   []string{"open", "claimed", "resolved"},
		Severities: []string{"urgent", "high", "routine"}}, err
}

func (p *Pages) queuePage(w http.ResponseWriter, r *http.Request) {
	d, err := p.queue(r)
	if err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "queue", d)
		return
	}
	p.render(w, http.StatusOK, "queue", d)
}

// queueTable is the table alone, which the queue page refreshes every few seconds.
func (p *Pages) queueTable(w http.ResponseWriter, r *http.Request) {
	d, err := p.queue(r)
	if err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	p.render(w, http.StatusOK, "queue-table", d)
}

// message is what a page says about an error: the error for the user's own mistakes, a generic
// line (and a log entry) for the rest.
func (p *Pages) message(err error) string {
	if web.StatusOf(err) == http.StatusInternalServerError {
		p.Log.Error("page request failed", "error", err)
		return "Something went wrong; try again."
	}
	return err.Error()
}

// firing is one firing of an item, as stored in its details.
type firing struct {
	At       string `json:"at"`
	Source   string `json:"source"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// itemData is the item page.
type itemData struct {
	page
	Item     escalation.Detail
	Firings  []firing
	Note     string
	CanWork  bool
	Mine     bool
	Outcomes []string
	Proposal *escalation.Proposal
	Programs []string
}

func (p *Pages) item(r *http.Request, id int64) (itemData, error) {
	who := me(r)
	d := itemData{page: page{Title: fmt.Sprintf("Item #%d", id), Me: who}, CanWork: escalation.CanWork(who),
		Outcomes: escalation.Outcomes, Programs: []string{"ccm", "rpm", "pcm", "bhi"}}
	item, err := p.Queue.Get(r.Context(), id, who.StaffID)
	if err != nil {
		return d, err
	}
	d.Item, d.Note = item, item.Note
	d.Mine = item.Status == "claimed" && item.ClaimedBy != nil && *item.ClaimedBy == who.Staff
	if err := json.Unmarshal(item.Firings, &d.Firings); err != nil {
		return d, fmt.Errorf("error reading the firings of item %d: %w", id, err)
	}
	if r.URL.Query().Get("recorded") != "" {
		d.Notice = "The time was recorded."
	}
	return d, nil
}

func itemID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.Errorf(web.ErrNotFound, "no item %q", r.PathValue("id"))
	}
	return id, nil
}

func (p *Pages) itemPage(w http.ResponseWriter, r *http.Request) {
	id, err := itemID(r)
	if err == nil {
		var d itemData
		if d, err = p.item(r, id); err == nil {
			p.render(w, http.StatusOK, "item", d)
			return
		}
	}
	p.render(w, web.StatusOf(err), "queue", queueData{page: page{Title: "Queue", Me: me(r), Error: p.message(err)}})
}

// itemAction claims, releases or resolves an item, or records the time worked on it. A
// successful claim or release goes back to the item (POST, then GET); a resolution shows the
// proposed time entry.
func (p *Pages) itemAction(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	id, err := itemID(r)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	back := fmt.Sprintf("/items/%d", id)
	var proposal *escalation.Proposal
	switch r.PathValue("action") {
	case "claim", "release", "resolve":
		if !escalation.CanWork(who) {
			err = web.Errorf(web.ErrForbidden, "only clinical staff and practitioners work escalation items")
			break
		}
		switch r.PathValue("action") {
		case "claim":
			_, err = p.Queue.Claim(r.Context(), id, who.StaffID)
		case "release":
			err = p.Queue.Release(r.Context(), id, who.StaffID)
		default:
			var pr escalation.Proposal
			if pr, err = p.Queue.Resolve(r.Context(), id, who.StaffID, r.PostFormValue("outcome"), r.PostFormValue("note")); err == nil {
				proposal = &pr
			}
		}
	case "time":
		err = p.recordTime(r, who)
		back += "?recorded=1"
	default:
		http.NotFound(w, r)
		return
	}
	if err == nil && proposal == nil {
		if r.Header.Get("HX-Request") != "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	d, derr := p.item(r, id)
	if derr != nil {
		p.render(w, web.StatusOf(derr), "queue", queueData{page: page{Title: "Queue", Me: who, Error: p.message(derr)}})
		return
	}
	status := http.StatusOK
	if err != nil {
		d.Error, status = p.message(err), web.StatusOf(err)
	} else {
		d.Proposal, d.Notice = proposal, "Resolved. Check the time worked below and record it."
	}
	p.render(w, status, "item", d)
}

// recordTime records the (possibly edited) proposed time entry as the staff member's.
func (p *Pages) recordTime(r *http.Request, who web.Identity) error {
	started, err1 := time.Parse(time.RFC3339, strings.TrimSpace(r.PostFormValue("started_at")))
	ended, err2 := time.Parse(time.RFC3339, strings.TrimSpace(r.PostFormValue("ended_at")))
	if err := errors.Join(err1, err2); err != nil {
		return web.Errorf(web.ErrInvalid, "started and ended need a date and time like 2026-12-01T10:05:00-05:00")
	}
	d := timelog.Draft{Patients: []string{r.PostFormValue("patients")}, Staff: who.Staff,
		Program: timelog.Program(r.PostFormValue("program")), StartedAt: started, EndedAt: ended,
		Activity: timelog.Activity(r.PostFormValue("activity")), Note: r.PostFormValue("note"),
		MDM: timelog.MDM(r.PostFormValue("mdm")), Interactive: r.PostFormValue("interactive") == "true"}
	_, err := p.Time.Record(r.Context(), who.Actor(), d, timelog.SourceEscalation)
	return err
}

// activities are the kinds of work a time entry records.
var activities = []string{"patient_call", "caregiver_call", "care_plan", "medication_reconciliation", "coordination",
	"education", "data_review", "other"}

// patientData is the patient page.
type patientData struct {
	page
	Patient    outreach.Profile
	Checkins   []outreach.CheckinView
	Entries    []timelog.Entry
	Totals     map[string]int64 // seconds this month, by program
	Programs   []string
	Activities []string
	Now        string
	Timer      *timelog.Timer // the staff member's running timer, for any patient
}

func (p *Pages) patient(r *http.Request) (patientData, error) {
	who := me(r)
	d := patientData{page: page{Title: "Patient", Me: who}, Activities: activities, Totals: map[string]int64{}}
	prof, err := outreach.LoadProfile(r.Context(), p.DB, p.Practice, r.PathValue("id"))
	if db.IsNoRows(err) {
		return d, web.Errorf(web.ErrNotFound, "no patient %q", r.PathValue("id"))
	}
	if err != nil {
		return d, err
	}
	d.Patient, d.Title = prof, "Patient "+prof.Ext
	d.Programs = append([]string(nil), prof.Programs...)
	if len(d.Programs) == 0 {
		d.Programs = []string{"ccm"}
	}
	if d.Checkins, err = p.Engine.Checkins(r.Context(), p.DB, prof.ID, 12); err != nil {
		return d, err
	}
	now := p.Queue.Clock().In(p.Location)
	d.Now = now.Truncate(time.Minute).Format(time.RFC3339)
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, p.Location)
	if d.Entries, err = p.Time.List(r.Context(), timelog.ListFilter{From: from, To: from.AddDate(0, 1, 0), Patient: prof.Ext}); err != nil {
		return d, err
	}
	for _, e := range d.Entries {
		d.Totals[string(e.Program)] += e.Seconds
	}
	if d.Timer, err = p.Time.RunningTimer(r.Context(), who.Staff); err != nil {
		return d, err
	}
	err = audit.Record(r.Context(), p.DB, audit.Event{PracticeID: p.Practice, At: now, Actor: who.Actor(), Action: "patient.read",
		Entity: "patient", EntityID: strconv.FormatInt(prof.ID, 10), Detail: map[string]any{"view": "page"}})
	return d, err
}

func (p *Pages) patientPage(w http.ResponseWriter, r *http.Request) {
	d, err := p.patient(r)
	if err != nil {
		p.patientFailed(w, r, err)
		return
	}
	if r.URL.Query().Get("recorded") != "" {
		d.Notice = "The time was recorded."
	}
	p.render(w, http.StatusOK, "patient", d)
}

// patientFailed shows the patient's page with the error, or the queue's when the patient's
// page itself cannot be shown.
func (p *Pages) patientFailed(w http.ResponseWriter, r *http.Request, err error) {
	d, derr := p.patient(r)
	if derr != nil {
		err = derr
	}
	d.Error = p.message(err)
	if d.Patient.Ext == "" {
		p.render(w, web.StatusOf(err), "queue", queueData{page: d.page})
		return
	}
	p.render(w, web.StatusOf(err), "patient", d)
}

// patientTime records time spent on the patient, entered by hand.
func (p *Pages) patientTime(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ext := r.PathValue("id")
	err := func() error {
		started, err := time.Parse(time.RFC3339, strings.TrimSpace(r.PostFormValue("started_at")))
		if err != nil {
			return web.Errorf(web.ErrInvalid, "started needs a date and time like 2026-12-01T10:05:00-05:00")
		}
		minutes, err := strconv.Atoi(r.PostFormValue("minutes"))
		if err != nil || minutes < 1 {
			return web.Errorf(web.ErrInvalid, "minutes must be a whole number of at least 1")
		}
		_, err = p.Time.Record(r.Context(), who.Actor(), timelog.Draft{Patients: []string{ext}, Staff: who.Staff,
			Program: timelog.Program(r.PostFormValue("program")), StartedAt: started,
			EndedAt: started.Add(time.Duration(minutes) * time.Minute), Activity: timelog.Activity(r.PostFormValue("activity")),
			Note: r.PostFormValue("note"), MDM: timelog.MDM(r.PostFormValue("mdm")),
			Interactive: r.PostFormValue("interactive") == "true"}, timelog.SourceManual)
		return err
	}()
	if err == nil {
		http.Redirect(w, r, "/patients/"+url.PathEscape(ext)+"?recorded=1", http.StatusSeeOther)
		return
	}
	p.patientFailed(w, r, err)
}

// billingData is the billing page.
type billingData struct {
	page
	Report   billing.MonthReport
	Worklist []billing.WorkItem
}

// month reads ?month=YYYY-MM, the current month by default.
func (p *Pages) month(r *http.Request) (billing.Month, error) {
	if q := r.URL.Query().Get("month"); q != "" {
		m, err := billing.ParseMonth(q)
		if err != nil {
			return m, web.Errorf(web.ErrInvalid, "month: %v", err)
		}
		return m, nil
	}
	return billing.MonthOf(p.Billing.Now(), p.Location), nil
}

func (p *Pages) billingPage(w http.ResponseWriter, r *http.Request) {
	d := billingData{page: page{Title: "Billing", Me: me(r)}}
	m, err := p.month(r)
	if err == nil {
		d.Report, err = p.Billing.Report(r.Context(), m)
	}
	if err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "billing", d)
		return
	}
	d.Title = "Billing " + d.Report.Month
	d.Worklist = billing.Worklist(d.Report.Report, p.Billing.Now(), p.Location, 10)
	p.render(w, http.StatusOK, "billing", d)
}

func (p *Pages) billingCSV(w http.ResponseWriter, r *http.Request) {
	m, err := p.month(r)
	var rep billing.MonthReport
	if err == nil {
		rep, err = p.Billing.Report(r.Context(), m)
	}
	if err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="billing-%s.csv"`, m))
	if err := billing.WriteCSV(w, rep); err != nil {
		p.Log.Error("billing CSV not written", "error", err)
	}
}

// staffData is the staff admin page.
type staffData struct {
	page
	Staff  []web.Account
	Levels []string
}

func (p *Pages) staffPage(w http.ResponseWriter, r *http.Request) {
	d := staffData{page: page{Title: "Staff", Me: me(r)}, Levels: web.Levels}
	var err error
	if d.Staff, err = web.ListAccounts(r.Context(), p.DB, p.Practice); err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "staff", d)
		return
	}
	if r.URL.Query().Get("saved") != "" {
		d.Notice = "Saved."
	}
	p.render(w, http.StatusOK, "staff", d)
}

// staffChange sets an account's access, or disables or enables it.
func (p *Pages) staffChange(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	access, change := "", r.PathValue("change")
	if change == "access" {
		access, change = r.PostFormValue("access"), ""
	}
	err := web.ChangeAccount(r.Context(), p.DB, me(r), r.PathValue("id"), access, change, p.Queue.Clock())
	if err == nil {
		http.Redirect(w, r, "/staff?saved=1", http.StatusSeeOther)
		return
	}
	d := staffData{page: page{Title: "Staff", Me: me(r), Error: p.message(err)}, Levels: web.Levels}
	d.Staff, _ = web.ListAccounts(r.Context(), p.DB, p.Practice)
	p.render(w, web.StatusOf(err), "staff", d)
}

// patientTimer starts a timer for the patient, or stops the running one and records its time.
func (p *Pages) patientTimer(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ext := r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "start":
		_, err = p.Time.StartTimer(r.Context(), timelog.TimerStart{Staff: who.Staff, Patients: []string{ext},
			Program: timelog.Program(r.PostFormValue("program")), Activity: timelog.Activity(r.PostFormValue("activity"))})
	case "stop":
		var t *timelog.Timer
		if t, err = p.Time.RunningTimer(r.Context(), who.Staff); err == nil && t == nil {
			err = web.Errorf(web.ErrConflict, "no timer is running")
		}
		if err == nil {
			_, err = p.Time.StopTimer(r.Context(), who.Actor(), who.Staff, t.ID, timelog.TimerStop{Note: r.PostFormValue("note"),
				MDM: timelog.MDM(r.PostFormValue("mdm")), Interactive: r.PostFormValue("interactive") == "true"})
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err == nil {
		to := "/patients/" + url.PathEscape(ext)
		if r.PathValue("action") == "stop" {
			to += "?recorded=1"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	p.patientFailed(w, r, err)
}

// auditData is the audit log page.
type auditData struct {
	page
	Entries          []audit.Entry
	Entities         []string
	Entity, EntityID string
}

// auditPage shows managers the last 7 days of the audit log; reading it is audited too.
func (p *Pages) auditPage(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	q := r.URL.Query()
	now := p.Queue.Clock()
	d := auditData{page: page{Title: "Audit log", Me: who}, Entity: q.Get("entity"), EntityID: q.Get("entity_id"),
		Entities: []string{"patient", "escalation", "staff", "api_token", "billing_month", "import", "practice", "audit_log"}}
	var err error
	d.Entries, err = audit.List(r.Context(), p.DB, p.Practice, audit.Filter{From: now.AddDate(0, 0, -7), To: now.Add(time.Minute),
		Entity: d.Entity, EntityID: d.EntityID}, 500)
	if err == nil {
		err = audit.Record(r.Context(), p.DB, audit.Event{PracticeID: p.Practice, At: now, Actor: who.Actor(),
			Action: "audit_log.read", Entity: "audit_log", Detail: map[string]any{"entity": d.Entity}})
	}
	if err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "audit", d)
		return
	}
	p.render(w, http.StatusOK, "audit", d)
}
