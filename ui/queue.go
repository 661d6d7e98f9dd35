package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

// queueData is the queue page.
type queueData struct {
	page
	Filter     escalation.Filter
	Mine       bool        // only the items the staff member holds
	Query      string      // the filter and the page, as the table's refresh asks for them
	Groups     []itemGroup // the items, by patient
	Statuses   []string
	Severities []string
	// First and Last number the items shown, from 1 in the queue's order; Earlier and Later
	// are the addresses of the pages before and after (empty when there is none).
	First, Last    int
	Earlier, Later string
}

// queueShown is how many items a page of the queue shows.
const queueShown = 100

// queue reads a page of the queue for the page or its refresh (view), and audits the read.
func (p *Pages) queue(r *http.Request, view string) (queueData, error) {
	q := r.URL.Query()
	f := escalation.Filter{Status: q.Get("status"), Severity: escalation.Severity(q.Get("severity")), ClaimedBy: q.Get("claimed_by"),
		Limit: queueShown + 1}
	mine := f.ClaimedBy == "me"
	if mine {
		f.ClaimedBy = me(r).Staff
	}
	d := queueData{page: page{Title: "Queue", Me: me(r)}, Filter: f, Mine: mine,
		Statuses: []string{"open", "claimed", "resolved"}, Severities: []string{"urgent", "high", "routine"}}
	at := func(offset int) string {
		v := url.Values{"status": {f.Status}, "severity": {string(f.Severity)}, "claimed_by": {q.Get("claimed_by")}}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		return v.Encode()
	}
	d.Query = at(0)
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return d, errkind.Errorf(errkind.ErrInvalid, "offset %q is not a count of items (0 or more)", s)
		}
		f.Offset = n
	}
	d.Filter, d.Query = f, at(f.Offset)
	items, err := p.Queue.List(r.Context(), f)
	if err != nil {
		return d, err
	}
	if len(items) > queueShown {
		items = items[:queueShown]
		d.Later = "/?" + at(f.Offset+queueShown)
	}
	if f.Offset > 0 {
		d.Earlier = "/?" + at(max(0, f.Offset-queueShown))
	}
	if len(items) > 0 {
		d.First, d.Last = f.Offset+1, f.Offset+len(items)
	}
	d.Groups = groupByPatient(items)
	return d, p.Queue.AuditList(r.Context(), me(r).StaffID, f, view)
}

func (p *Pages) queuePage(w http.ResponseWriter, r *http.Request) {
	d, err := p.queue(r, "page")
	if err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "queue", d)
		return
	}
	p.render(w, http.StatusOK, "queue", d)
}

// queueTable is the table alone, which the queue page refreshes every few seconds.
func (p *Pages) queueTable(w http.ResponseWriter, r *http.Request) {
	d, err := p.queue(r, "refresh")
	if err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	p.render(w, http.StatusOK, "queue-table", d)
}

// firing is one firing of an item, as stored in its details, with the question's text.
type firing struct {
	At           time.Time `json:"at"`
	Source       string    `json:"source"`
	Question     string    `json:"question"`
	Answer       string    `json:"answer"`
	Text         string    `json:"text"`
	QuestionText string    `json:"-"`
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
	Thread   threadData
}

func (p *Pages) item(r *http.Request, id int64) (itemData, error) {
	who := me(r)
	d := itemData{page: page{Title: fmt.Sprintf("Item #%d", id), Me: who}, CanWork: who.Clinical(),
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
	for i, f := range d.Firings {
		d.Firings[i].QuestionText = p.questionText(item.Script, f.Question)
	}
	reply := ""
	if item.Status != "resolved" {
		reply = fmt.Sprintf("/items/%d/message", id)
	}
	if d.Thread, err = p.thread(r, party(item), fmt.Sprintf("/items/%d", id), reply, false); err != nil {
		return d, err
	}
	if r.URL.Query().Get("recorded") != "" {
		d.Notice = "The time was recorded."
	}
	return d, nil
}

// questionText is a question of a check-in script as the care team reads it (in English), or
// its id when the script no longer has it.
func (p *Pages) questionText(script *string, question string) string {
	if script == nil || question == "" {
		return question
	}
	if s := p.Engine.Scripts[*script]; s != nil {
		if q := s.Question(question); q != nil {
			return q.Text.In(scripts.English)
		}
	}
	return question
}

// party is whom an item's conversation is with.
func party(item escalation.Detail) outreach.Party {
	patient, phone := item.Party()
	return outreach.Party{Patient: patient, Phone: phone}
}

// itemMessage sends a text written on an item's page. Writing from an item is working it: the
// claim (taken, or renewed) starts the time its resolution proposes.
func (p *Pages) itemMessage(w http.ResponseWriter, r *http.Request) {
	who, id, ok := workedItem(w, r, "only clinical staff and practitioners write to patients")
	if !ok {
		return
	}
	item, err := p.Queue.Get(r.Context(), id, who.StaffID)
	if err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	claim := func() error {
		if item.Status == "resolved" {
			return errkind.Errorf(errkind.ErrConflict, "item #%d is resolved: write from the patient's page", id)
		}
		_, err := p.Queue.Claim(r.Context(), id, who.StaffID)
		return err
	}
	p.sendText(w, r, party(item), fmt.Sprintf("/items/%d", id), fmt.Sprintf("/items/%d/message", id), fmt.Sprintf("/items/%d", id), claim)
}

// itemAttach gives an item about a number that matched no patient to a patient, with the
// number's texts, and shows the item that holds them now.
func (p *Pages) itemAttach(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	id, ok := requestedItem(w, r)
	if !ok {
		return
	}
	var err error
	if !who.Clinical() && !who.Allowed(staff.AccessManager, staff.AccessAdmin) {
		err = errkind.Errorf(errkind.ErrForbidden, "only the care team and managers attach items to patients")
	}
	var holder int64
	if err == nil {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		holder, err = p.Engine.AttachNumber(r.Context(), id, strings.TrimSpace(r.PostFormValue("patient")), who.StaffID)
	}
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("/items/%d", holder), http.StatusSeeOther)
		return
	}
	d, derr := p.item(r, id)
	if derr != nil {
		p.render(w, web.StatusOf(derr), "queue", queueData{page: page{Title: "Queue", Me: who, Error: p.message(derr)}})
		return
	}
	d.Error = p.message(err)
	p.render(w, web.StatusOf(err), "item", d)
}

// itemRenew renews the person's claim on an item: the item's page sends it every few minutes
// while it is open, as polling (see Handler).
func (p *Pages) itemRenew(w http.ResponseWriter, r *http.Request) {
	who, id, ok := workedItem(w, r, "only clinical staff and practitioners work escalation items")
	if !ok {
		return
	}
	if _, err := p.Queue.Claim(r.Context(), id, who.StaffID); err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// workedItem returns the caller and the item of a request that works the item: a bad id is a
// 404, and staff who do not work items get 403 with refusal.
func workedItem(w http.ResponseWriter, r *http.Request, refusal string) (staff.Identity, int64, bool) {
	who := me(r)
	id, ok := requestedItem(w, r)
	if !ok {
		return who, 0, false
	}
	if !who.Clinical() {
		http.Error(w, refusal, http.StatusForbidden)
		return who, 0, false
	}
	return who, id, true
}

// requestedItem is the item id in the request's path; a request without a valid one is
// answered 404.
func requestedItem(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := itemID(r)
	if err != nil {
		http.NotFound(w, r)
		return 0, false
	}
	return id, true
}

func itemID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errkind.Errorf(errkind.ErrNotFound, "no item %q", r.PathValue("id"))
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
	id, ok := requestedItem(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	back := fmt.Sprintf("/items/%d", id)
	var proposal *escalation.Proposal
	var err error
	switch r.PathValue("action") {
	case "claim", "release", "resolve":
		if !who.Clinical() {
			err = errkind.Errorf(errkind.ErrForbidden, "only clinical staff and practitioners work escalation items")
			break
		}
		switch r.PathValue("action") {
		case "claim":
			_, err = p.Queue.Claim(r.Context(), id, who.StaffID)
		case "release":
			err = p.Queue.Release(r.Context(), id, who.StaffID)
		default:
			proposal, err = p.Queue.Resolve(r.Context(), id, who.StaffID, r.PostFormValue("outcome"), r.PostFormValue("note"))
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
func (p *Pages) recordTime(r *http.Request, who staff.Identity) error {
	started, err := localInstant(r.PostFormValue("started_date"), r.PostFormValue("started_time"), p.Location)
	if err != nil {
		return fmt.Errorf("started: %w", err)
	}
	ended, err := localInstant(r.PostFormValue("ended_date"), r.PostFormValue("ended_time"), p.Location)
	if err != nil {
		return fmt.Errorf("ended: %w", err)
	}
	d := timelog.Draft{Patients: []string{r.PostFormValue("patients")}, Staff: who.Staff,
		Program: care.Program(r.PostFormValue("program")), StartedAt: started, EndedAt: ended,
		Activity: timelog.Activity(r.PostFormValue("activity")), Note: r.PostFormValue("note"),
		MDM: timelog.MDM(r.PostFormValue("mdm")), Interactive: r.PostFormValue("interactive") == "true"}
	_, err = p.Time.Record(r.Context(), timelog.CallerOf(who), d, timelog.SourceEscalation)
	return err
}
