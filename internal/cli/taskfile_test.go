package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// TestExampleTaskFilesTrainAndEvaluate: each task file in examples/tasks
// trains (a few steps, a mixture with a built-in task) and evaluates like
// a built-in task; the run records the file's content, so evaluating it
// again after the file is edited scores the same task; probe reads its
// items too.
func TestExampleTaskFilesTrainAndEvaluate(t *testing.T) {
	for _, name := range []string{"sub.toml", "compare.toml", "plurals.toml"} {
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			// A copy of the file (and its items), so the test can edit it.
			src := filepath.Join("..", "..", "examples", "tasks")
			file := filepath.Join(work, name)
			for _, f := range []string{name, strings.TrimSuffix(name, ".toml") + ".jsonl"} {
				b, err := os.ReadFile(filepath.Join(src, f))
				if os.IsNotExist(err) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(work, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			task, err := tasks.LoadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			run := filepath.Join(work, "run")
			runCLI(t, "train", "--tasks", "file:"+file+":2,add(digits=1)", "--set", "model.n_ctx=48", "--set", "model.d_model=16",
				"--set", "model.n_layers=1", "--set", "model.n_heads=2", "--steps", "8", "--set", "train.batch_size=4",
				"--set", "train.checkpoint_every=4", "--out", run, "--quiet")
			runCLI(t, "eval", "--run", run, "--all", "--n", "12", "--quiet")
			evals, err := rundir.ReadEvals(run)
			if err != nil {
				t.Fatal(err)
			}
			byTask := map[string][]rundir.Eval{}
			for _, e := range evals {
				byTask[e.Task] = append(byTask[e.Task], e)
			}
			for _, v := range task.Variants() {
				rows := byTask[v.Name]
				for _, m := range v.Metrics {
					found := 0
					for _, e := range rows {
						if e.Metric == m {
							found++
							if e.Chance != v.Chance || e.N == 0 {
								t.Errorf("%s %s step %d: chance %v n %d, want chance %v", v.Name, m, e.Step, e.Chance, e.N, v.Chance)
							}
						}
					}
					if found != 5 { // steps 0, 1, 2, 4 and 8
						t.Errorf("%s %s: %d lines in %s, want one per checkpoint (5)", v.Name, m, found, rundir.EvalsFile)
					}
				}
			}
			if len(byTask["add/plain/1"]) == 0 {
				t.Errorf("the built-in task of the mixture was not evaluated")
			}
			// Edit the file: the run still evaluates the task it trained on.
			if err := os.WriteFile(file, []byte("name = \"broken\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			runCLI(t, "eval", "--run", run, "--n", "12", "--quiet")
			again, err := rundir.ReadEvals(run)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(evals, again, func(a, b rundir.Eval) bool {
				return a.Step == b.Step && a.Task == b.Task && a.Metric == b.Metric && a.Value == b.Value && a.N == b.N
			}) {
				t.Errorf("re-evaluating after the task file changed gave other results")
			}
			cfg, err := rundir.ReadConfigJSON(run)
			if err != nil || !strings.Contains(string(cfg), task.(tasks.FileTask).Source().SHA256) {
				t.Errorf("%s does not record the task file's hash (%v)", rundir.ConfigFile, err)
			}
			out := runCLI(t, "probe", "--run", run, "--probes", "train_heldout,prefix_matching", "--quiet")
			if !strings.Contains(out, rundir.ProbeTrainAcc) || !strings.Contains(out, rundir.ProbeHeldoutAcc) {
				t.Errorf("probe output %q lacks the train/held-out accuracies", out)
			}
		})
	}
}

// TestTaskFileResumeRefusesEdit: resuming a run whose task file was
// edited since is refused, as any change of configuration is.
func TestTaskFileResumeRefusesEdit(t *testing.T) {
	work := t.TempDir()
	file := filepath.Join(work, "echo.toml")
	write := func(prompt string) {
		t.Helper()
		toml := "name = \"echo\"\nversion = 1\nchance = 0.1\nprompt = \"" + prompt + "\"\nanswer = \"{a}\"\n[vars]\na = { range = [0, 99] }\n"
		if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("E:{a}=")
	run := filepath.Join(work, "run")
	args := []string{"train", "--tasks", "file:" + file, "--set", "model.n_ctx=16", "--set", "model.d_model=16", "--set", "model.n_layers=1",
		"--set", "model.n_heads=2", "--steps", "2", "--set", "train.batch_size=2", "--out", run, "--quiet"}
	runCLI(t, args...)
	runCLI(t, append(args, "--resume")...) // unchanged: a finished run
	write("F:{a}=")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), append(args, "--resume"), &out, &errb); code == 0 || !strings.Contains(errb.String(), "configuration differs") {
		t.Errorf("resume after editing the task file: exit %d, %q", code, errb.String())
	}
}
