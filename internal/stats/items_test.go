package stats

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// TestItemView: flips and per-item correlations on a hand-computed ladder.
// Items a: 0,0,1; b: 0,1,1; c: 1,0,1; d: 1,1,1; e only at two rungs.
func TestItemView(t *testing.T) {
	rungs := []ItemRung{
		{X: 1000, Scores: map[string]float64{"a": 1, "b": 1, "c": 1, "d": 1}},
		{X: 10, Scores: map[string]float64{"a": 0, "b": 0, "c": 1, "d": 1, "e": 0}},
		{X: 100, Scores: map[string]float64{"a": 0, "b": 1, "c": 0, "d": 1, "e": 1}},
	}
	v, err := ItemViewOf(rungs, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := []ItemFlip{
		{FromX: 10, ToX: 100, Items: 5, WrongToRight: 2, RightToWrong: 1, FracWrongToRight: 0.4, FracRightToWrong: 0.2},
		{FromX: 100, ToX: 1000, Items: 4, WrongToRight: 2, RightToWrong: 0, FracWrongToRight: 0.5, FracRightToWrong: 0},
	}
	for i, f := range want {
		if v.Flips[i] != f {
			t.Errorf("flip %d: %+v, want %+v", i, v.Flips[i], f)
		}
	}
	// t = 1, 2, 3: a and b correlate 1/(√2·√(6/9)) = √3/2; c 0; d constant.
	r3 := math.Sqrt(3) / 2
	wantR := map[string]float64{"a": r3, "b": r3, "c": 0}
	if len(v.Correlations) != 3 || v.Constant != 1 || v.Sparse != 1 {
		t.Fatalf("correlations %+v, constant %d, sparse %d; want 3, 1, 1", v.Correlations, v.Constant, v.Sparse)
	}
	for _, c := range v.Correlations {
		if math.Abs(c.R-wantR[c.ID]) > 1e-12 {
			t.Errorf("item %s: r = %g, want %g", c.ID, c.R, wantR[c.ID])
		}
	}
	if math.Abs(v.MeanR-2*r3/3) > 1e-12 || math.Abs(v.MedianR-r3) > 1e-12 || math.Abs(v.FracPositive-2.0/3) > 1e-12 {
		t.Errorf("mean %g median %g positive %g; want %g %g %g", v.MeanR, v.MedianR, v.FracPositive, 2*r3/3, r3, 2.0/3)
	}
	for _, bad := range []struct {
		rungs []ItemRung
		want  string
	}{
		{rungs[:1], "need at least 2"},
		{[]ItemRung{{X: 10}, {X: 10}}, "two rungs at scale 10"},
		{[]ItemRung{{X: 10}, {X: -1}}, "positive and finite"},
		{[]ItemRung{{X: 10, Scores: map[string]float64{"q": math.Inf(1)}}, {X: 20}}, `item "q"`},
	} {
		if _, err := ItemViewOf(bad.rungs, 0.5); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("err = %v, want %q", err, bad.want)
		}
	}
}

// TestRunItemViews: samples of a two-seed ladder become one view per task
// for its sharp metric and for answer_prob; seeds at one scale are pooled,
// each run contributes its last sampled step, and a per-step axis is an
// error.
func TestRunItemViews(t *testing.T) {
	run := func(params int64, seed int) *rundir.Run {
		return &rundir.Run{ID: fmt.Sprintf("r%d-%d", params, seed), Config: &rundir.RunConfig{Info: rundir.Info{Params: params, Seed: uint64(seed)}}}
	}
	smp := func(step int, item string, em, p float64) rundir.Sample {
		return rundir.Sample{Step: step, Task: "add/plain/2", Item: item, Scores: map[string]float64{"exact_match": em, "answer_prob": p, "logprob": math.Log(p)}}
	}
	runs := []*rundir.Run{run(1000, 0), run(1000, 1), run(8000, 0), run(8000, 1)}
	samples := [][]rundir.Sample{
		// At the small rung item a is wrong for both seeds, b right for one;
		// an earlier checkpoint (step 5) is ignored.
		{smp(5, "a", 1, 0.9), smp(10, "a", 0, 0.1), smp(10, "b", 1, 0.6)},
		{smp(10, "a", 0, 0.2), smp(10, "b", 0, 0.3)},
		{smp(20, "a", 1, 0.7), smp(20, "b", 1, 0.8)},
		{smp(20, "a", 1, 0.9), smp(20, "b", 0, 0.4)},
	}
	vs, err := RunItemViews(runs, samples, AxisParams)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Metric != "answer_prob" || vs[1].Metric != "exact_match" {
		t.Fatalf("views %+v, want answer_prob and exact_match of add/plain/2", vs)
	}
	// exact_match pooled: a 0 → 1 (wrong to right), b ½ → ½ (right both).
	f := vs[1].View.Flips[0]
	if f.Items != 2 || f.WrongToRight != 1 || f.RightToWrong != 0 || f.FromX != 1000 || f.ToX != 8000 {
		t.Errorf("exact-match flips %+v", f)
	}
	// answer_prob pooled: a 0.15 → 0.8 (wrong to right), b 0.45 → 0.6.
	if f := vs[0].View.Flips[0]; f.WrongToRight != 2 {
		t.Errorf("answer_prob flips %+v", f)
	}
	if _, err := RunItemViews(runs, samples, AxisStep); err == nil || !strings.Contains(err.Error(), "one model per run") {
		t.Errorf("step axis: %v", err)
	}
	if vs, err := RunItemViews(runs[:2], samples[:2], AxisParams); err != nil || len(vs) != 0 {
		t.Errorf("one scale: %+v, %v; want no view", vs, err)
	}
}
