package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// readmeBlock returns the lines of the first fenced block after the
// heading in the repository's README.md.
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```")
	s = s[start+3:]
	s = s[strings.Index(s, "\n")+1:]
	return strings.Split(s[:strings.Index(s, "```")], "\n")
}

// TestReadmeCommandsListEveryCommand: the README's command list names
// every command emlab help lists.
func TestReadmeCommandsListEveryCommand(t *testing.T) {
	block := strings.Join(readmeBlock(t, "## Commands"), "\n")
	for _, name := range commandNames() {
		if !regexp.MustCompile(`(?m)^emlab ` + name + `\b`).MatchString(block) {
			t.Errorf("README.md's command list lacks emlab %s", name)
		}
	}
}

// TestReadmeFirstSession runs the README's first session, line by line in
// its order, in a fresh directory: each command must succeed after the
// ones before it (train, then eval, probe, analyze, report, export, index).
func TestReadmeFirstSession(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model (~10 s of CPU); skipped with -short")
	}
	lines := readmeBlock(t, "## A first session")
	t.Chdir(t.TempDir())
	ran := 0
	for _, line := range lines {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] != "emlab" {
			t.Fatalf("README first session: %q is not an emlab command", line)
		}
		code, _, errs := run(t, f[1:]...)
		if code != 0 {
			t.Fatalf("README first session: %s: exit %d\n%s", strings.TrimSpace(line), code, errs)
		}
		ran++
	}
	if ran < 6 {
		t.Fatalf("README first session ran %d commands, want the whole train → eval → probe → analyze → report sequence", ran)
	}
	for _, f := range []string{"runs/add/" + rundir.EvalsFile, "runs/add/" + rundir.ProbesFile, "runs/report.html", "runs/evals.csv", "runs/index.db"} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("after the first session %s is missing or empty", f)
		}
	}
}
