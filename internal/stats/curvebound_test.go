package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// fitOf returns the fit of model in r (nil when it was not fitted).
func fitOf(r *Result, model string) *Fit {
	for i := range r.Fits {
		if r.Fits[i].Model == model {
			return &r.Fits[i]
		}
	}
	return nil
}

// TestCurveFitAtBound: the bound judgement fires on fits whose answer is
// a limit of the parameterisation and stays silent on a well-determined
// fit. Binomial data on 12 rungs over 10^4…10^7 (0.27 decades apart),
// 3 seeds of 1000 items, two draws each:
//
//   - a step whose true width (1e-4 decades) is below the sigmoid's floor
//     and falls between two rungs: the width must be at its bound, the
//     sharpness evidence and the judgement must say the sampling cannot
//     resolve it;
//   - a rise whose midpoint lies 0.4 decades beyond the largest rung (the
//     curve has not saturated): the ceiling must be at the box edge;
//   - the well-resolved sigmoid of TestSigmoidRecovery (width 0.2
//     decades, midpoint inside): nothing of the sigmoid is at a bound;
//   - a power law in the error, concave in log x: α is determined; and a
//     curve that accelerates in log x, which a power law in the error can
//     only follow with α → 0: α is at its bound.
func TestCurveFitAtBound(t *testing.T) {
	sig := func(floor, ceil, mid, width float64) func(float64) float64 {
		return func(t float64) float64 { return floor + (ceil-floor)*logistic((t-mid)/width) }
	}
	cases := []struct {
		name  string
		f     func(float64) float64
		model string
		want  []string // parameters that must be at a bound
		none  bool     // nothing of model may be at a bound
		words string   // in the judgement's BoundNote, when the verdict shows x*
	}{
		{"step below the width floor", sig(0.05, 0.95, 5.64, 1e-4), ModelSigmoid, []string{paramWidth, paramRise}, false, "the sampling cannot resolve the width"},
		{"not saturated", sig(0.02, 0.98, 7.4, 0.4), ModelSigmoid, []string{paramCeiling}, false, ""},
		{"well-resolved sigmoid", sig(0.1, 0.9, 5.5, 0.2), ModelSigmoid, nil, true, ""},
		{"concave power law", func(t float64) float64 { return 0.9 - 0.8*math.Pow(10, -0.5*(t-4)) }, ModelPower, nil, true, ""},
		{"accelerating curve", func(t float64) float64 { return 0.05 + 0.9*math.Pow((t-4)/3, 3) }, ModelPower, []string{paramAlpha}, false, ""},
	}
	o := DefaultOptions()
	o.Boot = 0
	for _, c := range cases {
		for draw := range 2 {
			t.Run(fmt.Sprintf("%s/draw=%d", c.name, draw), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(draw), 77))
				r, err := Analyze(context.Background(), curveFrom(rng, c.f, 12, 3, 1000), o)
				if err != nil {
					t.Fatal(err)
				}
				f := fitOf(r, c.model)
				if f == nil {
					t.Fatalf("no %s fit", c.model)
				}
				t.Logf("verdict %s, %s at_bound %v, params %v", r.Verdict, c.model, f.AtBound, f.Params)
				for _, p := range c.want {
					if !slices.Contains(f.AtBound, p) {
						t.Errorf("%s not at its bound: at_bound %v", p, f.AtBound)
					}
				}
				if c.none && len(f.AtBound) > 0 {
					t.Errorf("a well-determined %s flagged at a bound: %v", c.model, f.AtBound)
				}
				if f.AtBound == nil {
					t.Errorf("AtBound is nil: analyze --json must write [] for a fit with nothing at a bound")
				}
				j := Judgements([]*Result{r})[0]
				if c.model == ModelSigmoid && r.Emergent && j.XStarAtBound != (len(f.AtBound) > 0) {
					t.Errorf("XStarAtBound %v with the sigmoid's at_bound %v", j.XStarAtBound, f.AtBound)
				}
				if c.words != "" {
					if e, ok := evidence(r, "sharpness"); ok && !strings.Contains(e.Detail, c.words) {
						t.Errorf("sharpness evidence does not say %q: %s", c.words, e.Detail)
					}
					if r.Emergent && !strings.Contains(j.BoundNote, c.words) {
						t.Errorf("emergent with the width at its bound, but the judgement's note does not say %q: %q", c.words, j.BoundNote)
					}
				}
				// A saved analysis reads back to the same bound judgement.
				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				back, err := ReadJudgements([]json.RawMessage{b})
				if err != nil {
					t.Fatal(err)
				}
				if back[0].BoundNote != j.BoundNote || !slices.Equal(back[0].FitAtBound, j.FitAtBound) || back[0].XStarAtBound != j.XStarAtBound {
					t.Errorf("read back %q %v %v, want %q %v %v", back[0].BoundNote, back[0].FitAtBound, back[0].XStarAtBound, j.BoundNote, j.FitAtBound, j.XStarAtBound)
				}
			})
		}
	}
}

// TestBoundRules: the rules on hand-computed cases at either side
// of their tolerances.
func TestBoundRules(t *testing.T) {
	box := []struct {
		name      string
		v, lo, hi float64
		ylo, yhi  float64
		want      bool
		reason    string
	}{
		{"ceiling on the box edge beyond the data", 1.4999, -0.5, 1.5, 0, 1, true, "the edge is half a range past the data"},
		{"ceiling 2 % of the box inside", 1.46, -0.5, 1.5, 0, 1, false, "outside the 1 % band"},
		{"floor on an edge the data reach", 0.0001, 0, 1, 0, 0.8, false, "exact match at 0: the data put it there"},
		{"ceiling on an edge the data do not reach", 0.9999, 0, 1, 0, 0.8, true, "clipped box, data end at 0.8"},
		{"mid-box", 0.5, 0, 1, 0, 0.8, false, "nowhere near an edge"},
	}
	for _, c := range box {
		if got := boxAtBound(c.v, c.lo, c.hi, c.ylo, c.yhi); got != c.want {
			t.Errorf("box %s: got %v, want %v (%s)", c.name, got, c.want, c.reason)
		}
	}
	pw := []struct {
		name              string
		alpha, span, step float64
		want              bool
	}{
		{"α → 0: the power falls 0.5 % over 3 decades", 0.0007, 3, 0.27, true},
		{"α = 0.01: 6.7 % over 3 decades", 0.01, 3, 0.27, false},
		{"α = 1: 46 % in the first step", 1, 3, 0.27, false},
		{"α = 10: 99.8 % in the first step", 10, 3, 0.27, true},
		{"α = +Inf", math.Inf(1), 3, 0.27, true},
	}
	for _, c := range pw {
		if got := powerAtBound(c.alpha, c.span, c.step); got != c.want {
			t.Errorf("power %s: got %v, want %v", c.name, got, c.want)
		}
	}
	// χ² rise: one level moved by half a unit with weight 4 (standard
	// error ½) costs exactly 1, the cut; a level the fit misses gains.
	if got := chi2Rise([]float64{0, 1}, []float64{4, 4}, []float64{0, 1}, []float64{0.5, 1}); got != 1 {
		t.Errorf("chi2Rise = %g, want 1", got)
	}
	if got := chi2Rise([]float64{0.2}, []float64{1}, []float64{0}, []float64{0.2}); got != -0.04000000000000001 {
		t.Errorf("chi2Rise toward the data = %v, want -0.04", got)
	}
}
