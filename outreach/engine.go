package outreach

import (
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/tz"
	"github.com/outreach-engine/outreach/scripts"
)

// DefaultScript is the check-in of CCM patients who have no script of their own.
const DefaultScript = "ccm-monthly"

// MaxAge is how old a queued message may be and still go out.
const MaxAge = 7 * 24 * time.Hour

// Contact is how patients reach the practice, for HELP replies.
type Contact struct {
	Name  string
	Phone string
}

// SendConfig tunes the dispatcher.
type SendConfig struct {
	Batch       int           // messages claimed per pass
	Workers     int           // sends in flight at once
	Lease       time.Duration // how long a claim lasts; an expired one becomes unknown
	MaxAttempts int           // tries before a retryable failure becomes final
	// PerSecond is the texts a second from one sender, and the calls a second from one calling
	// number, across all replicas; 0: no limit.
	PerSecond   float64
	SettleAfter time.Duration // how long an unknown send waits for its status report before a lookup
	// Sender is who texts go out as (the messaging service, or the number), and CallSender the
	// number calls are placed from: the keys of the pace replicas share.
	Sender, CallSender string
}

// DefaultSendConfig suits one long-code sender.
var DefaultSendConfig = SendConfig{Batch: 100, Workers: 8, Lease: 5 * time.Minute, MaxAttempts: 8,
	PerSecond: 1, SettleAfter: 10 * time.Minute}

// CallConfig tunes voice check-ins.
type CallConfig struct {
	Attempts   int           // calls per check-in before it expires into the list of patients to call
	RetryAfter time.Duration // between a call that did not reach the patient and the next one
}

// DefaultCallConfig is the calling unless configured: three calls, two hours apart (later when that falls in quiet hours).
var DefaultCallConfig = CallConfig{Attempts: 3, RetryAfter: 2 * time.Hour}

// Engine runs check-ins: it schedules them, sends their messages and places their calls through
// a Channel, reads the replies and raises escalations. Every rule that depends on time reads Clock.
type Engine struct {
	DB        *sqlx.DB
	Scripts   scripts.Library
	Channel   Channel
	Clock     func() time.Time
	Practice  practice.Settings
	Contact   Contact
	PublicURL *url.URL // status callbacks are built from it
	Due       escalation.DueTimes
	Send      SendConfig
	Calls     CallConfig
	Log       *slog.Logger
	// Metrics counts the engine's events, Escalations the items it opens; nil counts nothing.
	Metrics     *Metrics
	Escalations *escalation.Metrics

	paceOnce sync.Once
	textPace *pacer // texts, from Send.Sender
	callPace *pacer // calls, from Send.CallSender
	inbox    inbox
	zones    tz.Zones   // patients' zones
	memoMu   sync.Mutex // held for a whole Schedule
	memo     scheduleMemo
	keptMu   sync.Mutex
	kept     time.Time // when a dispatch last did the outboxes' housekeeping
}

// New returns an engine with the default dispatcher settings and due times; set fields after.
func New(d *sqlx.DB, lib scripts.Library, ch Channel, clock func() time.Time, p practice.Settings, log *slog.Logger) *Engine {
	return &Engine{DB: d, Scripts: lib, Channel: ch, Clock: clock, Practice: p, Due: escalation.DefaultDueTimes,
		Send: DefaultSendConfig, Calls: DefaultCallConfig, Log: log}
}

// pacers makes the pacers of texts and calls at the first dispatch, once Send is set.
func (e *Engine) pacers() {
	e.paceOnce.Do(func() {
		e.textPace = newPacer(e.DB, "text "+e.Send.Sender, e.Send.PerSecond)
		e.callPace = newPacer(e.DB, "call "+e.Send.CallSender, e.Send.PerSecond)
	})
}

func (e *Engine) now() time.Time { return e.Clock().UTC().Truncate(time.Microsecond) }

func (e *Engine) pid() int64 { return int64(e.Practice.ID) }

// exempt reports whether the practice contacts patients with no consent on file.
func (e *Engine) exempt() bool { return e.Practice.ConsentExemption != "" }

// forPractice picks the form of a statement (see forExemption) for the practice's exemption.
func (e *Engine) forPractice(stmt [2]string) string {
	if e.exempt() {
		return stmt[1]
	}
	return stmt[0]
}

// script returns the script of a check-in, or nil when the library no longer has it.
func (e *Engine) script(id string) *scripts.Script { return e.Scripts[id] }

// language is the language a script speaks to a patient: theirs, or English.
func language(s *scripts.Script, patient string) scripts.Language {
	if s.Speaks(scripts.Language(patient)) {
		return scripts.Language(patient)
	}
	return scripts.English
}
