package ui_test

import (
	"net/http"
	"strings"
	"testing"
)

// /static/ serves its files and lists nothing: a directory is a 404.
func TestStaticServesFilesOnly(t *testing.T) {
	s := newSite(t)
	c := s.client()
	for path, want := range map[string]int{
		"/static/":             http.StatusNotFound,
		"/static/htmx.min.js":  http.StatusOK,
		"/static/htmx.LICENSE": http.StatusOK,
		"/static/nothing.js":   http.StatusNotFound,
	} {
		code, _, body := s.do(c, "GET", path, nil, "")
		if code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
		if want != http.StatusOK && strings.Contains(body, "htmx") {
			t.Errorf("GET %s lists the directory:\n%s", path, body)
		}
	}
}
