// Package twiliofake is a fake of Twilio's 2010 REST API for tests: enough of the Messages
// resource for the twilio-go client to create and list messages, and of the Calls resource to
// place calls, with scripted failures (Twilio's JSON errors, a proxy's HTML page, a hung answer, a
// dropped connection) and a signer for webhooks as Twilio signs them. As at Twilio, a created
// message is "queued" with no date_sent until it leaves the queue ("sent", date_sent set), a
// second later by default (SetSendAfter).
//
// A Server is safe for concurrent use.
package twiliofake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is a message creation the fake received (POST .../Messages.json), whatever it answered.
type Request struct {
	Time                time.Time // when the fake received it
	To                  string
	From                string
	MessagingServiceSid string
	Body                string
	StatusCallback      string
	ValidityPeriod      string
	Form                url.Values // every posted parameter
	// SID is the message the request created; empty when the fake answered with a failure or
	// dropped the connection.
	SID string
	// Status is the HTTP status the fake answered (or meant to, for a hung answer the client gave
	// up on); 0 when it dropped the connection.
	Status int
}

// Message is a message resource the fake holds: created by a request, or added with Add.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSid string
	Body                string
	Status              string // queued, sent, delivered, undelivered, failed, …
	ErrorCode           int
	DateCreated         time.Time
	DateSent            time.Time // zero: not sent (null in the API)
}

// answer is a scripted answer to one message creation.
type answer struct {
	kind       answerKind
	status     int
	code       int
	retryAfter int
	wait       time.Duration
}

type answerKind int

const (
	answerFail answerKind = iota + 1
	answerHTML
	answerHang
	answerDrop
)

// Server is a fake Twilio REST API on a local address. Creations, of messages and calls alike,
// are answered by the scripted answers queued with Fail, FailHTML, Hang and Drop, in order, and
// accepted once the queue is empty.
type Server struct {
	sid, token string
	srv        *httptest.Server
	closing    chan struct{}
	closeOnce  sync.Once

	mu        sync.Mutex
	script    []answer
	lookups   []answer
	requests  []Request
	messages  []Message // in creation order
	n         int       // messages created, for sids
	calls     []CallRequest
	nCalls    int
	delay     time.Duration
	errorRate float64
	errStatus int
	errCode   int
	sendAfter time.Duration // how long a created message stays queued; negative: until SetStatus
	now       func() time.Time
}

// New starts a fake for the account accountSID, accepting HTTP basic auth with accountSID and
// authToken only. Close it when done.
func New(accountSID, authToken string) *Server {
	s := &Server{sid: accountSID, token: authToken, closing: make(chan struct{}), sendAfter: time.Second, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.create)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", s.list)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", s.createCall)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "")
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the fake's base URL, e.g. http://127.0.0.1:PORT, to use in place of https://api.twilio.com.
func (s *Server) URL() string { return s.srv.URL }

// Close releases hung answers and shuts the fake down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.srv.Close()
}

// Requests returns a copy of the message creations received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.requests)
	for i := range out {
		out[i].Form = cloneValues(out[i].Form)
	}
	return out
}

// Forget drops the message creations, messages and calls the fake holds, so that a long run
// does not keep them all; ids go on from where they were and never repeat.
func (s *Server) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.messages, s.calls = nil, nil, nil
}

// Count is how many message creations the fake received (since Forget).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Messages returns a copy of the messages the fake holds, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaveQueue()
	return slices.Clone(s.messages)
}

// waiting reports whether a message in this status has not left Twilio yet: it has no DateSent.
func waiting(status string) bool {
	switch status {
	case "queued", "accepted", "scheduled", "failed":
		return true
	}
	return false
}

// leaveQueue sends, as Twilio does some time after creating them, the queued messages whose
// time has come: their status becomes "sent" and DateSent is set. The caller holds s.mu.
func (s *Server) leaveQueue() {
	if s.sendAfter < 0 {
		return
	}
	now := s.now()
	for i := range s.messages {
		m := &s.messages[i]
		if m.Status != "queued" || !m.DateSent.IsZero() {
			continue
		}
		if at := m.DateCreated.Add(s.sendAfter); !now.Before(at) {
			m.Status, m.DateSent = "sent", at
		}
	}
}

// SetSendAfter sets how long a created message stays queued at the fake, with no DateSent,
// before it is sent (one second by default); a negative d keeps messages queued until SetStatus,
// as a backed-up sender does.
func (s *Server) SetSendAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendAfter = d
}

// Add stores a message as if it had been created earlier (DateCreated; now when zero) and returns
// its sid. Status defaults to "delivered"; DateSent defaults to DateCreated, except for a
// message that has not left Twilio (queued, accepted, scheduled or failed), which has none.
func (s *Server) Add(m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.DateCreated.IsZero() {
		m.DateCreated = s.now()
	}
	if m.Status == "" {
		m.Status = "delivered"
	}
	if m.DateSent.IsZero() && !waiting(m.Status) {
		m.DateSent = m.DateCreated
	}
	if m.SID == "" {
		s.n++
		m.SID = fmt.Sprintf("SM%032x", s.n)
	}
	s.messages = append(s.messages, m)
	return m.SID
}

// SetStatus changes a held message's status, as its delivery would (a message that leaves the
// queue gets its DateSent now); it reports whether the message exists.
func (s *Server) SetStatus(sid, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.messages {
		if m := &s.messages[i]; m.SID == sid {
			m.Status = status
			if m.DateSent.IsZero() && !waiting(status) {
				m.DateSent = s.now()
			}
			return true
		}
	}
	return false
}

// Fail makes the next creation (of a message or a call) fail with Twilio's JSON error body, e.g.
// Fail(400, 21610) or Fail(429, 20429).
func (s *Server) Fail(status, code int) {
	s.push(answer{kind: answerFail, status: status, code: code})
}

// FailHTML makes the next creation fail with a non-JSON page, as a proxy in front of
// Twilio answers, with a Retry-After header of retryAfter seconds when it is positive.
func (s *Server) FailHTML(status, retryAfter int) {
	s.push(answer{kind: answerHTML, status: status, retryAfter: retryAfter})
}

// Hang makes the next creation accept the message or call, then wait d (or until the client
// gives up or the fake closes) before answering: a client with a shorter timeout cannot know it
// was accepted.
func (s *Server) Hang(d time.Duration) {
	s.push(answer{kind: answerHang, wait: d})
}

// Drop makes the next creation read the request, then close the connection without answering
// or creating anything.
func (s *Server) Drop() {
	s.push(answer{kind: answerDrop})
}

// FailLookup makes the next message list fail with Twilio's JSON error body.
func (s *Server) FailLookup(status, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups = append(s.lookups, answer{kind: answerFail, status: status, code: code})
}

// SetDelay makes every creation that is not scripted wait d before it is answered (for
// load tests).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetErrorRate makes that fraction (0 to 1) of the creations that are not scripted fail
// at random with Twilio's JSON error, e.g. SetErrorRate(0.1, 429, 20429) (for load tests).
func (s *Server) SetErrorRate(rate float64, status, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errorRate, s.errStatus, s.errCode = rate, status, code
}

// SetClock replaces time.Now for the dates the fake gives messages and requests.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

func (s *Server) push(a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, a)
}

// authorized answers 401 or 404 as Twilio does and reports false when the request is not for
// this account with its credentials.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); !ok || u != s.sid || p != s.token {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "")
		return false
	}
	if r.PathValue("sid") != s.sid {
		writeError(w, http.StatusNotFound, 20404, "")
		return false
	}
	return true
}

// form checks a creation's credentials and reads its form, or answers with Twilio's error.
func (s *Server) form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if !s.authorized(w, r) {
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "")
		return nil, false
	}
	return r.PostForm, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	req := Request{Time: s.now(), To: f.Get("To"), From: f.Get("From"), MessagingServiceSid: f.Get("MessagingServiceSid"),
		Body: f.Get("Body"), StatusCallback: f.Get("StatusCallback"), ValidityPeriod: f.Get("ValidityPeriod"), Form: cloneValues(f)}
	a := s.nextAnswer()
	delay := s.delay
	if a.kind == 0 || a.kind == answerHang {
		switch {
		case req.To == "":
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21604}
		case req.From == "" && req.MessagingServiceSid == "":
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21603}
		case req.Body == "" && f.Get("MediaUrl") == "" && f.Get("ContentSid") == "":
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21602}
		}
	}
	var msg Message
	if a.kind == 0 || a.kind == answerHang {
		s.n++
		msg = Message{SID: fmt.Sprintf("SM%032x", s.n), To: req.To, From: req.From, MessagingServiceSid: req.MessagingServiceSid,
			Body: req.Body, Status: "queued", DateCreated: req.Time}
		s.messages = append(s.messages, msg)
		req.SID, req.Status = msg.SID, http.StatusCreated
	} else if a.kind != answerDrop {
		req.Status = a.status
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	s.respond(w, r, a, delay, func() any { return s.resource(msg) })
}

// nextAnswer takes the next scripted answer (for a message or a call creation), or a random failure at the error rate; the zero
// answer accepts. The caller holds s.mu.
func (s *Server) nextAnswer() answer {
	switch {
	case len(s.script) > 0:
		a := s.script[0]
		s.script = s.script[1:]
		return a
	case s.errorRate > 0 && rand.Float64() < s.errorRate:
		return answer{kind: answerFail, status: s.errStatus, code: s.errCode}
	}
	return answer{}
}

// respond writes a scripted answer, or the created resource after the fake's delay.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, a answer, delay time.Duration, created func() any) {
	switch a.kind {
	case answerFail:
		writeError(w, a.status, a.code, r.PostForm.Get("To"))
	case answerHTML:
		w.Header().Set("Content-Type", "text/html")
		if a.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(a.retryAfter))
		}
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%[1]d %[2]s</h1></body></html>\n",
			a.status, http.StatusText(a.status))
	case answerDrop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // closes the connection without an answer
		}
		conn.Close()
	default:
		wait := delay
		if a.kind == answerHang {
			wait = a.wait
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
			case <-s.closing:
			}
		}
		writeJSON(w, http.StatusCreated, created())
	}
}

// CallRequest is a call creation the fake received (POST .../Calls.json), whatever it answered.
type CallRequest struct {
	Time                 time.Time // when the fake received it
	To, From             string
	URL, Method          string
	StatusCallback       string
	StatusCallbackMethod string
	StatusCallbackEvent  []string
	MachineDetection     string
	Timeout              string
	// SID is the call the request created; empty when the fake answered with a failure or
	// dropped the connection.
	SID    string
	Status int // the HTTP status the fake answered; 0 when it dropped the connection
}

// Calls returns a copy of the call creations received so far, in order.
func (s *Server) Calls() []CallRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallRequest, len(s.calls))
	for i, c := range s.calls {
		c.StatusCallbackEvent = slices.Clone(c.StatusCallbackEvent)
		out[i] = c
	}
	return out
}

// e164 is a phone number as Twilio takes it: + and up to 15 digits. (Twilio also calls client:
// and sip: addresses; the fake refuses them as invalid numbers.)
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// createCall answers a call creation like a message creation: the scripted answers (Fail,
// FailHTML, Hang, Drop, SetErrorRate) apply to the next creation of either.
func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	req := CallRequest{Time: s.now(), To: f.Get("To"), From: f.Get("From"), URL: f.Get("Url"), Method: f.Get("Method"),
		StatusCallback: f.Get("StatusCallback"), StatusCallbackMethod: f.Get("StatusCallbackMethod"),
		StatusCallbackEvent: slices.Clone(f["StatusCallbackEvent"]), MachineDetection: f.Get("MachineDetection"),
		Timeout: f.Get("Timeout")}
	a := s.nextAnswer()
	if a.kind == 0 || a.kind == answerHang {
		switch {
		case req.To == "":
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21201}
		case req.From == "":
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21213}
		case req.URL == "" && f.Get("Twiml") == "" && f.Get("ApplicationSid") == "":
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21205}
		case !e164.MatchString(req.To):
			a = answer{kind: answerFail, status: http.StatusBadRequest, code: 21211}
		}
	}
	var sid string
	if a.kind == 0 || a.kind == answerHang {
		s.nCalls++
		sid = fmt.Sprintf("CA%032x", s.nCalls)
		req.SID, req.Status = sid, http.StatusCreated
	} else if a.kind != answerDrop {
		req.Status = a.status
	}
	s.calls = append(s.calls, req)
	delay := s.delay
	s.mu.Unlock()
	s.respond(w, r, a, delay, func() any {
		return map[string]any{"sid": sid, "account_sid": s.sid, "to": req.To, "from": req.From, "status": "queued",
			"direction": "outbound-api", "api_version": "2010-04-01", "date_created": req.Time.UTC().Format(time.RFC1123Z),
			"uri": fmt.Sprintf("/2010-04-01/Accounts/%s/Calls/%s.json", s.sid, sid)}
	})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	s.leaveQueue()
	var a answer
	if len(s.lookups) > 0 {
		a, s.lookups = s.lookups[0], s.lookups[1:]
	}
	var match []Message
	for _, m := range s.messages {
		if matches(m, q) {
			match = append(match, m)
		}
	}
	s.mu.Unlock()
	if a.kind != 0 {
		writeError(w, a.status, a.code, "")
		return
	}
	// Newest first, as Twilio lists.
	slices.Reverse(match)
	slices.SortStableFunc(match, func(a, b Message) int { return b.DateCreated.Compare(a.DateCreated) })

	size, err := strconv.Atoi(q.Get("PageSize"))
	if err != nil || size <= 0 {
		size = 50
	}
	size = min(size, 1000)
	page, _ := strconv.Atoi(q.Get("Page"))
	page = max(page, 0)
	start := min(page*size, len(match))
	end := min(start+size, len(match))

	path := r.URL.Path
	pageURI := func(p int) string {
		v := cloneValues(q)
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		if p > 0 {
			v.Set("PageToken", fmt.Sprintf("PASM%032x", p*size))
		} else {
			v.Del("PageToken")
		}
		return path + "?" + v.Encode()
	}
	resources := make([]map[string]any, 0, end-start)
	for _, m := range match[start:end] {
		resources = append(resources, s.resource(m))
	}
	var next, prev any
	if end < len(match) {
		next = pageURI(page + 1)
	}
	if page > 0 {
		prev = pageURI(page - 1)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"messages": resources, "page": page, "page_size": size, "start": start, "end": max(end-1, start),
		"uri": pageURI(page), "first_page_uri": pageURI(0), "next_page_uri": next, "previous_page_uri": prev,
	})
}

// matches applies a list's filters. Twilio filters DateSent by day (GMT), whatever time of day
// the client sends, and so does the fake; a message not sent yet has no DateSent and matches no
// date filter.
func matches(m Message, q url.Values) bool {
	if v := q.Get("To"); v != "" && m.To != v {
		return false
	}
	if v := q.Get("From"); v != "" && m.From != v {
		return false
	}
	sent := day(m.DateSent)
	for _, f := range []struct {
		key string
		ok  func(c int) bool
	}{
		{"DateSent", func(c int) bool { return c == 0 }},
		{"DateSent>", func(c int) bool { return c >= 0 }},
		{"DateSent<", func(c int) bool { return c <= 0 }},
	} {
		v := q.Get(f.key)
		if v == "" {
			continue
		}
		d, ok := parseDay(v)
		if !ok || m.DateSent.IsZero() || !f.ok(sent.Compare(d)) {
			return false
		}
	}
	return true
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDay reads a date filter: YYYY-MM-DD, or an RFC 3339 time as twilio-go sends (its day in GMT).
func parseDay(v string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return day(t), true
	}
	return time.Time{}, false
}

// resource is a message as Twilio's JSON shows it.
func (s *Server) resource(m Message) map[string]any {
	date := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC1123Z)
	}
	var from, svc, code any = m.From, nil, nil
	if m.MessagingServiceSid != "" {
		svc = m.MessagingServiceSid
		if m.From == "" {
			from = nil // Twilio picks a sender from the service later
		}
	}
	if m.ErrorCode != 0 {
		code = m.ErrorCode
	}
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", s.sid, m.SID)
	return map[string]any{
		"sid": m.SID, "account_sid": s.sid, "messaging_service_sid": svc, "api_version": "2010-04-01",
		"to": m.To, "from": from, "body": m.Body, "status": m.Status, "direction": "outbound-api",
		"num_segments": strconv.Itoa(max(1, (len(m.Body)+152)/153)), "num_media": "0",
		"price": nil, "price_unit": "USD", "error_code": code, "error_message": nil,
		"date_created": date(m.DateCreated), "date_updated": date(m.DateCreated), "date_sent": date(m.DateSent),
		"uri":              uri + ".json",
		"subresource_uris": map[string]any{"media": uri + "/Media.json", "feedback": uri + "/Feedback.json"},
	}
}

// errorText is Twilio's message for the error codes tests use most.
var errorText = map[int]string{
	20001: "Bad request",
	20003: "Authenticate",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "Internal Server Error",
	20503: "Service Unavailable",
	21201: "No 'To' number is specified",
	21205: "Url parameter is required",
	21211: "Invalid 'To' Phone Number",
	21213: "No 'From' number is specified",
	21602: "Message body is required.",
	21603: "A 'From' phone number is required.",
	21604: "A 'To' phone number is required.",
	21610: "Attempt to send to unsubscribed recipient",
	21614: "'To' number is not a valid mobile number",
}

// writeError answers with Twilio's JSON error body. Like Twilio's, the message for 21211 quotes
// the number (to), so that tests can check it stays out of logs.
func writeError(w http.ResponseWriter, status, code int, to string) {
	msg, ok := errorText[code]
	switch {
	case code == 21211 && to != "":
		msg = fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case !ok:
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may be gone
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Sign returns the X-Twilio-Signature Twilio sends with a webhook to rawURL (the full URL as
// Twilio called it, query included) posting params: the base64 HMAC-SHA1, keyed with the auth
// token, of the URL followed by every parameter name and value, sorted by name (a repeated name's
// values sorted too). twilio-go's validator reads one value per name, so the two agree for the
// forms Twilio posts, which never repeat a name.
func Sign(token, rawURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(rawURL)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
