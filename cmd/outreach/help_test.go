package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// noInput is a standard input that must never be read.
type noInput struct{ t *testing.T }

func (r noInput) Read([]byte) (int, error) {
	r.t.Error("the command read standard input")
	return 0, errors.New("no input")
}

// Every command and group answers -h and --help with its own usage on standard output,
// without reading the configuration, a file or standard input.
func TestEveryCommandAnswersHelp(t *testing.T) {
	broken := map[string]string{"OUTREACH_TIMEZONE": "Mars/Olympus", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
	lines := map[string]bool{}
	for _, u := range commands {
		lines[u.name] = true
		for _, flag := range []string{"--help", "-h"} {
			t.Run(u.name+" "+flag, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				err := run(context.Background(), append(strings.Fields(u.name), flag), noInput{t}, &stdout, &stderr, envFrom(broken))
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				out := stdout.String()
				if !strings.HasPrefix(out, "usage: outreach "+u.synopsis()+"\n") || !strings.Contains(out, strings.Fields(u.about)[0]) {
					t.Errorf("usage = %q", out)
				}
				if stderr.Len() > 0 {
					t.Errorf("stderr = %q", stderr.String())
				}
			})
		}
		if u.flags != "" {
			var stdout bytes.Buffer
			if err := run(context.Background(), append(strings.Fields(u.name), "--help"), noInput{t}, &stdout, &stdout, envFrom(nil)); err != nil ||
				!strings.Contains(stdout.String(), "\nflags:\n  --") {
				t.Errorf("%s --help lists no flags: %q, %v", u.name, stdout.String(), err)
			}
		}
	}
	for group := range groupAbout {
		var stdout bytes.Buffer
		err := run(context.Background(), []string{group, "--help"}, noInput{t}, &stdout, &stdout, envFrom(broken))
		if err != nil || !strings.HasPrefix(stdout.String(), "usage: outreach "+group+" COMMAND") {
			t.Errorf("%s --help = %q, %v", group, stdout.String(), err)
		}
		for _, u := range commands {
			if strings.HasPrefix(u.name, group+" ") && !strings.Contains(stdout.String(), u.synopsis()) {
				t.Errorf("%s --help does not list %s", group, u.name)
			}
		}
	}
	// Help placed after arguments, and "help COMMAND", work too.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "patients", "patients.csv", "--help"}, "usage: outreach import patients FILE.csv\n"},
		{[]string{"staff", "password", "RN1", "--help"}, "usage: outreach staff password STAFF_ID"},
		{[]string{"help", "billing", "report"}, "usage: outreach billing report --month"},
		{[]string{"help", "time"}, "usage: outreach time COMMAND"},
	} {
		var stdout bytes.Buffer
		if err := run(context.Background(), tt.args, noInput{t}, &stdout, &stdout, envFrom(broken)); err != nil || !strings.HasPrefix(stdout.String(), tt.want) {
			t.Errorf("%q = %q, %v", tt.args, stdout.String(), err)
		}
	}
	// The overview lists every command line.
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var stdout bytes.Buffer
		if err := run(context.Background(), args, noInput{t}, &stdout, &stdout, envFrom(nil)); err != nil {
			t.Fatal(err)
		}
		for name := range lines {
			if !strings.Contains(stdout.String(), "\n  "+name) {
				t.Errorf("%q does not list %s:\n%s", args, name, stdout.String())
			}
		}
	}
}

// A mistake in the command line is one line naming it, with a hint at the command's --help.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // the message
		cmd  string // the command whose --help the hint names
	}{
		{nil, "no command given", ""},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, ""},
		{[]string{"bench", "--patients", "5"}, `unknown command "bench"`, ""}, // the load run is outreach-bench, not shipped in this binary
		{[]string{"serve", "now"}, `serve: takes no arguments, got "now"`, "serve"},
		{[]string{"demo", "--fast"}, "demo: flag provided but not defined: -fast", "demo"},
		{[]string{"migrate", "now"}, `migrate: takes no arguments, got "now"`, "migrate"},
		{[]string{"healthcheck", "x"}, `healthcheck: takes no arguments, got "x"`, "healthcheck"},
		{[]string{"import"}, "import needs a command: patients, staff, services, time", "import"},
		{[]string{"import", "pets", "x.csv"}, `import: "pets" is not one of patients, staff, services, time`, "import"},
		{[]string{"import", "patients"}, "import patients: missing FILE.csv", "import patients"},
		{[]string{"import", "staff", "a.csv", "b.csv"}, `import staff: unexpected "b.csv" after FILE.csv`, "import staff"},
		{[]string{"import", "services", "--dry-run", "a.csv"}, "import services: flag provided but not defined: -dry-run", "import services"},
		{[]string{"import", "time"}, "import time: missing FILE.csv", "import time"},
		{[]string{"billing"}, "billing needs a command: report, close, worklist", "billing"},
		{[]string{"billing", "report"}, `billing report: --month: "" is not a month (YYYY-MM)`, "billing report"},
		{[]string{"billing", "report", "--month", "2026-03", "--format", "xml"}, `billing report: --format "xml" is not json, csv or text`, "billing report"},
		{[]string{"billing", "report", "--month"}, "billing report: flag needs an argument: -month", "billing report"},
		{[]string{"billing", "close", "--month", "2026-3"}, `billing close: --month: "2026-3" is not a month (YYYY-MM)`, "billing close"},
		{[]string{"billing", "close", "--format", "csv"}, "billing close: flag provided but not defined: -format", "billing close"},
		{[]string{"billing", "worklist", "--within", "soon"}, `billing worklist: invalid value "soon" for flag -within: parse error`, "billing worklist"},
		{[]string{"time", "history"}, "time history: missing ENTRY_ID", "time history"},
		{[]string{"time", "history", "abc"}, `time history: "abc" is not an entry id`, "time history"},
		{[]string{"time", "export"}, `time export: --month: "" is not a month (YYYY-MM)`, "time export"},
		{[]string{"time", "conflicts", "2026-03"}, `time conflicts: takes no arguments, got "2026-03"`, "time conflicts"},
		{[]string{"checkins", "start"}, `checkins: "start" is not one of run`, "checkins"},
		{[]string{"checkins", "run", "--at", "noon"}, `checkins run: --at "noon" is not an RFC 3339 instant`, "checkins run"},
		{[]string{"scripts", "validate"}, "scripts validate: missing FILE.yaml...", "scripts validate"},
		{[]string{"staff", "token"}, "staff token: missing STAFF_ID", "staff token"},
		{[]string{"staff", "token", "RN1", "--ttl", "0"}, `staff token: invalid value "0" for flag -ttl: "0" is not from 1m to 366d`, "staff token"},
		{[]string{"staff", "token", "RN1", "--ttl", "soon"}, `staff token: invalid value "soon" for flag -ttl`, "staff token"},
		{[]string{"staff", "token", "RN1", "RN2"}, `staff token: unexpected "RN1"`, "staff token"},
		{[]string{"staff", "revoke"}, "staff revoke: missing STAFF_ID", "staff revoke"},
		{[]string{"staff", "revoke", "RN1", "--ttl", "1h"}, `staff revoke: unexpected "--ttl 1h"`, "staff revoke"},
		{[]string{"staff", "password", "RN1", "boss"}, `staff password: access "boss" is not nurse, practitioner, manager or admin`, "staff password"},
		{[]string{"staff", "password", "RN1", "nurse", "x"}, `staff password: unexpected "x"`, "staff password"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, noInput{t}, &stdout, &stderr, envFrom(map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}))
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v, want a usage error", err)
			}
			if !strings.HasPrefix(ue.Error(), tt.want) || strings.Contains(ue.Error(), "\n") {
				t.Errorf("message = %q, want one line starting %q", ue.Error(), tt.want)
			}
			if ue.cmd != tt.cmd {
				t.Errorf("hint names %q, want %q", ue.cmd, tt.cmd)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q", stdout.String())
			}
		})
	}
}

// The program: help exits 0 on standard output; a usage error exits 2 with two lines on standard
// error, the mistake and the hint.
func TestHelpAndUsageErrorExitStatus(t *testing.T) {
	tests := []struct {
		args           string
		code           int
		stdout, stderr string
	}{
		{"billing report --help", 0, "usage: outreach billing report --month YYYY-MM", ""},
		{"--help", 0, "usage: outreach COMMAND", ""},
		{"billing report --bogus", 2, "", "outreach: billing report: flag provided but not defined: -bogus\nrun 'outreach billing report --help' for its usage\n"},
		{"frobnicate", 2, "", "outreach: unknown command \"frobnicate\"\nrun 'outreach --help' for the commands\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "OUTREACH_TEST_CHILD="+tt.args)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.HasPrefix(stdout.String(), tt.stdout) || (tt.stdout == "" && stdout.Len() > 0) || stderr.String() != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout starting %q, stderr %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
