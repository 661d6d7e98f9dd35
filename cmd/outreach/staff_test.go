package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// staffWithPassword imports staff member RN1 into a fresh database and returns its environment
// and a function reading RN1's password hash.
func staffWithPassword(t *testing.T) (map[string]string, func() string) {
	t.Helper()
	d, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	if _, _, err := runCmd(t, context.Background(), env, "import", "staff", writeFile(t, "s.csv", "id,name,credential,role\nRN1,Rita,RN,clinical\n")); err != nil {
		t.Fatal(err)
	}
	return env, func() string {
		var hash string
		if err := d.Get(&hash, `SELECT COALESCE(password_hash, '') FROM staff WHERE ext_id = 'RN1'`); err != nil {
			t.Fatal(err)
		}
		return hash
	}
}

// From a pipe, staff password reads one line and asks nothing.
func TestStaffPasswordFromPipe(t *testing.T) {
	env, hash := staffWithPassword(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"staff", "password", "RN1"}, strings.NewReader("a long enough password\n"), &stdout, &stderr, envFrom(env))
	if err != nil || stdout.String() != "password set for RN1\n" {
		t.Fatalf("staff password: %q, %v", stdout.String(), err)
	}
	if strings.Contains(stderr.String(), "password") {
		t.Errorf("it prompted on a pipe: %q", stderr.String())
	}
	if bcrypt.CompareHashAndPassword([]byte(hash()), []byte("a long enough password")) != nil {
		t.Error("the password read is not the one stored")
	}
}
