package main

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
)

func envFrom(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func readFiles(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if v, ok := files[name]; ok {
			return []byte(v), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envFrom(nil), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != defaultDatabaseURL || c.Listen != ":8080" || c.PublicURL.String() != "http://localhost:8080" ||
		c.Location.String() != "America/New_York" || c.Quiet.String() != "21:00-08:00" || c.Channel != channelSimulator ||
		c.SamePractitioner != billing.ChooseHigher {
		t.Errorf("defaults = %+v", c)
	}
}

const sid = "AC0123456789abcdef0123456789abcdef"

// The channel defaults as before, but only an OUTREACH_CHANNEL given counts as chosen.
func TestLoadConfigChannelChosen(t *testing.T) {
	twilio := map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": "abc", "TWILIO_FROM_NUMBER": "+15550001111"}
	tests := []struct {
		name    string
		env     map[string]string
		channel string
		set     bool
	}{
		{"nothing", nil, channelSimulator, false},
		{"empty", map[string]string{"OUTREACH_CHANNEL": " "}, channelSimulator, false},
		{"simulator", map[string]string{"OUTREACH_CHANNEL": "simulator"}, channelSimulator, true},
		{"twilio settings", twilio, channelTwilio, false},
		{"simulator despite twilio settings", map[string]string{"TWILIO_ACCOUNT_SID": sid, "OUTREACH_CHANNEL": "simulator"}, channelSimulator, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(envFrom(tt.env), readFiles(nil))
			if err != nil {
				t.Fatal(err)
			}
			if c.Channel != tt.channel || c.ChannelSet != tt.set {
				t.Errorf("channel %q, set %v; want %q, %v", c.Channel, c.ChannelSet, tt.channel, tt.set)
			}
		})
	}
}

func TestLoadConfigTwilio(t *testing.T) {
	c, err := LoadConfig(envFrom(map[string]string{
		"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN_FILE": "/run/secrets/token",
		"TWILIO_FROM_NUMBER": "+15550001111", "TWILIO_API_URL": "http://127.0.0.1:9999",
		"OUTREACH_QUIET_HOURS": "off", "OUTREACH_PUBLIC_URL": "https://outreach.example.org/",
	}), readFiles(map[string]string{"/run/secrets/token": "abc123\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != channelTwilio || c.Twilio.AuthToken != "abc123" || c.Twilio.APIURL.Host != "127.0.0.1:9999" || !c.Quiet.Off() || c.PublicURL.String() != "https://outreach.example.org" {
		t.Errorf("config = %+v", c)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string
		want  string
	}{
		{"zone", map[string]string{"OUTREACH_TIMEZONE": "Mars/Olympus"}, nil, `OUTREACH_TIMEZONE "Mars/Olympus" is not an IANA time zone`},
		{"local zone", map[string]string{"OUTREACH_TIMEZONE": "Local"}, nil, `OUTREACH_TIMEZONE "Local"`},
		{"fixed-offset zone", map[string]string{"OUTREACH_TIMEZONE": "EST"}, nil, `OUTREACH_TIMEZONE "EST" is a fixed offset from UTC (-05:00 all year, no daylight saving time), not the time zone of a place: use America/New_York`},
		{"abbreviation for a zone", map[string]string{"OUTREACH_TIMEZONE": "PST"}, nil, `OUTREACH_TIMEZONE "PST" is not an IANA time zone: use America/Los_Angeles`},
		{"country not assigned", map[string]string{"OUTREACH_COUNTRY": "XX"}, nil, `OUTREACH_COUNTRY "XX" is not an ISO 3166 two-letter country code like US or CA`},
		{"country in three letters", map[string]string{"OUTREACH_COUNTRY": "USA"}, nil, `OUTREACH_COUNTRY "USA" is not an ISO 3166 two-letter country code`},
		{"quiet hours", map[string]string{"OUTREACH_QUIET_HOURS": "9pm-8am"}, nil, `OUTREACH_QUIET_HOURS: "9pm-8am" is not HH:MM-HH:MM`},
		{"quiet hours empty window", map[string]string{"OUTREACH_QUIET_HOURS": "08:00-08:00"}, nil, "use off"},
		{"listen", map[string]string{"OUTREACH_LISTEN": "8080"}, nil, `OUTREACH_LISTEN "8080" is not a listen address`},
		{"statement timeout unit", map[string]string{"OUTREACH_DB_STATEMENT_TIMEOUT": "60"}, nil, `OUTREACH_DB_STATEMENT_TIMEOUT "60" is not a duration from 1s to 1h`},
		{"statement timeout too short", map[string]string{"OUTREACH_DB_STATEMENT_TIMEOUT": "100ms"}, nil, `OUTREACH_DB_STATEMENT_TIMEOUT "100ms"`},
		{"public url", map[string]string{"OUTREACH_PUBLIC_URL": "outreach.example.org"}, nil, "OUTREACH_PUBLIC_URL"},
		{"channel", map[string]string{"OUTREACH_CHANNEL": "pigeon"}, nil, `OUTREACH_CHANNEL "pigeon" is not twilio or simulator`},
		{"PCM or CCM", map[string]string{"OUTREACH_PCM_CCM_CHOICE": "both"}, nil, `OUTREACH_PCM_CCM_CHOICE: "both" is not higher, ccm or pcm`},
		{"rolling RPM periods", map[string]string{"OUTREACH_RPM_PERIOD": "rolling"}, nil, `OUTREACH_RPM_PERIOD rolling is not supported: RPM device codes are billed per calendar month`},
		{"RPM period", map[string]string{"OUTREACH_RPM_PERIOD": "monthly"}, nil, `OUTREACH_RPM_PERIOD "monthly" is not calendar`},
		{"twilio without sid", map[string]string{"OUTREACH_CHANNEL": "twilio"}, nil, "TWILIO_ACCOUNT_SID"},
		{"twilio without token", map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_FROM_NUMBER": "+15550001111"}, nil, "TWILIO_AUTH_TOKEN (or TWILIO_AUTH_TOKEN_FILE) is required"},
		{"token with underscore", map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": "test_token", "TWILIO_FROM_NUMBER": "+15550001111"}, nil, "letters and digits only"},
		{"twilio without sender", map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": "abc"}, nil, "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required"},
		{"bad from number", map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": "abc", "TWILIO_FROM_NUMBER": "555-0000"}, nil, `TWILIO_FROM_NUMBER "555-0000" is not E.164`},
		{"secret twice", map[string]string{"TWILIO_AUTH_TOKEN": "abc", "TWILIO_AUTH_TOKEN_FILE": "/x"}, map[string]string{"/x": "abc"}, "both set"},
		{"missing secret file", map[string]string{"DATABASE_URL_FILE": "/nope"}, nil, `DATABASE_URL_FILE: cannot read "/nope"`},
		{"bad database url", map[string]string{"DATABASE_URL": "postgres://u:secretpw@host:port/x"}, nil, "DATABASE_URL"},
		{"api url", map[string]string{"TWILIO_API_URL": "localhost:9999"}, nil, "TWILIO_API_URL"},
		{"log level", map[string]string{"OUTREACH_LOG_LEVEL": "loud"}, nil, "OUTREACH_LOG_LEVEL"},
		{"database role", map[string]string{"OUTREACH_DATABASE_ROLE": `app"; DROP TABLE audit_log; --`}, nil, "OUTREACH_DATABASE_ROLE"},
		{"database role reserved", map[string]string{"OUTREACH_DATABASE_ROLE": "pg_write_all_data"}, nil, "OUTREACH_DATABASE_ROLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(envFrom(tt.env), readFiles(tt.files))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestLoadConfigCountry(t *testing.T) {
	for in, want := range map[string]string{"": "US", "ca": "CA", " PR ": "PR", "GB": "GB"} {
		c, err := LoadConfig(envFrom(map[string]string{"OUTREACH_COUNTRY": in}), readFiles(nil))
		if err != nil || c.Country != want {
			t.Errorf("OUTREACH_COUNTRY %q: country %q, %v; want %q", in, c.Country, err, want)
		}
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	_, err := LoadConfig(envFrom(map[string]string{"OUTREACH_TIMEZONE": "X", "OUTREACH_CHANNEL": "Y"}), readFiles(nil))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 2 {
		t.Errorf("error = %v, want both problems", err)
	}
}

func TestQuietHoursWrapMidnight(t *testing.T) {
	c, err := LoadConfig(envFrom(nil), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		hour, min int
		quiet     bool
	}{{20, 59, false}, {21, 0, true}, {23, 30, true}, {0, 0, true}, {7, 59, true}, {8, 0, false}, {12, 0, false}} {
		at := time.Date(2026, 3, 8, tt.hour, tt.min, 0, 0, c.Location)
		if got := c.Quiet.Contains(at); got != tt.quiet {
			t.Errorf("Contains(%02d:%02d) = %v, want %v", tt.hour, tt.min, got, tt.quiet)
		}
	}
}

// The session idle timeout and the trusted proxies: defaults, values, and mistakes named.
func TestLoadConfigSessionsAndProxies(t *testing.T) {
	c, err := LoadConfig(envFrom(nil), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionIdle != 30*time.Minute || len(c.TrustedProxies) != 0 || c.ProxyHeader != "X-Forwarded-For" {
		t.Errorf("defaults: idle %v, proxies %v, header %q", c.SessionIdle, c.TrustedProxies, c.ProxyHeader)
	}
	c, err = LoadConfig(envFrom(map[string]string{"OUTREACH_SESSION_IDLE": "15m",
		"OUTREACH_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7", "OUTREACH_PROXY_HEADER": "x-real-ip"}), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionIdle != 15*time.Minute || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.0.2.7/32" || c.ProxyHeader != "X-Real-Ip" {
		t.Errorf("idle %v, proxies %v, header %q", c.SessionIdle, c.TrustedProxies, c.ProxyHeader)
	}
	_, err = LoadConfig(envFrom(map[string]string{"OUTREACH_SESSION_IDLE": "30", "OUTREACH_TRUSTED_PROXIES": "proxy.local",
		"OUTREACH_PROXY_HEADER": "X Forwarded"}), readFiles(nil))
	for _, want := range []string{`OUTREACH_SESSION_IDLE "30" is not a duration`, `OUTREACH_TRUSTED_PROXIES: "proxy.local" is not an address`,
		`OUTREACH_PROXY_HEADER "X Forwarded" is not a header name`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

func TestLoadConfigStatementTimeout(t *testing.T) {
	for value, want := range map[string]time.Duration{"": time.Minute, "2m": 2 * time.Minute, "1h": time.Hour} {
		c, err := LoadConfig(envFrom(map[string]string{"OUTREACH_DB_STATEMENT_TIMEOUT": value}), readFiles(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.DBSession.StatementTimeout != want || c.DBSession.IdleInTransaction != 30*time.Second {
			t.Errorf("OUTREACH_DB_STATEMENT_TIMEOUT=%q: session %+v, want a statement timeout of %s", value, c.DBSession, want)
		}
	}
}
