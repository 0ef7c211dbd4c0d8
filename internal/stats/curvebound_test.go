package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
//   - a power law in the error, concave in log x: α is determined; a
//     curve that accelerates in log x, which a power law in the error can
//     only follow with α → 0: α is at its bound, at 0; and a drop over
//     by the second rung (α = 10 per decade, 99.8 % in the first step):
//     α is at its bound, past what the steps resolve;
//   - a curve flat at 0.05 up to a break at 10^5.5 and rising as a power
//     law after it: the broken power law's α₀ is at 0, and its note says
//     that this describes the flat start, not that the sampling failed.
//
// Each exponent at a bound must say which limit (ExponentLimit) and the
// model's note must say it in that limit's words and not the other's.
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
		// limit: the exponent at a bound and which limit it is at; note
		// and notNote: words the model's CurveBoundNote must (must not) say.
		limit         map[string]string
		note, notNote string
	}{
		{name: "step below the width floor", f: sig(0.05, 0.95, 5.64, 1e-4), model: ModelSigmoid, want: []string{paramWidth, paramRise}, words: "the sampling cannot resolve the width; x* is placed only somewhere between the sampled sizes either side of the step"},
		{name: "not saturated", f: sig(0.02, 0.98, 7.4, 0.4), model: ModelSigmoid, want: []string{paramCeiling}},
		{name: "well-resolved sigmoid", f: sig(0.1, 0.9, 5.5, 0.2), model: ModelSigmoid, none: true},
		{name: "concave power law", f: func(t float64) float64 { return 0.9 - 0.8*math.Pow(10, -0.5*(t-4)) }, model: ModelPower, none: true},
		{name: "accelerating curve", f: func(t float64) float64 { return 0.05 + 0.9*math.Pow((t-4)/3, 3) }, model: ModelPower, want: []string{paramAlpha},
			limit: map[string]string{paramAlpha: exponentZero}, note: "exponent is at 0", notNote: "past what the sampled steps resolve"},
		{name: "drop over by the second rung", f: func(t float64) float64 { return 0.9 - 0.8*math.Pow(10, -10*(t-4)) }, model: ModelPower, want: []string{paramAlpha},
			limit: map[string]string{paramAlpha: exponentUnresolved}, note: "past what the sampled steps resolve", notNote: "at 0"},
		{name: "flat start, then a power-law rise", f: func(t float64) float64 {
			return 0.95 - 0.9*math.Pow(1+math.Pow(10, (t-5.5)/0.05), -0.8*0.05)
		}, model: ModelBNSL, want: []string{paramAlpha0},
			limit: map[string]string{paramAlpha0: exponentZero}, note: "alpha0_per_decade is at 0 (its power changes by under 1 % over the scales it acts on): the curve is flat before the break", notNote: "alpha0_per_decade is past"},
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
				for p, lim := range c.limit {
					if got := f.ExponentLimit[p]; got != lim {
						t.Errorf("%s at limit %q, want %q (exponent_limit %v)", p, got, lim, f.ExponentLimit)
					}
				}
				if len(f.ExponentLimit) > 0 && c.limit == nil {
					t.Errorf("exponent_limit %v where no exponent should be at a limit", f.ExponentLimit)
				}
				note := CurveBoundNote(f.Model, f.AtBound, math.NaN(), f.ExponentLimit)
				if c.note != "" && !strings.Contains(note, c.note) {
					t.Errorf("note does not say %q: %q", c.note, note)
				}
				if c.notNote != "" && strings.Contains(note, c.notNote) {
					t.Errorf("note says %q, the other limit's words: %q", c.notNote, note)
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
				var line judgementLine
				if err := json.Unmarshal(b, &line); err != nil {
					t.Fatal(err)
				}
				for _, lf := range line.Fits {
					if lf.Model == c.model && !maps.Equal(lf.ExponentLimit, f.ExponentLimit) {
						t.Errorf("exponent_limit written as %v, want %v", lf.ExponentLimit, f.ExponentLimit)
					}
				}
			})
		}
	}
}

// TestBoundRules: the rules on hand-computed cases at either side
// of their tolerances.
func TestBoundRules(t *testing.T) {
	// w is the fit's χ² weight of each level, 1/se²; an infinite weight
	// (no noise) leaves the box's own 1 % tolerance.
	inf := math.Inf(1)
	se := func(s float64) float64 { return 1 / (s * s) }
	box := []struct {
		name      string
		v, lo, hi float64
		y, w      []float64
		want      bool
		reason    string
	}{
		{"ceiling on the box edge beyond the data", 1.4999, -0.5, 1.5, []float64{0, 1}, []float64{se(0.05), se(0.05)}, true, "the edge is half a range (10 standard errors) past the data"},
		{"ceiling 2 % of the box inside", 1.46, -0.5, 1.5, []float64{0, 1}, []float64{inf, inf}, false, "outside the 1 % band"},
		{"floor on an edge the data reach", 0.0001, 0, 1, []float64{0, 0.8}, []float64{inf, inf}, false, "exact match at 0: the data put it there"},
		{"ceiling on an edge the data do not reach", 0.9999, 0, 1, []float64{0, 0.8}, []float64{inf, inf}, true, "clipped box, data end at 0.8"},
		{"ceiling 1.4 standard errors beyond the top level", 0.9999, 0, 1, []float64{0, 0.987}, []float64{se(0.0093), se(0.0093)}, false, "0.987 on 150 items reaches 1 within the sampling"},
		{"ceiling 1.9 standard errors beyond the top level", 0.9999, 0, 1, []float64{0, 0.981}, []float64{se(0.01), se(0.01)}, false, "just inside 2 standard errors"},
		{"ceiling 2.1 standard errors beyond the top level", 0.9999, 0, 1, []float64{0, 0.979}, []float64{se(0.01), se(0.01)}, true, "just outside 2 standard errors"},
		{"ceiling 3 standard errors beyond the top level", 0.9999, 0, 1, []float64{0, 0.97}, []float64{se(0.01), se(0.01)}, true, "0.97 ± 0.01 does not reach 1"},
		{"a noisy level further from the edge does not decide", 0.9999, 0, 1, []float64{0, 0.9, 0.95}, []float64{se(0.001), se(0.1), se(0.001)}, true, "the level nearest the edge, 0.95 ± 0.001, is 50 standard errors short; 0.9 ± 0.1 is within two of its own"},
		{"mid-box", 0.5, 0, 1, []float64{0, 0.8}, []float64{se(0.5), se(0.5)}, false, "nowhere near an edge"},
	}
	for _, c := range box {
		if got := boxAtBound(c.v, c.lo, c.hi, c.y, c.w); got != c.want {
			t.Errorf("box %s: got %v, want %v (%s)", c.name, got, c.want, c.reason)
		}
	}
	pw := []struct {
		name              string
		alpha, span, step float64
		want              string
	}{
		{"α → 0: the power falls 0.5 % over 3 decades", 0.0007, 3, 0.27, exponentZero},
		{"α = 0.01: 6.7 % over 3 decades", 0.01, 3, 0.27, ""},
		{"α = 1: 46 % in the first step", 1, 3, 0.27, ""},
		{"α = 10: 99.8 % in the first step", 10, 3, 0.27, exponentUnresolved},
		{"α = +Inf", math.Inf(1), 3, 0.27, exponentUnresolved},
		{"α = NaN (a failed fit) counts as at 0", math.NaN(), 3, 0.27, exponentZero},
	}
	for _, c := range pw {
		if got := powerLimit(c.alpha, c.span, c.step); got != c.want {
			t.Errorf("power %s: got %q, want %q", c.name, got, c.want)
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

// TestCeilingReachedWithinSampling: a fitted ceiling on the edge of a box
// clipped to [0, 1] is at a bound only when the data stay more than
// edgeReachZ standard errors short of that edge. Built like the quick
// demo's two-digit addition: 8 rungs from 1.78k to 107k parameters, 2
// seeds of 150 items, exact match 0 at the small rungs and one or two
// rungs on the rise, so the sigmoid's ceiling is barely determined from
// above and the fit often puts it on the edge:
//
//   - the demo's own counts (add/plain/2 exact match, 147 and 149 of 150
//     at the top rung: 0.987, 0.013 short of 1, about one standard error
//     under the fit) put the ceiling on 1 with the data short of it by
//     more than the box's 1 %: the data reach the edge within the
//     sampling, so nothing is at a bound;
//   - 8 draws from a curve that levels off at 1 past the top rung (its
//     expected 0.986): never at a bound;
//   - 8 draws from a curve still rising at the top rung (expected 0.55,
//     the box's edge then 0.8 or so): every ceiling the fit puts on the
//     edge is at its bound, and at least half the draws put it there (a
//     case whose fits never reach the edge would test nothing).
func TestCeilingReachedWithinSampling(t *testing.T) {
	xs := []float64{1784, 3252, 5104, 9960, 16352, 29056, 62016, 107264}
	const items = 150
	curveOf := func(counts [][2]int) *Curve {
		c := &Curve{Task: "add/plain/2", Metric: "exact_match", Axis: AxisParams, HasChance: true}
		for i, x := range xs {
			for k, m := range counts[i] {
				c.Points = append(c.Points, Point{X: x, Value: float64(m) / items, N: items, Seed: fmt.Sprint(k)})
			}
		}
		return c
	}
	drawn := func(seed uint64, mid, width float64) *Curve {
		rng := rand.New(rand.NewPCG(seed, 22))
		counts := make([][2]int, len(xs))
		for i, x := range xs {
			for k := range counts[i] {
				counts[i][k] = drawBinomial(rng, items, logistic((math.Log10(x)-mid)/width))
			}
		}
		return curveOf(counts)
	}
	o := DefaultOptions()
	o.Boot = 0
	// ceilingOf fits c and returns the sigmoid's ceiling, whether it is
	// on the box's edge (within boxEdgeFrac of the box's top) and whether
	// it is flagged at its bound.
	ceilingOf := func(t *testing.T, c *Curve) (ceil, top float64, onEdge, flagged bool) {
		t.Helper()
		r, err := Analyze(context.Background(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		f := fitOf(r, ModelSigmoid)
		if f == nil {
			t.Fatal("no sigmoid fit")
		}
		var tt, y []float64
		for _, l := range r.Levels {
			tt, y = append(tt, l.T), append(y, l.Mean)
		}
		mc := newModelContext(tt, y, 1, c.HasChance, 0.5) // Analyze's box for an exact match (chance 0)
		ceil, top = f.Params[paramCeiling], slices.Max(y)
		t.Logf("top level %.4g, box [%.3g, %.3g], sigmoid ceiling %.4g, at_bound %v", top, mc.lo, mc.hi, ceil, f.AtBound)
		return ceil, top, mc.hi-ceil < boxEdgeFrac*(mc.hi-mc.lo), slices.Contains(f.AtBound, paramCeiling)
	}

	t.Run("demo add/plain/2 exact match", func(t *testing.T) {
		ceil, top, onEdge, flagged := ceilingOf(t, curveOf([][2]int{{0, 0}, {0, 0}, {0, 0}, {2, 2}, {1, 2}, {4, 5}, {19, 28}, {147, 149}}))
		if !onEdge || !(1-top > boxEdgeFrac) {
			t.Fatalf("ceiling %.4g, top level %.4g: the case no longer puts the ceiling on the edge with the data more than 1 %% short of it", ceil, top)
		}
		if flagged {
			t.Errorf("ceiling %.4g flagged at its bound with the top level %.4g within two standard errors of 1", ceil, top)
		}
	})
	for d := range uint64(8) {
		t.Run(fmt.Sprintf("levels off at 1/draw=%d", d), func(t *testing.T) {
			if ceil, top, _, flagged := ceilingOf(t, drawn(d, 4.86, 0.04)); flagged {
				t.Errorf("ceiling %.4g flagged at its bound with the top level at %.4g", ceil, top)
			}
		})
	}
	edge := 0
	for d := range uint64(8) {
		t.Run(fmt.Sprintf("still rising/draw=%d", d), func(t *testing.T) {
			ceil, top, onEdge, flagged := ceilingOf(t, drawn(d, 5.0, 0.15))
			if onEdge {
				edge++
			}
			if onEdge != flagged {
				t.Errorf("ceiling %.4g (on the edge: %v) flagged at its bound: %v, top level %.4g", ceil, onEdge, flagged, top)
			}
		})
	}
	if edge < 4 {
		t.Errorf("the still-rising curve put its ceiling on the edge in %d of 8 draws: the case does not test the rule", edge)
	}
}
