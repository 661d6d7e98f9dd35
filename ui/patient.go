package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

// activities are the kinds of work a time entry records.
var activities = []string{"patient_call", "caregiver_call", "care_plan", "medication_reconciliation", "coordination",
	"education", "data_review", "other"}

// patientData is the patient page.
type patientData struct {
	page
	Patient      outreach.Profile
	PhoneText    string       // the phone, formatted for reading
	PhoneHref    template.URL // the phone as a tel: link
	Contact      string       // how the patient is contacted, when they are
	Exemption    string       // the practice's consent exemption, when it is what allows contact
	Reasons      []string     // why the patient is not contacted, in plain words
	CanSetActive bool         // managers and admins may make the patient inactive or active again
	CanOptOut    bool         // the care team and managers record an opt-out the patient asked for
	Checkins     []outreach.CheckinView
	// CheckinsOlder is the address of the page of the check-ins before these (empty when there
	// are none); CheckinsNewest that of the newest when these are older ones.
	CheckinsOlder, CheckinsNewest string
	Entries                       []timelog.Entry  // the time of the month shown
	Totals                        map[string]int64 // seconds that month, by program
	Month                         string           // the month shown, in words; empty: this month
	// PrevMonth and NextMonth are the addresses of the page with the time of the month before
	// and after the one shown (NextMonth empty when it is this month).
	PrevMonth, NextMonth string
	Programs             []string
	Activities           []string
	Now                  time.Time      // the form's default start
	Timer                *timelog.Timer // the staff member's running timer, for any patient
	RecordsTime          bool           // the staff member records time (clinical staff and practitioners)
	Thread               threadData     // the patient's texts both ways
	Readings             *readingsData  // remote monitoring: charts, data days, limits
}

// checkinsShown is how many check-ins the patient's page shows; older ones are a page away.
const checkinsShown = 12

// checkinsPaging is how the patient's page names the check-in its list is shown before, and
// monthParam the month (YYYY-MM) whose time it shows.
const (
	checkinsPaging = "checkins_before"
	monthParam     = "month"
)

// patientPaging is what of the patient's history the request asks the page to show: the
// check-ins before one (0: the newest) and the month of time, the first instant of it in loc.
func patientPaging(r *http.Request, now time.Time, loc *time.Location) (before int64, month time.Time, err error) {
	if before, err = requestedBefore(r, checkinsPaging); err != nil {
		return 0, time.Time{}, err
	}
	month = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	if v := r.URL.Query().Get(monthParam); v != "" {
		m, err := time.ParseInLocation("2006-01", v, loc)
		if err != nil || m.Year() < 2000 || m.After(month) {
			return 0, time.Time{}, errkind.Errorf(errkind.ErrInvalid, "%s %q is not a month like 2026-03, up to this one", monthParam, v)
		}
		month = m
	}
	return before, month, nil
}

func (p *Pages) patient(r *http.Request) (patientData, error) {
	who := me(r)
	d := patientData{page: page{Title: "Patient", Me: who}, Activities: activities, Totals: map[string]int64{}}
	now := p.Queue.Clock().In(p.Location)
	checkinsBefore, month, err := patientPaging(r, now, p.Location)
	if err != nil {
		return d, err
	}
	prof, err := outreach.LoadProfile(r.Context(), p.DB, int64(p.Practice), r.PathValue("id"))
	if db.IsNoRows(err) {
		return d, errkind.Errorf(errkind.ErrNotFound, "no patient %q", r.PathValue("id"))
	}
	if err != nil {
		return d, err
	}
	d.Patient, d.Title = prof, "Patient "+prof.Ext
	if prof.Phone != nil {
		d.PhoneText, d.PhoneHref = phoneText(*prof.Phone), telHref(*prof.Phone)
	}
	reach := p.Engine.Reach(prof.ContactFacts())
	for _, r := range reach.Reasons {
		d.Reasons = append(d.Reasons, reasonText(r, p.Location))
	}
	if reach.Contacted() {
		d.Contact = "Contacted by text"
		if prof.Channel == string(outreach.MediumVoice) {
			d.Contact = "Contacted by phone"
		}
		if reach.Exempt {
			d.Exemption = p.Engine.Practice.ConsentExemption
		}
	}
	d.CanSetActive = who.Allowed(staff.AccessManager, staff.AccessAdmin)
	d.RecordsTime = timelog.RecordsOwnTime(who)
	d.CanOptOut = prof.OptedOutAt == nil && prof.Phone != nil && (who.Clinical() || d.CanSetActive)
	d.Programs = append([]string(nil), prof.Programs...)
	if len(d.Programs) == 0 {
		d.Programs = []string{"ccm"}
	}
	base := "/patients/" + url.PathEscape(prof.Ext)
	if d.Checkins, err = p.Engine.CheckinsBefore(r.Context(), p.DB, prof.ID, checkinsBefore, checkinsShown+1); err != nil {
		return d, err
	}
	if len(d.Checkins) > checkinsShown {
		d.Checkins = d.Checkins[:checkinsShown]
		d.CheckinsOlder = pageAt(base, checkinsPaging, d.Checkins[checkinsShown-1].ID, "checkins")
	}
	if checkinsBefore > 0 {
		d.CheckinsNewest = base + "#checkins"
	}
	if d.Thread, err = p.thread(r, outreach.Party{Patient: prof.ID}, base, base+"/message", true); err != nil {
		return d, err
	}
	d.Now = now.Truncate(time.Minute)
	if this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, p.Location); month.Before(this) {
		d.Month = month.Format("January 2006")
		d.NextMonth = monthPage(base, month.AddDate(0, 1, 0), this)
	}
	d.PrevMonth = monthPage(base, month.AddDate(0, -1, 0), time.Time{})
	if d.Entries, err = p.Time.List(r.Context(), timelog.ListFilter{From: month, To: month.AddDate(0, 1, 0), Patient: prof.Ext}); err != nil {
		return d, err
	}
	for _, e := range d.Entries {
		d.Totals[string(e.Program)] += e.Seconds
	}
	if d.Timer, err = p.Time.RunningTimer(r.Context(), who.Staff); err != nil {
		return d, err
	}
	if d.Readings, err = p.readings(r.Context(), who, prof.ID, p.Queue.Clock()); err != nil {
		return d, err
	}
	err = audit.Record(r.Context(), p.DB, audit.Event{PracticeID: int64(p.Practice), At: now, Actor: who.Actor(), Action: "patient.read",
		Entity: "patient", EntityID: strconv.FormatInt(prof.ID, 10), Detail: map[string]any{"view": "page"}})
	return d, err
}

// monthPage is the address of the patient's page (at base) with the time of month; this
// month (this) is the page without one.
func monthPage(base string, month, this time.Time) string {
	if month.Equal(this) {
		return base + "#time"
	}
	return base + "?" + url.Values{monthParam: {month.Format("2006-01")}}.Encode() + "#time"
}

func (p *Pages) patientPage(w http.ResponseWriter, r *http.Request) {
	d, err := p.patient(r)
	if err != nil {
		p.patientFailed(w, r, err)
		return
	}
	switch {
	case r.URL.Query().Get("recorded") != "":
		d.Notice = "The time was recorded."
	case r.URL.Query().Get("opted_out") != "":
		d.Notice = "The opt-out is recorded: no more texts or calls; one text confirms it to the patient."
	case r.URL.Query().Get("limits") != "":
		d.Notice = "The patient's limits are set: readings are checked against them from now on."
	case r.URL.Query().Get("active") == "0":
		d.Notice = "The patient is inactive: nothing more is sent to them, and what was queued is cancelled."
	case r.URL.Query().Get("active") == "1":
		d.Notice = "The patient is active again: their check-ins start at their next slot."
	}
	p.render(w, http.StatusOK, "patient", d)
}

// reasonText says why a patient is not contacted, in plain words.
func reasonText(r outreach.Reason, loc *time.Location) string {
	switch r.Code {
	case outreach.ReasonNoPhone:
		return "No phone number on file."
	case outreach.ReasonOptedOut:
		how := map[string]string{"sms": "by text (STOP, or a request in their words)", "voice": "on a check-in call", "carrier": "(the carrier reported the number unsubscribed)",
			"staff": "(recorded by staff)"}[r.Source]
		if how == "" {
			how = "(" + r.Source + ")"
		}
		return fmt.Sprintf("Opted out %s on %s.", how, localTime(r.At, loc))
	case outreach.ReasonInactive:
		return "Inactive: all outreach is stopped."
	case outreach.ReasonNoConsent:
		return "No consent on file, and the practice has no consent exemption."
	case outreach.ReasonConsentRevoked:
		return fmt.Sprintf("Consent revoked on %s.", localTime(r.At, loc))
	case outreach.ReasonConsentNotYet:
		return fmt.Sprintf("Consent is not in force until %s.", localTime(r.At, loc))
	case outreach.ReasonNoScript:
		return "Not in CCM and no check-in script of their own."
	case outreach.ReasonScriptNotLoaded:
		return fmt.Sprintf("Their check-in script %q is not loaded.", r.Script)
	}
	return string(r.Code)
}

// patientActive makes the patient inactive, or active again, with the reason staff give.
func (p *Pages) patientActive(w http.ResponseWriter, r *http.Request) {
	who, ext := patientForm(w, r)
	var active bool
	switch r.PostFormValue("active") {
	case "true":
		active = true
	case "false":
	default:
		p.patientFailed(w, r, errkind.Errorf(errkind.ErrInvalid, "active must be true or false"))
		return
	}
	if _, err := p.Engine.SetActive(r.Context(), ext, active, r.PostFormValue("reason"), who.Actor()); err != nil {
		p.patientFailed(w, r, err)
		return
	}
	to := "/patients/" + url.PathEscape(ext) + "?active=0"
	if active {
		to = "/patients/" + url.PathEscape(ext) + "?active=1"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
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
	who, ext := patientForm(w, r)
	err := func() error {
		started, err := localInstant(r.PostFormValue("started_date"), r.PostFormValue("started_time"), p.Location)
		if err != nil {
			return fmt.Errorf("started: %w", err)
		}
		minutes, err := strconv.Atoi(r.PostFormValue("minutes"))
		if err != nil || minutes < 1 {
			return errkind.Errorf(errkind.ErrInvalid, "minutes must be a whole number of at least 1")
		}
		_, err = p.Time.Record(r.Context(), timelog.CallerOf(who), timelog.Draft{Patients: []string{ext}, Staff: who.Staff,
			Program: care.Program(r.PostFormValue("program")), StartedAt: started,
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

// patientOptOut records an opt-out the patient asked for in a way the engine could not read
// as one (a call, a visit, a text a human decided on).
func (p *Pages) patientOptOut(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	ext := r.PathValue("id")
	err := func() error {
		if !who.Clinical() && !who.Allowed(staff.AccessManager, staff.AccessAdmin) {
			return errkind.Errorf(errkind.ErrForbidden, "only the care team and managers record opt-outs")
		}
		prof, err := outreach.LoadProfile(r.Context(), p.DB, int64(p.Practice), ext)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no patient %q", ext)
		}
		if err != nil {
			return err
		}
		return p.Engine.RecordOptOut(r.Context(), prof.ID, who)
	}()
	if err == nil {
		http.Redirect(w, r, "/patients/"+url.PathEscape(ext)+"?opted_out=1", http.StatusSeeOther)
		return
	}
	p.patientFailed(w, r, err)
}

// patientMessage sends a text written on the patient's page.
func (p *Pages) patientMessage(w http.ResponseWriter, r *http.Request) {
	ext := r.PathValue("id")
	prof, err := outreach.LoadProfile(r.Context(), p.DB, int64(p.Practice), ext)
	if db.IsNoRows(err) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	forbidden := func() error {
		if !me(r).Clinical() {
			return errkind.Errorf(errkind.ErrForbidden, "only clinical staff and practitioners write to patients")
		}
		return nil
	}
	base := "/patients/" + url.PathEscape(ext)
	p.sendText(w, r, outreach.Party{Patient: prof.ID}, base, base+"/message", base+"#thread", forbidden)
}

// patientTimer starts a timer for the patient, or stops the running one and records its time.
func (p *Pages) patientTimer(w http.ResponseWriter, r *http.Request) {
	who, ext := patientForm(w, r)
	var err error
	switch r.PathValue("action") {
	case "start":
		_, err = p.Time.StartTimer(r.Context(), timelog.CallerOf(who), timelog.TimerStart{Patients: []string{ext},
			Program: care.Program(r.PostFormValue("program")), Activity: timelog.Activity(r.PostFormValue("activity"))})
	case "stop":
		var t *timelog.Timer
		if t, err = p.Time.RunningTimer(r.Context(), who.Staff); err == nil && t == nil {
			err = errkind.Errorf(errkind.ErrConflict, "no timer is running")
		}
		if err == nil {
			_, err = p.Time.StopTimer(r.Context(), timelog.CallerOf(who), t.ID, timelog.TimerStop{Note: r.PostFormValue("note"),
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

// patientForm bounds the body of a form posted to a patient's page, and returns who posts it
// and the patient's id in the path.
func patientForm(w http.ResponseWriter, r *http.Request) (staff.Identity, string) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return me(r), r.PathValue("id")
}
