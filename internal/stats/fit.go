package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Fit is one candidate model fitted to a curve's pooled levels.
type Fit struct {
	Model  string             `json:"model"`
	K      int                `json:"k"` // free parameters of the mean curve
	Params map[string]float64 `json:"params"`
	// WRSS is Σ w(y − ŷ)²: a χ² when the levels' variances are known,
	// the plain residual sum of squares otherwise.
	WRSS float64 `json:"wrss"`
	AIC  float64 `json:"aic"`
	BIC  float64 `json:"bic"`
	// LOO is the root-mean-square error of leave-one-level-out predictions
	// (in score units); NaN when too few levels remain to refit.
	LOO   float64 `json:"loo_rmse"`
	theta []float64
	model curveModel
}

// fitSet holds every candidate fitted to one set of levels.
type fitSet struct {
	fits  []Fit
	known bool    // level variances known: WRSS is a χ²
	phi   float64 // overdispersion factor applied to χ² (≥ 1)
	n     int
	t, y  []float64
	w     []float64
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

// fitAll fits every model the number of levels allows and scores it.
//
// Information criteria (Akaike 1974; Schwarz 1978). With known level
// variances the likelihood is Gaussian with those variances, −2 ln L = χ²/φ,
// where φ = max(1, χ²_sigmoid/(n − 4)) is the quasi-likelihood overdispersion
// factor estimated from the most flexible regular model (QAIC, Burnham &
// Anderson 2002 §2.5), so that a curve that no model fits to within its
// sampling error does not automatically favour the most complex one. With
// unknown variances σ² is profiled out: −2 ln L = n ln(RSS/n) and σ counts as
// one more parameter. AIC = −2 ln L + 2k, BIC = −2 ln L + k ln n.
func fitAll(t, y, w []float64, known bool, mc modelContext, loo bool) *fitSet {
	n := len(t)
	fs := &fitSet{known: known, phi: 1, n: n, t: t, y: y, w: w, mc: mc}
	for _, m := range curveModels(mc) {
		if n < m.minLevels {
			continue
		}
		theta, wrss := fitModel(m, t, y, w)
		if theta == nil {
			continue
		}
		fs.fits = append(fs.fits, Fit{Model: m.name, K: m.k, Params: m.report(theta), WRSS: wrss, LOO: math.NaN(), theta: theta, model: m})
	}
	if sig := fs.get(ModelSigmoid); known && sig != nil && n > sig.K {
		fs.phi = math.Max(1, sig.WRSS/float64(n-sig.K))
	}
	lo, hi := rangeOf(y)
	floor := math.Pow(1e-4*math.Max(hi-lo, 1e-9), 2) // residuals below 1e-4 of the range count as a perfect fit
	for i := range fs.fits {
		f := &fs.fits[i]
		var m2ll float64
		k := float64(f.K)
		if known {
			m2ll = f.WRSS / fs.phi
		} else {
			m2ll = float64(n) * math.Log(math.Max(f.WRSS/float64(n), floor))
			k++
		}
		f.AIC = m2ll + 2*k
		f.BIC = m2ll + k*math.Log(float64(n))
		if loo && n-1 >= f.K {
			f.LOO = looRMSE(f.model, t, y, w, f.theta)
		}
	}
	return fs
}

// looMaxLevels is the largest curve that gets exact leave-one-out error;
// beyond it (the eval-loss view has one level per run and checkpoint,
// often hundreds) the n refits cost O(n²) and K-fold cross-validation with
// looFolds interleaved folds stands in for it.
const (
	looMaxLevels = 24
	looFolds     = 12
)

// looRMSE refits m without each level in turn (starting from the full fit)
// and returns the RMS error of the predictions of the left-out levels. For
// curves of more than looMaxLevels levels it leaves out one of looFolds
// interleaved folds at a time (level i is in fold i mod looFolds; levels
// are sorted by x, so every fold spans the whole range): the same estimate
// of out-of-sample error, K-fold instead of n-fold (Hastie et al.,
// Elements of Statistical Learning, §7.10).
func looRMSE(m curveModel, t, y, w, theta []float64) float64 {
	n := len(t)
	folds := n
	if n > looMaxLevels {
		folds = looFolds
	}
	var ss float64
	tt, yy, ww := make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	for f := 0; f < folds; f++ {
		tt, yy, ww = tt[:0], yy[:0], ww[:0]
		for j := 0; j < n; j++ {
			if j%folds != f {
				tt, yy, ww = append(tt, t[j]), append(yy, y[j]), append(ww, w[j])
			}
		}
		p, _ := lmFit(m.f, tt, yy, ww, theta)
		for i := f; i < n; i += folds {
			e := y[i] - m.f(p, t[i])
			ss += e * e
		}
	}
	return math.Sqrt(ss / float64(n))
}

// trendP is the p-value of "the curve is constant" against the linear and
// sigmoid alternatives, Bonferroni-corrected for the two tests. With known
// variances it is the likelihood-ratio χ² test (Δχ²/φ on Δk degrees of
// freedom); otherwise the extra-sum-of-squares F test.
func (fs *fitSet) trendP() float64 {
	c := fs.get(ModelConstant)
	if c == nil {
		return math.NaN()
	}
	best := 1.0
	tests := 0
	for _, alt := range []string{ModelLinear, ModelSigmoid} {
		a := fs.get(alt)
		if a == nil {
			continue
		}
		dk := float64(a.K - c.K)
		var p float64
		if fs.known {
			p = distuv.ChiSquared{K: dk}.Survival(math.Max(c.WRSS-a.WRSS, 0) / fs.phi)
		} else {
			dof := float64(fs.n - a.K)
			if dof < 1 {
				continue
			}
			num := math.Max(c.WRSS-a.WRSS, 0) / dk
			den := a.WRSS / dof
			switch {
			case den <= 0 && num > 0:
				p = 0
			case den <= 0:
				p = 1
			default:
				p = distuv.F{D1: dk, D2: dof}.Survival(num / den)
			}
		}
		tests++
		best = math.Min(best, p)
	}
	if tests == 0 {
		return math.NaN()
	}
	return math.Min(1, best*float64(tests))
}
