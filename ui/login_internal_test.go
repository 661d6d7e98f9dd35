package ui

import "testing"

// TestLocalPath: before, "/%09/evil.example/x" passed (it starts with "/" and not "//"), and a
// browser, dropping the tab, went to http://evil.example/x after a correct password. Now only
// a path of this site passes.
func TestLocalPath(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/", "/"},
		{"/items/12", "/items/12"},
		{"/?status=open&severity=urgent", "/?status=open&severity=urgent"},
		{"/patients/MRN%3A7.2", "/patients/MRN%3A7.2"},
		{"", "/"},
		{"items/12", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example/x", "/"},
		{"\\\\evil.example/x", "/"},
		{"/\t/evil.example/x", "/"},  // the query's %09, decoded
		{"/%09/evil.example/x", "/"}, // the same, still encoded
		{"/\n/evil.example/x", "/"},  // a newline, dropped by browsers too
		{"/\r\n/evil.example", "/"},  //
		{"/%0a/evil.example", "/"},   //
		{"/%5Cevil.example", "/"},    // an encoded backslash
		{"/%2F/evil.example", "/"},   // an encoded slash making "//"
		{"/%2f%2fevil.example", "/"}, //
		{"/ok?x=\\evil", "/"},        // a backslash in the query
		{"/ok?x=%5C", "/"},           //
		{"/ok?x=%zz", "/"},           // bad escapes
		{"https://evil.example/x", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"JaVaScRiPt:alert(1)", "/"},
		{" /evil", "/"},
		{"/\u00a0/evil.example", "/"}, // a no-break space
		{"/\u2028/evil.example", "/"}, // a line separator
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/\xff/evil.example", "/"}, // not UTF-8
	}
	for _, tt := range tests {
		if got := localPath(tt.next); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}
