package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Forecast answers "could this emergence have been predicted?": the curve
// is fitted on its smaller rungs only and extrapolated to the held-out
// larger ones.
type Forecast struct {
	FitLevels int            `json:"fit_levels"`
	Holdout   int            `json:"holdout"`
	Model     string         `json:"model"` // lowest BIC on the smaller rungs
	Rungs     []ForecastRung `json:"rungs"`
	// MAE is the mean absolute error over the held-out rungs, with a
	// bootstrap interval from refitting replicates of the smaller rungs.
	MAE   float64 `json:"mae"`
	MAELo float64 `json:"mae_lo"`
	MAEHi float64 `json:"mae_hi"`
	// XStarSmall is the sigmoid midpoint fitted to the smaller rungs alone
	// (with interval); XStarFull the one fitted to all rungs.
	XStarSmall   float64 `json:"x_star_small"`
	XStarSmallLo float64 `json:"x_star_small_lo"`
	XStarSmallHi float64 `json:"x_star_small_hi"`
	XStarFull    float64 `json:"x_star_full"`
	// ModelAtBound names the parameters of Model, fitted to the smaller
	// rungs, that sit at a limit its parameterisation imposes (Fit.AtBound:
	// the forecast then extrapolates that limit); XStarSmallAtBound and
	// XStarFullAtBound those of the sigmoids XStarSmall and XStarFull come
	// from. Never nil. BoundNote says what they leave of the numbers, ""
	// when nothing is at a bound (bounds.go).
	ModelAtBound      []string `json:"model_at_bound"`
	XStarSmallAtBound []string `json:"x_star_small_at_bound"`
	XStarFullAtBound  []string `json:"x_star_full_at_bound"`
	BoundNote         string   `json:"bound_note,omitempty"`
}

// ForecastRung is one held-out rung: the observed mean and the prediction
// with its bootstrap interval.
type ForecastRung struct {
	X         float64 `json:"x"`
	Actual    float64 `json:"actual"`
	Predicted float64 `json:"predicted"`
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
}

// ForecastCurve fits c's smallest len(levels) − holdout levels (at least 4),
// chooses a model by BIC among those fitted there, and predicts the held-out
// rungs. The sigmoid's floor and ceiling may range over three data ranges of
// the small part (or [0, 1] for fractions) so it can extrapolate a rise.
func ForecastCurve(ctx context.Context, c *Curve, holdout int, o Options) (*Forecast, error) {
	return forecastCurve(ctx, c, holdout, o, nil)
}

// ForecastAnalyzed is ForecastCurve for a curve Analyze has analysed
// under the same options (res is its result for c): the x* from all
// rungs is the analysis' own sigmoid, so it is read from res instead of
// fitted again. Without that sigmoid in res (a result that fitted
// nothing, or one read back from JSON) it is fitted as ForecastCurve does.
func ForecastAnalyzed(ctx context.Context, c *Curve, res *Result, holdout int, o Options) (*Forecast, error) {
	var full *Fit
	if res != nil {
		for i := range res.Fits {
			if f := &res.Fits[i]; f.Model == ModelSigmoid && f.theta != nil {
				full = f
			}
		}
	}
	return forecastCurve(ctx, c, holdout, o, full)
}

// shareForecastRefit lets a bootstrap replicate whose chosen model is the
// sigmoid take its x* from the chosen model's refit, the same fit on the
// same data; the tests turn it off to check the shared refit against a
// second one.
var shareForecastRefit = true

// forecastCurve is ForecastCurve with the sigmoid fitted to all rungs
// (Analyze's fit: same levels, same box) given, or nil to fit it here.
func forecastCurve(ctx context.Context, c *Curve, holdout int, o Options, fullSig *Fit) (*Forecast, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	levels, _, err := analysisLevels(c)
	if err != nil {
		return nil, err
	}
	if holdout < 1 {
		return nil, fmt.Errorf("forecast %s: holdout must be ≥ 1, got %d", c.Key(), holdout)
	}
	nFit := len(levels) - holdout
	if nFit < 4 {
		return nil, fmt.Errorf("forecast %s: %w: %d levels minus %d held out leaves %d to fit, need at least 4", c.Key(), ErrTooFewLevels, len(levels), holdout, nFit)
	}
	small := levels[:nFit]
	dir := scaleDir(c.Axis)
	t, y, v, known := levelsXY(small)
	// Fractions are boxed to [0, 1] by the analysis' own judgement
	// (chanceApplies), for the fitted rungs here and for all rungs below,
	// so that the x* from all rungs is the analysis' sigmoid.
	fraction, _ := chanceApplies(c, y)
	mc := newModelContext(t, y, dir, fraction, 3)
	fs, err := fitAll(ctx, t, y, v, known, mc, false)
	if err != nil {
		return nil, fmt.Errorf("forecast %s: %w", c.Key(), err)
	}
	if len(fs.fits) == 0 {
		return nil, fmt.Errorf("forecast %s: the curve models could not be fitted (non-finite residuals)", c.Key())
	}
	best := &fs.fits[0]
	for i := range fs.fits {
		if fs.fits[i].BIC < best.BIC-1e-9 {
			best = &fs.fits[i]
		}
	}
	fc := &Forecast{FitLevels: nFit, Holdout: holdout, Model: best.Model,
		XStarSmall: math.NaN(), XStarSmallLo: math.NaN(), XStarSmallHi: math.NaN(), XStarFull: math.NaN(),
		MAELo: math.NaN(), MAEHi: math.NaN(), ModelAtBound: best.AtBound, XStarSmallAtBound: []string{}, XStarFullAtBound: []string{}}
	held := levels[nFit:]
	for _, l := range held {
		p := best.model.f(best.theta, l.T)
		fc.Rungs = append(fc.Rungs, ForecastRung{X: l.X, Actual: l.Mean, Predicted: p, Lo: math.NaN(), Hi: math.NaN()})
		fc.MAE += math.Abs(p-l.Mean) / float64(len(held))
	}
	sig := fs.get(ModelSigmoid)
	if sig != nil {
		fc.XStarSmall, fc.XStarSmallAtBound = sig.Params["x_mid"], sig.AtBound
	}
	if fullSig == nil {
		// The analysis' fit of all rungs (Analyze): the same levels, and
		// the same box through chanceApplies.
		ta, ya, va, knownA := levelsXY(levels)
		fullFraction, _ := chanceApplies(c, ya)
		full, err := fitAll(ctx, ta, ya, va, knownA, newModelContext(ta, ya, dir, fullFraction, 0.5), false)
		if err != nil {
			return nil, fmt.Errorf("forecast %s: %w", c.Key(), err)
		}
		fullSig = full.get(ModelSigmoid)
	}
	if fullSig != nil {
		fc.XStarFull, fc.XStarFullAtBound = fullSig.Params["x_mid"], fullSig.AtBound
	}
	fc.BoundNote = forecastBoundNote(best, sig, fullSig)
	if o.Boot == 0 {
		return fc, nil
	}
	sampling := hasSampling(small)
	fitted, resid := make([]float64, nFit), make([]float64, nFit)
	for i := range small {
		fitted[i] = best.model.f(best.theta, small[i].T)
		resid[i] = (small[i].Mean - fitted[i]) * math.Sqrt(float64(nFit)/math.Max(float64(nFit-best.K), 1))
	}
	tau2 := best.tau2
	if !known {
		tau2 = 0 // the residual variance is already in the resampled points
	}
	preds := make([][]float64, len(held))
	for i := range preds {
		preds[i] = make([]float64, o.Boot)
	}
	maes := make([]float64, o.Boot)
	stars := make([]float64, o.Boot)
	// The refits below can end at a bound too. They are not judged one by
	// one: the intervals are of predictions and x*, which a refit at a
	// bound still makes, and the point fits' judgement above says whether
	// the numbers printed rest on a limit.
	err = runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "forecast/"+c.Key(), func(rng *rand.Rand, b int) {
		yb := make([]float64, nFit)
		resampleMeans(rng, small, sampling, fitted, resid, tau2, yb)
		th, _ := fitModel(best.model, t, yb, best.w, best.theta)
		var mae float64
		for i, l := range held {
			p := best.model.f(th, l.T)
			preds[i][b] = p
			mae += math.Abs(p-l.Mean) / float64(len(held))
		}
		maes[b] = mae
		stars[b] = math.NaN()
		if sig != nil {
			// When the chosen model is the sigmoid, th is already this
			// fit: same model, data, weights and starts.
			ts := th
			if sig != best || !shareForecastRefit {
				ts, _ = fitModel(sig.model, t, yb, sig.w, sig.theta)
			}
			stars[b] = math.Pow(10, dir*ts[2])
		}
	})
	if err != nil {
		return nil, fmt.Errorf("forecast %s: bootstrap: %w", c.Key(), err)
	}
	a := (1 - o.Level) / 2
	for i := range held {
		fc.Rungs[i].Lo, fc.Rungs[i].Hi = quantile(preds[i], a), quantile(preds[i], 1-a)
	}
	fc.MAELo, fc.MAEHi = quantile(maes, a), quantile(maes, 1-a)
	if sig != nil {
		fc.XStarSmallLo, fc.XStarSmallHi = quantile(stars, a), quantile(stars, 1-a)
		if fc.XStarSmallLo > fc.XStarSmallHi {
			fc.XStarSmallLo, fc.XStarSmallHi = fc.XStarSmallHi, fc.XStarSmallLo
		}
	}
	return fc, nil
}
