// Package cli implements emlab's subcommands. Each subcommand is one file
// with an options struct and a runX(ctx, opts, w) error function; this file
// only holds the registry and the dispatcher.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"emlab/internal/suggest"
)

// command is one subcommand: run parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by init functions in the subcommand files.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("cli: duplicate command " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// errUsage marks an error whose message is already the full explanation
// (flag parsing prints its own usage).
var errUsage = errors.New("usage")

// Main runs the subcommand named by args[0] and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 1 {
			return help(ctx, args[1], stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "emlab: unknown command %q%s\n", args[0], didYouMean(args[0], commandNames()))
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "emlab %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// isHelp reports whether arg asks for help rather than naming something.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

// help prints one command's usage and flags on stdout (emlab help train):
// the command itself answers -h, so the text is the one -h prints.
func help(ctx context.Context, name string, stdout, stderr io.Writer) int {
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "emlab help: unknown command %q%s\n", name, didYouMean(name, commandNames()))
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, []string{"-h"}, stdout, stdout)
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return 0
	}
	fmt.Fprintf(stderr, "emlab help %s: %v\n", name, err)
	return 1
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "emlab: grow emergent abilities in small language models and see how they form")
	fmt.Fprintln(w, "\nusage: emlab <command> [flags]\n\ncommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'emlab help <command>' (or 'emlab <command> -h') for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
// name is the command as typed after emlab ("train", "sweep run").
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("emlab "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printUsage(fs) }
	return fs
}

// printUsage writes a command's usage line, summary and flags, spelt with
// two dashes as everywhere else in emlab, to the flag set's output.
func printUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "usage: %s [flags]\n", fs.Name())
	top, _, _ := strings.Cut(strings.TrimPrefix(fs.Name(), "emlab "), " ")
	if c, ok := commands[top]; ok {
		fmt.Fprintf(w, "\n%s\n", c.summary)
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n++; n == 1 {
			fmt.Fprintln(w, "\nflags:")
		}
		kind, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(text, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" && !strings.Contains(text, "default") {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parseFlags parses args, allowing flags after positional arguments
// (emlab tasks sample add --n 5), and returns the positional arguments.
// -h prints the usage; any other flag error is one line on the flag set's
// output (an unknown flag with the closest known one), then errUsage.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	out, usageFn := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard) // the flag package's own message and usage dump
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usageFn }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			fs.SetOutput(out)
			if errors.Is(err, flag.ErrHelp) {
				usageFn()
				return nil, err
			}
			fmt.Fprintf(out, "%s: %s\n", fs.Name(), flagError(fs, err))
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, checkFiniteFlags(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError rewrites one of the flag package's errors in emlab's words:
// flags with two dashes, and the closest known flag for an unknown one.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	var known []string
	fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
	helpHint := fmt.Sprintf(" ('emlab help %s' lists the flags)", strings.Fields(strings.TrimPrefix(fs.Name(), "emlab "))[0])
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if close := suggest.Closest(name, known, 1); len(close) > 0 {
			return fmt.Sprintf("unknown flag --%s; did you mean --%s?", name, close[0])
		}
		return fmt.Sprintf("unknown flag --%s%s", name, helpHint)
	}
	for _, n := range known { // "invalid value "x" for flag -steps: ...", "flag needs an argument: -out"
		for _, pre := range []string{"flag -", "argument: -"} {
			if strings.Contains(msg, pre+n) {
				return strings.Replace(msg, pre+n, pre[:len(pre)-1]+"--"+n, 1)
			}
		}
	}
	return msg + helpHint
}

// suggest returns ", did you mean X?" for the closest of names, or "".
func didYouMean(name string, names []string) string {
	close := suggest.Closest(name, names, 3)
	if len(close) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(close, ", "))
}

// needDir is nil if dir is a directory, else an error that says what it is
// instead (missing, a file), in words rather than a system call's.
func needDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: no such directory", dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is a file, not a directory", dir)
	}
	return nil
}
