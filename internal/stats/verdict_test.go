package stats

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// curveOf builds a curve with one point per level (or one per seed when
// several values are given) on six log-spaced scales 10^4…10^6.5.
func curveOf(metric string, n int, chance float64, levels ...[]float64) *Curve {
	c := &Curve{Task: "t", Metric: metric, Axis: AxisParams}
	if chance >= 0 {
		c.Chance, c.HasChance = chance, true
	}
	for i, vals := range levels {
		x := math.Pow(10, 4+0.5*float64(i))
		for s, v := range vals {
			c.Points = append(c.Points, Point{X: x, Value: v, N: n, Seed: fmt.Sprint(s)})
		}
	}
	return c
}

func one(vs ...float64) [][]float64 {
	out := make([][]float64, len(vs))
	for i, v := range vs {
		out[i] = []float64{v}
	}
	return out
}

func evidence(r *Result, test string) (Evidence, bool) {
	for _, e := range r.Evidence {
		if e.Test == test {
			return e, true
		}
	}
	return Evidence{}, false
}

// TestVerdicts: one clear case of every verdict, with its direction and
// the evidence that decided it.
func TestVerdicts(t *testing.T) {
	cases := []struct {
		name      string
		c         *Curve
		verdict   string
		direction string
		reason    string
	}{
		{"emergent", curveOf("exact_match", 1000, 0.1, one(0.1, 0.1, 0.11, 0.9, 0.91, 0.92)...), VerdictEmergent, DirectionImproves, "sharp rise"},
		{"inverse, a smooth fall", curveOf("exact_match", 1000, 0.1, one(0.8, 0.7, 0.6, 0.5, 0.4, 0.3)...), VerdictInverse, DirectionWorsens, "worsens with scale"},
		{"inverse, a sharp fall is never emergent", curveOf("exact_match", 1000, 0.1, one(0.9, 0.9, 0.9, 0.1, 0.1, 0.1)...), VerdictInverse, DirectionWorsens, "worsens with scale"},
		{"non-monotone, rise then fall", curveOf("exact_match", 1000, 0.1, one(0.1, 0.4, 0.7, 0.7, 0.4, 0.1)...), VerdictNonMonotone, DirectionImprovesThenWorse, "and then worsens"},
		{"non-monotone, fall then rise", curveOf("exact_match", 1000, 0.1, one(0.7, 0.45, 0.2, 0.2, 0.45, 0.7)...), VerdictNonMonotone, DirectionWorsensThenImprove, "and then improves"},
		{"smooth", curveOf("exact_match", 1000, 0.1, one(0.1, 0.25, 0.4, 0.55, 0.7, 0.85)...), VerdictSmooth, DirectionImproves, "without a sharp transition"},
		{"flat", curveOf("exact_match", 1000, 0.1, one(0.3, 0.31, 0.29, 0.3, 0.31, 0.3)...), VerdictFlat, DirectionNone, "no significant change"},
		{"insufficient: a jump on five levels", curveOf("exact_match", 1000, 0.1, one(0.1, 0.1, 0.9, 0.91, 0.92)...), VerdictInsufficient, DirectionImproves, "5 levels cannot tell"},
	}
	o := DefaultOptions()
	o.Boot = 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Analyze(context.Background(), c.c, o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != c.verdict || r.Direction != c.direction || !strings.Contains(r.Reason, c.reason) {
				for _, e := range r.Evidence {
					t.Logf("  %s %v %s", e.Test, e.Pass, e.Detail)
				}
				t.Errorf("verdict %s (%s): %s; want %s (%s), reason containing %q", r.Verdict, r.Direction, r.Reason, c.verdict, c.direction, c.reason)
			}
			if r.Emergent != (r.Verdict == VerdictEmergent) {
				t.Errorf("emergent flag %v with verdict %s", r.Emergent, r.Verdict)
			}
			if (r.Verdict == VerdictInverse || r.Verdict == VerdictNonMonotone || r.Verdict == VerdictFlat) && !(math.IsNaN(r.XStar) && math.IsNaN(r.XStarLo)) {
				t.Errorf("%s curve reports a transition midpoint x* = %g", r.Verdict, r.XStar)
			}
		})
	}
}

// TestFallingSigmoidHasNoXStar: four falling points without variances are
// insufficient, and the midpoint of the fitted fall is not reported as a
// transition scale.
func TestFallingSigmoidHasNoXStar(t *testing.T) {
	o := DefaultOptions()
	r, err := Analyze(context.Background(), curveOf("exact_match", 0, 0.1, one(0.12, 0.09, 0.13, 0)...), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictInsufficient || !math.IsNaN(r.XStar) || !math.IsNaN(r.XStarLo) {
		t.Errorf("verdict %s, x* %g [%g, %g]; want insufficient with no x*", r.Verdict, r.XStar, r.XStarLo, r.XStarHi)
	}
}

// TestOrientation: a lower-is-better metric (edit distance, loss) is
// judged with its sign flipped — a sharp fall is emergence, a rise is
// inverse — and the same numbers under a higher-is-better name are the
// opposite.
func TestOrientation(t *testing.T) {
	falls := one(3.5, 3.5, 3.4, 0.3, 0.2, 0.2)
	rises := one(0.2, 0.3, 0.5, 1.5, 2.5, 3.5)
	o := DefaultOptions()
	o.Boot = 0
	for _, c := range []struct {
		metric  string
		levels  [][]float64
		lower   bool
		verdict string
	}{
		{"edit_distance", falls, true, VerdictEmergent},
		{"edit_distance", rises, true, VerdictInverse},
		{"loss", falls, true, VerdictEmergent},
		{"score", falls, false, VerdictInverse},
	} {
		t.Run(c.metric, func(t *testing.T) {
			cv := curveOf(c.metric, 0, -1, c.levels...)
			// Standard errors from the spread of real edit distances over
			// 200 items (sd ≈ 1.4).
			for i := range cv.Points {
				cv.Points[i].Stderr = 0.1
			}
			r, err := Analyze(context.Background(), cv, o)
			if err != nil {
				t.Fatal(err)
			}
			if r.LowerIsBetter != c.lower || r.Verdict != c.verdict {
				for _, e := range r.Evidence {
					t.Logf("  %s %v %s", e.Test, e.Pass, e.Detail)
				}
				t.Errorf("lower_is_better %v verdict %s; want %v %s", r.LowerIsBetter, r.Verdict, c.lower, c.verdict)
			}
			if c.verdict == VerdictEmergent && !(r.Breakthroughness > 0) {
				t.Errorf("an improving curve has breakthroughness %g (want > 0 on the oriented scores)", r.Breakthroughness)
			}
		})
	}
	if !MetricLowerIsBetter("Edit_Distance") || MetricLowerIsBetter("exact_match") || Orientation("ppl") != -1 {
		t.Errorf("metric kind table")
	}
}

// TestChanceKeptForFallingFractions: a falling exact match still uses its
// chance rate (the old message said the scores were not fractions); a
// percentage-scale score says so.
func TestChanceKeptForFallingFractions(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 0
	r, err := Analyze(context.Background(), curveOf("exact_match", 500, 0.1, one(0.12, 0.09, 0.13, 0.0, 0.01, 0.0)...), o)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := evidence(r, "chance_rate"); ok {
		t.Errorf("chance rate ignored for fractions: %s", e.Detail)
	}
	r, err = Analyze(context.Background(), curveOf("exact_match", 500, 0.1, one(12, 9, 13, 50, 60, 70)...), o)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := evidence(r, "chance_rate"); !ok || !strings.Contains(e.Detail, "percentages") {
		t.Errorf("percentage scores: chance evidence %q", e.Detail)
	}
}

// TestDegenerate: an all-zero curve is flat with nothing fitted or drawn,
// and the reason is given.
func TestDegenerate(t *testing.T) {
	o := DefaultOptions()
	c := curveOf("exact_match", 100, 0.1, one(0, 0, 0, 0, 0, 0)...)
	tok := curveOf("token_accuracy", 100, -1, one(0.1, 0.2, 0.3, 0.5, 0.6, 0.7)...)
	tok.Metric = "token_accuracy"
	rs, err := AnalyzeCurves(context.Background(), []*Curve{c, tok}, AnalyzeConfig{Options: o, LossView: false, Forecast: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Verdict != VerdictFlat || r.NotApplicable == "" || r.Fit != "" || len(r.Fits) != 0 || r.Drawable() || r.Forecast != nil {
		t.Errorf("all-zero curve: verdict %s not_applicable %q fit %q fits %d drawable %v forecast %v", r.Verdict, r.NotApplicable, r.Fit, len(r.Fits), r.Drawable(), r.Forecast)
	}
	if pl := r.Mirage.PowerL; pl == nil || pl.Applicable || !math.IsNaN(pl.L) {
		t.Errorf("p^L check on an all-zero exact match: %+v", pl)
	}
	if !rs[1].Drawable() {
		t.Errorf("a normal curve is not drawable")
	}
	// On the eval-loss axis an all-zero curve gets no L* either.
	z := curveOf("exact_match", 100, 0.1, one(0, 0, 0, 0, 0, 0)...)
	z.Axis = AxisEvalLoss
	rs, err = AnalyzeCurves(context.Background(), []*Curve{z}, AnalyzeConfig{Options: o, LossView: true})
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := evidence(rs[0], "loss_threshold"); rs[0].Loss != nil || !ok || !strings.Contains(e.Detail, "not applicable") {
		t.Errorf("all-zero curve on the loss axis: loss view %+v, evidence %q", rs[0].Loss, e.Detail)
	}
}

// TestFewItems: a verdict resting on fewer than 50 items per evaluation is
// flagged, with n per level exposed.
func TestFewItems(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 0
	for _, n := range []int{20, 49, 50, 200} {
		r, err := Analyze(context.Background(), curveOf("exact_match", n, 0.1, one(0.1, 0.1, 0.1, 0.9, 0.9, 0.95)...), o)
		if err != nil {
			t.Fatal(err)
		}
		_, ev := evidence(r, "items")
		if r.NMin != n || r.FewItems != (n < MinItems) || ev != (n < MinItems) || r.Levels[0].Items != n {
			t.Errorf("n=%d: n_min %d few_items %v evidence %v level items %d", n, r.NMin, r.FewItems, ev, r.Levels[0].Items)
		}
	}
}

// TestSeedsWidenXStar: x* intervals come from seeds as well as items: the
// same level means with a larger spread across seeds give a wider
// interval, and a ladder with fewer seeds at its largest size is accepted.
func TestSeedsWidenXStar(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 200
	width := func(spread float64) float64 {
		t.Helper()
		means := []float64{0.1, 0.1, 0.12, 0.5, 0.85, 0.9}
		var levels [][]float64
		for i, m := range means {
			vals := []float64{m - spread, m, m + spread}
			if i == len(means)-1 {
				vals = []float64{m} // one seed at the largest size
			}
			for j := range vals {
				vals[j] = math.Min(math.Max(vals[j], 0), 1)
			}
			levels = append(levels, vals)
		}
		r, err := Analyze(context.Background(), curveOf("exact_match", 400, 0.1, levels...), o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != VerdictEmergent || r.Levels[len(r.Levels)-1].Seeds != 1 {
			t.Fatalf("spread %g: verdict %s (%s), seeds at the largest level %d", spread, r.Verdict, r.Reason, r.Levels[len(r.Levels)-1].Seeds)
		}
		return math.Log10(r.XStarHi) - math.Log10(r.XStarLo)
	}
	narrow, wide := width(0.005), width(0.08)
	t.Logf("x* interval width: %.3g decades with seed spread 0.005, %.3g with 0.08", narrow, wide)
	if !(wide > 1.5*narrow) {
		t.Errorf("seed spread does not widen the x* interval: %.3g vs %.3g decades", wide, narrow)
	}
}

// TestSeedXStars: each seed's own x* lies at its own jump, the largest
// level (one seed) is skipped for a seed without it, and a curve that is
// not emergent has none.
func TestSeedXStars(t *testing.T) {
	// Scales 10^4 … 10^7.5 by half decades; seed 0 jumps between 10^5.5
	// and 10^6, seed 1 between 10^6 and 10^6.5; only seed 0 has the
	// largest level.
	c := curveOf("exact_match", 200, 0.01,
		[]float64{0.01, 0.01}, []float64{0.01, 0.02}, []float64{0.02, 0.01}, []float64{0.02, 0.01},
		[]float64{0.95, 0.02}, []float64{0.97, 0.96}, []float64{0.98, 0.97}, []float64{0.99})
	o := DefaultOptions()
	o.Boot = 0
	r, err := Analyze(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictEmergent || len(r.XStarSeeds) != 2 {
		t.Fatalf("verdict %s with seeds %+v; want emergent with two seeds' x*", r.Verdict, r.XStarSeeds)
	}
	for _, s := range []struct {
		seed   string
		levels int
		lo, hi float64
	}{{"0", 8, 5.5, 6}, {"1", 7, 6, 6.5}} {
		var got *SeedXStar
		for i := range r.XStarSeeds {
			if r.XStarSeeds[i].Seed == s.seed {
				got = &r.XStarSeeds[i]
			}
		}
		if got == nil || got.Levels != s.levels || !(math.Log10(got.XStar) > s.lo && math.Log10(got.XStar) < s.hi) {
			t.Errorf("seed %s: %+v, want x* in (10^%g, 10^%g) over %d levels", s.seed, got, s.lo, s.hi, s.levels)
		}
	}
	flat, err := Analyze(context.Background(), curveOf("exact_match", 200, 0.01, [][]float64{{0.3, 0.3}, {0.31, 0.29}, {0.3, 0.3}, {0.29, 0.3}, {0.3, 0.31}, {0.3, 0.3}}...), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(flat.XStarSeeds) != 0 {
		t.Errorf("a flat curve has seed x*: %+v", flat.XStarSeeds)
	}
}
