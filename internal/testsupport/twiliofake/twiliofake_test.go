package twiliofake_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "secret0token1"
)

func TestSignPublishedExample(t *testing.T) {
	const (
		u    = "https://mycompany.com/myapp.php?foo=1&bar=2"
		want = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	)
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	got := twiliofake.Sign("12345", u, params)
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	v := client.NewRequestValidator("12345")
	if !v.Validate(u, first(params), got) {
		t.Error("twilio-go's Validate refuses the signature")
	}
	if !v.ValidateBody(u, []byte(params.Encode()), got) {
		t.Error("twilio-go's ValidateBody refuses the signature")
	}
	if v.Validate(u, first(params), twiliofake.Sign("54321", u, params)) {
		t.Error("twilio-go's Validate accepts a signature with another token")
	}
}

// TestSignAgreesWithTwilioGo signs random forms and URLs and checks twilio-go's validator agrees.
func TestSignAgreesWithTwilioGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const chars = "abcXYZ019+ /&=?é_-"
		b := make([]rune, 1+r.IntN(12))
		for i := range b {
			b[i] = []rune(chars)[r.IntN(len([]rune(chars)))]
		}
		return string(b)
	}
	for i := range 200 {
		params := url.Values{}
		for range r.IntN(8) {
			params.Set(word(), word())
		}
		u := fmt.Sprintf("https://example.org/hooks/%d?x=%s", i, url.QueryEscape(word()))
		tok := strconv.Itoa(r.Int())
		sig := twiliofake.Sign(tok, u, params)
		v := client.NewRequestValidator(tok)
		if !v.Validate(u, first(params), sig) || !v.ValidateBody(u, []byte(params.Encode()), sig) {
			t.Fatalf("twilio-go refuses Sign(%q, %q, %v)", tok, u, params)
		}
	}
}

func first(v url.Values) map[string]string {
	m := map[string]string{}
	for k, vs := range v {
		m[k] = vs[0]
	}
	return m
}

// rewrite sends twilio-go's requests to the fake.
type rewrite struct{ to *url.URL }

func (rw rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = rw.to.Scheme, rw.to.Host, ""
	return http.DefaultTransport.RoundTrip(req)
}

func api(t *testing.T, s *twiliofake.Server, tok string) *openapi.ApiService {
	t.Helper()
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Credentials: client.NewCredentials(sid, tok),
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: rewrite{u}}}
	c.SetAccountSid(sid)
	return openapi.NewApiServiceWithClient(c)
}

func newServer(t *testing.T) *twiliofake.Server {
	s := twiliofake.New(sid, token)
	t.Cleanup(s.Close)
	return s
}

// TestMessagesLeaveTheQueue: a created message is queued with no date_sent, as at Twilio, and is
// sent (date_sent set) when its time comes; listing by number finds it in either state.
func TestMessagesLeaveTheQueue(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	at := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	now := at
	s.SetClock(func() time.Time { return now })
	s.SetSendAfter(30 * time.Second)
	msg, err := send(a, "+15550002222", "Hello")
	if err != nil {
		t.Fatal(err)
	}
	if *msg.Status != "queued" || msg.DateSent != nil {
		t.Errorf("created: status %q, date_sent %v; want queued and null", *msg.Status, msg.DateSent)
	}
	list := func(p *openapi.ListMessageParams) []openapi.ApiV2010Message {
		t.Helper()
		msgs, err := a.ListMessage(p.SetTo("+15550002222"))
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	if got := list(&openapi.ListMessageParams{}); len(got) != 1 || *got[0].Status != "queued" || got[0].DateSent != nil {
		t.Errorf("listed while queued: %+v", got)
	}
	if got := list((&openapi.ListMessageParams{}).SetDateSentAfter(at.Add(-time.Hour))); len(got) != 0 {
		t.Errorf("a queued message matched a DateSent filter: %+v", got)
	}
	now = at.Add(30 * time.Second)
	got := list((&openapi.ListMessageParams{}).SetDateSentAfter(at.Add(-time.Hour)))
	if len(got) != 1 || *got[0].Status != "sent" || got[0].DateSent == nil || *got[0].DateSent != "Fri, 20 Nov 2026 15:00:30 +0000" {
		t.Errorf("listed once sent: %+v", got)
	}
	if !s.SetStatus(*msg.Sid, "delivered") || s.Messages()[0].DateSent != at.Add(30*time.Second) {
		t.Errorf("delivered: %+v", s.Messages())
	}
}

func send(a *openapi.ApiService, to, body string) (*openapi.ApiV2010Message, error) {
	p := &openapi.CreateMessageParams{}
	return a.CreateMessage(p.SetTo(to).SetFrom("+15550001111").SetBody(body).SetStatusCallback("https://x.example/cb").SetValidityPeriod(600))
}

func TestCreateThroughTwilioGo(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	before := time.Now().Add(-time.Second)
	msg, err := send(a, "+15550002222", "Hello")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Sid == nil || len(*msg.Sid) != 34 || !strings.HasPrefix(*msg.Sid, "SM") || *msg.Status != "queued" ||
		*msg.To != "+15550002222" || *msg.From != "+15550001111" || *msg.Body != "Hello" || *msg.AccountSid != sid {
		t.Errorf("message = %+v", msg)
	}
	if created, err := time.Parse(time.RFC1123Z, *msg.DateCreated); err != nil || created.Before(before.Truncate(time.Second)) {
		t.Errorf("date_created = %q (%v)", *msg.DateCreated, err)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || s.Count() != 1 {
		t.Fatalf("requests = %+v", reqs)
	}
	r := reqs[0]
	if r.SID != *msg.Sid || r.Status != 201 || r.To != "+15550002222" || r.From != "+15550001111" || r.Body != "Hello" ||
		r.StatusCallback != "https://x.example/cb" || r.ValidityPeriod != "600" || r.Time.Before(before) {
		t.Errorf("request = %+v", r)
	}
	reqs[0].Form.Set("To", "changed")
	if s.Requests()[0].Form.Get("To") != "+15550002222" {
		t.Error("Requests shares its forms with the fake")
	}

	var rest *client.TwilioRestError
	if _, err := send(api(t, s, "wrong0token"), "+15550002222", "Hello"); !errors.As(err, &rest) || rest.Status != 401 || rest.Code != 20003 {
		t.Errorf("wrong token: %v", err)
	}
	s.Fail(400, 21610)
	if _, err := send(a, "+15550002222", "Hello"); !errors.As(err, &rest) || rest.Status != 400 || rest.Code != 21610 {
		t.Errorf("scripted failure: %v", err)
	}
	s.Fail(400, 21211)
	if _, err := send(a, "+15550003333", "Hello"); !errors.As(err, &rest) || !strings.Contains(rest.Message, "+15550003333") {
		t.Errorf("21211 does not quote the number as Twilio does: %v", err)
	}
	if _, err := a.CreateMessage((&openapi.CreateMessageParams{}).SetTo("+15550002222").SetBody("x")); !errors.As(err, &rest) || rest.Code != 21603 {
		t.Errorf("no sender: %v", err)
	}
	// The unauthenticated request is not recorded.
	if got := s.Count(); got != 4 || len(s.Messages()) != 1 {
		t.Errorf("Count = %d, messages %d; want 4 requests, 1 message", got, len(s.Messages()))
	}
}

func TestListThroughTwilioGo(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	day := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	for i := range 7 {
		s.Add(twiliofake.Message{To: "+15550002222", Body: fmt.Sprint("m", i), DateCreated: day.Add(time.Duration(i) * time.Hour)})
	}
	s.Add(twiliofake.Message{To: "+15550009999", Body: "other", DateCreated: day})
	s.Add(twiliofake.Message{To: "+15550002222", Body: "day before", DateCreated: day.AddDate(0, 0, -1)})
	s.Add(twiliofake.Message{To: "+15550002222", Body: "queued", Status: "queued", DateCreated: day})
	s.SetSendAfter(-1) // "queued" stays queued

	// Pages of 2, through next_page_uri; the day of DateSent> counts, not its time.
	p := &openapi.ListMessageParams{}
	msgs, err := a.ListMessage(p.SetTo("+15550002222").SetDateSentAfter(day.Add(5 * time.Hour)).SetPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, *m.Body)
	}
	// "queued" has no DateSent yet: no date filter matches it, as at Twilio.
	if got := strings.Join(bodies, ","); got != "m6,m5,m4,m3,m2,m1,m0" {
		t.Errorf("listed %s", got)
	}
	if *msgs[0].Status != "delivered" || *msgs[0].DateSent == "" {
		t.Errorf("first = %+v", msgs[0])
	}
	s.SetClock(func() time.Time { return day.Add(time.Minute) })
	if msg, err := send(a, "+15550005555", "pinned"); err != nil || *msg.DateCreated != "Fri, 20 Nov 2026 15:01:00 +0000" {
		t.Errorf("with a pinned clock: %v, %v", msg, err)
	}
	msgs, err = a.ListMessage((&openapi.ListMessageParams{}).SetTo("+15550002222").SetLimit(3))
	if err != nil || len(msgs) != 3 {
		t.Errorf("limit 3: %d messages, %v", len(msgs), err)
	}
	if !s.SetStatus(*msgs[0].Sid, "undelivered") || s.SetStatus("SMnone", "sent") {
		t.Error("SetStatus")
	}
	s.FailLookup(500, 20500)
	var rest *client.TwilioRestError
	if _, err := a.ListMessage((&openapi.ListMessageParams{}).SetTo("+15550002222")); !errors.As(err, &rest) || rest.Code != 20500 {
		t.Errorf("scripted lookup failure: %v", err)
	}
}

// TestScriptedAnswers drives the fake with a bare HTTP client, to see exactly what it answers.
func TestScriptedAnswers(t *testing.T) {
	s := newServer(t)
	post := func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json",
			strings.NewReader(url.Values{"To": {"+15550002222"}, "From": {"+15550001111"}, "Body": {"x"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(sid, token)
		return c.Do(req)
	}
	s.FailHTML(503, 7)
	resp, err := post(http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("FailHTML answered %d %v", resp.StatusCode, resp.Header)
	}
	s.Drop()
	if resp, err := post(http.DefaultClient); err == nil {
		resp.Body.Close()
		t.Errorf("Drop answered %d", resp.StatusCode)
	}
	s.Hang(time.Hour)
	if resp, err := post(&http.Client{Timeout: 100 * time.Millisecond}); err == nil {
		resp.Body.Close()
		t.Errorf("Hang answered %d", resp.StatusCode)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Status != 503 || reqs[0].SID != "" || reqs[1].Status != 0 || reqs[1].SID != "" || reqs[2].SID == "" {
		t.Errorf("requests = %+v", reqs)
	}
	if msgs := s.Messages(); len(msgs) != 1 || msgs[0].SID != reqs[2].SID {
		t.Errorf("a hung answer must have created its message (it was accepted), a dropped one not: %+v", msgs)
	}

	// Close releases a hung handler rather than waiting for it.
	s.Hang(time.Hour)
	go post(&http.Client{}) //nolint:errcheck
	for s.Count() < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestConcurrentLoad(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	s.SetDelay(2 * time.Millisecond)
	s.SetErrorRate(0.3, 429, 20429)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sids := map[string]bool{}
	failed := 0
	for i := range 60 {
		wg.Go(func() {
			msg, err := send(a, fmt.Sprintf("+1555000%04d", i), "load")
			mu.Lock()
			defer mu.Unlock()
			var rest *client.TwilioRestError
			switch {
			case errors.As(err, &rest) && rest.Code == 20429:
				failed++
			case err != nil:
				t.Error(err)
			default:
				sids[*msg.Sid] = true
			}
		})
	}
	wg.Wait()
	if s.Count() != 60 || len(sids)+failed != 60 || len(s.Messages()) != len(sids) {
		t.Errorf("count %d, %d distinct sids, %d failed, %d messages", s.Count(), len(sids), failed, len(s.Messages()))
	}
	if failed == 0 || failed == 60 {
		t.Errorf("%d of 60 failed at an error rate of 0.3", failed)
	}
}

// callParams are a call's parameters as the outreach channel sends them.
func callParams(to string) *openapi.CreateCallParams {
	p := &openapi.CreateCallParams{}
	return p.SetTo(to).SetFrom("+15550001111").SetUrl("https://x.example/voice/answer?call=1").SetMethod("POST").
		SetStatusCallback("https://x.example/status?call=1").SetStatusCallbackMethod("POST").
		SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"}).
		SetMachineDetection("Enable").SetTimeout(30)
}

func TestCallsThroughTwilioGo(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	before := time.Now().Add(-time.Second)
	call, err := a.CreateCall(callParams("+15550002222"))
	if err != nil {
		t.Fatal(err)
	}
	if call.Sid == nil || !regexp.MustCompile(`^CA[0-9a-f]{32}$`).MatchString(*call.Sid) || *call.Status != "queued" ||
		*call.To != "+15550002222" || *call.From != "+15550001111" || *call.AccountSid != sid {
		t.Errorf("call = %+v", call)
	}
	calls := s.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	c := calls[0]
	if c.SID != *call.Sid || c.Status != 201 || c.To != "+15550002222" || c.From != "+15550001111" ||
		c.URL != "https://x.example/voice/answer?call=1" || c.Method != "POST" || c.StatusCallback != "https://x.example/status?call=1" ||
		c.StatusCallbackMethod != "POST" || c.MachineDetection != "Enable" || c.Timeout != "30" || c.Time.Before(before) ||
		!slices.Equal(c.StatusCallbackEvent, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("call request = %+v", c)
	}
	calls[0].StatusCallbackEvent[0] = "changed"
	if s.Calls()[0].StatusCallbackEvent[0] != "initiated" {
		t.Error("Calls shares its events with the fake")
	}
	if s.Count() != 0 || len(s.Messages()) != 0 {
		t.Error("a call was recorded as a message")
	}

	var rest *client.TwilioRestError
	if _, err := api(t, s, "wrong0token").CreateCall(callParams("+15550002222")); !errors.As(err, &rest) || rest.Status != 401 || rest.Code != 20003 {
		t.Errorf("wrong token: %v", err)
	}
	tests := []struct {
		name string
		p    *openapi.CreateCallParams
		code int
	}{
		{"no To", (&openapi.CreateCallParams{}).SetFrom("+15550001111").SetUrl("https://x.example/a"), 21201},
		{"no From", (&openapi.CreateCallParams{}).SetTo("+15550002222").SetUrl("https://x.example/a"), 21213},
		{"no Url", (&openapi.CreateCallParams{}).SetTo("+15550002222").SetFrom("+15550001111"), 21205},
		{"invalid To", callParams("555-0100"), 21211},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.CreateCall(tt.p)
			if !errors.As(err, &rest) || rest.Status != 400 || rest.Code != tt.code {
				t.Fatalf("error %v, want 400 with code %d", err, tt.code)
			}
			if tt.code == 21211 && !strings.Contains(rest.Message, "555-0100") {
				t.Errorf("21211 does not quote the number as Twilio does: %q", rest.Message)
			}
		})
	}
	// The unauthenticated request is not recorded; the refused ones are, without a sid.
	calls = s.Calls()
	if len(calls) != 1+len(tests) {
		t.Fatalf("%d calls recorded, want %d", len(calls), 1+len(tests))
	}
	for _, c := range calls[1:] {
		if c.SID != "" || c.Status != 400 {
			t.Errorf("refused call recorded as %+v", c)
		}
	}
}

// TestCallsScriptedAnswers: the answers scripted for creations apply to calls too, in one queue
// with messages.
func TestCallsScriptedAnswers(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	var rest *client.TwilioRestError

	s.Fail(429, 20429)
	s.Fail(400, 21610)
	if _, err := a.CreateCall(callParams("+15550002222")); !errors.As(err, &rest) || rest.Status != 429 || rest.Code != 20429 {
		t.Errorf("first scripted answer, to a call: %v", err)
	}
	if _, err := send(a, "+15550002222", "x"); !errors.As(err, &rest) || rest.Code != 21610 {
		t.Errorf("second scripted answer, to a message: %v", err)
	}

	s.FailHTML(503, 7)
	if _, err := a.CreateCall(callParams("+15550002222")); err == nil || errors.As(err, &rest) {
		t.Errorf("a proxy's page reached twilio-go as %v", err)
	}

	s.SetErrorRate(1, 500, 20500)
	if _, err := a.CreateCall(callParams("+15550002222")); !errors.As(err, &rest) || rest.Code != 20500 {
		t.Errorf("at an error rate of 1: %v", err)
	}
	s.SetErrorRate(0, 0, 0)

	s.SetDelay(50 * time.Millisecond)
	start := time.Now()
	if _, err := a.CreateCall(callParams("+15550002222")); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Errorf("with a delay: %v after %v", err, time.Since(start))
	}
	s.SetDelay(0)

	// No answer at all: twilio-go cannot tell these apart, so they are driven with a bare client.
	noAnswer := func(name string, c *http.Client) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+sid+"/Calls.json",
			strings.NewReader(url.Values{"To": {"+15550002222"}, "From": {"+15550001111"}, "Url": {"https://x.example/a"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(sid, token)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("%s answered %d", name, resp.StatusCode)
		}
	}
	s.Drop()
	noAnswer("Drop", http.DefaultClient)
	s.Hang(time.Hour)
	noAnswer("Hang", &http.Client{Timeout: 100 * time.Millisecond})

	calls := s.Calls()
	var got []string
	for _, c := range calls {
		got = append(got, fmt.Sprintf("%d:%t", c.Status, c.SID != ""))
	}
	// 429, 503, 500, delayed, dropped (nothing answered or created), hung (accepted).
	if want := "429:false,503:false,500:false,201:true,0:false,201:true"; strings.Join(got, ",") != want {
		t.Errorf("calls recorded as %s, want %s", strings.Join(got, ","), want)
	}
}

func TestForgetKeepsIDsUnique(t *testing.T) {
	s := newServer(t)
	a := api(t, s, token)
	first, err := send(a, "+15550002222", "one")
	if err != nil {
		t.Fatal(err)
	}
	s.Forget()
	if s.Count() != 0 || len(s.Messages()) != 0 || len(s.Requests()) != 0 {
		t.Fatalf("after Forget: %d requests, %d messages", s.Count(), len(s.Messages()))
	}
	second, err := send(a, "+15550002222", "two")
	if err != nil {
		t.Fatal(err)
	}
	if *first.Sid == *second.Sid || s.Count() != 1 {
		t.Errorf("sids %s and %s, %d requests held; want two ids and one request", *first.Sid, *second.Sid, s.Count())
	}
}
