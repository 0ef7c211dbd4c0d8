package stats

import (
	"math"
	"strings"
	"testing"
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
