package web

import "net/http"

// ContentSecurityPolicy is the policy of every response: scripts, styles, images and requests to
// this origin only (inline styles allowed, for the pages' own), no framing, forms posted only
// here, and no <base> to redirect relative links.
const ContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// hstsValue asks browsers to use https only, for a year, on this host.
const hstsValue = "max-age=31536000"

// Headers sets the security headers of every response of the pages and the API.
type Headers struct {
	// HTTPS is true when the engine is reached over https (OUTREACH_PUBLIC_URL): browsers are
	// then told to use nothing else (Strict-Transport-Security).
	HTTPS bool
}

// Wrap returns next with the headers set before it runs: the content security policy,
// X-Content-Type-Options: nosniff, Referrer-Policy: same-origin, Strict-Transport-Security over
// https, and Cache-Control: no-store, since the pages and the API answer with patients' data. A handler may still set its own.
func (h Headers) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if h.HTTPS {
			hd.Set("Strict-Transport-Security", hstsValue)
		}
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
