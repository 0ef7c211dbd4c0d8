package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"emlab/internal/rundir"
)

var (
	tinyOnce sync.Once
	tinyDirs []string
	tinyErr  string
)

// tinyRuns trains two tiny GPTs of different widths on 1- and 2-digit
// addition with the same seed (a few seconds each) and scores both with
// emlab eval --samples on 40 items per variant; they are shared by the
// tests of this file.
func tinyRuns(t *testing.T) []string {
	t.Helper()
	tinyOnce.Do(func() {
		root, err := osMkdirTemp()
		if err != nil {
			tinyErr = err.Error()
			return
		}
		for _, d := range []string{"8", "24"} {
			dir := filepath.Join(root, "d"+d)
			for _, args := range [][]string{
				{"train", "--tasks", "add(digits=2)", "--set", "model.n_ctx=32", "--set", "model.d_model=" + d, "--set", "model.n_layers=1",
					"--set", "model.n_heads=2", "--steps", "60", "--seed", "3", "--set", "train.checkpoint_every=30", "--out", dir, "--quiet"},
				{"eval", "--run", dir, "--all", "--n", "40", "--samples", "--quiet"},
			} {
				var out, errb bytes.Buffer
				if code := Main(context.Background(), args, &out, &errb); code != 0 {
					tinyErr = strings.Join(args, " ") + ": " + errb.String()
					return
				}
			}
			tinyDirs = append(tinyDirs, dir)
		}
	})
	if tinyErr != "" {
		t.Fatal(tinyErr)
	}
	return tinyDirs
}

// TestEvalSamples: emlab eval --samples writes one line per item and
// checkpoint whose scores average to the evals.jsonl lines.
func TestEvalSamples(t *testing.T) {
	dir := tinyRuns(t)[0]
	steps := samplesMatchEvals(t, dir)
	if len(steps) < 2 || !steps[60] {
		t.Errorf("samples at steps %v: want every evaluated checkpoint of the run, 60 among them", steps)
	}
}

// TestEvalSamplesModelDirectory: --samples works on a model trained
// elsewhere (a Hugging Face GPT-2 directory) as on an emlab run.
func TestEvalSamplesModelDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gpt2")
	gpt2Model(t, dir, 1)
	runCLI(t, "eval", "--run", dir, "--tasks", modelTasks, "--n", "12", "--samples", "--quiet")
	if steps := samplesMatchEvals(t, dir); len(steps) != 1 {
		t.Errorf("samples at steps %v: want the model's one checkpoint", steps)
	}
}

// samplesMatchEvals checks that dir's samples.jsonl is complete, covers
// the steps of its evals.jsonl, and that each evaluation line is the mean
// of its items' scores; it returns the steps the samples cover.
func samplesMatchEvals(t *testing.T, dir string) map[int]bool {
	t.Helper()
	ss, err := rundir.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	evals, err := rundir.ReadEvals(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps, evalSteps := map[int]bool{}, map[int]bool{}
	for _, s := range ss {
		steps[s.Step] = true
		if s.Prompt == "" || s.Target == "" || s.Item == "" || len(s.Scores) == 0 || !(s.AnswerLogProb <= 0) {
			t.Fatalf("incomplete sample %+v", s)
		}
	}
	for _, e := range evals {
		evalSteps[e.Step] = true
	}
	if len(ss) == 0 || fmt.Sprint(steps) != fmt.Sprint(evalSteps) {
		t.Errorf("%d samples at steps %v, evaluations at %v: want samples at every evaluated checkpoint", len(ss), steps, evalSteps)
	}
	checked := 0
	for _, e := range evals {
		if e.Breakdown() {
			continue
		}
		var sum float64
		n := 0
		for _, s := range ss {
			if v, ok := s.Scores[e.Metric]; ok && s.Step == e.Step && s.Task == e.Task {
				sum += v
				n++
			}
		}
		// Tolerance: the same float64 mean, summed in the same item order.
		if n != e.N || abs(sum/float64(n)-e.Value) > 1e-9 {
			t.Errorf("step %d %s %s: samples %v over %d, evals %v over %d", e.Step, e.Task, e.Metric, sum/float64(max(n, 1)), n, e.Value, e.N)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no evaluation lines")
	}
	return steps
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestCompareCommand: emlab compare pairs the two runs' items per variant
// and metric (McNemar for exact match, the paired bootstrap otherwise),
// filters by task, writes JSON lines, and says clearly what is wrong with
// bad input.
func TestCompareCommand(t *testing.T) {
	dirs := tinyRuns(t)
	out := runCLI(t, "compare", "--run", dirs[0], "--run", dirs[1], "--task", "add/plain/2", "--boot", "200")
	for _, want := range []string{"add/plain/2", "exact_match", "mcnemar", "token_accuracy", "paired_bootstrap", "B − A"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "add/plain/1") {
		t.Errorf("--task add/plain/2 also compared add/plain/1:\n%s", out)
	}
	js := runCLI(t, "compare", "--run", dirs[0], "--run", dirs[1], "--task", "add", "--json", "--boot", "200")
	dec := json.NewDecoder(strings.NewReader(js))
	tasks := map[string]bool{}
	for dec.More() {
		var c struct {
			Task, Metric, Test string
			N                  int
			Diff, Lo, Hi, P    *float64
			StepA              int `json:"step_a"`
			StepB              int `json:"step_b"`
		}
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		tasks[c.Task] = true
		if c.N == 0 || c.Diff == nil || c.P == nil || c.StepA != 60 || c.StepB != 60 {
			t.Errorf("comparison line %+v", c)
		}
		if wantTest := map[bool]string{true: "mcnemar", false: "paired_bootstrap"}[c.Metric == rundir.ExactMatch]; c.Test != wantTest {
			t.Errorf("%s %s tested with %s, want %s", c.Task, c.Metric, c.Test, wantTest)
		}
	}
	if len(tasks) < 2 {
		t.Errorf("--task add compared %v, want every add variant", tasks)
	}
	// Comparing a run with itself: every difference 0, p = 1.
	self := runCLI(t, "compare", "--run", dirs[0], "--run", dirs[0], "--task", "add/plain/1", "--json", "--boot", "50")
	if !strings.Contains(self, `"diff":0`) || strings.Contains(self, `"diff":-`) {
		t.Errorf("a run against itself:\n%s", self)
	}

	// A run scored on other items: a clear error naming an item.
	other := filepath.Join(t.TempDir(), "other")
	copyDir(t, dirs[1], other)
	runCLI(t, "eval", "--run", other, "--n", "20", "--samples", "--quiet")
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--run", dirs[0], "--run", other, "--task", "add/plain/2", "--step", "60"}, "not scored on the same items"},
		{[]string{"--run", dirs[0]}, "give two runs"},
		{[]string{"--run", dirs[0], "--run", dirs[1], "--task", "ad/plain/2"}, "did you mean add/plain/2"},
		{[]string{"--run", dirs[0], "--run", dirs[1], "--step", "7"}, "no samples at step 7 (it has 0, 1, 2"},
		{[]string{"--run", dirs[0], "--run", t.TempDir()}, "emlab eval --run"},
	}
	for _, c := range bad {
		var o, e bytes.Buffer
		code := Main(context.Background(), append([]string{"compare"}, c.args...), &o, &e)
		if code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("emlab compare %s: exit %d, stderr %q; want it to mention %q", strings.Join(c.args, " "), code, e.String(), c.want)
		}
	}
}

// TestAnalyzeItemView: emlab analyze --runs reports the per-item view of
// runs that wrote samples (flips between rungs, per-item correlations).
func TestAnalyzeItemView(t *testing.T) {
	dirs := tinyRuns(t)
	out := runCLI(t, append([]string{"analyze", "--boot", "0", "--tasks", "add/plain/2", "--runs"}, dirs...)...)
	if !strings.Contains(out, "items add/plain/2/exact_match over 2 rungs: wrong→right") || !strings.Contains(out, "items add/plain/2/answer_prob") {
		t.Errorf("no per-item view:\n%s", out)
	}
	js := runCLI(t, append([]string{"analyze", "--boot", "0", "--json", "--tasks", "add/plain/2", "--runs"}, dirs...)...)
	if !strings.Contains(js, `"item_view":{`) || !strings.Contains(js, `"frac_wrong_to_right"`) {
		t.Errorf("no item_view in the JSON:\n%.2000s", js)
	}
}

// osMkdirTemp is a directory for runs shared by several tests (they outlive
// one test's TempDir); the operating system's temporary-file cleanup owns it.
func osMkdirTemp() (string, error) { return os.MkdirTemp("", "emlab-compare-test-") }
