package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach"
)

// threadLength is how many texts a page shows of a conversation; older ones are a page away.
const threadLength = 100

// threadData is a conversation as a page shows it: oldest first, the newest last, and where a
// reply is posted (empty when the reader may not write). Older is the address of the page of
// the texts before these (empty when there are none), Newest the address of the newest texts
// when these are older ones.
type threadData struct {
	Patient       bool // with a patient (not a number that matches none)
	Messages      []outreach.MessageView
	Reply, Hint   string
	Older, Newest string
	Error, Notice string
}

// threadPaging is how a page names the text its conversation is shown before.
const threadPaging = "texts_before"

// requestedBefore is the id a page is asked to list before (query parameter name), 0 when it
// is not; a bad one is errkind.ErrInvalid.
func requestedBefore(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, errkind.Errorf(errkind.ErrInvalid, "%s %q is not an id", name, v)
	}
	return id, nil
}

// thread reads a conversation for the page at path: the newest texts, or those before the
// one the request names. Reading a patient's is audited as a read of their record, unless the
// page that shows it audits its own read (pageAudited); a number's is part of its item, whose
// read is audited.
func (p *Pages) thread(r *http.Request, with outreach.Party, path, reply string, pageAudited bool) (threadData, error) {
	who := me(r)
	before, err := requestedBefore(r, threadPaging)
	if err != nil {
		return threadData{}, err
	}
	msgs, err := p.Engine.ThreadBefore(r.Context(), p.DB, with, before, threadLength+1)
	if err != nil {
		return threadData{}, err
	}
	d := threadData{Patient: with.Patient > 0}
	if len(msgs) > threadLength {
		msgs = msgs[:threadLength]
		d.Older = pageAt(path, threadPaging, msgs[len(msgs)-1].ID, "thread")
	}
	if before > 0 {
		d.Newest = path + "#thread"
	}
	slices.Reverse(msgs)
	d.Messages = msgs
	if who.Clinical() {
		d.Reply = reply
		d.Hint = "Sent at once if the patient wrote within the hour; otherwise after their quiet hours."
	}
	if with.Patient == 0 || pageAudited {
		return d, nil
	}
	return d, audit.Record(r.Context(), p.DB, audit.Event{PracticeID: int64(p.Practice), At: p.Queue.Clock(), Actor: who.Actor(),
		Action: "patient.read", Entity: "patient", EntityID: strconv.FormatInt(with.Patient, 10),
		Detail: map[string]any{"view": "messages"}})
}

// pageAt is the address of the page at path that lists what comes before id, at its section
// anchor.
func pageAt(path, param string, id int64, anchor string) string {
	return path + "?" + url.Values{param: {strconv.FormatInt(id, 10)}}.Encode() + "#" + anchor
}

// sendText sends what a staff member wrote on a page, after first (when given) succeeds, and
// answers with the conversation: the newest texts alone to htmx (the page at path stays as it
// is), or back to the page.
func (p *Pages) sendText(w http.ResponseWriter, r *http.Request, to outreach.Party, path, reply, back string, first func() error) {
	who := me(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var err error
	if first != nil {
		err = first()
	}
	if err == nil {
		_, err = p.Engine.SendStaffText(r.Context(), to, who, r.PostFormValue("body"))
	}
	if r.Header.Get("HX-Request") == "" {
		if err != nil {
			http.Error(w, p.message(err), web.StatusOf(err))
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	d, terr := p.thread(r, to, path, reply, false)
	if terr != nil {
		http.Error(w, p.message(terr), web.StatusOf(terr))
		return
	}
	if err != nil {
		d.Error = p.message(err)
	} else {
		d.Notice = "Sent to the outbox."
	}
	p.render(w, http.StatusOK, "thread", struct{ Thread threadData }{d})
}
