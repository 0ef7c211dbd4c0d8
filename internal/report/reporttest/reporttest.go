// Package reporttest writes synthetic run directories (the plain files of
// the run-directory contract) for the report and dashboard tests: a scale
// ladder whose sharp metric jumps between two rungs while its smooth metric
// rises steadily, an induction run whose best head forms at a known step, a
// grokking run and a quanta run with per-subtask evaluations.
package reporttest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"emlab/internal/rundir"
)

// Ladder sizes (parameters) and the rung where exact match jumps: the
// sigmoid midpoint of the synthetic "add" task lies between Sizes[2] and
// Sizes[3], at XStar.
var (
	Sizes = []float64{16500, 29000, 62000, 108000, 347000, 808000}
	XStar = math.Sqrt(62000 * 108000)
)

// InductionStep is where the synthetic best head passes 0.5.
const InductionStep = 1400

// Steps are the checkpoint steps of every synthetic run.
var Steps = []int{0, 100, 200, 400, 800, 1400, 2000, 3000}

// Run is one run directory's content.
type Run struct {
	Config  map[string]any
	Metrics []map[string]any
	Evals   []map[string]any
	Probes  []map[string]any
	Done    bool
}

// Write writes r into dir (created).
func Write(t testing.TB, dir string, r Run) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if r.Config != nil {
		b, err := json.MarshalIndent(r.Config, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, rundir.ConfigFile), b)
	}
	for name, lines := range map[string][]map[string]any{rundir.MetricsFile: r.Metrics, rundir.EvalsFile: r.Evals, rundir.ProbesFile: r.Probes} {
		if lines == nil {
			continue
		}
		var b []byte
		for _, l := range lines {
			j, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			b = append(append(b, j...), '\n')
		}
		writeFile(t, filepath.Join(dir, name), b)
	}
	if r.Done {
		writeFile(t, filepath.Join(dir, rundir.DoneFile), nil)
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func config(params float64, seed int, cmd string) map[string]any {
	return map[string]any{
		"params": params, "non_embedding_params": params * 0.8, "seed": seed, "code_version": "test-0123abc",
		"command": []string{"emlab", "train", "--set", cmd}, "model": map[string]any{"d_model": 32},
	}
}

func logistic(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// LadderRun is rung i of the ladder: eval loss falls with size and step;
// exact match of "add" is a sharp sigmoid in log params (chance 0.01),
// token accuracy rises linearly in log params; "mul" stays at chance.
func LadderRun(i int) Run {
	n := Sizes[i]
	r := Run{Config: config(n, 1, fmt.Sprintf("model.d_model=%d", 32+16*i)), Done: true}
	lastStep := Steps[len(Steps)-1]
	for _, s := range Steps {
		frac := float64(s) / float64(lastStep)
		el := 3.0 - 0.35*math.Log10(n/1e4)*frac - 0.8*frac
		m := map[string]any{"step": s, "tokens": s * 2048, "flops": 6 * n * float64(s*2048), "lr": 1e-3, "grad_norm": 1.0, "seconds": float64(s) / 100, "eval_loss": el}
		if s > 0 {
			m["loss"] = el - 0.05
		}
		r.Metrics = append(r.Metrics, m)
		// The ability at this checkpoint: the final step's value is the
		// ladder's; earlier steps scale it down.
		t := (math.Log10(n) - math.Log10(XStar)) / 0.05
		em := 0.01 + 0.98*logistic(t)*frac
		ta := 0.3 + 0.25*(math.Log10(n)-math.Log10(Sizes[0]))*frac
		for _, e := range []struct {
			task, metric string
			v, chance    float64
		}{{"add/plain/2", "exact_match", em, 0.01}, {"add/plain/2", "token_accuracy", ta, 0.01}, {"add/plain/2", "logprob", -3 + 2*ta, 0.01},
			{"mul/plain/2", "exact_match", 0.01, 0.01}, {"mul/plain/2", "token_accuracy", 0.1 + 0.05*math.Log10(n/1e4)*frac, 0.01}} {
			r.Evals = append(r.Evals, map[string]any{"step": s, "task": e.task, "metric": e.metric, "value": e.v, "stderr": 0.005, "n": 400, "chance": e.chance})
		}
		// A per-position line must not become part of the task's curve.
		r.Evals = append(r.Evals, map[string]any{"step": s, "task": "add/plain/2", "metric": "per_position_loss", "value": 1.5, "stderr": 0.01, "n": 400, "chance": 0.01, "position": 0})
	}
	return r
}

// InductionRun is a 2-layer attention-only run whose best layer-1 head's
// prefix-matching score passes 0.5 at InductionStep.
func InductionRun() Run {
	r := Run{Config: config(40000, 7, "model.arch=attn"), Done: true}
	for _, s := range Steps {
		r.Metrics = append(r.Metrics, map[string]any{"step": s, "tokens": s * 2048, "flops": 1e9 * float64(s), "loss": 4.0 - float64(s)/1000, "eval_loss": 4.0 - float64(s)/1000})
		best := 0.02
		if s >= InductionStep {
			best = 0.6 + 0.1*float64(s-InductionStep)/1000
		}
		for layer := range 2 {
			for head := range 4 {
				v := 0.02
				if layer == 1 && head == 2 {
					v = best
				}
				r.Probes = append(r.Probes, map[string]any{"step": s, "probe": "prefix_matching", "layer": layer, "head": head, "value": v})
			}
		}
		icl := -0.05
		if s >= InductionStep {
			icl = -0.8
		}
		r.Probes = append(r.Probes, map[string]any{"step": s, "probe": "icl_score", "layer": -1, "head": -1, "value": icl})
	}
	return r
}

// GrokkingRun memorises by step 200 and generalises at step 2000.
func GrokkingRun() Run {
	r := Run{Config: config(20000, 3, "data.tasks=modadd"), Done: true}
	for _, s := range Steps {
		r.Metrics = append(r.Metrics, map[string]any{"step": s, "tokens": s * 1000, "flops": 1e8 * float64(s)})
		train := math.Min(1, 0.02+float64(s)/200)
		held := 0.02
		if s >= 2000 {
			held = 0.95
		}
		for _, p := range []struct {
			name string
			v    float64
		}{{"train_acc", train}, {"heldout_acc", held}, {"fourier_restricted_loss", 3.5 - float64(s)/1000}, {"fourier_excluded_loss", 1 + float64(s)/1000}, {"weight_norm", 40 - float64(s)/200}} {
			r.Probes = append(r.Probes, map[string]any{"step": s, "probe": p.name, "layer": -1, "head": -1, "value": p.v})
		}
	}
	return r
}

// QuantaRun is an MLP of the given width (parameters) that solves subtasks
// 0..solved−1 of multitask parity.
func QuantaRun(params float64, solved int) Run {
	r := Run{Config: config(params, 0, "data.tasks=parity"), Done: true}
	s := Steps[len(Steps)-1]
	r.Metrics = append(r.Metrics, map[string]any{"step": s, "tokens": s * 2000, "flops": 1e8})
	for sub := range 6 {
		em, lp := 0.5, -0.69
		if sub < solved {
			em, lp = 1.0, -0.01
		}
		r.Evals = append(r.Evals,
			map[string]any{"step": s, "task": "parity", "metric": "exact_match", "value": em, "stderr": 0.01, "n": 200, "chance": 0.5, "subtask": sub},
			map[string]any{"step": s, "task": "parity", "metric": "logprob", "value": lp, "stderr": 0.01, "n": 200, "chance": 0.5, "subtask": sub})
	}
	return r
}

// Tree writes a demo-like tree under root: ladder/r0…r5, induction/attn2,
// grokking/modadd and quanta/w8…w64. It returns the ladder's run IDs.
func Tree(t testing.TB, root string) []string {
	t.Helper()
	var ids []string
	for i := range Sizes {
		id := fmt.Sprintf("ladder/r%d", i)
		Write(t, filepath.Join(root, id), LadderRun(i))
		ids = append(ids, id)
	}
	Write(t, filepath.Join(root, "induction/attn2"), InductionRun())
	Write(t, filepath.Join(root, "grokking/modadd"), GrokkingRun())
	for i, w := range []float64{8, 16, 32, 64} {
		Write(t, filepath.Join(root, fmt.Sprintf("quanta/w%02d", int(w))), QuantaRun(w*100, []int{1, 2, 4, 6}[i]))
	}
	return ids
}
