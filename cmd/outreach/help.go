package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// cmdUsage describes one command line: the overview lists it and its --help shows it.
type cmdUsage struct {
	name     string // the command's words, "billing report"
	flags    string // its flags as typed, "--month YYYY-MM [--format json|csv|text]"
	args     string // its arguments after the flags, "FILE.csv"
	min, max int    // how many arguments it takes; max -1: no limit
	summary  string // one line for the overview
	about    string // what it does, for its --help
}

// errHelp is returned by a command that printed its usage because -h or --help was given:
// the run succeeded.
var errHelp = errors.New("help requested")

// usageError is a mistake in the command line: one line saying what was wrong, for the command
// named (empty: the program as a whole). It exits with status 2.
type usageError struct {
	cmd string
	msg string
}

func (e usageError) Error() string { return e.msg }

// hint tells where the usage of the command that was mistyped is.
func (e usageError) hint() string {
	if e.cmd == "" {
		return "run 'outreach --help' for the commands"
	}
	return fmt.Sprintf("run 'outreach %s --help' for its usage", e.cmd)
}

func (u cmdUsage) synopsis() string {
	return strings.Join(slices.DeleteFunc([]string{u.name, u.flags, u.args}, func(s string) bool { return s == "" }), " ")
}

func (u cmdUsage) fail(format string, args ...any) error {
	return usageError{cmd: u.name, msg: u.name + ": " + fmt.Sprintf(format, args...)}
}

// flagSet returns an empty flag set for the command; parse reports its errors.
func (u cmdUsage) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(u.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// wantsHelp reports whether -h or --help stands among args (before a "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// parse reads a command's flags into fs (nil: it takes none) and returns its arguments, after
// checking their number. With -h or --help anywhere it prints the command's usage to
// standard output and returns errHelp, reading nothing else.
func (a *app) parse(u cmdUsage, fs *flag.FlagSet, args []string) ([]string, error) {
	if fs == nil {
		fs = u.flagSet()
	}
	if wantsHelp(args) {
		u.print(a.stdout, fs)
		return nil, errHelp
	}
	if err := fs.Parse(args); err != nil {
		return nil, u.fail("%v", err)
	}
	rest := fs.Args()
	switch {
	case len(rest) < u.min:
		return nil, u.fail("missing %s", u.args)
	case u.max == 0 && len(rest) > 0:
		return nil, u.fail("takes no arguments, got %q", strings.Join(rest, " "))
	case u.max > 0 && len(rest) > u.max:
		return nil, u.fail("unexpected %q after %s", strings.Join(rest[u.max:], " "), u.args)
	}
	return rest, nil
}

// subcommand picks the command of group ("billing") that args name, and returns it with the
// arguments that follow its name. The group's --help lists its commands.
func (a *app) subcommand(group string, args []string) (cmdUsage, []string, error) {
	var subs []cmdUsage
	var names []string
	for _, u := range commands {
		if sub, ok := strings.CutPrefix(u.name, group+" "); ok {
			subs = append(subs, u)
			names = append(names, sub)
		}
	}
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprintf(a.stdout, "usage: outreach %s COMMAND ...\n\n%s\n\ncommands:\n", group, groupAbout[group])
		printList(a.stdout, subs)
		fmt.Fprintf(a.stdout, "\nRun 'outreach %s COMMAND --help' for a command's usage.\n", group)
		return cmdUsage{}, nil, errHelp
	case len(args) == 0:
		return cmdUsage{}, nil, usageError{cmd: group, msg: fmt.Sprintf("%s needs a command: %s", group, strings.Join(names, ", "))}
	}
	if i := slices.Index(names, args[0]); i >= 0 {
		return subs[i], args[1:], nil
	}
	return cmdUsage{}, nil, usageError{cmd: group, msg: fmt.Sprintf("%s: %q is not one of %s", group, args[0], strings.Join(names, ", "))}
}

// print writes the command's usage: its synopsis, what it does and its flags.
func (u cmdUsage) print(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: outreach %s\n\n%s\n", u.synopsis(), strings.TrimSpace(u.about))
	var lines [][2]string
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			help += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, [2]string{strings.TrimSpace("--" + f.Name + " " + arg), help})
	})
	if len(lines) == 0 {
		return
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	fmt.Fprintln(w, "\nflags:")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
}

// printList writes one line per command: its synopsis and summary, the summary on a line of its
// own under a long synopsis.
func printList(w io.Writer, us []cmdUsage) {
	const col = 38
	for _, u := range us {
		if s := u.synopsis(); len(s) < col-2 {
			fmt.Fprintf(w, "  %-*s%s\n", col-2, s, u.summary)
		} else {
			fmt.Fprintf(w, "  %s\n  %-*s%s\n", s, col-2, "", u.summary)
		}
	}
}

// printOverview writes the program's usage: every command with its summary.
func printOverview(w io.Writer) {
	fmt.Fprint(w, "usage: outreach COMMAND [ARGS]\n\ncommands:\n")
	printList(w, commands)
	fmt.Fprint(w, "\nRun 'outreach COMMAND --help' (or 'outreach help COMMAND') for a command's usage.\n"+
		"Configuration comes from the environment; see the README.\n")
}
