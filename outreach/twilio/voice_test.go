package twilio_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
	"github.com/outreach-engine/outreach/outreach/ivr"
	"github.com/outreach-engine/outreach/outreach/twilio"
	"github.com/outreach-engine/outreach/scripts"
)

// say is a <Say> as parsed.
type say struct {
	Voice    string `xml:"voice,attr"`
	Language string `xml:"language,attr"`
	Text     string `xml:",chardata"`
}

// verb is any verb of a TwiML answer, with the attributes the tests read.
type verb struct {
	XMLName       xml.Name
	Voice         string  `xml:"voice,attr"`
	Language      string  `xml:"language,attr"`
	Text          string  `xml:",chardata"`
	Input         string  `xml:"input,attr"`
	Action        string  `xml:"action,attr"`
	Method        string  `xml:"method,attr"`
	NumDigits     *string `xml:"numDigits,attr"`
	FinishOnKey   string  `xml:"finishOnKey,attr"`
	Hints         *string `xml:"hints,attr"`
	Timeout       *string `xml:"timeout,attr"`
	SpeechTimeout string  `xml:"speechTimeout,attr"`
	OnEmpty       string  `xml:"actionOnEmptyResult,attr"`
	Say           []say   `xml:"Say"`
}

// twimlDoc is TwiML as parsed: twiml writes attributes in any order, so tests never compare text.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []verb   `xml:",any"`
}

// names lists the verbs of a document.
func (d twimlDoc) names() string {
	var n []string
	for _, v := range d.Verbs {
		n = append(n, v.XMLName.Local)
	}
	return strings.Join(n, ",")
}

// fakeVoice records what the handler asked and answers with its turn and error.
type fakeVoice struct {
	mu   sync.Mutex
	log  []string
	ins  []ivr.Input
	turn ivr.Turn
	err  error
}

func (f *fakeVoice) CallAnswered(_ context.Context, call int64, sid, by string) (ivr.Turn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf("answered %d %s %s", call, sid, by))
	return f.turn, f.err
}

func (f *fakeVoice) CallInput(_ context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf("input %d %s", call, step))
	f.ins = append(f.ins, in)
	return f.turn, f.err
}

func (f *fakeVoice) set(turn ivr.Turn, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.turn, f.err = turn, err
}

// asked returns what the engine was asked so far.
func (f *fakeVoice) asked() ([]string, []ivr.Input) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...), append([]ivr.Input(nil), f.ins...)
}

const voiceToken = "voicetoken123"

// voiceTest serves the voice webhooks behind Verify, as cmd mounts them, at a public URL with a
// path prefix.
type voiceTest struct {
	srv    *httptest.Server
	public *url.URL
	eng    *fakeVoice
	logs   *syncBuffer
}

func newVoiceTest(t *testing.T) *voiceTest {
	t.Helper()
	vt := &voiceTest{eng: &fakeVoice{}, logs: &syncBuffer{}}
	vt.public, _ = url.Parse("https://outreach.example.org/engine")
	mux := http.NewServeMux()
	h := twilio.VoiceHandler(vt.eng, vt.public, slog.New(slog.NewTextHandler(vt.logs, nil)))
	mux.Handle("POST /webhooks/twilio/voice/", twilio.Verify(voiceToken, vt.public)(h))
	vt.srv = httptest.NewServer(mux)
	t.Cleanup(vt.srv.Close)
	return vt
}

// post posts a form to path, signed as Twilio signs it, and parses the TwiML answer.
func (vt *voiceTest) post(t *testing.T, path string, form url.Values) (int, twimlDoc) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, vt.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Sign(voiceToken, vt.public.String()+path, form))
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestVoiceAnswerAndInput(t *testing.T) {
	vt := newVoiceTest(t)
	const step = "blood pressure&more=1/2?"
	vt.eng.set(ivr.Turn{Lang: scripts.Spanish, Say: []string{"Hola.", "Primera pregunta."},
		Gather: &ivr.Gather{Step: step, Prompt: "Marque…", NumDigits: 1, Hints: []string{"sí", "no"}, Timeout: 7}}, nil)

	code, doc := vt.post(t, "/webhooks/twilio/voice/answer?call=42",
		url.Values{"CallSid": {"CA1"}, "AnsweredBy": {"human"}, "To": {"+15550001111"}})
	if code != http.StatusOK || doc.names() != "Say,Say,Gather" {
		t.Fatalf("answer: %d %+v", code, doc)
	}
	for i, want := range []string{"Hola.", "Primera pregunta."} {
		if v := doc.Verbs[i]; v.Text != want || v.Voice != "Polly.Lupe" || v.Language != "es-US" {
			t.Errorf("say %d = %+v", i, v)
		}
	}
	g := doc.Verbs[2]
	if g.Input != "dtmf speech" || g.Method != "POST" || g.Language != "es-US" || g.SpeechTimeout != "auto" ||
		g.OnEmpty != "true" || g.FinishOnKey != "#" || deref(g.NumDigits) != "1" || deref(g.Hints) != "sí, no" || deref(g.Timeout) != "7" {
		t.Errorf("gather = %+v", g)
	}
	if len(g.Say) != 1 || g.Say[0] != (say{Voice: "Polly.Lupe", Language: "es-US", Text: "Marque…"}) {
		t.Errorf("gather prompt = %+v", g.Say)
	}
	action, err := url.Parse(g.Action)
	if err != nil || action.Scheme != "https" || action.Host != "outreach.example.org" ||
		action.Path != "/engine/webhooks/twilio/voice/input" || action.Query().Get("call") != "42" || action.Query().Get("step") != step {
		t.Errorf("action = %q", g.Action)
	}

	// The patient's input, posted to the action as Twilio posts it: signed, with the query.
	vt.eng.set(ivr.Turn{Lang: scripts.English, Say: []string{"Thank you."}}, nil)
	path := strings.TrimPrefix(g.Action, vt.public.String())
	code, doc = vt.post(t, path, url.Values{"CallSid": {"CA1"}, "Digits": {"130*80"}, "SpeechResult": {""}, "Confidence": {"0"}})
	if code != http.StatusOK || doc.names() != "Say,Hangup" || doc.Verbs[0].Voice != "Polly.Joanna" || doc.Verbs[0].Language != "en-US" {
		t.Fatalf("input: %d %+v", code, doc)
	}
	if code, _ = vt.post(t, path, url.Values{"CallSid": {"CA1"}, "SpeechResult": {"one thirty over eighty"}, "Confidence": {"0.9"}}); code != http.StatusOK {
		t.Fatal(code)
	}
	asked, ins := vt.eng.asked()
	if want := []string{"answered 42 CA1 human", "input 42 " + step, "input 42 " + step}; strings.Join(asked, "|") != strings.Join(want, "|") {
		t.Errorf("engine asked %q, want %q", asked, want)
	}
	if want := []ivr.Input{{Digits: "130*80"}, {Speech: "one thirty over eighty"}}; len(ins) != 2 || ins[0] != want[0] || ins[1] != want[1] {
		t.Errorf("inputs = %+v", ins)
	}

	// A call with nothing left to say hangs up.
	vt.eng.set(ivr.Turn{Lang: scripts.English}, nil)
	if code, doc = vt.post(t, path, url.Values{"CallSid": {"CA1"}}); code != http.StatusOK || doc.names() != "Hangup" {
		t.Errorf("nothing to say: %d %+v", code, doc)
	}
}

func TestVoiceGatherAttributes(t *testing.T) {
	tests := []struct {
		name   string
		gather ivr.Gather
		check  func(t *testing.T, g verb)
	}{
		{"single key", ivr.Gather{Step: ivr.StepMenu, Prompt: "Press 1.", NumDigits: 1, Timeout: 7}, func(t *testing.T, g verb) {
			if deref(g.NumDigits) != "1" || deref(g.Timeout) != "7" {
				t.Errorf("gather = %+v", g)
			}
		}},
		{"entry ended by #", ivr.Gather{Step: "weight", Prompt: "Enter your weight.", Timeout: 10}, func(t *testing.T, g verb) {
			if g.NumDigits != nil || g.Hints != nil || g.FinishOnKey != "#" {
				t.Errorf("gather = %+v", g)
			}
		}},
		{"no timeout: Twilio's default", ivr.Gather{Step: "weight", Prompt: "Enter your weight."}, func(t *testing.T, g verb) {
			if g.Timeout != nil {
				t.Errorf("timeout = %q", *g.Timeout)
			}
		}},
		{"no prompt", ivr.Gather{Step: "weight", Timeout: 5}, func(t *testing.T, g verb) {
			if len(g.Say) != 0 {
				t.Errorf("gather says %+v", g.Say)
			}
		}},
	}
	vt := newVoiceTest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.eng.set(ivr.Turn{Lang: scripts.English, Gather: &tt.gather}, nil)
			code, doc := vt.post(t, "/webhooks/twilio/voice/input?call=3&step=x", url.Values{"CallSid": {"CA1"}})
			if code != http.StatusOK || doc.names() != "Gather" {
				t.Fatalf("%d %+v", code, doc)
			}
			tt.check(t, doc.Verbs[0])
		})
	}
}

func TestVoiceEngineFailure(t *testing.T) {
	const (
		number = "+15550009876"
		speech = "my chest hurts"
		digits = "4321"
	)
	for _, tt := range []struct {
		name    string
		lang    scripts.Language // the turn's language the engine returned with its error
		voice   string
		trouble string
	}{
		{"language unknown", "", "Polly.Joanna", ivr.Trouble.In(scripts.English)},
		{"language known", scripts.Spanish, "Polly.Lupe", ivr.Trouble.In(scripts.Spanish)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vt := newVoiceTest(t)
			vt.eng.set(ivr.Turn{Lang: tt.lang}, errors.New("database down"))
			for _, path := range []string{"/webhooks/twilio/voice/answer?call=7", "/webhooks/twilio/voice/input?call=7&step=menu"} {
				// An apology and a hang-up, with 200 so that Twilio plays it.
				code, doc := vt.post(t, path, url.Values{"CallSid": {"CA2"}, "From": {number}, "To": {number},
					"Digits": {digits}, "SpeechResult": {speech}})
				if code != http.StatusOK || doc.names() != "Say,Hangup" || doc.Verbs[0].Text != tt.trouble || doc.Verbs[0].Voice != tt.voice {
					t.Errorf("%s: %d %+v", path, code, doc)
				}
			}
			logs := vt.logs.String()
			if !strings.Contains(logs, "call=7") || !strings.Contains(logs, "database down") {
				t.Errorf("the failure is not logged with its call: %s", logs)
			}
			for _, phi := range []string{number, speech, digits} {
				if strings.Contains(logs, phi) {
					t.Errorf("the logs carry %q: %s", phi, logs)
				}
			}
		})
	}
}

func TestVoiceBadRequests(t *testing.T) {
	vt := newVoiceTest(t)
	vt.eng.set(ivr.Turn{Say: []string{"Hello."}}, nil)
	for path, want := range map[string]int{
		"/webhooks/twilio/voice/answer":                  http.StatusBadRequest,
		"/webhooks/twilio/voice/answer?call=x":           http.StatusBadRequest,
		"/webhooks/twilio/voice/answer?call=0":           http.StatusBadRequest,
		"/webhooks/twilio/voice/input?call=-1&step=menu": http.StatusBadRequest,
		"/webhooks/twilio/voice/input?call=1.5":          http.StatusBadRequest,
		"/webhooks/twilio/voice/other?call=1":            http.StatusNotFound,
		"/webhooks/twilio/voice/x/answer?call=1":         http.StatusNotFound,
	} {
		if code, _ := vt.post(t, path, url.Values{"CallSid": {"CA1"}}); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	if asked, _ := vt.eng.asked(); len(asked) != 0 {
		t.Errorf("the engine was asked %q", asked)
	}
	// An unsigned request never reaches the engine.
	resp, err := http.PostForm(vt.srv.URL+"/webhooks/twilio/voice/answer?call=7", url.Values{"CallSid": {"CA3"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if asked, _ := vt.eng.asked(); resp.StatusCode != http.StatusForbidden || len(asked) != 0 {
		t.Errorf("unsigned: %d, engine asked %q", resp.StatusCode, asked)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
