// Package ui serves the care team's pages: server-rendered html/template with htmx (embedded,
// no CDN) for the live parts. Every page needs a session; every change is a same-origin POST.
package ui

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var static embed.FS

// Pages holds what the pages need.
type Pages struct {
	DB       *sqlx.DB
	Practice practice.ID
	Accounts *web.Accounts
	Queue    *escalation.Queue
	Engine   *outreach.Engine // the patient's check-ins
	Billing  *billing.Store
	Time     *timelog.Service
	Readings *monitoring.Service // remote monitoring on the patient's page; nil: none
	Location *time.Location      // times are shown in the practice's zone
	Log      *slog.Logger

	tmpl *template.Template
}

// page is what every template gets.
type page struct {
	Title, Error, Notice string
	Me                   staff.Identity
}

// Handler returns the pages' routes behind session checks and cross-origin protection: a POST
// from another site (a forged form) gets 403 before it reaches a handler.
func (p *Pages) Handler() http.Handler {
	funcs := template.FuncMap{
		"when":      func(t time.Time) string { return localTime(t, p.Location) },
		"formDate":  func(t time.Time) string { return formDate(t, p.Location) },
		"formClock": func(t time.Time) string { return formClock(t, p.Location) },
		"zone":      func(t time.Time) string { return zoneNote(t, p.Location) },
		"phone":     phoneText,
		"tel":       telHref,
		"overdue":   func(t time.Time) bool { return p.Queue.Clock().After(t) },
		"label":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"minutes":   func(s int) string { return fmt.Sprintf("%d min %02d s", s/60, s%60) },
		"minutesOf": func(s int64) string { return strconv.FormatFloat(float64(s)/60, 'f', 1, 64) },
		"dollars":   func(c int64) string { return fmt.Sprintf("$%d.%02d", c/100, c%100) },
	}
	// The templates are part of the binary: one that does not parse fails every test.
	p.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"))
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(filesOnly{static}))
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	auth := func(h http.HandlerFunc) http.Handler { return p.Accounts.RequireSession(h, "/login") }
	mux.Handle("POST /logout", auth(p.logout))
	mux.Handle("GET /{$}", auth(p.queuePage))
	// The queue's refresh and a claim's renewal are sent by the pages on a timer: they need a
	// session but are not a person's action, so they do not keep an idle session alive.
	poll := func(h http.HandlerFunc) http.Handler { return p.Accounts.RequireSessionPolling(h, "/login") }
	mux.Handle("GET /queue/table", poll(p.queueTable))
	mux.Handle("POST /items/{id}/renew", poll(p.itemRenew))
	mux.Handle("GET /items/{id}", auth(p.itemPage))
	mux.Handle("POST /items/{id}/message", auth(p.itemMessage))
	mux.Handle("POST /items/{id}/attach", auth(p.itemAttach))
	mux.Handle("POST /items/{id}/{action}", auth(p.itemAction))
	mux.Handle("GET /patients/{id}", auth(p.patientPage))
	mux.Handle("GET /billing", auth(p.billingPage))
	admin := func(h http.HandlerFunc) http.Handler { return auth(p.requireAccess(h, staff.AccessAdmin)) }
	mux.Handle("GET /staff", admin(p.staffPage))
	mux.Handle("GET /audit", auth(p.requireAccess(p.auditPage, staff.AccessManager, staff.AccessAdmin)))
	mux.Handle("POST /staff/{id}/{change}", admin(p.staffChange))
	mux.Handle("GET /billing.csv", auth(p.billingCSV))
	mux.Handle("POST /patients/{id}/time", auth(p.patientTime))
	mux.Handle("POST /patients/{id}/message", auth(p.patientMessage))
	mux.Handle("POST /patients/{id}/opt-out", auth(p.patientOptOut))
	mux.Handle("POST /patients/{id}/limits", auth(p.patientLimits))
	mux.Handle("POST /patients/{id}/timer/{action}", auth(p.patientTimer))
	mux.Handle("POST /patients/{id}/active", auth(p.requireAccess(p.patientActive, staff.AccessManager, staff.AccessAdmin)))
	return http.NewCrossOriginProtection().Handler(securityHeaders(mux))
}

// filesOnly serves the files of an FS and none of its directories: asking for one (/static/) is
// a 404, never a listing.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}

// securityHeaders keep the pages out of frames and scripts to this origin.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", web.ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, data); err != nil {
		p.Log.Error("page not rendered", "page", name, "err", err)
	}
}

func me(r *http.Request) staff.Identity {
	id, _ := web.IdentityFrom(r.Context())
	return id
}

// localPath keeps a post-login destination on this site: a path of this site and its query,
// else "/". Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
// "/\t/evil.example" or "/\evil.example" would take the person to another site; such
// characters, raw or percent-encoded, are refused anywhere in the destination, as is anything
// with a scheme or a host or a path starting with "//".
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || unsafeInURL(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || unsafeInURL(u.Path) {
		return "/"
	}
	if q, err := url.QueryUnescape(u.RawQuery); err != nil || unsafeInURL(q) {
		return "/"
	}
	return next
}

// unsafeInURL reports whether s holds a backslash, a control character or a character that
// is not printable.
func unsafeInURL(s string) bool {
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "login", struct {
		page
		Next string
	}{page{Title: "Log in"}, localPath(r.URL.Query().Get("next"))})
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	next := localPath(r.PostFormValue("next"))
	token, id, err := p.Accounts.Login(r.Context(), strings.TrimSpace(r.PostFormValue("staff")), r.PostFormValue("password"), p.Accounts.ClientAddr(r))
	if err != nil {
		status := http.StatusUnauthorized
		var retry *staff.RetryError
		switch {
		case errors.As(err, &retry):
			// No staff id in the log: people type their password into the wrong field.
			p.Log.Warn("login refused", "reason", retry.Err.Error(), "retry_after", retry.Seconds())
			w.Header().Set("Retry-After", strconv.Itoa(retry.Seconds()))
			status = http.StatusTooManyRequests
			if errors.Is(err, staff.ErrLoginBusy) {
				status = http.StatusServiceUnavailable
			}
		case !errors.Is(err, staff.ErrBadLogin):
			p.Log.Error("login failed", "err", err)
			status, err = http.StatusServiceUnavailable, errors.New("the service is unavailable; try again")
		}
		p.render(w, status, "login", struct {
			page
			Next string
		}{page{Title: "Log in", Error: err.Error()}, next})
		return
	}
	p.Accounts.SetCookie(w, token)
	p.Log.Info("staff logged in", "staff", id.Staff)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if err := p.Accounts.Logout(w, r); err != nil {
		p.Log.Error("logout failed", "err", err)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// message is what a page says about an error: the error for the user's own mistakes, a generic
// line (and a log entry) for the rest.
func (p *Pages) message(err error) string {
	if web.StatusOf(err) == http.StatusInternalServerError {
		p.Log.Error("page request failed", "err", err)
		return "Something went wrong; try again."
	}
	return err.Error()
}
