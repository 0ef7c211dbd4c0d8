package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"emlab/internal/demo"
	"emlab/internal/rundir"
)

// TestDemoList: --list names every study with its claim, experiment and
// the cost of its quick and full forms, and trains nothing.
func TestDemoList(t *testing.T) {
	out := runCLI(t, "demo", "--list")
	for _, s := range demo.All() {
		for _, want := range []string{s.Name + " (", s.Claim, s.Experiment} {
			if !strings.Contains(out, want) {
				t.Errorf("--list lacks %q", want)
			}
		}
	}
	if strings.Count(out, "  quick: ") != len(demo.All()) || strings.Count(out, "  full : ") != len(demo.All()) {
		t.Errorf("--list does not give each study's quick and full cost:\n%s", out)
	}
}

// TestDemoPlanOfOneStudy: --study with --plan lists only that study's
// sweeps.
func TestDemoPlanOfOneStudy(t *testing.T) {
	out := runCLI(t, "demo", "--study", "grokking", "--quick", "--plan")
	if !strings.HasPrefix(out, "grokking: ") || strings.Contains(out, "ladder") {
		t.Errorf("--study grokking --plan:\n%s", out)
	}
}

func TestDemoBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--study", "nope"}, "no study \"nope\" (studies: emergence"},
		{[]string{"demo", "--study", "grokking", "--all"}, "not both"},
		{[]string{"demo", "--study", "grokking,nope", "--plan"}, "no study \"nope\""},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), c.args, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("emlab %s: exit %d, stderr %q, want it to mention %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
}

// TestDemoRefusesARunDirectory: --out naming a run directory (one holding
// config.json or metrics.jsonl) is refused before anything is trained or
// written there.
func TestDemoRefusesARunDirectory(t *testing.T) {
	for _, marker := range []string{rundir.ConfigFile, rundir.MetricsFile} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, marker), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Should the guard fail, the demo would start training: the
		// deadline stops it, and the error is then not the refusal.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out, errb bytes.Buffer
		code := Main(ctx, []string{"demo", "--quick", "--out", dir}, &out, &errb)
		cancel()
		errs := errb.String()
		want := "--out " + dir + " is a run directory (it holds " + marker + ")"
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("demo --out a run directory with %s: exit %d, stderr %q; want %q", marker, code, errs, want)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("demo wrote into the run directory: %d entries", len(entries))
		}
	}
}

// TestDemoQuickHelpClaimsNoTime: the --quick help promises no duration
// (a loaded machine takes many times the idle one's); the README and
// docs/demo.md give measured times with their load.
func TestDemoQuickHelpClaimsNoTime(t *testing.T) {
	_, out, _ := run(t, "help", "demo")
	if !strings.Contains(out, "--quick") || regexp.MustCompile(`\d+ (minutes?|min|s)\b`).MatchString(out) {
		t.Errorf("emlab help demo claims a duration:\n%s", out)
	}
}
