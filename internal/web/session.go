package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/outreach-engine/outreach/staff"
)

// SessionCookie is the name of the care team's browser session cookie.
const SessionCookie = "outreach_session"

// Accounts carries the care team's browser sessions over HTTP: the cookie, the client's
// address, and the middleware that lets only live sessions through. Logging in and what a
// session is live for are staff.Sessions'.
type Accounts struct {
	*staff.Sessions
	Secure bool // cookies only over HTTPS (the public URL is https)
	// Proxies are the reverse proxies trusted to name the client's address.
	Proxies Proxies
}

// ClientAddr is the address a request's login attempts are counted on.
func (a *Accounts) ClientAddr(r *http.Request) string { return a.Proxies.ClientAddr(r) }

// SetCookie gives the browser its session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS.
func (a *Accounts) SetCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: a.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(staff.SessionTTL / time.Second)})
}

// Logout ends the request's session, writes it to the audit log and clears the cookie.
func (a *Accounts) Logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := a.End(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: a.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

// RequireSession lets through only requests with a live session, carrying its identity, and
// counts the request as its person's action. A page request without a live session (none, or
// one idle for longer than Idle) is sent to loginPath; anything else gets 401, and an htmx
// request is told to load loginPath.
func (a *Accounts) RequireSession(next http.Handler, loginPath string) http.Handler {
	return a.requireSession(next, loginPath, true)
}

// RequireSessionPolling is RequireSession for the requests a page sends by itself on a timer
// (a table's refresh, a claim's renewal). They need a live session but are not its person's
// action: a page left open on an unattended screen must still end its session when the idle
// timeout passes. The route decides this, not a request header, so nothing the browser sends
// can make a person's action count as polling or polling count as an action.
func (a *Accounts) RequireSessionPolling(next http.Handler, loginPath string) http.Handler {
	return a.requireSession(next, loginPath, false)
}

func (a *Accounts) requireSession(next http.Handler, loginPath string, action bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id staff.Identity
		c, err := r.Cookie(SessionCookie)
		if err == nil {
			id, err = a.Identity(r.Context(), c.Value, action)
		}
		if err != nil {
			if errors.Is(err, http.ErrNoCookie) || errors.Is(err, staff.ErrBadLogin) {
				if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
					http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				if r.Header.Get("HX-Request") != "" {
					w.Header().Set("HX-Redirect", loginPath)
				}
				WriteError(w, http.StatusUnauthorized, "log in first")
				return
			}
			WriteError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}
