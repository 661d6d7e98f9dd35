package ui

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach"
)

// threadLength is how many texts a page shows of a conversation.
const threadLength = 100

// threadData is a conversation as a page shows it: oldest first, the newest last, and where a
// reply is posted (empty when the reader may not write).
type threadData struct {
	Patient       bool // with a patient (not a number that matches none)
	Messages      []outreach.MessageView
	Reply, Hint   string
	Error, Notice string
}

// thread reads a conversation for a page. Reading a patient's is audited as a read of their
// record, unless the page that shows it audits its own read (pageAudited); a number's is part
// of its item, whose read is audited.
func (p *Pages) thread(r *http.Request, with outreach.Party, reply string, pageAudited bool) (threadData, error) {
	who := me(r)
	msgs, err := p.Engine.Thread(r.Context(), p.DB, with, threadLength)
	if err != nil {
		return threadData{}, err
	}
	slices.Reverse(msgs)
	d := threadData{Patient: with.Patient > 0, Messages: msgs}
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

// sendText sends what a staff member wrote on a page, after first (when given) succeeds, and
// answers with the conversation: the thread alone to htmx (the page stays as it is), or back to
// the page.
func (p *Pages) sendText(w http.ResponseWriter, r *http.Request, to outreach.Party, reply, back string, first func() error) {
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
	d, terr := p.thread(r, to, reply, false)
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
