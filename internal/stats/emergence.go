package stats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Verdicts.
const (
	VerdictEmergent     = "emergent"
	VerdictSmooth       = "smooth"
	VerdictFlat         = "flat"
	VerdictInsufficient = "insufficient"
)

// Options tune Analyze. The zero value is not valid; start from
// DefaultOptions.
type Options struct {
	// Delta is the margin above chance (score units) that counts as
	// "clearly above": x_cross is the first crossing of chance + Delta, and
	// Wei et al.'s test asks for it at the largest scale.
	Delta float64
	// Alpha is the significance level of the trend test (flat vs not) and
	// of the "above chance at the largest scale" test.
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
	return Options{Delta: 0.1, Alpha: 0.001, NearAlpha: 0.05, MinDeltaBIC: 2, SharpFrac: 1.0 / 3, Boot: 200, Seed: 1, Level: 0.95}
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
	Emergent           bool
	Breakthroughness   float64
	Linearity          float64
	// XStar is the sigmoid's midpoint: the scale where the fitted transition
	// is half way from floor to ceiling.
	XStar, XStarLo, XStarHi float64
	// XCross is the first scale where the pooled curve reaches chance + Delta
	// (or, without a chance rate, moves Delta from its smallest-scale value),
	// interpolated in log x.
	XCross, XCrossLo, XCrossHi float64
	// Fit is the model with the lowest BIC; Params its parameters.
	Fit    string
	Params map[string]float64
	Fits   []Fit
	Levels []Level
	// Evidence lists every test in the order the verdict used them.
	Evidence []Evidence
	// Mirage, Loss and Forecast are filled by the optional analyses.
	Mirage   *MirageResult
	Loss     *LossThreshold
	Forecast *Forecast
}

// Analyze classifies one curve as emergent, smooth or flat and locates its
// transition. It returns an error wrapping ErrTooFewLevels for fewer than four
// distinct x values (a sigmoid has four parameters), and validation errors
// for NaN values, non-positive x and duplicate points.
//
// The verdict, in order:
//
//  1. insufficient — four levels without variance information: the sigmoid
//     fits any four points exactly, so nothing can be compared.
//  2. flat — the trend test (constant vs line and vs sigmoid, see trendP)
//     does not reject a constant curve at Alpha, or the chosen fit moves
//     less than Delta/2 across the sampled scales (a change too small to
//     matter), or the BIG-bench overall improvement is below BigBenchEpsilon.
//  3. emergent — all of: the sigmoid in log x beats the smooth alternatives
//     (line in log x and power law in the error) by MinDeltaBIC; its 10–90 %
//     rise spans at most SharpFrac of the sampled log x range; its midpoint
//     lies after the second smallest and no later than the largest sampled
//     scale (two scales near random before the transition); and Wei et al. 2022's operational test:
//     near chance at the smallest scale (binomial test against the chance
//     rate with the number of items, p ≥ NearAlpha, or within Delta of
//     chance) and clearly above at the largest (p < Alpha and at least
//     chance + Delta). Without a chance rate — or when it does not apply
//     because the scores are not fractions in [0, 1] that improve with scale
//     (log-probabilities, edit distances, Brier scores) — the last test is
//     replaced by "the fitted sigmoid is still within 10 % of its floor at
//     the smallest scale".
//  4. smooth — everything else that changes with scale.
func Analyze(ctx context.Context, c *Curve, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	levels, err := Pool(c)
	if err != nil {
		return nil, err
	}
	if len(levels) < 4 {
		return nil, fmt.Errorf("curve %s: %w: got %d, need at least 4 (a sigmoid has 4 parameters)", c.Key(), ErrTooFewLevels, len(levels))
	}
	res := &Result{Task: c.Task, Metric: c.Metric, Axis: c.Axis, Levels: levels,
		XStar: math.NaN(), XStarLo: math.NaN(), XStarHi: math.NaN(),
		XCross: math.NaN(), XCrossLo: math.NaN(), XCrossHi: math.NaN()}
	dir := scaleDir(c.Axis)
	t, y, w, known := levelsXY(levels)
	n := len(levels)

	// BIG-bench scores on normalised values (descriptive; not used by the verdict).
	// The chance rate is used only for a fraction-valued score that improves
	// with scale (accuracy-type metrics); for a log-probability, an edit
	// distance or a Brier score "chance + Delta" means nothing.
	useChance := c.HasChance && allIn01(y) && overallImprovement(y) >= 0
	if c.HasChance && !useChance {
		res.add(Evidence{Test: "chance_rate", Pass: false, Values: map[string]float64{"chance": c.Chance},
			Detail: fmt.Sprintf("chance rate %g ignored: the scores are not fractions in [0, 1] that improve with scale", c.Chance)})
	}
	cc := *c
	cc.HasChance = useChance
	c = &cc
	yn := normalise(y, c.Chance, c.HasChance)
	res.Breakthroughness = Breakthroughness(yn, BigBenchEpsilon)
	res.Linearity = Linearity(yn, BigBenchEpsilon)
	I := overallImprovement(yn)
	res.add(Evidence{Test: "bigbench", Pass: true,
		Values: map[string]float64{"breakthroughness": res.Breakthroughness, "linearity": res.Linearity, "overall_improvement": I},
		Detail: fmt.Sprintf("BIG-bench appendix B on normalised scores: breakthroughness %.3g, linearity %.3g, overall improvement %.3g (descriptive, not used by the verdict)", res.Breakthroughness, res.Linearity, I)})

	fraction := c.HasChance && allIn01(y)
	mc := newModelContext(t, y, dir, fraction, 0.5)
	fs := fitAll(t, y, w, known, mc, true)
	if fs.get(ModelConstant) == nil || fs.get(ModelSigmoid) == nil {
		return nil, fmt.Errorf("curve %s: the curve models could not be fitted (non-finite residuals; are the values or weights extreme?)", c.Key())
	}
	best := &fs.fits[0]
	for i := range fs.fits {
		if fs.fits[i].BIC < best.BIC-1e-9 {
			best = &fs.fits[i]
		}
	}
	res.Fit, res.Params, res.Fits = best.Model, best.Params, fs.fits
	res.add(modelEvidence(fs, best))

	sig := fs.get(ModelSigmoid)
	if sig != nil {
		res.XStar = sig.Params["x_mid"]
	}
	base, sign := baseline(c, y, I)
	res.XCross = crossing(t, y, base, sign, o.Delta, dir)

	if !known && n <= 4 {
		res.Verdict = VerdictInsufficient
		res.add(Evidence{Test: "levels", Pass: false, Values: map[string]float64{"levels": float64(n)},
			Detail: fmt.Sprintf("%d levels without item counts, standard errors or ≥3 seeds: a 4-parameter sigmoid fits any 4 points exactly; give n or stderr, or more levels", n)})
		return res, nil
	}

	p := fs.trendP()
	trend := !(p >= o.Alpha) && math.Abs(I) >= BigBenchEpsilon
	res.add(Evidence{Test: "trend", Pass: trend, Values: map[string]float64{"p": p, "alpha": o.Alpha, "phi": fs.phi},
		Detail: fmt.Sprintf("constant curve vs line/sigmoid in log x: p = %.3g (%s, Bonferroni over 2 tests); %s at alpha %g", p, testName(known), passWord(trend, "changes with scale", "no significant change"), o.Alpha)})
	// A significant but tiny change is flat for practical purposes: the
	// chosen fit must move at least Delta/2 across the sampled scales.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range levels {
		v := best.model.f(best.theta, l.T)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	big := hi-lo >= o.Delta/2
	res.add(Evidence{Test: "effect_size", Pass: big, Values: map[string]float64{"fitted_change": hi - lo, "min_change": o.Delta / 2},
		Detail: fmt.Sprintf("the chosen fit moves %.3g across the sampled scales (at least %.3g = Delta/2 to count as a change)", hi-lo, o.Delta/2)})
	if !trend || !big {
		// No transition, so no midpoint to report (the sigmoid fitted to
		// noise has an arbitrary one).
		res.Verdict = VerdictFlat
		res.XStar = math.NaN()
		return res, o.intervals(ctx, c, res, levels, fs, base, sign)
	}

	emergent := true
	// Sigmoid against the smooth alternatives.
	var smoothBest *Fit
	for _, name := range []string{ModelLinear, ModelPower} {
		if f := fs.get(name); f != nil && (smoothBest == nil || f.BIC < smoothBest.BIC) {
			smoothBest = f
		}
	}
	if sig == nil || smoothBest == nil {
		emergent = false
	} else {
		d := smoothBest.BIC - sig.BIC
		ok := d >= o.MinDeltaBIC
		emergent = emergent && ok
		res.add(Evidence{Test: "sigmoid_vs_smooth", Pass: ok, Values: map[string]float64{"delta_bic": d, "sigmoid_loo_rmse": sig.LOO, "smooth_loo_rmse": smoothBest.LOO},
			Detail: fmt.Sprintf("BIC(%s) − BIC(sigmoid) = %.3g (need ≥ %g); leave-one-out RMSE sigmoid %.3g vs %s %.3g", smoothBest.Model, d, o.MinDeltaBIC, sig.LOO, smoothBest.Model, smoothBest.LOO)})

		rise := sig.Params["rise_10_90_decades"]
		sp := t[n-1] - t[0]
		sharp := rise <= o.SharpFrac*sp
		emergent = emergent && sharp
		res.add(Evidence{Test: "sharpness", Pass: sharp, Values: map[string]float64{"rise_10_90_decades": rise, "span_decades": sp},
			Detail: fmt.Sprintf("10–90%% rise of the sigmoid spans %.3g decades of the %.3g sampled (sharp if ≤ %.3g of it)", rise, sp, o.SharpFrac)})

		// "Near random until a critical scale": at least two sampled scales
		// before the midpoint, so a curve rising from its first rung (a power
		// law in the error starting at chance) is not called a transition.
		m := dir * math.Log10(res.XStar)
		in := m > t[1] && m <= t[n-1]
		emergent = emergent && in
		res.add(Evidence{Test: "x_star_in_range", Pass: in, Values: map[string]float64{"x_star": res.XStar, "x_second": levels[1].X, "x_max": levels[n-1].X},
			Detail: fmt.Sprintf("sigmoid midpoint %.4g %s (second smallest scale %.4g, largest %.4g]: a transition needs two sampled scales before it", res.XStar, passWord(in, "lies within", "lies outside"), levels[1].X, levels[n-1].X)})

		ev := weiEvidence(c, levels, sig, o)
		emergent = emergent && ev.Pass
		res.add(ev)
	}
	if emergent {
		res.Verdict = VerdictEmergent
	} else {
		res.Verdict = VerdictSmooth
	}
	res.Emergent = emergent
	return res, o.intervals(ctx, c, res, levels, fs, base, sign)
}

func (r *Result) add(e Evidence) { r.Evidence = append(r.Evidence, e) }

func passWord(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func testName(known bool) string {
	if known {
		return "likelihood-ratio χ² with the levels' sampling variances"
	}
	return "F test, variance estimated from residuals"
}

func allIn01(y []float64) bool {
	for _, v := range y {
		if v < 0 || v > 1 {
			return false
		}
	}
	return true
}

func modelEvidence(fs *fitSet, best *Fit) Evidence {
	vals := map[string]float64{}
	detail := "BIC:"
	looBest := ""
	looMin := math.Inf(1)
	for _, f := range fs.fits {
		vals["bic_"+f.Model] = f.BIC
		detail += fmt.Sprintf(" %s %.4g", f.Model, f.BIC)
		if f.LOO < looMin {
			looMin, looBest = f.LOO, f.Model
		}
	}
	agree := looBest == best.Model
	detail += fmt.Sprintf("; chosen %s; lowest leave-one-out RMSE: %s (%.3g)", best.Model, looBest, looMin)
	return Evidence{Test: "model_choice", Pass: agree, Values: vals, Detail: detail}
}

// baseline returns the reference score for x_cross (the chance rate, else
// the smallest-scale mean) and the direction of improvement (sign of I).
func baseline(c *Curve, y []float64, I float64) (base, sign float64) {
	sign = 1
	if I < 0 {
		sign = -1
	}
	if c.HasChance {
		return c.Chance, sign
	}
	return y[0], sign
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

// weiEvidence is Wei et al. 2022's operational definition: near random at
// small scale, clearly above at large scale.
func weiEvidence(c *Curve, levels []Level, sig *Fit, o Options) Evidence {
	first, last := levels[0], levels[len(levels)-1]
	if !c.HasChance {
		f, h := sig.Params["floor"], sig.Params["ceiling"]
		frac := math.NaN()
		if h != f {
			frac = (sig.model.f(sig.theta, first.T) - f) / (h - f)
		}
		ok := frac <= 0.1
		return Evidence{Test: "starts_flat", Pass: ok, Values: map[string]float64{"fraction_of_rise_at_smallest": frac},
			Detail: fmt.Sprintf("no chance rate given: at the smallest scale the fitted sigmoid has risen %.3g of the way (flat start if ≤ 0.1)", frac)}
	}
	ch := c.Chance
	se := func(l Level) float64 {
		if l.Var > 0 {
			return math.Sqrt(l.Var)
		}
		return 0
	}
	pSmall := aboveChanceP(first.Mean, first.N, se(first), ch)
	pLarge := aboveChanceP(last.Mean, last.N, se(last), ch)
	near := pSmall >= o.NearAlpha || first.Mean-ch < o.Delta
	above := last.Mean-ch >= o.Delta && (math.IsNaN(pLarge) || pLarge < o.Alpha)
	ok := near && above
	return Evidence{Test: "wei_near_chance_then_above", Pass: ok,
		Values: map[string]float64{"chance": ch, "mean_smallest": first.Mean, "p_smallest": pSmall, "mean_largest": last.Mean, "p_largest": pLarge},
		Detail: fmt.Sprintf("smallest scale %.3g vs chance %.3g (binomial p = %.3g, %s); largest %.3g (p = %.3g, %s)",
			first.Mean, ch, pSmall, passWord(near, "near random", "already above random"), last.Mean, pLarge, passWord(above, "clearly above", "not clearly above"))}
}

// intervals bootstraps x_star and x_cross over seeds and items (see
// resampleMeans), refitting the sigmoid to every replicate. Percentile
// intervals at o.Level; a replicate that never crosses counts as +Inf for
// x_cross (0 on the eval-loss axis, where scale grows as x falls).
func (o Options) intervals(ctx context.Context, c *Curve, res *Result, levels []Level, fs *fitSet, base, sign float64) error {
	if o.Boot == 0 {
		return nil
	}
	sig := fs.get(ModelSigmoid)
	if math.IsNaN(res.XStar) {
		sig = nil // flat: no midpoint to bootstrap
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
	dir := scaleDir(c.Axis)
	stars := make([]float64, o.Boot)
	crosses := make([]float64, o.Boot)
	label := "analyze/" + c.Key()
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, label, func(rng *rand.Rand, b int) {
		yb := make([]float64, n)
		resampleMeans(rng, levels, sampling, fitted, resid, yb)
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
			th, _ := fitModel(sig.model, fs.t, yb, fs.w, sig.theta)
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
