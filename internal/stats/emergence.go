package stats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"

	"emlab/internal/numfmt"
)

// Verdicts.
const (
	VerdictEmergent     = "emergent"
	VerdictSmooth       = "smooth"
	VerdictFlat         = "flat"
	VerdictInsufficient = "insufficient"
	// VerdictInverse: the curve gets worse with scale (inverse scaling,
	// McKenzie et al. 2023, "Inverse Scaling: When Bigger Isn't Better").
	VerdictInverse = "inverse"
	// VerdictNonMonotone: the curve improves and then worsens, or worsens
	// and then improves (U-shaped scaling, Wei et al. 2022b, "Inverse
	// scaling can become U-shaped").
	VerdictNonMonotone = "non_monotone"
)

// Verdicts lists every verdict Analyze gives.
var Verdicts = []string{VerdictEmergent, VerdictSmooth, VerdictFlat, VerdictInverse, VerdictNonMonotone, VerdictInsufficient}

// MinItems is the number of items per evaluation below which a verdict is
// flagged as resting on few items (Result.FewItems): with fewer than 50
// items a level's binomial standard error exceeds 0.07 near p = 0.5.
const MinItems = 50

// Options tune Analyze. The zero value is not valid; start from
// DefaultOptions.
type Options struct {
	// Delta is the margin above chance (score units) that counts as
	// "clearly above": x_cross is the first crossing of chance + Delta, and
	// Wei et al.'s test asks for it at the largest scale.
	Delta float64
	// Alpha is the significance level of the trend test (flat vs not), of
	// the test for a change of direction and of the "above chance at the
	// largest scale" test.
	Alpha float64
	// NearAlpha is the level below which the smallest scale counts as
	// significantly above chance (so not "near random").
	NearAlpha float64
	// MinDeltaBIC is how much lower the sigmoid's BIC must be than the best
	// smooth alternative's (2 = "positive evidence", Kass & Raftery 1995).
	MinDeltaBIC float64
	// SharpFrac: a transition is sharp if its 10–90 % rise spans at most this
	// fraction of the sampled log10 x range.
	SharpFrac float64
	// MinLevels is the fewest distinct scales an emergent verdict may rest
	// on: the sigmoid has 4 parameters, and its leave-one-out test needs a
	// residual degree of freedom after leaving a level out, so 6.
	MinLevels int
	// Boot is the number of bootstrap replicates for intervals (0: none).
	Boot int
	// Seed seeds the bootstrap; Workers bounds its parallelism (≤ 0: all CPUs).
	// Results do not depend on Workers.
	Seed    uint64
	Workers int
	// Level is the two-sided coverage of the intervals (0.95).
	Level float64
}

// DefaultOptions are the settings emlab analyze uses.
func DefaultOptions() Options {
	return Options{Delta: 0.1, Alpha: 0.001, NearAlpha: 0.05, MinDeltaBIC: 2, SharpFrac: 1.0 / 3, MinLevels: 6, Boot: 200, Seed: 1, Level: 0.95}
}

// Validate checks option ranges.
func (o Options) Validate() error {
	switch {
	case !(o.Delta > 0):
		return fmt.Errorf("delta must be > 0, got %g", o.Delta)
	case !(o.Alpha > 0 && o.Alpha < 1), !(o.NearAlpha > 0 && o.NearAlpha < 1):
		return fmt.Errorf("significance levels must be in (0, 1), got alpha=%g near_alpha=%g", o.Alpha, o.NearAlpha)
	case !(o.SharpFrac > 0):
		return fmt.Errorf("sharp fraction must be > 0, got %g", o.SharpFrac)
	case o.MinLevels < 6:
		return fmt.Errorf("min levels must be ≥ 6 (a 4-parameter sigmoid tested out of sample), got %d", o.MinLevels)
	case o.Boot < 0:
		return fmt.Errorf("bootstrap replicates must be ≥ 0, got %d", o.Boot)
	case !(o.Level > 0 && o.Level < 1):
		return fmt.Errorf("interval level must be in (0, 1), got %g", o.Level)
	}
	return nil
}

// Evidence is one test behind a verdict: its name, whether it passed, the
// numbers it used and a sentence saying what they mean.
type Evidence struct {
	Test   string             `json:"test"`
	Pass   bool               `json:"pass"`
	Values map[string]float64 `json:"values,omitempty"`
	Detail string             `json:"detail"`
}

// Result is the analysis of one curve. Scales (XStar, XCross and their
// intervals) are in the units of the curve's axis; NaN means undefined
// (no sigmoid fitted, never crossed) and ±Inf an open interval end.
type Result struct {
	Task, Metric, Axis string
	Verdict            string
	// Reason says in one sentence why the verdict was given (for
	// insufficient: what is missing).
	Reason   string
	Emergent bool
	// LowerIsBetter is the metric's orientation (MetricLowerIsBetter); every
	// directional test uses the oriented curve.
	LowerIsBetter bool
	// Direction is the change with scale in terms of improvement: one of
	// DirectionNone, DirectionImproves, DirectionWorsens and the two
	// non-monotone shapes (DirectionBothWays for a zigzag).
	Direction        string
	Breakthroughness float64
	Linearity        float64
	// XStar is the sigmoid's midpoint: the scale where the fitted transition
	// is half way from floor to ceiling.
	XStar, XStarLo, XStarHi float64
	// XStarSeeds is x* of each seed's own curve (the sigmoid refitted to
	// that seed's levels), for an emergent curve with replicate seeds: the
	// seed-to-seed spread of the transition's location. Empty otherwise.
	XStarSeeds []SeedXStar
	// XCross is the first scale where the pooled curve reaches chance + Delta
	// (or, without a chance rate, improves Delta on its smallest-scale
	// value), interpolated in log x.
	XCross, XCrossLo, XCrossHi float64
	// Fit is the model with the lowest BIC; Params its parameters. Both are
	// empty when NotApplicable is set.
	Fit    string
	Params map[string]float64
	Fits   []Fit
	// FamilySD is the chosen fit's τ: the level-to-level scatter beyond
	// sampling noise (a random effect per model size).
	FamilySD float64
	Levels   []Level
	// NMin is the fewest items behind any evaluation of the curve (0 when
	// item counts are unknown); FewItems flags a verdict resting on fewer
	// than MinItems per level.
	NMin     int
	FewItems bool
	// NotApplicable, when not empty, says why no model was fitted (a
	// constant curve): nothing should be drawn for it.
	NotApplicable string
	// Note says how the data were reduced before fitting (a curve with more
	// than MaxLevels distinct scales is binned).
	Note string
	// Evidence lists every test in the order the verdict used them.
	Evidence []Evidence
	// Mirage, Loss and Forecast are filled by the optional analyses.
	Mirage   *MirageResult
	Loss     *LossThreshold
	Forecast *Forecast
	// ItemView is the per-item view of the curve's ladder (RunItemViews),
	// when its runs wrote samples.
	ItemView *ItemView
	// smoothGOFP is the goodness-of-fit p-value of the smooth fit (see
	// smoothGOF), for the mirage test.
	smoothGOFP float64
}

// Drawable reports whether the result has a fitted curve to draw.
func (r *Result) Drawable() bool { return r.NotApplicable == "" && r.Fit != "" }

// Analyze classifies one curve and locates its transition. It returns an
// error wrapping ErrTooFewLevels for fewer than four distinct x values, and
// validation errors for NaN values, non-positive x and duplicate points.
// A curve with more than MaxLevels distinct x is first binned (Result.Note).
//
// Everything is judged on the oriented curve (a lower-is-better metric such
// as edit distance or loss is negated; see MetricLowerIsBetter), and every
// test uses each level's sampling variance plus a family variance τ², the
// scatter of one model size about the curve (see fitRE). The verdict, in
// order:
//
//  1. insufficient — four levels without variance information: any
//     four-parameter sigmoid fits four points exactly.
//  2. flat — a constant curve (NotApplicable: nothing is fitted); or
//     neither the trend test (the constant model against a line, a power
//     law and a sigmoid in log x, see trendP) nor the test for a change of direction
//     (testMonotone) rejects a constant at Alpha; or the change is below
//     Delta/2.
//  3. non_monotone — it significantly improves and then worsens, or worsens
//     and then improves (testMonotone).
//  4. inverse — the chosen fit worsens from the smallest to the largest
//     scale.
//  5. insufficient — it improves, but with fewer than MinLevels levels a
//     sharp transition cannot be told from a smooth rise.
//  6. emergent — all of: the sigmoid in log x beats the smooth alternatives
//     (line in log x and power law in the error) by MinDeltaBIC and out of
//     sample (lower leave-one-out error); the fitted sigmoid rises; its
//     10–90 % rise spans at most SharpFrac of the sampled log x range; its
//     midpoint lies after the second smallest and no later than the largest
//     sampled scale; and Wei et al. 2022's operational test: near chance at
//     the two smallest scales (each p ≥ NearAlpha, or within Delta of
//     chance) and clearly above at the largest (p < Alpha and at least chance + Delta).
//     Without a chance rate — or when it does not apply (a lower-is-better
//     metric, scores outside [0, 1]) — the last test is replaced by "the
//     fitted sigmoid is still within 10 % of its floor at the smallest
//     scale".
//  7. smooth — everything else that improves with scale.
//
// FewItems is set (with evidence) when any evaluation rests on fewer than
// MinItems items; it does not change the verdict.
func Analyze(ctx context.Context, c *Curve, o Options) (*Result, error) {
	return analyze(ctx, c, o, nil)
}

// analyze is Analyze with the fits to all rungs shared through memo
// (nil: fitted here).
func analyze(ctx context.Context, c *Curve, o Options, memo *fitMemo) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	levels, note, err := analysisLevels(c)
	if err != nil {
		return nil, err
	}
	if len(levels) < 4 {
		return nil, fmt.Errorf("curve %s: %w: got %d, need at least 4 (a sigmoid has 4 parameters)", c.Key(), ErrTooFewLevels, len(levels))
	}
	res := &Result{Task: c.Task, Metric: c.Metric, Axis: c.Axis, Levels: levels, Note: note, Direction: DirectionNone, smoothGOFP: math.NaN(),
		XStar: math.NaN(), XStarLo: math.NaN(), XStarHi: math.NaN(), FamilySD: math.NaN(),
		XCross: math.NaN(), XCrossLo: math.NaN(), XCrossHi: math.NaN()}
	if note != "" {
		res.add(Evidence{Test: "binned", Pass: true, Detail: note})
	}
	dir := scaleDir(c.Axis)
	t, y, v, known := levelsXY(levels)
	n := len(levels)
	orient := Orientation(c.Metric)
	res.LowerIsBetter = orient < 0
	yo := make([]float64, n)
	for i := range y {
		yo[i] = orient * y[i]
	}
	res.NMin = levels[0].Items
	for _, l := range levels {
		res.NMin = min(res.NMin, l.Items)
	}
	res.FewItems = res.NMin > 0 && res.NMin < MinItems

	// The chance rate applies to a fraction-valued score where higher is
	// better; a falling curve keeps it (falling below chance is a finding).
	useChance, why := chanceApplies(c, y)
	if c.HasChance && !useChance {
		res.add(Evidence{Test: "chance_rate", Pass: false, Values: map[string]float64{"chance": c.Chance}, Detail: why})
	}
	cc := *c
	cc.HasChance = useChance
	c = &cc

	yn := normalise(yo, c.Chance, c.HasChance)
	res.Breakthroughness = Breakthroughness(yn, BigBenchEpsilon)
	res.Linearity = Linearity(yn, BigBenchEpsilon)
	I := overallImprovement(yn)
	res.add(Evidence{Test: "bigbench", Pass: true,
		Values: map[string]float64{"breakthroughness": res.Breakthroughness, "linearity": res.Linearity, "overall_improvement": I},
		Detail: fmt.Sprintf("BIG-bench appendix B on normalised, oriented scores: breakthroughness %s, linearity %s, overall improvement %s (descriptive, not used by the verdict)", numfmt.Num(res.Breakthroughness), numfmt.Num(res.Linearity), numfmt.Num(I))})
	if res.FewItems {
		res.add(Evidence{Test: "items", Pass: false, Values: map[string]float64{"n_min": float64(res.NMin), "min_items": MinItems},
			Detail: fmt.Sprintf("some level rests on %d items per evaluation (fewer than %d): its binomial standard error is up to %s, so treat this verdict with caution", res.NMin, MinItems, numfmt.Num(0.5/math.Sqrt(float64(res.NMin))))})
	}

	if lo, hi := rangeOf(y); hi-lo <= 1e-12*math.Max(1, math.Max(math.Abs(lo), math.Abs(hi))) {
		res.Verdict, res.Direction = VerdictFlat, DirectionNone
		res.NotApplicable = fmt.Sprintf("every level is %.6g: a constant curve has no change, transition or scatter to fit", y[0])
		res.Reason = res.NotApplicable
		res.add(Evidence{Test: "constant", Pass: false, Values: map[string]float64{"value": y[0]}, Detail: res.NotApplicable})
		return res, nil
	}

	mc := newModelContext(t, y, dir, c.HasChance, 0.5)
	fs, err := memo.fitAll(ctx, t, y, v, known, mc, true)
	if err != nil {
		return nil, fmt.Errorf("curve %s: %w", c.Key(), err)
	}
	if fs.get(ModelConstant) == nil || fs.get(ModelSigmoid) == nil {
		return nil, fmt.Errorf("curve %s: the curve models could not be fitted (non-finite residuals; are the values or weights extreme?)", c.Key())
	}
	best := &fs.fits[0]
	for i := range fs.fits {
		if fs.fits[i].BIC < best.BIC-1e-9 {
			best = &fs.fits[i]
		}
	}
	res.Fit, res.Params, res.Fits, res.FamilySD = best.Model, best.Params, fs.fits, best.FamilySD
	res.add(modelEvidence(fs, best))
	res.smoothGOFP = smoothGOF(fs)

	sig := fs.get(ModelSigmoid)
	res.XStar = sig.Params["x_mid"]
	if orient*(sig.Params["ceiling"]-sig.Params["floor"]) <= 0 {
		// The midpoint of a fitted fall is no transition scale to report.
		res.XStar = math.NaN()
	}
	base := y[0]
	if c.HasChance {
		base = c.Chance
	}
	res.XCross = crossing(t, y, base, orient, o.Delta, dir)

	if !known && n <= 4 {
		res.Verdict = VerdictInsufficient
		res.Reason = fmt.Sprintf("%d levels without item counts, standard errors or ≥ 3 seeds: a 4-parameter sigmoid fits any 4 points exactly", n)
		res.add(Evidence{Test: "levels", Pass: false, Values: map[string]float64{"levels": float64(n)},
			Detail: res.Reason + "; give n or stderr, or more levels"})
		return res, nil
	}

	p, alt := trendP(fs)
	mo := testMonotone(t, yo, v, known)
	bicMono := math.Inf(1)
	for _, f := range fs.fits {
		bicMono = math.Min(bicMono, f.BIC)
	}
	monoEv, shape := monotoneEvidence(mo, levels, o.Alpha, bicMono)
	trend := (!(p >= o.Alpha) || shape != "") && math.Abs(I) >= BigBenchEpsilon
	res.add(Evidence{Test: "trend", Pass: trend, Values: map[string]float64{"p": p, "p_direction_change": mo.p(), "alpha": o.Alpha, "family_sd_constant": fs.get(ModelConstant).FamilySD},
		Detail: fmt.Sprintf("constant curve vs line, power law and sigmoid in log x, each with its own family variance: p = %s (best alternative %s; %s, Bonferroni over the three); change of direction p = %s; %s at alpha %g",
			numfmt.Num(p), alt, testName(known), numfmt.Num(mo.p()), passWord(trend, "changes with scale", "no significant change"), o.Alpha)})
	// A significant but tiny change is flat for practical purposes: the
	// chosen fit (or, for a change of direction, the smaller of the two
	// moves) must move at least Delta/2 across the sampled scales.
	change := fittedRange(best, t)
	switch shape {
	case DirectionImprovesThenWorse:
		change = math.Max(change, math.Min(mo.riseHump, mo.fallHump))
	case DirectionWorsensThenImprove:
		change = math.Max(change, math.Min(mo.fallDip, mo.riseDip))
	case DirectionBothWays:
		change = math.Max(change, math.Max(math.Min(mo.riseHump, mo.fallHump), math.Min(mo.fallDip, mo.riseDip)))
	}
	big := change >= o.Delta/2
	res.add(Evidence{Test: "effect_size", Pass: big, Values: map[string]float64{"fitted_change": change, "min_change": o.Delta / 2},
		Detail: fmt.Sprintf("the curve moves %s across the sampled scales (at least %s = Delta/2 to count as a change)", numfmt.Num(change), numfmt.Num(o.Delta/2))})
	if !trend || !big {
		// No transition, so no midpoint to report (the sigmoid fitted to
		// noise has an arbitrary one).
		res.Verdict, res.Direction = VerdictFlat, DirectionNone
		res.Reason = fmt.Sprintf("no significant change with scale (trend p = %s, alpha %g)", numfmt.Num(p), o.Alpha)
		if sd := fs.get(ModelConstant).FamilySD; sd > 0 && known {
			res.Reason = fmt.Sprintf("no significant change with scale beyond the model-to-model scatter (family sd %s about a constant; trend p = %s, alpha %g)", numfmt.Num(sd), numfmt.Num(p), o.Alpha)
		}
		if trend {
			res.Reason = fmt.Sprintf("the change with scale (%s) is below Delta/2 = %s", numfmt.Num(change), numfmt.Num(o.Delta/2))
		}
		res.XStar = math.NaN()
		return res, o.intervals(ctx, c, res, levels, fs, nil, base, orient)
	}

	// Direction: a change of direction first, then the overall sign.
	res.add(monoEv)
	if shape != "" {
		res.Verdict, res.Direction = VerdictNonMonotone, shape
		switch shape {
		case DirectionImprovesThenWorse:
			res.Reason = fmt.Sprintf("improves up to %s (by %s) and then worsens (by %s)", numfmt.Num(levels[mo.turnHump].X), numfmt.Num(mo.riseHump), numfmt.Num(mo.fallHump))
		case DirectionWorsensThenImprove:
			res.Reason = fmt.Sprintf("worsens up to %s (by %s) and then improves (by %s)", numfmt.Num(levels[mo.turnDip].X), numfmt.Num(mo.fallDip), numfmt.Num(mo.riseDip))
		default:
			res.Reason = "changes direction both ways (improves then worsens, and worsens then improves)"
		}
		res.XStar = math.NaN()
		return res, o.intervals(ctx, c, res, levels, fs, nil, base, orient)
	}
	d := orient * (best.model.f(best.theta, t[n-1]) - best.model.f(best.theta, t[0]))
	improves := d > 0
	res.add(Evidence{Test: "direction", Pass: improves, Values: map[string]float64{"oriented_change": d, "lower_is_better": b2f(res.LowerIsBetter)},
		Detail: fmt.Sprintf("the chosen fit (%s) %s by %s from the smallest to the largest scale%s", best.Model, passWord(improves, "improves", "worsens"), numfmt.Num(math.Abs(d)), orientNote(res.LowerIsBetter, c.Metric))})
	if !improves {
		res.Verdict, res.Direction = VerdictInverse, DirectionWorsens
		res.Reason = fmt.Sprintf("worsens with scale: the fitted %s goes from %s to %s", c.Metric, numfmt.Num(best.model.f(best.theta, t[0])), numfmt.Num(best.model.f(best.theta, t[n-1])))
		res.XStar = math.NaN()
		return res, o.intervals(ctx, c, res, levels, fs, nil, base, orient)
	}
	res.Direction = DirectionImproves

	emergent := true
	var fails []string
	check := func(ok bool, name string) {
		if !ok {
			emergent = false
			fails = append(fails, name)
		}
	}
	var smoothBest *Fit
	looSmooth := math.Inf(1)
	for _, name := range []string{ModelLinear, ModelPower} {
		if f := fs.get(name); f != nil {
			if smoothBest == nil || f.BIC < smoothBest.BIC {
				smoothBest = f
			}
			if !math.IsNaN(f.LOOMedian) {
				looSmooth = math.Min(looSmooth, f.LOOMedian)
			}
		}
	}
	dBIC := smoothBest.BIC - sig.BIC
	okBIC := dBIC >= o.MinDeltaBIC
	check(okBIC, "the sigmoid does not beat the smooth fits by BIC")
	res.add(Evidence{Test: "sigmoid_vs_smooth", Pass: okBIC, Values: map[string]float64{"delta_bic": dBIC, "family_sd_sigmoid": sig.FamilySD, "family_sd_smooth": smoothBest.FamilySD},
		Detail: fmt.Sprintf("BIC(%s) − BIC(sigmoid) = %s (need ≥ %g), with family sd %s for the sigmoid and %s for the %s", smoothBest.Model, numfmt.Num(dBIC), o.MinDeltaBIC, numfmt.Num(sig.FamilySD), numfmt.Num(smoothBest.FamilySD), smoothBest.Model)})

	// Out of sample: the median absolute leave-one-out error, because a
	// sharp jump makes the level next to it unpredictable for any model (it
	// may lie on either side of the jump), which dominates an RMS error.
	okLOO := !math.IsNaN(sig.LOOMedian) && !math.IsInf(looSmooth, 1) && sig.LOOMedian < looSmooth
	check(okLOO, "the sigmoid does not predict left-out levels better")
	res.add(Evidence{Test: "out_of_sample", Pass: okLOO, Values: map[string]float64{"sigmoid_loo_median_abs": sig.LOOMedian, "smooth_loo_median_abs": looSmooth, "sigmoid_loo_rmse": sig.LOO},
		Detail: fmt.Sprintf("leave-one-level-out median absolute error: sigmoid %s vs best smooth fit %s (the sigmoid must predict the typical left-out level better)", numfmt.Num(sig.LOOMedian), numfmt.Num(looSmooth))})

	rise := orient * (sig.Params["ceiling"] - sig.Params["floor"])
	check(rise > 0, "the fitted sigmoid falls")
	res.add(Evidence{Test: "sigmoid_rises", Pass: rise > 0, Values: map[string]float64{"floor": sig.Params["floor"], "ceiling": sig.Params["ceiling"]},
		Detail: fmt.Sprintf("the fitted sigmoid goes from %s to %s: %s", numfmt.Num(sig.Params["floor"]), numfmt.Num(sig.Params["ceiling"]), passWord(rise > 0, "an improvement", "a fall is never emergence"))})

	width := sig.Params["rise_10_90_decades"]
	sp := t[n-1] - t[0]
	sharp := width <= o.SharpFrac*sp
	check(sharp, "the rise is not sharp")
	sharpDetail := fmt.Sprintf("10–90%% rise of the sigmoid spans %s decades of the %s sampled (sharp if ≤ %s of it)", numfmt.Num(width), numfmt.Num(sp), numfmt.Num(o.SharpFrac))
	if slices.Contains(sig.AtBound, paramWidth) {
		// The width is only bounded above by the data, so the number is
		// an upper bound on the rise; the test (rise ≤ a fraction of the
		// span) holds for every width below it, and its answer stands.
		sharpDetail += "; the sigmoid's " + widthBoundWords(sig.Params[paramWidth])
	}
	res.add(Evidence{Test: "sharpness", Pass: sharp, Values: map[string]float64{"rise_10_90_decades": width, "span_decades": sp}, Detail: sharpDetail})

	// "Near random until a critical scale": at least two sampled scales
	// before the midpoint, so a curve rising from its first rung (a power
	// law in the error starting at chance) is not called a transition.
	m := dir * math.Log10(res.XStar)
	in := m > t[1] && m <= t[n-1]
	check(in, "the midpoint is outside the sampled scales")
	res.add(Evidence{Test: "x_star_in_range", Pass: in, Values: map[string]float64{"x_star": res.XStar, "x_second": levels[1].X, "x_max": levels[n-1].X},
		Detail: fmt.Sprintf("sigmoid midpoint %s %s (second smallest scale %s, largest %s]: a transition needs two sampled scales before it", numfmt.Num(res.XStar), passWord(in, "lies within", "lies outside"), numfmt.Num(levels[1].X), numfmt.Num(levels[n-1].X))})

	ev := weiEvidence(c, levels, sig, o, orient)
	check(ev.Pass, "not near chance and then clearly above it")
	res.add(ev)

	enough := n >= o.MinLevels
	res.add(Evidence{Test: "enough_levels", Pass: enough, Values: map[string]float64{"levels": float64(n), "min_levels": float64(o.MinLevels)},
		Detail: fmt.Sprintf("%d levels (a transition needs %d: the 4-parameter sigmoid must be tested on levels it was not fitted to)", n, o.MinLevels)})
	switch {
	case !enough:
		res.Verdict = VerdictInsufficient
		fitNote := "a smooth fit is preferred in sample"
		if okBIC && sharp && rise > 0 {
			fitNote = "a sharp sigmoid fits best in sample"
		}
		res.Reason = fmt.Sprintf("improves with scale, but %d levels cannot tell a sharp transition from a smooth rise: %s, and testing it out of sample needs %d levels", n, fitNote, o.MinLevels)
	case emergent:
		res.Verdict, res.Emergent = VerdictEmergent, true
		res.Reason = fmt.Sprintf("a sharp rise from near chance at %s (sigmoid midpoint), better than the smooth fits in and out of sample", numfmt.Num(res.XStar))
		res.XStarSeeds = seedXStars(levels, sig, orient)
	default:
		res.Verdict = VerdictSmooth
		res.Reason = "improves with scale without a sharp transition: " + fails[0]
		res.add(Evidence{Test: "smooth_fit_gof", Pass: res.smoothGOFP >= GOFAlpha, Values: map[string]float64{"p": res.smoothGOFP, "alpha": GOFAlpha},
			Detail: fmt.Sprintf("goodness of fit of the smooth fit (line or power law), χ² with sampling plus the sigmoid's family variance: p = %s (the mirage test counts a metric as smooth only at p ≥ %g)", numfmt.Num(res.smoothGOFP), GOFAlpha)})
	}
	if math.IsNaN(res.XStar) {
		sig = nil
	}
	return res, o.intervals(ctx, c, res, levels, fs, sig, base, orient)
}

func (r *Result) add(e Evidence) { r.Evidence = append(r.Evidence, e) }

// SeedXStar is the transition scale of one seed's curve.
type SeedXStar struct {
	Seed string `json:"seed"`
	// Levels is the number of levels the seed has a point at.
	Levels int `json:"levels"`
	// XStar is the midpoint of the sigmoid refitted to the seed's levels;
	// NaN when that sigmoid does not rise.
	XStar float64 `json:"x_star"`
}

// seedXStars refits the pooled curve's sigmoid to each seed's own points
// (the mean of its points where a binned level holds several), each
// weighted by its own sampling variance plus the sigmoid's family variance
// (without sampling variances, equally), started from the pooled fit, for
// every seed with points at four levels or more (a ladder's largest rung is
// often trained with fewer seeds). Nothing with fewer than two such seeds.
func seedXStars(levels []Level, sig *Fit, orient float64) []SeedXStar {
	type acc struct{ sum, v, n float64 }
	var seeds []string
	per := map[string][]acc{}
	known := true
	for i, l := range levels {
		for _, p := range l.points {
			if p.Seed == "" {
				return nil
			}
			if _, ok := per[p.Seed]; !ok {
				seeds = append(seeds, p.Seed)
				per[p.Seed] = make([]acc, len(levels))
			}
			a := &per[p.Seed][i]
			a.sum += p.Value
			a.n++
			v := pointVar(p)
			known = known && v > 0
			a.v += v
		}
	}
	sort.Strings(seeds)
	var out []SeedXStar
	for _, s := range seeds {
		var t, y, w []float64
		for i, a := range per[s] {
			if a.n == 0 {
				continue
			}
			wi := 1.0
			if known {
				wi = 1 / (a.v/(a.n*a.n) + sig.tau2)
			}
			t, y, w = append(t, levels[i].T), append(y, a.sum/a.n), append(w, wi)
		}
		if len(t) < 4 {
			continue
		}
		th, _ := fitModel(sig.model, t, y, w, sig.theta)
		x := math.NaN()
		if th != nil {
			if ps := sig.model.report(th); orient*(ps["ceiling"]-ps["floor"]) > 0 {
				x = ps["x_mid"]
			}
		}
		out = append(out, SeedXStar{Seed: s, Levels: len(t), XStar: x})
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func orientNote(lower bool, metric string) string {
	if lower {
		return " (lower is better for " + metric + ")"
	}
	return ""
}

func passWord(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func testName(known bool) string {
	if known {
		return "likelihood ratio with the levels' sampling variances plus family variance"
	}
	return "likelihood ratio, variance estimated from residuals"
}

func allIn01(y []float64) bool {
	for _, v := range y {
		if v < 0 || v > 1 {
			return false
		}
	}
	return true
}

func rangeSpan(y []float64) float64 {
	lo, hi := rangeOf(y)
	return hi - lo
}

// fittedRange is how far a fit moves over the sampled scales.
func fittedRange(f *Fit, t []float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ti := range t {
		v := f.model.f(f.theta, ti)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return hi - lo
}

// chanceApplies decides whether a curve's chance rate means anything: only
// for a metric where higher is better whose scores are fractions in [0, 1].
// why says otherwise why not.
func chanceApplies(c *Curve, y []float64) (bool, string) {
	if !c.HasChance {
		return false, ""
	}
	if MetricLowerIsBetter(c.Metric) {
		return false, fmt.Sprintf("chance rate %g ignored: lower is better for %s, so it is not a fraction of right answers", c.Chance, c.Metric)
	}
	if !allIn01(y) {
		lo, hi := rangeOf(y)
		hint := ""
		if lo >= 0 && hi <= 100 {
			hint = " (percentages? give fractions)"
		}
		return false, fmt.Sprintf("chance rate %g ignored: the scores range over [%s, %s], not fractions in [0, 1]%s", c.Chance, numfmt.Num(lo), numfmt.Num(hi), hint)
	}
	return true, ""
}

// trendP is the p-value of "the curve is constant" against a line, a power
// law in the error and a sigmoid in log x, Bonferroni-corrected over the
// three: the likelihood
// ratio of the random-effects fits (each model with its own family
// variance, see fitAll) referred to χ² on the difference in parameters. It
// also names the alternative with the smallest p-value. (A curve that only
// changes direction is caught by testMonotone.)
func trendP(fs *fitSet) (float64, string) {
	c := fs.get(ModelConstant)
	if c == nil {
		return math.NaN(), ""
	}
	m2ll := func(f *Fit) float64 {
		s := f.WRSS
		for _, vi := range fs.v {
			s += math.Log(vi + f.tau2)
		}
		return s
	}
	alts := []*Fit{fs.get(ModelLinear), fs.get(ModelPower), fs.get(ModelSigmoid)}
	best, name, tests := 1.0, "", 0
	for _, a := range alts {
		if a == nil {
			continue
		}
		lr := math.Max(m2ll(c)-m2ll(a), 0)
		p := distuv.ChiSquared{K: float64(a.K - c.K)}.Survival(lr)
		tests++
		if p < best || name == "" {
			best, name = p, a.Model
		}
	}
	if tests == 0 {
		return math.NaN(), ""
	}
	return math.Min(1, best*float64(tests)), name
}

func modelEvidence(fs *fitSet, best *Fit) Evidence {
	vals := map[string]float64{}
	detail := "BIC:"
	looBest := ""
	looMin := math.Inf(1)
	for _, f := range fs.fits {
		vals["bic_"+f.Model] = f.BIC
		// four digits, not the lab's three: BICs are read by their
		// differences, a few units on values in the hundreds
		detail += fmt.Sprintf(" %s %.4g", f.Model, f.BIC)
		if f.LOO < looMin {
			looMin, looBest = f.LOO, f.Model
		}
	}
	agree := looBest == best.Model
	detail += fmt.Sprintf("; chosen %s (family sd %s); lowest leave-one-out RMSE: %s (%s)", best.Model, numfmt.Num(best.FamilySD), looBest, numfmt.Num(looMin))
	return Evidence{Test: "model_choice", Pass: agree, Values: vals, Detail: detail}
}

// crossing is the first scale at which sign·(y − base) ≥ delta, linearly
// interpolated in t between the last level below and the first above; NaN if
// the curve never crosses, and the smallest x if it starts above.
func crossing(t, y []float64, base, sign, delta, dir float64) float64 {
	for i := range y {
		if sign*(y[i]-base) >= delta {
			if i == 0 {
				return math.Pow(10, dir*t[0])
			}
			a, b := sign*(y[i-1]-base)-delta, sign*(y[i]-base)-delta
			f := a / (a - b)
			return math.Pow(10, dir*(t[i-1]+f*(t[i]-t[i-1])))
		}
	}
	return math.NaN()
}

// AtSmallest reports whether scale x is the smallest one sampled (a
// curve's Levels[0].X): crossing returns that scale for a curve already
// past the level there (it cannot see below it), so a crossing or an
// interval end at it is an upper bound, not a measured point. x has been
// through log10 and back, so it may differ from the sampled scale in the
// last bits (1e-9 relative).
func AtSmallest(smallest, x float64) bool {
	return smallest > 0 && x <= smallest*(1+1e-9)
}

// weiEvidence is Wei et al. 2022's operational definition: near random at
// small scale (the two smallest sampled scales, the ones before the
// transition), clearly above at large scale. With a family variance the
// levels are tested against their sampling variance plus it (a z test),
// else with the binomial test on the items.
func weiEvidence(c *Curve, levels []Level, sig *Fit, o Options, orient float64) Evidence {
	first, last := levels[0], levels[len(levels)-1]
	if !c.HasChance {
		f, h := sig.Params["floor"], sig.Params["ceiling"]
		frac := math.NaN()
		if h != f {
			frac = (sig.model.f(sig.theta, first.T) - f) / (h - f)
		}
		ok := frac <= 0.1
		return Evidence{Test: "starts_flat", Pass: ok, Values: map[string]float64{"fraction_of_rise_at_smallest": frac},
			Detail: fmt.Sprintf("no chance rate applies: at the smallest scale the fitted sigmoid has risen %s of the way (flat start if ≤ 0.1)", numfmt.Num(frac))}
	}
	ch := c.Chance
	p := func(l Level) float64 {
		if sig.tau2 > 0 {
			return distuv.UnitNormal.Survival((l.Mean - ch) / math.Sqrt(math.Max(l.Var, 0)+sig.tau2))
		}
		se := 0.0
		if l.Var > 0 {
			se = math.Sqrt(l.Var)
		}
		return aboveChanceP(l.Mean, l.N, se, ch)
	}
	second := levels[1]
	pSmall, pSecond, pLarge := p(first), p(second), p(last)
	nearOne := func(l Level, pv float64) bool { return pv >= o.NearAlpha || l.Mean-ch < o.Delta }
	near := nearOne(first, pSmall) && nearOne(second, pSecond)
	above := last.Mean-ch >= o.Delta && (math.IsNaN(pLarge) || pLarge < o.Alpha)
	ok := near && above
	return Evidence{Test: "wei_near_chance_then_above", Pass: ok,
		Values: map[string]float64{"chance": ch, "mean_smallest": first.Mean, "p_smallest": pSmall, "mean_second": second.Mean, "p_second": pSecond, "mean_largest": last.Mean, "p_largest": pLarge},
		Detail: fmt.Sprintf("two smallest scales %s and %s vs chance %s (p = %s and %s, %s); largest %s (p = %s, %s)",
			numfmt.Num(first.Mean), numfmt.Num(second.Mean), numfmt.Num(ch), numfmt.Num(pSmall), numfmt.Num(pSecond), passWord(near, "near random", "not both near random"), numfmt.Num(last.Mean), numfmt.Num(pLarge), passWord(above, "clearly above", "not clearly above"))}
}

// intervals bootstraps x_star (when sig is not nil) and x_cross over seeds,
// items and the family variance (see resampleMeans), refitting the sigmoid
// to every replicate. Percentile intervals at o.Level; a replicate that
// never crosses counts as +Inf for x_cross (0 on the eval-loss axis, where
// scale grows as x falls).
func (o Options) intervals(ctx context.Context, c *Curve, res *Result, levels []Level, fs *fitSet, sig *Fit, base, sign float64) error {
	if o.Boot == 0 {
		return nil
	}
	n := len(levels)
	sampling := hasSampling(levels)
	fitted, resid := make([]float64, n), make([]float64, n)
	chosen := fs.get(res.Fit)
	for i := range levels {
		fitted[i] = chosen.model.f(chosen.theta, levels[i].T)
		dof := math.Max(float64(n-chosen.K), 1)
		resid[i] = (levels[i].Mean - fitted[i]) * math.Sqrt(float64(n)/dof)
	}
	// The family variance is the random effect of the model whose
	// parameter is bootstrapped: the sigmoid's for x*, the chosen fit's
	// otherwise.
	tau2 := chosen.tau2
	if sig != nil {
		tau2 = sig.tau2
	}
	if !fs.known {
		tau2 = 0 // without sampling variances τ² is the residual variance, already in the resampled points
	}
	dir := scaleDir(c.Axis)
	stars := make([]float64, o.Boot)
	crosses := make([]float64, o.Boot)
	label := "analyze/" + c.Key()
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, label, func(rng *rand.Rand, b int) {
		yb := make([]float64, n)
		resampleMeans(rng, levels, sampling, fitted, resid, tau2, yb)
		x := crossing(fs.t, yb, base, sign, o.Delta, dir)
		if math.IsNaN(x) {
			x = math.Inf(1) // needs more scale than sampled
			if dir < 0 {
				x = 0 // on the loss axis more scale is lower loss
			}
		}
		crosses[b] = x
		stars[b] = math.NaN()
		if sig != nil {
			th, _ := fitModel(sig.model, fs.t, yb, sig.w, sig.theta)
			stars[b] = math.Pow(10, dir*th[2])
		}
	})
	if err != nil {
		return fmt.Errorf("curve %s: bootstrap: %w", c.Key(), err)
	}
	a := (1 - o.Level) / 2
	if sig != nil {
		res.XStarLo, res.XStarHi = quantile(stars, a), quantile(stars, 1-a)
	}
	res.XCrossLo, res.XCrossHi = quantile(crosses, a), quantile(crosses, 1-a)
	if res.XStarLo > res.XStarHi {
		res.XStarLo, res.XStarHi = res.XStarHi, res.XStarLo
	}
	if res.XCrossLo > res.XCrossHi {
		res.XCrossLo, res.XCrossHi = res.XCrossHi, res.XCrossLo
	}
	return nil
}

// IsTooFew reports whether err says a curve has too few levels.
func IsTooFew(err error) bool { return errors.Is(err, ErrTooFewLevels) }
