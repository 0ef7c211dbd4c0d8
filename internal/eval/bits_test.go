package eval

import (
	"emlab/internal/rundir"
	"math"
	"testing"

	"emlab/internal/tasks"
)

func TestChoiceBits(t *testing.T) {
	ln := math.Log
	cases := []struct {
		name    string
		lp      []float64
		correct int
		want    float64
	}{
		{"uniform over 10", []float64{-3, -3, -3, -3, -3, -3, -3, -3, -3, -3}, 4, 0},
		{"certain and right, K=8", []float64{0, -800, -800, -800, -800, -800, -800, -800}, 0, 3},
		{"half on the right one of 4", []float64{ln(0.5), ln(1.0 / 6), ln(1.0 / 6), ln(1.0 / 6)}, 0, 1},
		// Only the ratios matter: the choices' probabilities need not sum
		// to one (mass on other continuations is renormalised away).
		{"renormalised", []float64{ln(0.05), ln(0.05), ln(0.1)}, 2, math.Log2(3 * 0.5)},
		{"confident and wrong", []float64{0, ln(0.01)}, 1, 1 + math.Log2(0.01/1.01)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Tolerance: float64 rounding in a log-sum-exp of ≤ 10 terms.
			if got := choiceBits(c.lp, c.correct); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("choiceBits = %v, want %v", got, c.want)
			}
		})
	}
}

// TestBitsMetricAggregates: the bits line is the mean over items of
// choiceBits, reported for a variant that declares it (facts).
func TestBitsMetricAggregates(t *testing.T) {
	task, err := tasks.Lookup("facts(entities=3,attrs=1,values=4)")
	if err != nil {
		t.Fatal(err)
	}
	items := task.Eval(0, 3)
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	scores := make([]ItemScore, 3)
	want := 0.0
	for i, it := range items {
		lp := []float64{-5, -5, -5, -5}
		if i < 2 { // the first two facts known for certain (2 bits each)
			lp[it.Correct] = 0
		}
		scores[i] = ItemScore{ChoiceLP: lp, LogProbs: []float64{lp[it.Correct]}, Correct: []bool{true}}
		want += choiceBits(lp, it.Correct) / 3
	}
	found := false
	for _, r := range Aggregate(task, items, scores, 7) {
		if r.Metric == "bits" {
			found = true
			if r.Task != "facts" || r.N != 3 || math.Abs(r.Value-want) > 1e-12 || r.Value < 4.0/3-0.05 {
				t.Errorf("bits line %+v, want mean %v", r, want)
			}
		}
	}
	if !found {
		t.Fatal("no bits line")
	}
	if k, ok := rundir.KindOf(rundir.Bits); !ok || !k.HigherIsBetter || k.Sharp {
		t.Errorf("bits has kind %+v (known %v), want a smooth higher-is-better metric", k, ok)
	}
}
