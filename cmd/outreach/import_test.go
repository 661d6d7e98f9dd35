package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// A manager fixes a file in one pass: the command prints every error on its own line, up to
// 100, and how many more there are.
func TestImportPrintsEveryErrorOnItsOwnLine(t *testing.T) {
	_, conn := dbtest.Fresh(t)
	var b strings.Builder
	b.WriteString("id,phone,billing_npi\n")
	for i := range 120 {
		fmt.Fprintf(&b, "P%03d,(555) 111-%04d,1234567890\n", i, i) // a wrong check digit on every line
	}
	path := writeFile(t, "bad.csv", b.String())
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "OUTREACH_TEST_CHILD=import patients "+path, "DATABASE_URL="+conn, "OUTREACH_LOG_LEVEL=error")
	var stdout, stderr strings.Builder
	child.Stdout, child.Stderr = &stdout, &stderr
	err := child.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr %q", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 102 {
		t.Fatalf("%d lines on standard error, want 102; the first: %q", len(lines), lines[0])
	}
	if lines[0] != "outreach: "+path+": 120 errors:" {
		t.Errorf("first line %q", lines[0])
	}
	for i, l := range lines[1:101] {
		if want := fmt.Sprintf(`%s:%d: billing_npi "1234567890" is not a valid NPI: its check digit should be 3`, path, i+2); l != want {
			t.Fatalf("line %d: %q, want %q", i+1, l, want)
		}
	}
	if want := path + ": and 20 more errors, from line 102 on"; lines[101] != want {
		t.Errorf("last line %q, want %q", lines[101], want)
	}
	if stdout.Len() != 0 {
		t.Errorf("standard output %q, want nothing", stdout.String())
	}
}

func TestErrorText(t *testing.T) {
	file := csvfile.Errors{{File: "p.csv", Line: 2, Msg: "a"}, {File: "p.csv", Line: 3, Msg: "b"}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"a file's errors", file, "p.csv: 2 errors:\np.csv:2: a\np.csv:3: b"},
		{"wrapped file errors", fmt.Errorf("error importing: %w", file), "error importing: p.csv: 2 errors:\np.csv:2: a\np.csv:3: b"},
		{"other errors", errors.Join(errors.New("x"), errors.New("y")), "x; y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorText(tt.err); got != tt.want {
				t.Errorf("errorText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestImportPatientsSaysWhoWasMadeInactive(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	first := writeFile(t, "patients.csv", "id,phone\nP1,(555) 111-0001\nP2,555.111.0002\n")
	if out, _, err := runCmd(t, ctx, env, "import", "patients", first); err != nil || !strings.HasSuffix(out, "0 changed\n") {
		t.Fatalf("import: %q, %v", out, err)
	}
	second := writeFile(t, "inactive.csv", "id,active\nP1,false\nP2,true\n")
	out, _, err := runCmd(t, ctx, env, "import", "patients", second)
	if err != nil || !strings.HasSuffix(out, "1 updated, 1 unchanged; consents: 0 added, 0 changed; 1 made inactive, 0 made active\n") {
		t.Errorf("import: %q, %v", out, err)
	}
}
