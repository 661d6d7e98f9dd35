package dbrole

import (
	"strings"
	"testing"
)

// The role is set through the session's options, kept beside options the URL already has.
func TestConn(t *testing.T) {
	tests := []struct{ conn, want string }{
		{"postgres://app@db.example/outreach", "options='-c role=outreach_app'"},
		{"postgres://app@db.example/outreach?options=-c%20statement_timeout%3D5s", "options='-c statement_timeout=5s -c role=outreach_app'"},
		{"host=db.example dbname=outreach options='-c search_path=o\\'k'", `options='-c search_path=o\'k -c role=outreach_app'`},
	}
	for _, tt := range tests {
		got, err := Conn(tt.conn, "outreach_app")
		if err != nil {
			t.Fatalf("Conn(%q): %v", tt.conn, err)
		}
		if !strings.Contains(got, tt.want) || strings.Count(got, "options=") != 1 {
			t.Errorf("Conn(%q) = %q, want it to hold %q", tt.conn, got, tt.want)
		}
	}
	for _, bad := range []string{"", "App", "1app", "app role", `app"x`, "pg_read_all_data", strings.Repeat("a", 64)} {
		if _, err := Conn("postgres://app@db.example/outreach", bad); err == nil {
			t.Errorf("role %q accepted", bad)
		}
	}
}
