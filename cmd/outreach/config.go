package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbrole"
	"github.com/outreach-engine/outreach/internal/history"
	"github.com/outreach-engine/outreach/internal/ident"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/tz"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/outreach"
)

// Config is the whole configuration, read from the environment once at start.
type Config struct {
	DatabaseURL string
	// DatabaseRole is the database role every command but the migrations acts as; empty: the
	// user of DatabaseURL.
	DatabaseRole string
	// DBSession bounds the engine's database sessions (statement_timeout and
	// idle_in_transaction_session_timeout).
	DBSession db.Session
	Listen    string
	PublicURL *url.URL
	Location  *time.Location
	Quiet     practice.QuietHours
	Channel   string // "twilio" or "simulator"
	// ChannelSet says OUTREACH_CHANNEL was given rather than defaulted: the commands that send
	// refuse a simulator nobody chose.
	ChannelSet  bool
	Twilio      TwilioConfig
	Rates       billing.Rates
	FeeSchedule billing.FeeSchedule
	// SamePractitioner says which of PCM and CCM to bill when the same practitioner could bill
	// both for a patient in a month.
	SamePractitioner billing.Choice
	LogLevel         slog.Level
	LogFormat        string // "json" or "text"
	Practice         outreach.Contact
	SendRate         float64  // messages per second from one sender, across all replicas; 0: no limit
	ScriptsDir       string   // extra check-in scripts, beside the bundled ones
	OnCall           []string // staff ids paged by text about urgent items
	CPUProfile       string   // a file the command writes its CPU profile to; empty: none
	Country          string   // ISO 3166 code whose national phone numbers imports read
	// ConsentExemption documents why patients without consent on file are contacted; empty:
	// outreach needs consent in force.
	ConsentExemption string
	// MessageRetentionMonths is how long the words of texts are kept; RecordYears how long the
	// time log, the audit log, the check-in answers and the texts' rows are (at least 10).
	MessageRetentionMonths int
	RecordYears            int
	SessionIdle            time.Duration  // a session ends this long after its person's last action
	TrustedProxies         []netip.Prefix // reverse proxies whose ProxyHeader names the client
	ProxyHeader            string         // the header they write the client's address into
}

// TwilioConfig holds the Twilio account and sender.
type TwilioConfig struct {
	AccountSID          string
	AuthToken           string
	FromNumber          string
	MessagingServiceSID string
	APIURL              *url.URL // nil: Twilio's own
}

// Channels.
const (
	channelTwilio    = "twilio"
	channelSimulator = "simulator"
)

const defaultDatabaseURL = "postgres://postgres@localhost:5432/outreach?sslmode=disable"

var (
	accountSID    = regexp.MustCompile(`^AC[0-9A-Za-z]{32}$`)
	serviceSID    = regexp.MustCompile(`^MG[0-9A-Za-z]{32}$`)
	lettersDigits = regexp.MustCompile(`^[0-9A-Za-z]+$`)
	headerName    = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)
)

// env reads variables, with the *_FILE variant for secrets.
type env struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	errs     []error
}

func (e *env) get(key, def string) string {
	if v := strings.TrimSpace(e.getenv(key)); v != "" {
		return v
	}
	return def
}

// secret reads key, or the file named by key_FILE (not both).
func (e *env) secret(key string) string {
	v, file := e.getenv(key), e.getenv(key+"_FILE")
	if file == "" {
		return strings.TrimSpace(v)
	}
	if v != "" {
		e.fail("%s and %s_FILE are both set: use one", key, key)
		return ""
	}
	b, err := e.readFile(file)
	if err != nil {
		e.fail("%s_FILE: cannot read %q: %v", key, file, errors.Unwrap(err))
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (e *env) fail(format string, args ...any) { e.errs = append(e.errs, fmt.Errorf(format, args...)) }

// LoadConfig reads and validates the configuration. Every bad value is reported, each with the
// variable's name and what it should look like.
func LoadConfig(getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	e := &env{getenv: getenv, readFile: readFile}
	var c Config

	c.DatabaseURL = e.secret("DATABASE_URL")
	if c.DatabaseURL == "" && len(e.errs) == 0 {
		c.DatabaseURL = defaultDatabaseURL
	}
	if c.DatabaseURL != "" {
		if _, err := db.WithSSLMode(c.DatabaseURL); err != nil {
			e.fail("DATABASE_URL: %v", err)
		}
	}

	c.DatabaseRole = e.get("OUTREACH_DATABASE_ROLE", "")
	if c.DatabaseRole != "" {
		if err := dbrole.Check(c.DatabaseRole); err != nil {
			e.fail("OUTREACH_DATABASE_ROLE: %v", err)
		}
	}
	c.DBSession = db.DefaultSession
	statement := e.get("OUTREACH_DB_STATEMENT_TIMEOUT", db.DefaultSession.StatementTimeout.String())
	if d, err := time.ParseDuration(statement); err != nil || d < time.Second || d > time.Hour {
		e.fail("OUTREACH_DB_STATEMENT_TIMEOUT %q is not a duration from 1s to 1h (like 60s or 5m)", statement)
	} else {
		c.DBSession.StatementTimeout = d
	}

	c.Listen = e.get("OUTREACH_LISTEN", ":8080")
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		e.fail("OUTREACH_LISTEN %q is not a listen address like :8080 or 127.0.0.1:8080", c.Listen)
	}

	public := e.get("OUTREACH_PUBLIC_URL", "http://localhost:8080")
	u, err := url.Parse(public)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		e.fail("OUTREACH_PUBLIC_URL %q is not an absolute http(s) URL like https://outreach.example.org", public)
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/")
		c.PublicURL = u
	}

	zone := e.get("OUTREACH_TIMEZONE", "America/New_York")
	if c.Location, err = tz.Load(zone); err != nil {
		e.fail("OUTREACH_TIMEZONE %v", err)
	}

	if c.Quiet, err = practice.ParseQuietHours(e.get("OUTREACH_QUIET_HOURS", "21:00-08:00")); err != nil {
		e.fail("OUTREACH_QUIET_HOURS: %v", err)
	}

	c.Twilio = TwilioConfig{
		AccountSID:          e.get("TWILIO_ACCOUNT_SID", ""),
		AuthToken:           e.secret("TWILIO_AUTH_TOKEN"),
		FromNumber:          e.get("TWILIO_FROM_NUMBER", ""),
		MessagingServiceSID: e.get("TWILIO_MESSAGING_SERVICE_SID", ""),
	}
	def := channelSimulator
	if c.Twilio.AccountSID != "" {
		def = channelTwilio
	}
	c.Channel = e.get("OUTREACH_CHANNEL", def)
	c.ChannelSet = e.get("OUTREACH_CHANNEL", "") != ""
	switch c.Channel {
	case channelTwilio:
		validateTwilio(e, c.Twilio)
	case channelSimulator:
	default:
		e.fail("OUTREACH_CHANNEL %q is not twilio or simulator", c.Channel)
	}
	if api := e.get("TWILIO_API_URL", ""); api != "" {
		u, err := url.Parse(api)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e.fail("TWILIO_API_URL %q is not an absolute http(s) URL", api)
		} else {
			c.Twilio.APIURL = u
		}
	}

	c.Rates, err = billing.BundledRates()
	if err != nil {
		e.fail("bundled rates: %v", err)
	}
	if path := e.get("OUTREACH_RATES_FILE", ""); path != "" {
		b, err := e.readFile(path)
		if err != nil {
			e.fail("OUTREACH_RATES_FILE: cannot read %q: %v", path, errors.Unwrap(err))
		} else if local, err := billing.LoadRates(path, bytes.NewReader(b)); err != nil {
			e.fail("OUTREACH_RATES_FILE: %v", err)
		} else {
			c.Rates = c.Rates.Overlay(local)
		}
	}
	c.FeeSchedule = billing.FeeSchedule(e.get("OUTREACH_FEE_SCHEDULE", string(billing.NonQP)))
	if c.FeeSchedule != billing.NonQP && c.FeeSchedule != billing.QP {
		e.fail("OUTREACH_FEE_SCHEDULE %q is not non_qp or qp", c.FeeSchedule)
	}
	if c.SamePractitioner, err = billing.ParseChoice(e.get("OUTREACH_PCM_CCM_CHOICE", string(billing.ChooseHigher))); err != nil {
		e.fail("OUTREACH_PCM_CCM_CHOICE: %v", err)
	}
	switch period := e.get("OUTREACH_RPM_PERIOD", "calendar"); period {
	case "calendar":
	case "rolling":
		e.fail("OUTREACH_RPM_PERIOD rolling is not supported: RPM device codes are billed per calendar month in OUTREACH_TIMEZONE (rolling 30-day periods from the episode start are not built); unset it or set calendar")
	default:
		e.fail("OUTREACH_RPM_PERIOD %q is not calendar (rolling 30-day periods are not built)", period)
	}

	if err := c.LogLevel.UnmarshalText([]byte(e.get("OUTREACH_LOG_LEVEL", "info"))); err != nil {
		e.fail("OUTREACH_LOG_LEVEL %q is not debug, info, warn or error", e.get("OUTREACH_LOG_LEVEL", ""))
	}
	c.LogFormat = e.get("OUTREACH_LOG_FORMAT", "json")
	if c.LogFormat != "json" && c.LogFormat != "text" {
		e.fail("OUTREACH_LOG_FORMAT %q is not json or text", c.LogFormat)
	}

	c.Practice = outreach.Contact{Name: e.get("OUTREACH_PRACTICE_NAME", ""), Phone: e.get("OUTREACH_PRACTICE_PHONE", "")}
	if c.Practice.Phone != "" && !ident.E164(c.Practice.Phone) {
		e.fail("OUTREACH_PRACTICE_PHONE %q is not E.164 (like +15551234567)", c.Practice.Phone)
	}
	rate := e.get("OUTREACH_SEND_RATE", "1")
	if c.SendRate, err = strconv.ParseFloat(rate, 64); err != nil || c.SendRate < 0 || c.SendRate > 1000 || math.IsNaN(c.SendRate) {
		e.fail("OUTREACH_SEND_RATE %q is not a number of messages per second from 0 (no limit) to 1000", rate)
	}
	c.ScriptsDir = e.get("OUTREACH_SCRIPTS_DIR", "")
	for _, id := range strings.Split(e.get("OUTREACH_ON_CALL", ""), ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if !onCallID.MatchString(id) {
			e.fail("OUTREACH_ON_CALL: %q is not a staff id", id)
		}
		c.OnCall = append(c.OnCall, id)
	}

	c.CPUProfile = e.get("OUTREACH_CPU_PROFILE", "")

	c.Country = strings.ToUpper(e.get("OUTREACH_COUNTRY", "US"))
	if !ident.Country(c.Country) {
		e.fail("OUTREACH_COUNTRY %q is not an ISO 3166 two-letter country code like US or CA", c.Country)
	}
	c.ConsentExemption = e.get("OUTREACH_CONSENT_EXEMPTION", "")
	if n := len([]rune(c.ConsentExemption)); n > 500 {
		e.fail("OUTREACH_CONSENT_EXEMPTION is %d characters long; say why in at most 500", n)
	}

	months := e.get("OUTREACH_MESSAGE_RETENTION_MONTHS", strconv.Itoa(practice.DefaultMessageRetentionMonths))
	if c.MessageRetentionMonths, err = strconv.Atoi(months); err != nil || c.MessageRetentionMonths < 1 || c.MessageRetentionMonths > 1200 {
		e.fail("OUTREACH_MESSAGE_RETENTION_MONTHS %q is not a number of months from 1 to 1200, like 120", months)
	}
	years := e.get("OUTREACH_RECORD_RETENTION_YEARS", strconv.Itoa(history.MinRecordYears))
	if c.RecordYears, err = strconv.Atoi(years); err != nil || c.RecordYears < history.MinRecordYears || c.RecordYears > 100 {
		e.fail("OUTREACH_RECORD_RETENTION_YEARS %q is not a number of years from %d to 100", years, history.MinRecordYears)
	}

	idle := e.get("OUTREACH_SESSION_IDLE", "30m")
	if c.SessionIdle, err = time.ParseDuration(idle); err != nil || c.SessionIdle < time.Minute || c.SessionIdle > 12*time.Hour {
		e.fail("OUTREACH_SESSION_IDLE %q is not a duration from 1m to 12h, like 30m", idle)
	}
	if c.TrustedProxies, err = web.ParseProxies(e.get("OUTREACH_TRUSTED_PROXIES", "")); err != nil {
		e.fail("OUTREACH_TRUSTED_PROXIES: %v", err)
	}
	c.ProxyHeader = http.CanonicalHeaderKey(e.get("OUTREACH_PROXY_HEADER", "X-Forwarded-For"))
	if !headerName.MatchString(c.ProxyHeader) {
		e.fail("OUTREACH_PROXY_HEADER %q is not a header name like X-Forwarded-For or X-Real-Ip", c.ProxyHeader)
	}

	if len(e.errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(e.errs...))
	}
	return c, nil
}

func validateTwilio(e *env, t TwilioConfig) {
	if !accountSID.MatchString(t.AccountSID) {
		e.fail("TWILIO_ACCOUNT_SID %q is not an account SID (AC followed by 32 letters or digits)", t.AccountSID)
	}
	switch {
	case t.AuthToken == "":
		e.fail("TWILIO_AUTH_TOKEN (or TWILIO_AUTH_TOKEN_FILE) is required with OUTREACH_CHANNEL=twilio")
	case !lettersDigits.MatchString(t.AuthToken):
		e.fail("TWILIO_AUTH_TOKEN must be letters and digits only")
	}
	switch {
	case t.FromNumber == "" && t.MessagingServiceSID == "":
		e.fail("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required with OUTREACH_CHANNEL=twilio")
	case t.FromNumber != "" && !ident.E164(t.FromNumber):
		e.fail("TWILIO_FROM_NUMBER %q is not E.164 (like +15551234567)", t.FromNumber)
	case t.MessagingServiceSID != "" && !serviceSID.MatchString(t.MessagingServiceSID):
		e.fail("TWILIO_MESSAGING_SERVICE_SID %q is not a messaging service SID (MG followed by 32 letters or digits)", t.MessagingServiceSID)
	}
}

// onCallID is the form of the practice's staff ids.
var onCallID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// practiceSettings returns the practice settings the configuration sets.
func (c Config) practiceSettings() practice.Settings {
	return practice.Settings{ID: practice.Default, Location: c.Location, Quiet: c.Quiet, Name: c.Practice.Name,
		Phone: c.Practice.Phone, Country: c.Country, ConsentExemption: c.ConsentExemption,
		MessageRetentionMonths: c.MessageRetentionMonths}
}
