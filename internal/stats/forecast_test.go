package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// TestForecast: a smooth power law fitted on its smaller rungs predicts
// the larger ones within the binomial noise, with the truth inside the
// prediction intervals; a sharp transition beyond the fitted rungs cannot
// be predicted (large error) — the honest answer to "could this emergence
// have been foreseen?".
func TestForecast(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 100
	pl := synthShapes()[1] // power law in the error
	rng := rand.New(rand.NewPCG(11, 1))
	c := synthCurve(rng, pl, 10, 3, 1000)
	fc, err := ForecastCurve(context.Background(), c, 3, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("power law: model %s MAE %.4f [%.4f, %.4f]", fc.Model, fc.MAE, fc.MAELo, fc.MAEHi)
	// Per-level binomial sd with 3×1000 items is ≤ 0.01; extrapolating 1
	// decade adds fit error. 0.03 is three times the measured MAE.
	if fc.MAE > 0.03 {
		t.Errorf("smooth forecast MAE %g, want ≤ 0.03", fc.MAE)
	}
	for _, r := range fc.Rungs {
		truth := pl.f(math.Log10(r.X))
		if !(r.Lo-0.01 <= truth && truth <= r.Hi+0.01) {
			t.Errorf("rung x=%g: truth %g outside prediction interval [%g, %g] (±0.01 slack for the binomial noise of the target)", r.X, truth, r.Lo, r.Hi)
		}
	}

	sharp := synthShapes()[0] // transition at 10^5.6
	c = synthCurve(rand.New(rand.NewPCG(11, 2)), sharp, 10, 3, 1000)
	fc, err = ForecastCurve(context.Background(), c, 5, o) // fitted rungs end at 10^5.33, before the jump
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sigmoid: model %s MAE %.4f", fc.Model, fc.MAE)
	if fc.MAE < 0.5 {
		t.Errorf("a jump after the fitted rungs was 'predicted' with MAE %g; expected ≥ 0.5", fc.MAE)
	}

	if _, err := ForecastCurve(context.Background(), c, 7, o); !IsTooFew(err) || !strings.Contains(err.Error(), "leaves 3 to fit") {
		t.Errorf("holding out 7 of 10: err = %v", err)
	}
}

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

// TestMirage: exact match generated as p^L from a per-position accuracy p
// that rises smoothly (linearly in log x) — Schaeffer et al.'s mechanism.
// The p^L check recovers L, and the verdicts are compared.
func TestMirage(t *testing.T) {
	const L = 6
	o := DefaultOptions()
	o.Boot = 0
	p := func(t float64) float64 { return 0.3 + 0.7*(t-4)/3 } // smooth, 0.3 → 1
	em := func(t float64) float64 { return math.Pow(p(t), L) }
	rng := rand.New(rand.NewPCG(8, 8))
	tok := synthCurve(rng, shape{name: "mul", f: p}, 12, 1, 5000)
	tok.Metric, tok.HasChance = "token_acc", false
	ex := synthCurve(rng, shape{name: "mul", f: em}, 12, 1, 5000)
	ex.Chance = 0
	rs, err := AnalyzeCurves(context.Background(), []*Curve{ex, tok}, AnalyzeConfig{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	m := rs[0].Mirage
	if m == nil || m.PowerL == nil {
		t.Fatalf("no mirage result on %s", rs[0].Metric)
	}
	t.Logf("exact match %s (%s), token acc %s (%s); %s; L=%.3f rmse %.4f", rs[0].Verdict, rs[0].Fit, rs[1].Verdict, rs[1].Fit, m.Detail, m.PowerL.L, m.PowerL.RMSE)
	// 5000 items per point: p^L is matched to within ~0.01, so L to ±0.3.
	if math.Abs(m.PowerL.L-L) > 0.3 || !m.PowerL.Consistent {
		t.Errorf("fitted L = %g (consistent %v), want %d ± 0.3", m.PowerL.L, m.PowerL.Consistent, L)
	}
	if rs[1].Verdict != VerdictSmooth || rs[1].Fit != ModelLinear {
		t.Errorf("token accuracy: verdict %s fit %s, want smooth linear_log", rs[1].Verdict, rs[1].Fit)
	}
	wantMirage := rs[0].Verdict == VerdictEmergent
	if m.Mirage != wantMirage || m.SmoothMetric != "token_acc" {
		t.Errorf("mirage %v with smooth metric %q; want %v with token_acc", m.Mirage, m.SmoothMetric, wantMirage)
	}
}

// TestForecastSharedFitsMatchFresh: the forecast the analysis makes
// (ForecastAnalyzed, which reads the sigmoid of all rungs from Analyze's
// result, and takes a replicate's x* from the chosen model's refit when
// that model is the sigmoid) is, number for number, the forecast that fits
// both again (ForecastCurve with no refit shared): on a jump, where the
// sigmoid is the model chosen on the smaller rungs, and on a power law,
// where it is not.
func TestForecastSharedFitsMatchFresh(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 48 // three bootstrap chunks, enough to cover the shared refit
	chosen := map[bool]bool{}
	for i, sh := range synthShapes()[:2] {
		c := synthCurve(rand.New(rand.NewPCG(13, uint64(i))), sh, 10, 3, 400)
		res, err := Analyze(context.Background(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		shared, err := ForecastAnalyzed(context.Background(), c, res, 2, o)
		if err != nil {
			t.Fatal(err)
		}
		shareForecastRefit = false
		fresh, err := ForecastCurve(context.Background(), c, 2, o)
		shareForecastRefit = true
		if err != nil {
			t.Fatal(err)
		}
		// %#v prints every float in its shortest exact form, NaN as NaN.
		if got, want := fmt.Sprintf("%#v", *shared), fmt.Sprintf("%#v", *fresh); got != want {
			t.Errorf("%s: shared fits give\n%s\nfresh fits\n%s", sh.name, got, want)
		}
		if !(shared.XStarFull > 0) || !(shared.XStarSmallLo > 0) {
			t.Errorf("%s: x* from all rungs %v, small-rung interval from %v: the shared values must be there to compare", sh.name, shared.XStarFull, shared.XStarSmallLo)
		}
		chosen[shared.Model == ModelSigmoid] = true
	}
	if !chosen[true] || !chosen[false] {
		t.Errorf("the cases must choose the sigmoid on the smaller rungs once and another model once; chosen: %v", chosen)
	}
}
