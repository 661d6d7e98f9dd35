package twilio

import (
	"cmp"
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

// VoiceHandler serves the TwiML of voice check-ins: POST {public}/webhooks/twilio/voice/answer?call=ID
// (the URL given to CreateCall) and POST {public}/webhooks/twilio/voice/input?call=ID&step=STEP
// (each Gather's action). Mount it at "POST /webhooks/twilio/voice/" (no prefix stripped) inside
// Verify, which checks the signature and parses the form first.
//
// A call id that is not a positive integer gets 400, any other path 404. When the engine fails,
// the answer is still 200: the patient hears an apology and the call ends, rather than Twilio's
// "an application error has occurred".
func VoiceHandler(eng VoiceEngine, public *url.URL, log *slog.Logger) http.Handler {
	h := &voiceHandler{eng: eng, public: public, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/twilio/voice/answer", h.answer)
	mux.HandleFunc("POST /webhooks/twilio/voice/input", h.input)
	return mux
}

type voiceHandler struct {
	eng    VoiceEngine
	public *url.URL
	log    *slog.Logger
}

func (h *voiceHandler) answer(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "answer", func(ctx context.Context, call int64) (ivr.Turn, error) {
		return h.eng.CallAnswered(ctx, call, r.PostForm.Get("CallSid"), r.PostForm.Get("AnsweredBy"))
	})
}

func (h *voiceHandler) input(w http.ResponseWriter, r *http.Request) {
	in := ivr.Input{Digits: r.PostForm.Get("Digits"), Speech: r.PostForm.Get("SpeechResult")}
	h.serve(w, r, "input", func(ctx context.Context, call int64) (ivr.Turn, error) {
		return h.eng.CallInput(ctx, call, r.URL.Query().Get("step"), in)
	})
}

// serve reads the call id, asks the engine for the call's next turn and writes it as TwiML. Logs
// carry the call id and the error only: never a number, a key pressed or words said.
func (h *voiceHandler) serve(w http.ResponseWriter, r *http.Request, hook string, next func(context.Context, int64) (ivr.Turn, error)) {
	call, err := strconv.ParseInt(r.URL.Query().Get("call"), 10, 64)
	if err != nil || call <= 0 {
		http.Error(w, "call must be a positive integer", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), voiceDeadline)
	defer cancel()
	turn, err := next(ctx, call)
	if err != nil {
		h.log.Error("voice "+hook+" webhook failed", "call", call, "err", err)
		lang := cmp.Or(turn.Lang, scripts.English)
		turn = ivr.Turn{Lang: lang, Say: []string{ivr.Trouble.In(lang)}}
	}
	doc, err := renderTurn(turn, h.inputURL(call))
	if err != nil {
		h.log.Error("TwiML not rendered", "call", call, "err", err)
		http.Error(w, "TwiML not rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, doc) //nolint:errcheck // Twilio may be gone
}

// inputURL returns a function that gives the Gather action URL of a step of the call.
func (h *voiceHandler) inputURL(call int64) func(step string) string {
	return func(step string) string {
		u := h.public.JoinPath("webhooks", "twilio", "voice", "input")
		u.RawQuery = url.Values{"call": {strconv.FormatInt(call, 10)}, "step": {step}}.Encode()
		return u.String()
	}
}

// renderTurn renders a turn as TwiML: each sentence said in the patient's language, then a
// Gather that listens for keys and speech (posting to action(step), even when nothing was heard),
// or a hang-up.
func renderTurn(t ivr.Turn, action func(step string) string) (string, error) {
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
	g := t.Gather
	if g == nil {
		return twiml.Voice(append(verbs, &twiml.VoiceHangup{}))
	}
	// twiml leaves out empty attributes: no numDigits means an entry ended by # or silence, no
	// timeout Twilio's 5 seconds.
	gather := &twiml.VoiceGather{Input: "dtmf speech", Action: action(g.Step), Method: http.MethodPost, Language: lang,
		SpeechTimeout: "auto", ActionOnEmptyResult: "true", FinishOnKey: "#", Hints: strings.Join(g.Hints, ", ")}
	if g.NumDigits > 0 {
		gather.NumDigits = strconv.Itoa(g.NumDigits)
	}
	if g.Timeout > 0 {
		gather.Timeout = strconv.Itoa(g.Timeout)
	}
	if g.Prompt != "" {
		gather.InnerElements = []twiml.Element{say(g.Prompt)}
	}
	return twiml.Voice(append(verbs, gather))
}
