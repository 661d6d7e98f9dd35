package twilio

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/twilio/twilio-go/client"
)

// maxWebhookBody bounds a webhook's form: Twilio's are a few kilobytes.
const maxWebhookBody = 64 << 10

// Verify returns middleware that lets a request through only when its X-Twilio-Signature is
// Twilio's signature, with token, of the URL Twilio called (publicURL's scheme, host and path
// prefix followed by the request URI: never the Host header, which a proxy rewrites) and the
// POST form. Anything else gets 403 before the handler runs; the handler finds the form parsed.
// With no token nothing can be verified, and every request is refused.
func Verify(token string, publicURL *url.URL) func(http.Handler) http.Handler {
	validator := client.NewRequestValidator(token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sig := r.Header.Get("X-Twilio-Signature")
			if token == "" || sig == "" {
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
			params := make(map[string]string, len(r.PostForm))
			for k, v := range r.PostForm {
				if len(v) > 0 {
					params[k] = v[0]
				}
			}
			called := publicURL.Scheme + "://" + publicURL.Host + publicURL.Path + r.URL.RequestURI()
			if !validator.Validate(called, params, sig) {
				http.Error(w, "invalid Twilio signature", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
