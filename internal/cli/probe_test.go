package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// copyDir copies the attn2 probe fixture (a run directory made by emlab
// train, see internal/probe/testdata/README.md) so the test can write
// probes.jsonl beside it.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestProbeCommand(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../probe/testdata/attn2", dir)
	ckpts, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.safetensors"))
	hash := func() map[string][32]byte {
		h := map[string][32]byte{}
		for _, p := range ckpts {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h[p] = sha256.Sum256(b)
		}
		return h
	}
	before := hash()
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"probe"}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}
	readRows := func() []map[string]any {
		b, err := os.ReadFile(rundir.Path(dir, rundir.ProbesFile))
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("bad line %q: %v", line, err)
			}
			rows = append(rows, r)
		}
		return rows
	}
	if out, errs, code := run("--run", dir, "--all", "--probes", "prefix_matching,copying", "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	first := readRows()
	// 2 steps × 2 probes × 2 layers × 4 heads.
	if len(first) != 32 {
		t.Fatalf("%d rows, want 32", len(first))
	}
	for _, r := range first {
		for _, k := range []string{"step", "probe", "layer", "head", "value"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("row %v lacks %q", r, k)
			}
		}
	}
	// Re-probing one step replaces its rows; other probes stay.
	if _, errs, code := run("--run", dir, "--step", "2000", "--probes", "prefix_matching", "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if again := readRows(); len(again) != 32 {
		t.Errorf("after re-probing step 2000: %d rows, want 32 (no duplicates)", len(again))
	}
	for p, h := range hash() {
		if before[p] != h {
			t.Errorf("%s changed", p)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--run", dir, "--probes", "prefix_matchin"}, "did you mean prefix_matching"},
		{[]string{"--run", dir, "--probes", "fourier"}, "no modadd task"},
		{[]string{"--run", dir, "--step", "7"}, "no checkpoint at step 7"},
		{[]string{"--run", dir, "--step", "7", "--all"}, "not both"},
		{[]string{}, "--run DIR is required"},
	} {
		_, errs, code := run(c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("probe %v: exit %d, stderr %q; want an error containing %q", c.args, code, errs, c.want)
		}
	}
	if out, _, code := run("--list"); code != 0 || !strings.Contains(out, "prefix_matching") {
		t.Errorf("--list: exit %d, %q", code, out)
	}
}

// TestProbeSummary: the summary shows the largest induction score with its
// head, the smallest loss (never a "max" of a loss), a descriptive
// measure's range, and "n/a" with its reason where a layer or head does
// not apply, never −1.
func TestProbeSummary(t *testing.T) {
	ip := func(i int) *int { return &i }
	rows := []rundir.Probe{
		{Probe: rundir.ProbePrefixMatching, Layer: 1, Head: 2, Value: 0.81},
		{Probe: rundir.ProbePrefixMatching, Layer: 1, Head: 3, Value: 0.12},
		{Probe: rundir.ProbeICLLoss, Layer: -1, Head: -1, Index: ip(0), Value: 3.5},
		{Probe: rundir.ProbeICLLoss, Layer: -1, Head: -1, Index: ip(9), Value: 1.25},
		{Probe: rundir.ProbeAttnEntropy, Layer: 0, Head: 0, Value: 0.5},
		{Probe: rundir.ProbeAttnEntropy, Layer: 0, Head: 1, Value: 2},
		{Probe: rundir.ProbeWeightNorm, Layer: -1, Head: -1, Value: 12},
	}
	var b strings.Builder
	printProbeSummary(&b, rows, 100)
	out := b.String()
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = strings.Join(f, " ")
		}
	}
	for probe, want := range map[string]string{
		rundir.ProbePrefixMatching: "prefix_matching max 0.8100 1 2 2",
		rundir.ProbeICLLoss:        "icl_loss min 1.2500 n/a n/a 2",
		rundir.ProbeAttnEntropy:    "attn_entropy range 0.5–2 2",
		rundir.ProbeWeightNorm:     "weight_norm value 12.0000 n/a n/a 1",
	} {
		if lines[probe] != want {
			t.Errorf("row %s = %q, want %q\n%s", probe, lines[probe], want, out)
		}
	}
	if strings.Contains(out, "-1") || !strings.Contains(out, "n/a: the row measures the whole model") {
		t.Errorf("a layer or head that does not apply is not n/a with its reason:\n%s", out)
	}
}
