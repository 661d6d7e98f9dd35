package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "secret0token1"
	testTo    = "+15550002222"
)

func testChannel(t *testing.T, f *twiliofake.Server) *Channel {
	t.Helper()
	u, err := url.Parse(f.URL())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{AccountSID: testSID, AuthToken: testToken, FromNumber: "+15550001111", APIURL: u, Timeout: 2 * time.Second})
}

// TestFindSMSWindow: Twilio filters by the day sent, so the same text sent earlier that day (a
// daily check-in) comes back too and must not settle a later send.
func TestFindSMSWindow(t *testing.T) {
	f := twiliofake.New(testSID, testToken)
	defer f.Close()
	ch := testChannel(t, f)
	since := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	const body = "How is your breathing today?"
	f.Add(twiliofake.Message{To: testTo, Body: body, DateCreated: since.AddDate(0, 0, -1)})
	f.Add(twiliofake.Message{To: testTo, Body: body, DateCreated: since.Add(-3 * time.Hour)})

	if found, err := ch.FindSMS(context.Background(), testTo, body, since); err != nil || found != nil {
		t.Fatalf("FindSMS with only earlier copies = %+v, %v; want nothing", found, err)
	}
	// Clocks disagree by seconds: a message created just before `since` is still ours.
	ours := f.Add(twiliofake.Message{To: testTo, Body: body, DateCreated: since.Add(-20 * time.Second), Status: "sent"})
	f.Add(twiliofake.Message{To: testTo, Body: body, DateCreated: since.Add(2 * time.Hour)})
	// Enough later messages to the number that the list takes two pages.
	for i := range 150 {
		f.Add(twiliofake.Message{To: testTo, Body: fmt.Sprint("reminder ", i), DateCreated: since.Add(time.Duration(i+1) * time.Second)})
	}
	found, err := ch.FindSMS(context.Background(), testTo, body, since)
	if err != nil || found == nil || found.SID != ours || found.Status != "sent" {
		t.Errorf("FindSMS = %+v, %v; want %s sent", found, err, ours)
	}
}

func TestFindSMSErrors(t *testing.T) {
	f := twiliofake.New(testSID, testToken)
	ch := testChannel(t, f)
	f.FailLookup(500, 20500)
	_, err := ch.FindSMS(context.Background(), testTo, "x", time.Now())
	var rest *client.TwilioRestError
	if !errors.As(err, &rest) || rest.Code != 20500 {
		t.Errorf("error = %v, want Twilio's 20500 reachable", err)
	}
	f.Close()
	_, err = ch.FindSMS(context.Background(), testTo, "x", time.Now())
	if err == nil || strings.Contains(err.Error(), testTo) || strings.Contains(err.Error(), url.QueryEscape(testTo)) {
		t.Errorf("error = %v, want one that does not name the number", err)
	}
	var nw *notWritten
	if !errors.As(err, &nw) {
		t.Errorf("error = %v, want the transport's notWritten reachable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ch.FindSMS(ctx, testTo, "x", time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// TestErrorChain pins down what twilio-go does with a transport's error: http.Client wraps it
// in *url.Error (which unwraps) and twilio-go returns that as it is, so errors.As reaches the
// transport's types.
func TestErrorChain(t *testing.T) {
	f := twiliofake.New(testSID, testToken)
	ch := testChannel(t, f)
	f.Close()
	at := &attempt{}
	_, err := ch.service(context.Background(), at).ListMessage(nil)
	var ue *url.Error
	var nw *notWritten
	if !errors.As(err, &ue) || !errors.As(err, &nw) {
		t.Errorf("error %T %v: want *url.Error wrapping *notWritten", err, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want int
	}{
		{"", 0}, {"7", 7}, {" 30 ", 30}, {"-3", 0}, {"soon", 0}, {"999999", 86400},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(c.v, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %d, want %d", c.v, got, c.want)
		}
	}
}

// stub answers every request with 201 and records its URL.
type stub struct{ got *url.URL }

func (s *stub) RoundTrip(req *http.Request) (*http.Response, error) {
	s.got = req.URL
	return &http.Response{StatusCode: 201, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

func TestTransportRewrite(t *testing.T) {
	for _, c := range []struct{ base, in, want string }{
		{"http://127.0.0.1:8080", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=x",
			"http://127.0.0.1:8080/2010-04-01/Accounts/AC1/Messages.json?To=x"},
		{"https://compat.example/twilio/", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
			"https://compat.example/twilio/2010-04-01/Accounts/AC1/Messages.json"},
		// A next_page_uri that already carries the prefix keeps one.
		{"https://compat.example/twilio", "https://api.twilio.com/twilio/2010-04-01/Accounts/AC1/Messages.json?Page=1",
			"https://compat.example/twilio/2010-04-01/Accounts/AC1/Messages.json?Page=1"},
	} {
		to, _ := url.Parse(c.base)
		s := &stub{}
		req, _ := http.NewRequest(http.MethodGet, c.in, nil)
		resp, err := (&transport{base: s, to: to, ctx: context.Background(), at: &attempt{}}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if s.got.String() != c.want || req.URL.String() != c.in {
			t.Errorf("%s: sent to %s, want %s (request now %s)", c.base, s.got, c.want, req.URL)
		}
	}
}
