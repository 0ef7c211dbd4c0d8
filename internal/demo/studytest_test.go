package demo

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
)

// fake is a synthetic run directory for the studies' tests: a final
// evaluation of each task variant (exact match, with n items), metrics at
// step 0 and at the last step, and the sweep axes in sweep.json.
type fake struct {
	params        float64
	seed          int
	steps, tokens int     // the last step and the tokens seen by then
	flops         float64 // 0: 6·params·tokens
	evalLoss      float64 // 0: none
	axes          map[string]string
	exact         map[string]float64 // variant → exact match at the last step
	logprob       map[string]float64 // variant → log-prob at the last step
	n             int                // items per variant (200 when 0)
	chance        float64
	// history adds checkpoints before the last step, each with an eval
	// loss and exact match per variant.
	history []checkpoint
}

// checkpoint is an earlier evaluated checkpoint of a fake run.
type checkpoint struct {
	step     int
	evalLoss float64
	exact    map[string]float64
}

// write writes f as dir (created), through reporttest's plain files.
func (f fake) write(t *testing.T, dir string) {
	t.Helper()
	n := f.n
	if n == 0 {
		n = 200
	}
	steps := f.steps
	if steps == 0 {
		steps = 3000
	}
	tokens := f.tokens
	if tokens == 0 {
		tokens = steps * 2048
	}
	flops := f.flops
	if flops == 0 {
		flops = 6 * f.params * float64(tokens)
	}
	last := map[string]any{"step": steps, "tokens": tokens, "flops": flops, "loss": 1.0}
	if f.evalLoss > 0 {
		last["eval_loss"] = f.evalLoss
	}
	r := reporttest.Run{Config: map[string]any{"params": f.params, "non_embedding_params": math.Round(f.params * 0.8), "seed": f.seed,
		"model": map[string]any{"d_model": 32}, "train": map[string]any{"steps": steps}}, Done: true,
		Metrics: []map[string]any{{"step": 0, "tokens": 0, "flops": 0}, last}}
	for _, task := range sortedKeys(f.exact) {
		v := f.exact[task]
		r.Evals = append(r.Evals, map[string]any{"step": steps, "task": task, "metric": rundir.ExactMatch, "value": v,
			"stderr": math.Sqrt(v * (1 - v) / float64(n)), "n": n, "chance": f.chance})
	}
	for _, task := range sortedKeys(f.logprob) {
		r.Evals = append(r.Evals, map[string]any{"step": steps, "task": task, "metric": rundir.LogProb, "value": f.logprob[task],
			"stderr": 0.01, "n": n, "chance": f.chance})
	}
	for _, c := range f.history {
		r.Metrics = append(r.Metrics, map[string]any{"step": c.step, "tokens": c.step * 2048, "flops": 6 * f.params * float64(c.step*2048), "eval_loss": c.evalLoss})
		for _, task := range sortedKeys(c.exact) {
			v := c.exact[task]
			r.Evals = append(r.Evals, map[string]any{"step": c.step, "task": task, "metric": rundir.ExactMatch, "value": v,
				"stderr": math.Sqrt(v * (1 - v) / float64(n)), "n": n, "chance": f.chance})
		}
	}
	sort.Slice(r.Metrics, func(i, j int) bool { return r.Metrics[i]["step"].(int) < r.Metrics[j]["step"].(int) })
	reporttest.Write(t, dir, r)
	if f.axes != nil {
		b, err := json.Marshal(map[string]any{"experiment": filepath.Base(filepath.Dir(dir)), "run": map[string]any{"axes": f.axes}})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rundir.SweepSpecFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// judgeDir judges one study on the runs under dir with a small bootstrap.
func judgeDir(t *testing.T, name, dir string) *Judged {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	o := AnalyzeOptions(true)
	o.Stats.Boot = 100
	in, _, err := newInput(dir, true, o)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Judge(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// patchConfig rewrites a fake run's config.json through edit.
func patchConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, rundir.ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	if b, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustPlanTasks is the task mixture every run of an embedded sweep trains
// on (full and quick plans), as written in the run's config.
func mustPlanTasks(t *testing.T, sweep string) string {
	t.Helper()
	var tasks string
	for _, quick := range []bool{false, true} {
		p, err := LoadPlan(sweep, quick)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Runs {
			s := r.Config.Data.Tasks.String()
			if tasks != "" && s != tasks {
				t.Fatalf("sweep %s trains on %q and %q", sweep, tasks, s)
			}
			tasks = s
		}
	}
	return tasks
}
