package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// curveFrom draws a curve of `levels` log-spaced scales over t ∈ [4, 7],
// `seeds` replicates each of n binomial items with success probability f(t).
func curveFrom(rng *rand.Rand, f func(t float64) float64, levels, seeds, n int) *Curve {
	return synthCurve(rng, shape{name: "synthetic", f: f}, levels, seeds, n)
}

// TestSigmoidRecovery: the sigmoid's parameters are recovered from binomial
// data generated with them, and the true midpoint lies in the bootstrap
// interval. Tolerances are about three times the spread measured over
// draws at the stated noise (n items per point, 3 seeds, 12 rungs):
// floor/ceiling ±0.03 at n=200 and ±0.015 at n=2000 (binomial standard
// errors 0.016 and 0.005 on 3 pooled seeds at the extremes), midpoint ±0.05
// decades, width ±35 % (the rise covers only ~3 rungs, so the width is the
// least determined parameter).
func TestSigmoidRecovery(t *testing.T) {
	const floor, ceil, mid, width = 0.1, 0.9, 5.5, 0.2
	f := func(t float64) float64 { return floor + (ceil-floor)*logistic((t-mid)/width) }
	o := DefaultOptions()
	o.Boot = 100
	for _, c := range []struct {
		n        int
		tolLevel float64
	}{{200, 0.03}, {2000, 0.015}} {
		for draw := 0; draw < 3; draw++ {
			t.Run(fmt.Sprintf("n=%d/draw=%d", c.n, draw), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(draw), uint64(c.n)))
				r, err := Analyze(context.Background(), curveFrom(rng, f, 12, 3, c.n), o)
				if err != nil {
					t.Fatal(err)
				}
				var sig *Fit
				for i := range r.Fits {
					if r.Fits[i].Model == ModelSigmoid {
						sig = &r.Fits[i]
					}
				}
				p := sig.Params
				t.Logf("floor %.4f ceiling %.4f log10 mid %.4f width %.4f; x_star %.4g [%.4g, %.4g]; verdict %s",
					p["floor"], p["ceiling"], p["log10_x_mid"], p["width_decades"], r.XStar, r.XStarLo, r.XStarHi, r.Verdict)
				if math.Abs(p["floor"]-floor) > c.tolLevel || math.Abs(p["ceiling"]-ceil) > c.tolLevel {
					t.Errorf("floor/ceiling %g/%g, want %g/%g ± %g", p["floor"], p["ceiling"], floor, ceil, c.tolLevel)
				}
				if math.Abs(p["log10_x_mid"]-mid) > 0.05 {
					t.Errorf("log10 midpoint %g, want %g ± 0.05", p["log10_x_mid"], mid)
				}
				if math.Abs(p["width_decades"]/width-1) > 0.35 {
					t.Errorf("width %g decades, want %g ± 35%%", p["width_decades"], width)
				}
				if x := math.Pow(10, mid); !(r.XStarLo <= x && x <= r.XStarHi) {
					t.Errorf("true x_star %g outside bootstrap interval [%g, %g]", x, r.XStarLo, r.XStarHi)
				}
				if r.Verdict != VerdictEmergent {
					t.Errorf("verdict %s, want emergent", r.Verdict)
				}
				// x_cross: the true curve crosses chance + 0.1 = 0.2 at
				// t = mid + w·logit((0.2−0.1)/0.8); pooled noisy means are
				// interpolated between rungs 0.27 decades apart, so ±0.1 decades.
				want := mid + width*logit(0.1/0.8)
				if got := math.Log10(r.XCross); math.Abs(got-want) > 0.1 {
					t.Errorf("log10 x_cross %g, want %g ± 0.1", got, want)
				}
			})
		}
	}
}

// TestSmoothModelRecovery: the power law in the error, the line in log x
// and the broken power law recover their generating parameters from
// Gaussian noise of sd 0.01 on 10–16 levels. Tolerances are about three
// times the spread over draws.
func TestSmoothModelRecovery(t *testing.T) {
	cases := []struct {
		name   string
		model  string
		levels int
		f      func(t float64) float64
		want   map[string]float64
		tol    map[string]float64
	}{
		{"power_law", ModelPower, 10, func(t float64) float64 { return 0.95 - 0.85*math.Pow(10, -0.6*(t-4)) },
			map[string]float64{"asymptote": 0.95, "alpha_per_decade": 0.6}, map[string]float64{"asymptote": 0.02, "alpha_per_decade": 0.08}},
		{"line", ModelLinear, 10, func(t float64) float64 { return 0.2 + 0.15*(t-4) },
			map[string]float64{"intercept_at_smallest": 0.2, "slope_per_decade": 0.15}, map[string]float64{"intercept_at_smallest": 0.015, "slope_per_decade": 0.01}},
		{"broken_power_law", ModelBNSL, 16, func(t float64) float64 {
			// Flat-ish then a steep fall of the error after the break at 10^5.5.
			return 0.9 - 0.8*math.Pow(10, -0.05*(t-4))*math.Pow(1+math.Pow(10, (t-5.5)/0.1), -2*0.1)
		}, map[string]float64{"asymptote": 0.9, "log10_x_break": 5.5, "alpha1_per_decade": 2},
			map[string]float64{"asymptote": 0.03, "log10_x_break": 0.15, "alpha1_per_decade": 0.8}},
	}
	for _, c := range cases {
		for draw := 0; draw < 3; draw++ {
			t.Run(fmt.Sprintf("%s/draw=%d", c.name, draw), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(draw), 99))
				var tt, y []float64
				for i := 0; i < c.levels; i++ {
					ti := 4 + 3*float64(i)/float64(c.levels-1)
					tt = append(tt, ti)
					y = append(y, c.f(ti)+0.01*rng.NormFloat64())
				}
				fs, err := fitAll(context.Background(), tt, y, make([]float64, len(tt)), false, newModelContext(tt, y, 1, false, 0.5), false)
				if err != nil {
					t.Fatal(err)
				}
				fit := fs.get(c.model)
				if fit == nil {
					t.Fatalf("%s not fitted", c.model)
				}
				t.Logf("%v", fit.Params)
				for k, v := range c.want {
					if math.Abs(fit.Params[k]-v) > c.tol[k] {
						t.Errorf("%s = %g, want %g ± %g", k, fit.Params[k], v, c.tol[k])
					}
				}
			})
		}
	}
}

// TestLossThresholdRecovery: three model sizes share one flat-then-linear
// curve in eval loss (Du et al. 2024's picture); the threshold is recovered
// and one curve explains the data about as well as one per size.
func TestLossThresholdRecovery(t *testing.T) {
	const lstar, floor, slope = 2.0, 0.05, 0.5
	rng := rand.New(rand.NewPCG(5, 5))
	var pts []Point
	for g, minLoss := range []float64{2.3, 1.6, 1.2} {
		for i := 0; i < 15; i++ {
			L := 3.0 - (3.0-minLoss)*float64(i)/14
			v := floor + slope*math.Max(0, lstar-L) + 0.02*rng.NormFloat64()
			pts = append(pts, Point{X: L, Value: v, Group: fmt.Sprint(g)})
		}
	}
	o := DefaultOptions()
	o.Boot = 100
	lt, err := FitLossThreshold(context.Background(), "t/m", pts, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *lt)
	// Noise 0.02 against a slope of 0.5 per nat over ~20 points below the
	// threshold: L* to ±0.08 nats.
	if math.Abs(lt.LStar-lstar) > 0.08 || !(lt.LStarLo <= lstar && lstar <= lt.LStarHi) {
		t.Errorf("L* = %g [%g, %g], want %g ± 0.08 inside the interval", lt.LStar, lt.LStarLo, lt.LStarHi, lstar)
	}
	if math.Abs(lt.Slope-slope) > 0.05 || math.Abs(lt.Floor-floor) > 0.02 {
		t.Errorf("slope %g floor %g, want %g %g", lt.Slope, lt.Floor, slope, floor)
	}
	if lt.Groups != 3 || lt.R2PerGroup-lt.R2All > 0.03 || lt.R2All < 0.9 {
		t.Errorf("R² one curve %g vs per size %g over %d groups: one curve should explain nearly as much", lt.R2All, lt.R2PerGroup, lt.Groups)
	}
}
