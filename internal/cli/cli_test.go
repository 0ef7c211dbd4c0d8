package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// run runs one command line in-process and returns its exit code, stdout
// and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelpOfACommand: emlab help CMD prints that command's usage and flags
// on stdout, the same text as CMD -h, and exits 0.
func TestHelpOfACommand(t *testing.T) {
	for _, name := range commandNames() {
		code, out, errs := run(t, "help", name)
		if code != 0 || errs != "" {
			t.Errorf("emlab help %s: exit %d, stderr %q", name, code, errs)
		}
		if !strings.Contains(out, "usage: emlab "+name) {
			t.Errorf("emlab help %s does not give %s's usage:\n%s", name, name, out)
		}
		if strings.Contains(out, "commands:") {
			t.Errorf("emlab help %s prints the general help:\n%s", name, out)
		}
	}
	_, out, _ := run(t, "help", "train")
	for _, want := range []string{"--steps int", "--out string", "--set key=value"} {
		if !strings.Contains(out, want) {
			t.Errorf("emlab help train lacks %q:\n%s", want, out)
		}
	}
	_, _, dash := run(t, "train", "-h") // -h writes to stderr, as Go commands do
	if dash != out {
		t.Errorf("emlab train -h and emlab help train differ:\n%s\n---\n%s", dash, out)
	}
}

// TestCommandLineMistakes: each common mistake gets one clear line on
// stderr (no usage dump, no doubled words), with a suggestion where a
// close name exists.
func TestCommandLineMistakes(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trian"}, 2, `unknown command "trian" (did you mean train?)`},
		{[]string{"help", "trian"}, 2, `unknown command "trian" (did you mean train?)`},
		{[]string{"train", "--step", "100"}, 2, "emlab train: unknown flag --step; did you mean --steps?\n"},
		{[]string{"train", "--frobnicate"}, 2, "emlab train: unknown flag --frobnicate ('emlab help train' lists the flags)\n"},
		{[]string{"train", "--steps", "many"}, 2, `emlab train: invalid value "many" for flag --steps`},
		{[]string{"train", "--out"}, 2, "emlab train: flag needs an argument: --out\n"},
		{[]string{"eval", "--runs", "x"}, 2, "unknown flag --runs; did you mean --run?"},
		{[]string{"sweep", "run", "--job", "2"}, 2, "emlab sweep run: unknown flag --job; did you mean --jobs?"},
		{[]string{"analyze", "--csv", missing}, 1, "emlab analyze: --csv: open " + missing + ": no such file or directory\n"},
		{[]string{"analyze", "--runs", missing}, 1, "emlab analyze: find runs: stat " + missing + ": no such file or directory\n"},
		{[]string{"analyze", "--runs", file}, 1, "not a directory"},
		{[]string{"analyze", "--runs", empty}, 1, "no run directories under " + empty + " (a run directory holds " + rundir.ConfigFile + " or " + rundir.MetricsFile + ")"},
		{[]string{"report", "--dir", missing}, 1, "stat " + missing + ": no such file or directory"},
		{[]string{"report", "--dir", empty, "--analysis", missing}, 1, "no run directories under"},
		{[]string{"serve", "--dir", missing}, 1, "emlab serve: dashboard directory: open " + missing + ": no such file or directory\n"},
		{[]string{"export", missing, "--csv", "-"}, 1, "emlab export: " + missing + ": no such directory\n"},
		{[]string{"index", "rebuild", missing}, 1, "emlab index: " + missing + ": no such directory\n"},
		{[]string{"index", "update", file}, 1, "is a file, not a directory"},
		{[]string{"index", "rbuild", dir}, 1, `unknown index command "rbuild" (did you mean rebuild?)`},
		{[]string{"sweep", "run"}, 1, "give one experiment file, e.g. emlab sweep run examples/sweeps/tiny.toml"},
		{[]string{"sweep", "--out", dir}, 1, "give the sweep command first"},
		{[]string{"sweep", "pln", file}, 1, `unknown sweep command "pln" (did you mean plan?)`},
		{[]string{"tasks", "lst"}, 1, `(did you mean list?)`},
		{[]string{"tasks", "sample"}, 1, "emlab tasks: sample needs one task"},
		{[]string{"bench", "--preset", "tinny"}, 1, "emlab bench: unknown preset \"tinny\" (did you mean tiny?)"},
		{[]string{"scaling", "fti"}, 1, "(did you mean fit?)"},
		{[]string{"train", "--config", missing, "--out", dir}, 1, "--config: stat " + missing},
		{[]string{"eval", "--run", missing}, 1, "--run: stat " + missing},
	}
	for _, c := range cases {
		code, out, errs := run(t, c.args...)
		name := "emlab " + strings.Join(c.args, " ")
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", name, code, errs, c.code, c.want)
		}
		for _, bad := range []string{"open open", "Usage of", "flag provided but not defined", "serve: serve", "export: export", "stat .:"} {
			if strings.Contains(errs, bad) {
				t.Errorf("%s: stderr has %q:\n%s", name, bad, errs)
			}
		}
		if c.code == 2 && len(c.args) > 1 && strings.Count(strings.TrimSpace(errs), "\n") > 0 && !strings.HasPrefix(c.args[0], "help") {
			t.Errorf("%s: want one line, got:\n%s", name, errs)
		}
		if out != "" {
			t.Errorf("%s: wrote to stdout:\n%s", name, out)
		}
	}
}
