package twilio

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"github.com/outreach-engine/outreach/outreach/ivr"
	"github.com/outreach-engine/outreach/scripts"
)

// VoiceEngine is what the voice webhooks need of the engine.
type VoiceEngine interface {
	// CallAnswered returns what an answered call says first; answeredBy is Twilio's AnsweredBy
	// ("human", "machine_start", "fax", "unknown", or "" without detection).
	CallAnswered(ctx context.Context, call int64, sid, answeredBy string) (ivr.Turn, error)
	// CallInput handles the patient's input at a step and returns what the call does next.
	CallInput(ctx context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error)
}

// voiceDeadline bounds the engine's work for one webhook: Twilio waits 15 seconds for TwiML.
const voiceDeadline = 10 * time.Second

// VoiceHandler serves the TwiML of voice check-ins: POST .../webhooks/twilio/voice/answer?call=ID
// (the URL given with each call) and POST .../webhooks/twilio/voice/input?call=ID&step=STEP (each
// Gather's action). It expects Verify to have checked the signature and parsed the form. When the
// engine fails, the patient hears an apology rather than Twilio's "application error", and the
// call ends.
func VoiceHandler(eng VoiceEngine, public *url.URL, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if action != "answer" && action != "input" {
			http.NotFound(w, r)
			return
		}
		call, err := strconv.ParseInt(r.URL.Query().Get("call"), 10, 64)
		if err != nil || call <= 0 {
			http.Error(w, "call must be a positive integer", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), voiceDeadline)
		defer cancel()
		f := r.PostForm
		var turn ivr.Turn
		if action == "answer" {
			turn, err = eng.CallAnswered(ctx, call, f.Get("CallSid"), f.Get("AnsweredBy"))
		} else {
			turn, err = eng.CallInput(ctx, call, r.URL.Query().Get("step"),
				ivr.Input{Digits: f.Get("Digits"), Speech: f.Get("SpeechResult")})
		}
		if err != nil {
			log.Error("voice webhook failed", "call", call, "action", action, "err", err)
			turn = ivr.Turn{Lang: scripts.English, Say: []string{ivr.Trouble.In(scripts.English)}}
		}
		doc, err := TwiML(turn, inputURL(public, call))
		if err != nil {
			log.Error("TwiML not rendered", "call", call, "err", err)
			http.Error(w, "TwiML not rendered", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, doc) //nolint:errcheck // Twilio may be gone
	})
}

// inputURL returns a function that gives the Gather action URL of a step of the call.
func inputURL(public *url.URL, call int64) func(step string) string {
	return func(step string) string {
		u := public.JoinPath("webhooks", "twilio", "voice", "input")
		u.RawQuery = url.Values{"call": {strconv.FormatInt(call, 10)}, "step": {step}}.Encode()
		return u.String()
	}
}

// TwiML renders a turn: each sentence said in the patient's language, then a Gather that listens
// for keys and speech (posting to action(step), even when nothing was heard), or a hang-up.
func TwiML(t ivr.Turn, action func(step string) string) (string, error) {
	voice, lang := ivr.Voice(t.Lang)
	say := func(text string) twiml.Element {
		return &twiml.VoiceSay{Message: text, Voice: voice, Language: lang}
	}
	var verbs []twiml.Element
	for _, s := range t.Say {
		if s != "" {
			verbs = append(verbs, say(s))
		}
	}
	if g := t.Gather; g != nil {
		gather := &twiml.VoiceGather{Input: "dtmf speech", Action: action(g.Step), Method: "POST", Language: lang,
			Timeout: strconv.Itoa(max(g.Timeout, 1)), SpeechTimeout: "auto", ActionOnEmptyResult: "true",
			FinishOnKey: "#", Hints: strings.Join(g.Hints, ", "), InnerElements: []twiml.Element{say(g.Prompt)}}
		if g.NumDigits > 0 {
			gather.NumDigits = strconv.Itoa(g.NumDigits)
		}
		verbs = append(verbs, gather)
	} else {
		verbs = append(verbs, &twiml.VoiceHangup{})
	}
	return twiml.Voice(verbs)
}
