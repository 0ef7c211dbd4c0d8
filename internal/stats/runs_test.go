package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// writeRun writes a run directory the way the trainer does (the contract
// in runs.go): config.json, metrics.jsonl at every logged step and
// evals.jsonl at the evaluated steps.
func writeRun(t *testing.T, dir string, cfg map[string]any, steps []int, acc func(step int) float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, rundir.ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var m, e strings.Builder
	params := cfg["params"].(float64)
	for _, s := range steps {
		tokens := float64(s) * 2048
		fmt.Fprintf(&m, `{"step":%d,"tokens":%g,"flops":%g,"loss":2.5,"eval_loss":%g,"lr":0.001,"grad_norm":1,"seconds":1}`+"\n",
			s, tokens, 6*params*tokens, 3-0.0005*float64(s))
		fmt.Fprintf(&e, `{"step":%d,"task":"add","metric":"exact_match","value":%g,"stderr":0.01,"n":200,"chance":0.01}`+"\n", s, acc(s))
		fmt.Fprintf(&e, `{"step":%d,"task":"add","metric":"token_acc","value":%g,"stderr":0.01,"n":600}`+"\n", s, math.Sqrt(acc(s)))
		// emlab eval writes the task's chance on every line, and breakdown lines per position.
		fmt.Fprintf(&e, `{"step":%d,"task":"add","metric":"logprob","value":-1.5,"stderr":0.01,"n":200,"chance":0.01}`+"\n", s)
		for pos := 0; pos < 2; pos++ {
			fmt.Fprintf(&e, `{"step":%d,"task":"add","metric":"per_position_loss","value":1.5,"stderr":0.01,"n":200,"chance":0.01,"position":%d}`+"\n", s, pos)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.MetricsFile), []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.EvalsFile), []byte(e.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadRuns(t *testing.T) {
	root := t.TempDir()
	steps := []int{0, 100, 200, 400, 800}
	var dirs []string
	for i, p := range []float64{1e4, 3e4, 1e5, 3e5} {
		for seed := 0; seed < 2; seed++ {
			d := filepath.Join(root, fmt.Sprintf("r%d-s%d", i, seed))
			writeRun(t, d, map[string]any{"params": p, "non_embedding_params": p / 2, "seed": seed}, steps,
				func(s int) float64 { return 0.1 * float64(i) * float64(s) / 800 })
			dirs = append(dirs, d)
		}
	}
	t.Run("params", func(t *testing.T) {
		cs, rep, err := ReadRuns(dirs, AxisParams)
		if err != nil {
			t.Fatal(err)
		}
		// Sorted by task then metric; the per-position lines are left out.
		if len(cs) != 3 || cs[0].Key() != "add/exact_match" || cs[1].Key() != "add/logprob" || cs[2].Key() != "add/token_acc" || rep.SkippedBreakdown != 16 {
			t.Fatalf("curves %v, skipped %d", cs, rep.SkippedBreakdown)
		}
		em := cs[0]
		// The chance rate is kept for exact match, not for the log-probability.
		if !em.HasChance || em.Chance != 0.01 || cs[1].HasChance || cs[2].HasChance {
			t.Errorf("chance: %v %v / %v / %v", em.HasChance, em.Chance, cs[1].HasChance, cs[2].HasChance)
		}
		// One point per run: its final step (800), value 0.1·i.
		if len(em.Points) != 8 || rep.DroppedNonPositive != 0 {
			t.Fatalf("%d points, %d dropped; want 8, 0", len(em.Points), rep.DroppedNonPositive)
		}
		lv, err := Pool(em)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range lv {
			if l.Seeds != 2 || math.Abs(l.Mean-0.1*float64(i)) > 1e-12 || l.N != 400 {
				t.Errorf("level %d: %+v", i, l)
			}
		}
	})
	t.Run("non_embedding_params", func(t *testing.T) {
		cs, _, err := ReadRuns(dirs, AxisNonEmbedding)
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Points[0].X != 5e3 {
			t.Errorf("x = %g, want 5e3", cs[0].Points[0].X)
		}
	})
	for _, c := range []struct {
		axis    string
		x       func(step float64, params float64) float64
		dropped int
	}{
		{AxisStep, func(s, p float64) float64 { return s }, 8 * 3},
		{AxisTokens, func(s, p float64) float64 { return s * 2048 }, 8 * 3},
		{AxisFLOPs, func(s, p float64) float64 { return 6 * p * s * 2048 }, 8 * 3},
		{AxisEvalLoss, func(s, p float64) float64 { return 3 - 0.0005*s }, 0},
	} {
		t.Run(c.axis, func(t *testing.T) {
			cs, rep, err := ReadRuns(dirs, c.axis)
			if err != nil {
				t.Fatal(err)
			}
			// Every evaluated step contributes (8 runs × 3 metrics at step 0
			// dropped); step 0 sits at x = 0 on the
			// step, tokens and FLOPs axes and is dropped (a log axis cannot hold it).
			if rep.DroppedNonPositive != c.dropped {
				t.Errorf("dropped %d, want %d", rep.DroppedNonPositive, c.dropped)
			}
			wantPts := 8*len(steps) - c.dropped/3 // three aggregate metrics
			if got := len(cs[0].Points); got != wantPts {
				t.Fatalf("%d points, want %d", got, wantPts)
			}
			p := cs[0].Points[len(cs[0].Points)-1] // last run, last step
			if want := c.x(800, 3e5); math.Abs(p.X-want) > 1e-9*want || p.Group != "300000" || !strings.HasPrefix(p.Seed, "1") {
				t.Errorf("last point %+v, want x=%g group 300000 seed 1", p, want)
			}
		})
	}
}

func TestReadRunsErrors(t *testing.T) {
	root := t.TempDir()
	ok := filepath.Join(root, "ok")
	writeRun(t, ok, map[string]any{"params": 1e4, "non_embedding_params": 5e3}, []int{10, 20}, func(int) float64 { return 0.5 })
	noParams := filepath.Join(root, "noparams")
	writeRun(t, noParams, map[string]any{"params": 1e4, "non_embedding_params": 5e3}, []int{10}, func(int) float64 { return 0.5 })
	os.WriteFile(filepath.Join(noParams, rundir.ConfigFile), []byte(`{"non_embedding_params": 5}`), 0o644)
	gap := filepath.Join(root, "gap")
	writeRun(t, gap, map[string]any{"params": 1e4, "non_embedding_params": 5e3}, []int{10}, func(int) float64 { return 0.5 })
	os.WriteFile(filepath.Join(gap, rundir.MetricsFile), []byte(`{"step":5,"tokens":1,"flops":1,"eval_loss":2}`+"\n"), 0o644)
	badLine := filepath.Join(root, "badline")
	writeRun(t, badLine, map[string]any{"params": 1e4, "non_embedding_params": 5e3}, []int{10}, func(int) float64 { return 0.5 })
	os.WriteFile(filepath.Join(badLine, rundir.EvalsFile), []byte(`{"step":1,"task":"a","metric":"m","value":0.1}`+"\n"+`{"step":2,"task":"a"`+"\n"), 0o644)
	noEvals := filepath.Join(root, "noevals")
	writeRun(t, noEvals, map[string]any{"params": 1e4, "non_embedding_params": 5e3}, []int{10}, func(int) float64 { return 0.5 })
	os.Remove(filepath.Join(noEvals, rundir.EvalsFile))
	for _, c := range []struct {
		name string
		dirs []string
		axis string
		want string
	}{
		{"missing params", []string{noParams}, AxisParams, rundir.ConfigFile + `: missing "params"`},
		{"step without metrics", []string{gap}, AxisTokens, "step 10 has evaluations but no line in " + rundir.MetricsFile},
		{"bad json line", []string{badLine}, AxisParams, rundir.EvalsFile + ":2"},
		{"no evals", []string{noEvals}, AxisParams, "has no " + rundir.EvalsFile},
		{"same run twice", []string{ok, ok}, AxisParams, "duplicate x=10000"},
		{"unknown axis", []string{ok}, "parameters", `unknown axis "parameters"`},
		{"missing dir", []string{filepath.Join(root, "nope")}, AxisParams, "nope: no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadRuns(c.dirs, c.axis)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}
