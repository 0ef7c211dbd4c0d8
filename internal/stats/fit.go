package stats

import (
	"context"
	"math"
	"sort"
)

// Fit is one candidate model fitted to a curve's pooled levels.
type Fit struct {
	Model  string             `json:"model"`
	K      int                `json:"k"` // free parameters of the mean curve
	Params map[string]float64 `json:"params"`
	// WRSS is Σ (y − ŷ)²/(v + τ²): the χ² of the fit with each level's
	// sampling variance v plus the model's family variance τ² (the plain
	// residual sum of squares divided by σ̂² when sampling variances are
	// unknown).
	WRSS float64 `json:"wrss"`
	// FamilySD is τ, the standard deviation of the level-to-level (model to
	// model) scatter this model leaves beyond the levels' sampling noise:
	// a random effect per level. With unknown sampling variances it is the
	// residual standard deviation.
	FamilySD float64 `json:"family_sd"`
	AIC      float64 `json:"aic"`
	BIC      float64 `json:"bic"`
	// LOO is the root-mean-square error of leave-one-level-out predictions
	// (K-fold for long curves; in score units) and LOOMedian the median
	// absolute error of the same predictions; NaN when too few levels
	// remain to refit.
	LOO       float64 `json:"loo_rmse"`
	LOOMedian float64 `json:"loo_median_abs"`
	// AtBound names the reported parameters (Params' keys) that sit at a
	// limit the model's parameterisation imposes — the sigmoid's boxed
	// floor and ceiling, its floored width, an exponent driven to 0 or
	// past the sampling (bounds.go) — and so report that limit rather
	// than a measurement; empty, never nil, when none does.
	// CurveBoundNote says what it means.
	AtBound []string `json:"at_bound"`
	// ExponentLimit says, for each exponent in AtBound, which limit it is
	// at: "zero" (its power changes by under 1 % over the span it acts
	// on: that stretch of the curve is flat, or straight in log x) or
	// "past_resolution" (its power falls by over 99 % within the first
	// step it acts on: the levels bound it from below only). Absent when
	// no exponent is at a limit.
	ExponentLimit map[string]string `json:"exponent_limit,omitempty"`
	theta         []float64
	model         curveModel
	tau2          float64
	w             []float64 // 1/(v + τ²), or all 1 with unknown variances
}

// chi2Weights are the fit's χ² weights: 1/(v + τ²) with the levels'
// sampling variances known; without them the weights are 1 and τ² is the
// residual variance, so the χ² weights are 1/τ².
func (f *Fit) chi2Weights(known bool) []float64 {
	if known {
		return f.w
	}
	cw := make([]float64, len(f.w))
	for i := range cw {
		cw[i] = f.w[i] / f.tau2
	}
	return cw
}

// fitSet holds every candidate fitted to one set of levels.
type fitSet struct {
	fits  []Fit
	known bool // level sampling variances known
	n     int
	t, y  []float64
	v     []float64 // sampling variance of each level (0 when unknown)
	mc    modelContext
}

func (fs *fitSet) get(name string) *Fit {
	for i := range fs.fits {
		if fs.fits[i].Model == name {
			return &fs.fits[i]
		}
	}
	return nil
}

// newModelContext sets the sigmoid's box: floor and ceiling may lie widen
// data ranges beyond the data, and within [0, 1] for a fraction-valued metric
// (one with a chance rate and all values in [0, 1]), so that a jump seen only
// at the last rung cannot send the ceiling (and the midpoint) to infinity.
func newModelContext(t, y []float64, dir float64, fraction bool, widen float64) modelContext {
	lo, hi := rangeOf(y)
	r := math.Max(hi-lo, 1e-6)
	mc := modelContext{tref: t[0], dir: dir, lo: lo - widen*r, hi: hi + widen*r}
	if fraction {
		mc.lo, mc.hi = math.Max(mc.lo, 0), math.Min(mc.hi, 1)
		if mc.hi-mc.lo < 1e-6 {
			mc.lo, mc.hi = 0, 1
		}
	}
	return mc
}

// residualFloor is the smallest residual variance a fit is credited with:
// (1e-4 of the data range)², so a model that passes exactly through
// unweighted points does not get an infinite likelihood.
func residualFloor(y []float64) float64 {
	lo, hi := rangeOf(y)
	return math.Pow(1e-4*math.Max(hi-lo, 1e-9), 2)
}

// fitRE fits m with a random effect per level: level i's mean is
//
//	y_i = f(t_i; θ) + u_i + e_i,  u_i ~ N(0, τ²),  e_i ~ N(0, v_i),
//
// v_i the level's sampling variance (items, seeds) and τ² the scatter of
// one model size about the curve beyond it (in a ladder every size is a
// different model). θ is fitted by weighted least squares with weights
// 1/(v_i + τ²) and τ² by the Paule–Mandel equation
//
//	Σ_i (y_i − f(t_i; θ))²/(v_i + τ²) = n − k
//
// (Paule & Mandel 1982; the generalised method-of-moments estimator
// recommended for random-effects meta-analysis by Veroniki et al. 2016),
// alternating the two until τ² settles; τ² = 0 when the fit is already
// within its sampling noise. The n − k makes τ² account for the k
// parameters the fit used, so a flexible model that threads through
// scattered points does not look scatter-free. With unknown sampling
// variances (all v = 0) τ² is the residual variance RSS/(n − k), or RSS/n
// when n = k. It returns θ, τ², the χ² = Σ r²/(v + τ²) and the weights.
func fitRE(m curveModel, t, y, v []float64, known bool, floor float64, extra ...[]float64) (theta []float64, tau2, chi2 float64, w []float64) {
	n := len(t)
	dof := float64(n - m.k)
	w = make([]float64, n)
	for i := range w {
		w[i] = 1
		if known {
			w[i] = 1 / v[i]
		}
	}
	theta, s := fitModel(m, t, y, w, extra...)
	if theta == nil || math.IsInf(s, 1) {
		return nil, 0, math.Inf(1), w
	}
	if !known {
		tau2 = s / float64(n)
		if dof >= 1 {
			tau2 = s / dof
		}
		tau2 = math.Max(tau2, floor)
		return theta, tau2, s / tau2, w
	}
	if dof < 1 || s <= dof {
		return theta, 0, s, w
	}
	// Alternate τ² and θ; then restart θ from every start with the final
	// weights (a fit that began in a poor basin under the sampling weights
	// alone may have a better one under the random-effect weights) and, if
	// that helped, settle τ² again.
	r := make([]float64, n)
	fx := make([]float64, n)
	settle := func() {
		for iter := 0; iter < 50; iter++ {
			m.fv(theta, t, fx)
			for i := range r {
				r[i] = y[i] - fx[i]
			}
			next := pmTau2(r, v, dof)
			for i := range w {
				w[i] = 1 / (v[i] + next)
			}
			var ns float64
			theta, ns = lmFitModel(m, t, y, w, theta)
			done := math.Abs(next-tau2) <= 1e-6*(next+meanOf(v))
			tau2, s = next, ns
			if done {
				break
			}
		}
	}
	settle()
	if tau2 > 0 {
		if th, s2 := fitModel(m, t, y, w, append(extra, theta)...); s2 < s*(1-1e-6) {
			theta, s = th, s2
			settle()
		}
	}
	return theta, tau2, s, w
}

// pmTau2 solves Σ r_i²/(v_i + τ²) = dof for τ² ≥ 0 with the residuals held
// fixed (the left side falls monotonically in τ²): 0 if the residuals are
// already within their sampling variances.
func pmTau2(r, v []float64, dof float64) float64 {
	q := func(tau2 float64) float64 {
		var s float64
		for i := range r {
			s += r[i] * r[i] / (v[i] + tau2)
		}
		return s
	}
	if q(0) <= dof {
		return 0
	}
	var ss float64
	for _, e := range r {
		ss += e * e
	}
	lo, hi := 0.0, ss/dof+meanOf(v) // q(hi) ≤ Σr²/hi·… ≤ dof
	for q(hi) > dof {
		hi *= 2
	}
	for i := 0; i < 200 && hi-lo > 1e-12*hi; i++ {
		mid := (lo + hi) / 2
		if q(mid) > dof {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func meanOf(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// fitAll fits every model the number of levels allows and scores it.
//
// Likelihood: each model carries its own family variance τ² (fitRE), and
// −2 ln L = Σ ln(v_i + τ²) + Σ r_i²/(v_i + τ²), the Gaussian likelihood of
// the levels with those variances, τ² counting as one more parameter. A
// model that describes the data only with a large τ² pays through the
// first sum: a sigmoid through a clean jump needs no scatter, a line
// through it needs a lot; a flat curve with model-to-model scatter needs
// the same τ² under every model, so the extra parameters buy nothing. With
// unknown sampling variances this is n ln σ̂² + (n − k), σ̂² = RSS/(n − k).
// AIC = −2 ln L + 2(k + 1), BIC = −2 ln L + (k + 1) ln n (Akaike 1974;
// Schwarz 1978).
func fitAll(ctx context.Context, t, y, v []float64, known bool, mc modelContext, loo bool) (*fitSet, error) {
	n := len(t)
	fs := &fitSet{known: known, n: n, t: t, y: y, v: v, mc: mc}
	floor := residualFloor(y)
	for _, m := range curveModels(mc) {
		if n < m.minLevels {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		theta, tau2, chi2, w := fitRE(m, t, y, v, known, floor)
		if theta == nil {
			continue
		}
		f := Fit{Model: m.name, K: m.k, Params: m.report(theta), WRSS: chi2, FamilySD: math.Sqrt(tau2), LOO: math.NaN(), LOOMedian: math.NaN(),
			theta: theta, model: m, tau2: tau2, w: w}
		b := fitAtBound(m, theta, t, y, f.chi2Weights(known))
		f.AtBound, f.ExponentLimit = b.at, b.exponent
		m2ll := chi2
		for i := range v {
			m2ll += math.Log(v[i] + tau2)
		}
		k := float64(f.K + 1)
		f.AIC = m2ll + 2*k
		f.BIC = m2ll + k*math.Log(float64(n))
		fs.fits = append(fs.fits, f)
	}
	if loo {
		for i := range fs.fits {
			f := &fs.fits[i]
			if n-1 < f.K {
				continue
			}
			errs, err := looErrors(ctx, f.model, t, y, f.w, f.theta)
			if err != nil {
				return nil, err
			}
			f.LOO, f.LOOMedian = rmsOf(errs), medianAbs(errs)
		}
	}
	return fs, nil
}

// looMaxLevels is the largest curve that gets exact leave-one-out error;
// beyond it (the eval-loss view has one level per run and checkpoint,
// often hundreds) the n refits cost O(n²) and K-fold cross-validation with
// looFolds interleaved folds stands in for it.
const (
	looMaxLevels = 24
	looFolds     = 12
)

// looErrors refits m without each level in turn (starting from the full
// fit, with the full fit's weights, so the family variance is held at its
// full-data estimate) and returns the errors of the predictions of the
// left-out levels. For curves of more than looMaxLevels levels it leaves
// out one of looFolds interleaved folds at a time (level i is in fold
// i mod looFolds; levels are sorted by x, so every fold spans the whole
// range): the same estimate of out-of-sample error, K-fold instead of
// n-fold (Hastie et al., Elements of Statistical Learning, §7.10).
func looErrors(ctx context.Context, m curveModel, t, y, w, theta []float64) ([]float64, error) {
	n := len(t)
	folds := n
	if n > looMaxLevels {
		folds = looFolds
	}
	errs, fx, tf := make([]float64, n), make([]float64, n), make([]float64, 0, n)
	tt, yy, ww := make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	for f := 0; f < folds; f++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tt, yy, ww = tt[:0], yy[:0], ww[:0]
		for j := 0; j < n; j++ {
			if j%folds != f {
				tt, yy, ww = append(tt, t[j]), append(yy, y[j]), append(ww, w[j])
			}
		}
		p, _ := lmFitModel(m, tt, yy, ww, theta)
		held := tf[:0] // the fold's levels
		for i := f; i < n; i += folds {
			held = append(held, t[i])
		}
		m.fv(p, held, fx[:len(held)])
		for j, i := 0, f; i < n; j, i = j+1, i+folds {
			errs[i] = y[i] - fx[j]
		}
	}
	return errs, nil
}

func rmsOf(e []float64) float64 {
	var ss float64
	for _, v := range e {
		ss += v * v
	}
	return math.Sqrt(ss / float64(len(e)))
}

// medianAbs is the median of |e|.
func medianAbs(e []float64) float64 {
	a := make([]float64, len(e))
	for i, v := range e {
		a[i] = math.Abs(v)
	}
	sort.Float64s(a)
	m := len(a) / 2
	if len(a)%2 == 1 {
		return a[m]
	}
	return (a[m-1] + a[m]) / 2
}
