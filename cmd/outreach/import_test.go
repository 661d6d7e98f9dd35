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

// The staff, services and time files list every error as the patients file does, the time
// file's errors found against what is stored included.
func TestEveryImportListsEveryError(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	env := map[string]string{"DATABASE_URL": conn}
	setup := map[string]string{
		"staff":    "id,name,credential\nS1,Rita,RN\n",
		"patients": "id,programs,billing_npi,consent_at\nP1,ccm,1111111112,2026-01-15\n",
	}
	for _, kind := range []string{"staff", "patients"} {
		if _, _, err := runCmd(t, ctx, env, "import", kind, writeFile(t, kind+".csv", setup[kind])); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(header, format string) string {
		var b strings.Builder
		b.WriteString(header)
		for i := range 60 {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	tests := []struct {
		kind, content, first string
	}{
		{"staff", rows("id,role,npi\n", "S%d,clinical,1234567890\n"), `staff.csv:2: npi "1234567890" is not a valid NPI: its check digit should be 3`},
		{"services", rows("patient,code,date,npi\n", "Q%d,G0181,2026-03-04,2222222228\n"), `services.csv:2: patient "Q0" is not a known patient id`},
		{"time", rows("patients,staff,program,started_at,minutes,activity\n", "P1,X%d,ccm,2026-03-02T10:00:00-05:00,5,coordination\n"), `time.csv:2: staff "X0" is not a known staff id`},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			_, _, err := runCmd(t, ctx, env, "import", tt.kind, writeFile(t, tt.kind+".csv", tt.content))
			var es csvfile.Errors
			if !errors.As(err, &es) || len(es) != 60 {
				t.Fatalf("error = %.300v…, want 60 errors", err)
			}
			lines := strings.Split(errorText(err), "\n")
			if len(lines) != 61 || !strings.HasSuffix(lines[0], ".csv: 60 errors:") || !strings.HasSuffix(lines[1], tt.first) || !strings.Contains(lines[60], ".csv:61: ") {
				t.Errorf("%d lines: %q … %q", len(lines), lines[:2], lines[len(lines)-1])
			}
		})
	}
}
