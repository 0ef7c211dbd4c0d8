package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/demo"
	"emlab/internal/rundir"
)

// runCLI runs one emlab command line in-process.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("emlab %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// TestTrainAddEmerges is the end-to-end check: a tiny GPT trained only
// on next-token loss over 2-digit addition documents reaches > 90% exact
// match on held-out pairs (never in its training stream) in under a minute.
// The configuration is the gpt-3min ladder's 108k-parameter rung (d=64, L=2,
// H=4) with a 32-token context (two slot-aligned documents per window).
func TestTrainAddEmerges(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~30 s; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "add")
	runCLI(t, "train", "--tasks", "add(digits=2)", "--set", "model.n_ctx=32", "--set", "model.d_model=64",
		"--set", "model.n_layers=2", "--set", "model.n_heads=4", "--steps", "1600", "--seed", "1",
		"--set", "train.checkpoint_every=800", "--out", dir, "--quiet")
	runCLI(t, "eval", "--run", dir, "--n", "300", "--quiet")
	rs, err := rundir.ReadEvals(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rs {
		if r.Task == "add/plain/2" && r.Metric == rundir.ExactMatch {
			found = true
			t.Logf("held-out 2-digit exact match %.3f ± %.3f (n=%d)", r.Value, r.Stderr, r.N)
			if r.Value <= 0.9 {
				t.Errorf("held-out exact match %.3f, want > 0.9", r.Value)
			}
		}
	}
	if !found {
		t.Fatal("no add/plain/2 exact_match in " + rundir.EvalsFile)
	}
}

func TestTrainBadInput(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "run") // does not exist yet
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--preset", "tinny", "--out", t.TempDir()}, "did you mean tiny"},
		{[]string{"train", "--set", "model.d_modle=3", "--out", t.TempDir()}, "did you mean model.d_model"},
		{[]string{"train", "--set", "model.n_heads=3", "--out", t.TempDir()}, "model.n_heads"},
		{[]string{"train", "--set", "model.d_model=-1", "--out", t.TempDir()}, "model.d_model: must be positive"},
		{[]string{"train", "--preset", "tiny"}, "--out"},
		{[]string{"train", "--tasks", "ad:1", "--out", fresh}, "did you mean add"},
		{[]string{"train", "--set", "data.source=tasks", "--set", "data.tasks=add:1,icl(k=9O):1", "--out", fresh}, "icl"},
		{[]string{"train", "--tasks", "stories", "--set", "model.n_ctx=16", "--out", fresh}, "longer than the window"},
		{[]string{"eval", "--run", t.TempDir()}, "not a run directory"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), c.args, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("emlab %s: exit %d, stderr %q, want it to mention %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
	// A bad mixture fails before anything is written.
	if _, err := os.Stat(fresh); err == nil {
		t.Errorf("a failed train created %s", fresh)
	}
}

// TestDemoQuickShowsEverything runs `emlab demo --quick` end to end and
// requires every finding to hold. It trains for minutes, so it
// runs only with EMLAB_LONG_TESTS=1 (docs/demo.md records its figures).
// The demo runs each step as a process of the emlab binary, so the test
// builds it first.
func TestDemoQuickShowsEverything(t *testing.T) {
	if os.Getenv("EMLAB_LONG_TESTS") == "" {
		t.Skip("trains the quick demo (minutes); set EMLAB_LONG_TESTS=1")
	}
	bin := filepath.Join(t.TempDir(), "emlab")
	build := exec.Command("go", "build", "-o", bin, "emlab/cmd/emlab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command(bin, "demo", "--quick", "--out", out)
	b, err := cmd.CombinedOutput()
	t.Logf("%s", b)
	if err != nil {
		t.Fatalf("emlab demo --quick: %v", err)
	}
	var findings []demo.Finding
	fb, err := os.ReadFile(filepath.Join(out, demo.FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(fb, &findings); err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if !f.Pass {
			t.Errorf("not shown: %s — %s %q", f.Claim, f.Detail, f.Items)
		}
	}
	for _, f := range []string{demo.ReportFile, demo.AnalysisFile} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty", f)
		}
	}
}
