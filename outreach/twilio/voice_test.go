package twilio_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/outreach-engine/outreach/internal/twiliofake"
	"github.com/outreach-engine/outreach/outreach/ivr"
	"github.com/outreach-engine/outreach/outreach/twilio"
)

// twimlDoc is TwiML as parsed: twiml writes attributes in any order, so tests never compare text.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []struct {
		XMLName   xml.Name
		Voice     string `xml:"voice,attr"`
		Language  string `xml:"language,attr"`
		Text      string `xml:",chardata"`
		Input     string `xml:"input,attr"`
		Action    string `xml:"action,attr"`
		Method    string `xml:"method,attr"`
		NumDigits string `xml:"numDigits,attr"`
		Finish    string `xml:"finishOnKey,attr"`
		Hints     string `xml:"hints,attr"`
		Timeout   string `xml:"timeout,attr"`
		OnEmpty   string `xml:"actionOnEmptyResult,attr"`
		Say       []struct {
			Voice    string `xml:"voice,attr"`
			Language string `xml:"language,attr"`
			Text     string `xml:",chardata"`
		} `xml:"Say"`
	} `xml:",any"`
}

// fakeVoice records what the handler asked and answers with the next turn.
type fakeVoice struct {
	mu    sync.Mutex
	calls []string
	ins   []ivr.Input
	turn  ivr.Turn
	err   error
}

func (f *fakeVoice) CallAnswered(_ context.Context, call int64, sid, by string) (ivr.Turn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "answered "+sid+" "+by)
	return f.turn, f.err
}

func (f *fakeVoice) CallInput(_ context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "input "+step)
	f.ins = append(f.ins, in)
	return f.turn, f.err
}

const voiceToken = "voicetoken123"

func voiceServer(t *testing.T, eng twilio.VoiceEngine) (*httptest.Server, *url.URL) {
	t.Helper()
	public, _ := url.Parse("https://outreach.example.org/engine")
	mux := http.NewServeMux()
	h := twilio.VoiceHandler(eng, public, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux.Handle("POST /webhooks/twilio/voice/", twilio.Verify(voiceToken, public)(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, public
}

// postVoice posts a signed form to path and parses the TwiML answer.
func postVoice(t *testing.T, srv *httptest.Server, public *url.URL, path string, form url.Values) (int, twimlDoc) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Sign(voiceToken, public.String()+path, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc twimlDoc
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
			t.Errorf("content type %q", ct)
		}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("TwiML does not parse: %v\n%s", err, body)
		}
	}
	return resp.StatusCode, doc
}

func TestVoiceTwiML(t *testing.T) {
	eng := &fakeVoice{turn: ivr.Turn{Lang: "es", Say: []string{"Hola.", "Primera pregunta."},
		Gather: &ivr.Gather{Step: "blood pressure&more", Prompt: "Marque…", NumDigits: 1, Hints: []string{"sí", "no"}, Timeout: 7}}}
	srv, public := voiceServer(t, eng)

	code, doc := postVoice(t, srv, public, "/webhooks/twilio/voice/answer?call=42",
		url.Values{"CallSid": {"CA1"}, "AnsweredBy": {"human"}, "To": {"+15550001111"}})
	if code != http.StatusOK || len(doc.Verbs) != 3 {
		t.Fatalf("answer: %d %+v", code, doc)
	}
	for _, v := range doc.Verbs[:2] {
		if v.XMLName.Local != "Say" || v.Voice != "Polly.Lupe" || v.Language != "es-US" {
			t.Errorf("say = %+v", v)
		}
	}
	g := doc.Verbs[2]
	if g.XMLName.Local != "Gather" || g.Input != "dtmf speech" || g.Method != "POST" || g.NumDigits != "1" ||
		g.Finish != "#" || g.Hints != "sí, no" || g.Timeout != "7" || g.OnEmpty != "true" || g.Language != "es-US" {
		t.Errorf("gather = %+v", g)
	}
	if len(g.Say) != 1 || g.Say[0].Text != "Marque…" || g.Say[0].Voice != "Polly.Lupe" {
		t.Errorf("gather prompt = %+v", g.Say)
	}
	action, err := url.Parse(g.Action)
	if err != nil || !strings.HasPrefix(g.Action, "https://outreach.example.org/engine/webhooks/twilio/voice/input?") ||
		action.Query().Get("call") != "42" || action.Query().Get("step") != "blood pressure&more" {
		t.Errorf("action = %q", g.Action)
	}

	// The patient's input, posted to the action as Twilio posts it (signed, with the query).
	eng.turn = ivr.Turn{Lang: "en", Say: []string{"Thank you."}}
	path := strings.TrimPrefix(g.Action, public.String())
	code, doc = postVoice(t, srv, public, path, url.Values{"CallSid": {"CA1"}, "Digits": {"130*80"}, "SpeechResult": {""}})
	if code != http.StatusOK || len(doc.Verbs) != 2 || doc.Verbs[1].XMLName.Local != "Hangup" ||
		doc.Verbs[0].Voice != "Polly.Joanna" || doc.Verbs[0].Language != "en-US" {
		t.Fatalf("input: %d %+v", code, doc)
	}
	code, _ = postVoice(t, srv, public, path, url.Values{"CallSid": {"CA1"}, "SpeechResult": {"one thirty over eighty"}})
	if code != http.StatusOK {
		t.Fatal(code)
	}
	want := []ivr.Input{{Digits: "130*80"}, {Speech: "one thirty over eighty"}}
	if len(eng.ins) != 2 || eng.ins[0] != want[0] || eng.ins[1] != want[1] {
		t.Errorf("inputs = %+v", eng.ins)
	}
	if eng.calls[0] != "answered CA1 human" || eng.calls[1] != "input blood pressure&more" {
		t.Errorf("engine calls = %v", eng.calls)
	}

	// A gather without numDigits leaves it out: the entry ends with # or silence.
	eng.turn = ivr.Turn{Lang: "en", Gather: &ivr.Gather{Step: "weight", Prompt: "Enter your weight.", Timeout: 10}}
	_, doc = postVoice(t, srv, public, "/webhooks/twilio/voice/input?call=42&step=x", url.Values{})
	if g := doc.Verbs[0]; g.XMLName.Local != "Gather" || g.NumDigits != "" || g.Hints != "" {
		t.Errorf("entry gather = %+v", g)
	}
}

func TestVoiceWebhookFailures(t *testing.T) {
	eng := &fakeVoice{err: errors.New("database down")}
	srv, public := voiceServer(t, eng)
	// The engine failed: an apology and a hang-up, with 200 so that Twilio plays it.
	code, doc := postVoice(t, srv, public, "/webhooks/twilio/voice/answer?call=7", url.Values{"CallSid": {"CA2"}})
	if code != http.StatusOK || len(doc.Verbs) != 2 || doc.Verbs[0].Text != ivr.Trouble.In("en") || doc.Verbs[1].XMLName.Local != "Hangup" {
		t.Errorf("engine error: %d %+v", code, doc)
	}
	for path, want := range map[string]int{
		"/webhooks/twilio/voice/answer?call=x":  http.StatusBadRequest,
		"/webhooks/twilio/voice/answer?call=-1": http.StatusBadRequest,
		"/webhooks/twilio/voice/other?call=1":   http.StatusNotFound,
	} {
		if code, _ := postVoice(t, srv, public, path, url.Values{}); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	// An unsigned request never reaches the engine.
	before := len(eng.calls)
	resp, err := http.PostForm(srv.URL+"/webhooks/twilio/voice/answer?call=7", url.Values{"CallSid": {"CA3"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(eng.calls) != before {
		t.Errorf("unsigned: %d, engine called %d times", resp.StatusCode, len(eng.calls)-before)
	}
}
