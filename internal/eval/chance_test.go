package eval_test

import (
	"fmt"
	"math"
	"testing"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// TestRandomModelAtChance scores random-weight GPTs on every registered
// task with default parameters (and on the perturbed variants). Averaged over several random inits, no
// sharp metric may beat the task's declared chance level by more than
// sampling noise, and multiple-choice metrics must not fall far below it
// either (which would mean the declared chance, or the scoring, is wrong).
//
// Why several inits: one random network is a fixed random function of the
// prompt, and where one prompt feature decides the answer ("a girl named
// Mia ... took | her/his") it can split the items perfectly by luck; its
// expectation over inits is still chance. The tolerance therefore adds the
// spread between inits to the binomial error of the items.
func TestRandomModelAtChance(t *testing.T) {
	const (
		n     = 100 // items per variant
		inits = 4
	)
	// Every task with default parameters, and the perturbed variants of
	// the robustness tasks.
	specs := append(tasks.Names(), "add(perturb=all)", "icl(perturb=all)", "stories(perturb=all)")
	for _, name := range specs {
		t.Run(name, func(t *testing.T) {
			task, err := tasks.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			nctx := task.MaxLen() + 2
			st, err := tasks.NewStream(name, data.MixtureConfig{Seed: 1, Label: "train", NCtx: nctx, Slot: 1})
			if err != nil {
				t.Fatal(err)
			}
			bat, err := eval.NewBattery([]tasks.Task{task}, n)
			if err != nil {
				t.Fatal(err)
			}
			type key struct{ task, metric string }
			vals := map[key][]float64{}
			res := map[key]rundir.Eval{}
			var order []key
			for s := 0; s < inits; s++ {
				cfg := nn.DefaultConfig(nn.ArchGPT)
				cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 1, 32, 2, nctx, st.Vocab()
				m, err := nn.New(cfg, data.RNG(uint64(s), "init"))
				if err != nil {
					t.Fatal(err)
				}
				rs, err := bat.Run(&eval.Harness{Model: m, Tok: st.Tok}, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if r.Subtask != nil || !rundir.IsSharp(r.Metric) {
						continue
					}
					k := key{r.Task, r.Metric}
					if _, ok := res[k]; !ok {
						order = append(order, k)
					}
					vals[k] = append(vals[k], r.Value)
					res[k] = r
				}
			}
			for _, k := range order {
				r, xs := res[k], vals[k]
				mean, sd := meanSD(xs)
				// Binomial error of the mean over inits·N item scores at the
				// chance rate, the spread between inits, and 0.02 for the
				// models not being exactly uniform.
				se := math.Sqrt(math.Max(r.Chance*(1-r.Chance), 0.01) / float64(r.N*inits))
				tol := 3.5*se + 3*sd/math.Sqrt(inits) + 0.02
				msg := fmt.Sprintf("%s %s = %.3f (inits %v) vs chance %.3f, tolerance %.3f, n=%d", k.task, k.metric, mean, round3(xs), r.Chance, tol, r.N)
				if mean > r.Chance+tol {
					t.Errorf("above chance: %s", msg)
				} else if k.metric == "mc_grade" && mean < r.Chance-tol {
					t.Errorf("far below chance (is the chance level or the choice scoring biased?): %s", msg)
				} else {
					t.Log(msg)
				}
			}
		})
	}
}

func meanSD(xs []float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)-1))
}

func round3(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*1000) / 1000
	}
	return out
}
