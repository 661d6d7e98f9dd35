package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// maxWebhookBody bounds a webhook's form: Twilio's are a few kilobytes.
const maxWebhookBody = 64 << 10

// Verify returns middleware that lets a request through only when its X-Twilio-Signature is
// Twilio's signature, with token, of the URL Twilio called and the POST form. That URL is
// publicURL's scheme, host and path prefix (e.g. https://example.org/outreach) followed by the
// request URI the server received: never the Host header, which a proxy rewrites.
//
// A missing or wrong signature gets 403, and a body over 64 KiB 413, before the handler runs.
// The handler finds the form parsed (r.PostForm), with one value per name: the value that was
// signed. With no token or no public URL nothing can be verified, and every request is refused.
func Verify(token string, publicURL *url.URL) func(http.Handler) http.Handler {
	validator := client.NewRequestValidator(token)
	var base string
	if publicURL != nil {
		base = publicURL.Scheme + "://" + publicURL.Host + strings.TrimSuffix(publicURL.EscapedPath(), "/")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sig := r.Header.Get("X-Twilio-Signature")
			if token == "" || publicURL == nil || sig == "" {
				http.Error(w, "missing or unverifiable Twilio signature", http.StatusForbidden)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "unreadable form", http.StatusBadRequest)
				return
			}
			// twilio-go's validator signs one value per name, the first. Twilio never repeats a
			// name; a value appended to a signed request must not reach the handler.
			params := make(map[string]string, len(r.PostForm))
			for k, v := range r.PostForm {
				if len(v) > 0 {
					params[k] = v[0]
					if len(v) > 1 {
						r.PostForm[k] = v[:1:1]
					}
				}
			}
			r.Form = nil // ParseForm again merges the trimmed PostForm with the query (signed in the URL)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "unreadable form", http.StatusBadRequest)
				return
			}
			called := base + r.URL.RequestURI()
			if !validator.Validate(called, params, sig) {
				http.Error(w, "invalid Twilio signature", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
