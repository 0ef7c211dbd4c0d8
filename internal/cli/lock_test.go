package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// TestReliabilityTwoEvals: two `emlab eval --all` processes on one run at
// once, scoring different tasks, both succeed and evals.jsonl ends with
// every (step, variant) of both. Before, each read, merged and rewrote the
// file without a lock, and one step's results for one task went missing in
// 7 of 20 trials.
func TestReliabilityTwoEvals(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a run and starts 16 eval processes; skipped with -short")
	}
	specs := []string{"add", "add(format=reversed)"}
	run := filepath.Join(t.TempDir(), "run")
	runCLI(t, "train", "--tasks", specs[0]+","+specs[1], "--set", "model.d_model=16", "--set", "model.n_layers=1", "--set", "model.n_heads=2",
		"--set", "model.n_ctx=32", "--set", "train.batch_size=8", "--steps", "20", "--set", "train.checkpoint_every=5",
		"--set", "train.checkpoint_log_max=0", "--out", run, "--quiet")
	steps := []int{0, 5, 10, 15, 20}
	var want []string
	for _, spec := range specs {
		m, err := tasks.ParseMixture(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range m.Tasks()[0].Variants() {
			for _, s := range steps {
				want = append(want, fmt.Sprintf("%d %s", s, v.Name))
			}
		}
	}
	sort.Strings(want)
	lost := 0
	const trials = 8
	for trial := range trials {
		os.Remove(rundir.Path(run, rundir.EvalsFile))
		a, outA := emlabProcess(t, "eval", "--run", run, "--all", "--tasks", specs[0], "--n", "8", "--batch", "8", "--quiet")
		b, outB := emlabProcess(t, "eval", "--run", run, "--all", "--tasks", specs[1], "--n", "8", "--batch", "8", "--quiet")
		errA, errB := a.Wait(), b.Wait()
		if errA != nil || errB != nil {
			t.Fatalf("trial %d: eval exits %v and %v:\n%s\n%s", trial, errA, errB, outA, outB)
		}
		es, err := rundir.ReadEvals(run)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range es {
			got[fmt.Sprintf("%d %s", e.Step, e.Task)] = true
		}
		var missing []string
		for _, k := range want {
			if !got[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			lost++
			t.Errorf("trial %d: (step, variant) lost: %s", trial, strings.Join(missing, "; "))
		}
	}
	if lost > 0 {
		t.Errorf("results lost in %d of %d trials", lost, trials)
	}
}
