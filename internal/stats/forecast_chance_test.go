package stats

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"emlab/internal/rundir"
)

// TestForecastFullSigmoidIsAnalyzes: the forecast's x* from all rungs is
// the sigmoid the analysis fits to the same curve, so the two never
// disagree about where a jump is. Both decide through chanceApplies
// whether the scores are fractions boxed to [0, 1]; a Brier score with a
// chance rate (lower is better, so the rate does not apply) is the case
// where a forecast that asked only "are the scores in [0, 1]" fitted a
// different box and ended elsewhere.
func TestForecastFullSigmoidIsAnalyzes(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 0
	rng := rand.New(rand.NewPCG(5, 9))
	for _, metric := range []string{rundir.ExactMatch, rundir.Brier} {
		c := &Curve{Task: "jump", Metric: metric, Axis: AxisParams, Chance: 0.1, HasChance: true}
		for i := 0; i < 8; i++ {
			tt := 4 + 3*float64(i)/7
			p := 0.1 + 0.8*logistic((tt-5.5)/0.3)
			if metric == rundir.Brier {
				p = 0.9 - 0.8*logistic((tt-5.5)/0.3)
			}
			for k := 0; k < 2; k++ {
				v := float64(drawBinomial(rng, 400, p)) / 400
				c.Points = append(c.Points, Point{X: math.Pow(10, tt), Value: v, N: 400, Seed: string(rune('a' + k))})
			}
		}
		res, err := Analyze(context.Background(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for _, f := range res.Fits {
			if f.Model == ModelSigmoid {
				want = f.Params["x_mid"]
			}
		}
		fc, err := ForecastCurve(context.Background(), c, 2, o)
		if err != nil {
			t.Fatal(err)
		}
		if !(want > 0) || fc.XStarFull != want {
			t.Errorf("%s: the forecast's x* from all rungs is %v, the analysis' sigmoid x_mid %v: they must be the same fit", metric, fc.XStarFull, want)
		}
	}
}
