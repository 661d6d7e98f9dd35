package outreach

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"github.com/outreach-engine/outreach/internal/web"
)

// emptyTwiML answers a webhook without saying anything to the patient: replies go through the
// outbox, where they are paced, retried and tracked.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// providerID is the form of the provider's message ids (SM or MM and 32 hexadecimal digits at
// Twilio), loosely: letters and digits.
var providerID = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// SMSWebhook handles POST /webhooks/twilio/sms. The signature has been checked and the form
// parsed before it runs. A database failure answers 503 so that the provider tries again.
func (e *Engine) SMSWebhook(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	in := Inbound{SID: f.Get("MessageSid"), From: f.Get("From"), Body: f.Get("Body")}
	if in.SID == "" || in.From == "" {
		web.WriteError(w, http.StatusBadRequest, "MessageSid and From are required")
		return
	}
	if !providerID.MatchString(in.SID) {
		web.WriteError(w, http.StatusBadRequest, "MessageSid must be letters and digits")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), WebhookDeadline)
	defer cancel()
	handled, err := e.Receive(ctx, in)
	if err != nil {
		e.Log.Error("inbound message not handled", "sid", in.SID, "err", err)
		web.WriteError(w, http.StatusServiceUnavailable, "the message could not be stored; try again")
		return
	}
	e.Log.Info("inbound message", "sid", in.SID, "handled", string(handled))
	writeTwiML(w)
}

// StatusWebhook handles POST /webhooks/twilio/status: a delivery report for a message we sent,
// found by the outbox id in the callback URL (with the month it was queued in, when the URL
// has it) or by the provider's id, or the progress of a call
// we placed, found by the call id in the callback URL.
func (e *Engine) StatusWebhook(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	if call := r.URL.Query().Get("call"); call != "" {
		e.callStatusWebhook(w, r, call)
		return
	}
	rep := Report{SID: f.Get("MessageSid"), Status: f.Get("MessageStatus")}
	if rep.Status == "" {
		rep.Status = f.Get("SmsStatus")
	}
	rep.Message, _ = strconv.ParseInt(r.URL.Query().Get("message"), 10, 64)
	if m := r.URL.Query().Get("month"); m != "" && rep.Message > 0 {
		// A month that cannot be read bounds nothing: the message is looked for in every month.
		rep.Month, _ = parseMonth(m)
	}
	rep.ErrorCode, _ = strconv.Atoi(f.Get("ErrorCode"))
	e.applyReport(w, r, "delivery report", func(ctx context.Context) (bool, error) { return e.UpdateStatus(ctx, rep) },
		"message", rep.Message, "sid", rep.SID, "status", rep.Status, "code", rep.ErrorCode)
}

func (e *Engine) callStatusWebhook(w http.ResponseWriter, r *http.Request, call string) {
	f := r.PostForm
	rep := CallReport{SID: f.Get("CallSid"), Status: f.Get("CallStatus"), AnsweredBy: f.Get("AnsweredBy")}
	var err error
	if rep.Call, err = strconv.ParseInt(call, 10, 64); err != nil || rep.Call <= 0 {
		web.WriteError(w, http.StatusBadRequest, "call must be a positive integer")
		return
	}
	rep.Duration, _ = strconv.Atoi(f.Get("CallDuration"))
	rep.ErrorCode, _ = strconv.Atoi(f.Get("ErrorCode"))
	e.applyReport(w, r, "call status report", func(ctx context.Context) (bool, error) { return e.UpdateCallStatus(ctx, rep) },
		"call", rep.Call, "sid", rep.SID, "status", rep.Status, "code", rep.ErrorCode)
}

// applyReport applies a provider's status report within the webhook deadline and answers it:
// 503 when it could not be stored, so that the provider sends it again. ids are the report's
// log attributes (internal and provider ids, status, never a body).
func (e *Engine) applyReport(w http.ResponseWriter, r *http.Request, what string, apply func(context.Context) (bool, error), ids ...any) {
	ctx, cancel := context.WithTimeout(r.Context(), WebhookDeadline)
	defer cancel()
	changed, err := reportOnPrimary(ctx, e, what, apply)
	if err != nil {
		e.Log.Error(what+" not applied", append(ids, "err", err)...)
		web.WriteError(w, http.StatusServiceUnavailable, "the report could not be stored; try again")
		return
	}
	e.Log.Debug(what, append(ids, "changed", changed)...)
	writeTwiML(w)
}

func writeTwiML(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, emptyTwiML)
}
