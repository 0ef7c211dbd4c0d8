package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"emlab/internal/numfmt"
)

// Directions of a curve's change with scale, in terms of improvement (the
// metric oriented so that larger is better; see MetricLowerIsBetter).
const (
	DirectionNone               = "none"
	DirectionImproves           = "improves"
	DirectionWorsens            = "worsens"
	DirectionImprovesThenWorse  = "improves_then_worsens"
	DirectionWorsensThenImprove = "worsens_then_improves"
	DirectionBothWays           = "both_ways"
)

// monotonicity is the outcome of the test for a change of direction.
type monotonicity struct {
	// pHump is the p-value of "improves then worsens", pDip of "worsens
	// then improves", each Bonferroni-corrected over the candidate turning
	// levels; turnHump and turnDip index the best turning level of each.
	pHump, pDip        float64
	turnHump, turnDip  int
	riseHump, fallHump float64 // oriented change up to and after the turn
	fallDip, riseDip   float64
	sdHump, sdDip      float64 // family sd of the broken line at the turn
	bicHump, bicDip    float64 // its BIC (likelihood as in fitAll, 5 parameters)
}

// p is the p-value of any change of direction (Bonferroni over the two
// shapes) and shape the direction it found at level alpha ("" if none).
func (mo monotonicity) p() float64 { return math.Min(1, 2*math.Min(mo.pHump, mo.pDip)) }

// brokenLine fits y = a + bL·min(t − t_m, 0) + bR·max(t − t_m, 0), two
// lines meeting at level m, by weighted least squares with a random effect
// per level (τ² by Paule–Mandel on n − 3 degrees of freedom, as in fitRE;
// with unknown sampling variances τ² is the residual variance). It returns
// the two slopes, their standard errors and τ².
func brokenLine(t, yo, v []float64, known bool, m int) (bL, seL, bR, seR, tau2, m2ll float64) {
	n := len(t)
	dof := float64(n - 3)
	x := func(i int) [3]float64 {
		d := t[i] - t[m]
		return [3]float64{1, math.Min(d, 0), math.Max(d, 0)}
	}
	var beta [3]float64
	var cov [9]float64
	fit := func(tau2 float64) bool {
		var A [9]float64
		var g [3]float64
		for i := 0; i < n; i++ {
			w := 1.0
			if known || tau2 > 0 {
				w = 1 / (v[i] + tau2)
			}
			xi := x(i)
			for a := 0; a < 3; a++ {
				g[a] += w * xi[a] * yo[i]
				for b := 0; b < 3; b++ {
					A[a*3+b] += w * xi[a] * xi[b]
				}
			}
		}
		inv, ok := inverse3(A)
		if !ok {
			return false
		}
		cov = inv
		for a := 0; a < 3; a++ {
			beta[a] = 0
			for b := 0; b < 3; b++ {
				beta[a] += inv[a*3+b] * g[b]
			}
		}
		return true
	}
	resid := func() []float64 {
		r := make([]float64, n)
		for i := range r {
			xi := x(i)
			r[i] = yo[i] - beta[0] - beta[1]*xi[1] - beta[2]*xi[2]
		}
		return r
	}
	if !fit(0) {
		return 0, math.Inf(1), 0, math.Inf(1), 0, math.Inf(1)
	}
	// −2 ln L with the family variance, as in fitAll.
	lik := func(tau2 float64) float64 {
		var s float64
		for i, e := range resid() {
			s += math.Log(v[i]+tau2) + e*e/(v[i]+tau2)
		}
		return s
	}
	if !known {
		var rss float64
		for _, e := range resid() {
			rss += e * e
		}
		tau2 = math.Max(rss/math.Max(dof, 1), residualFloor(yo))
		// Unweighted fit: scale the covariance of unit weights by σ̂².
		for i := range cov {
			cov[i] *= tau2
		}
		return beta[1], math.Sqrt(cov[4]), beta[2], math.Sqrt(cov[8]), tau2, lik(tau2)
	}
	if dof >= 1 {
		for iter := 0; iter < 50; iter++ {
			next := pmTau2(resid(), v, dof)
			if !fit(next) {
				break
			}
			done := math.Abs(next-tau2) <= 1e-6*(next+meanOf(v))
			tau2 = next
			if done {
				break
			}
		}
	}
	return beta[1], math.Sqrt(cov[4]), beta[2], math.Sqrt(cov[8]), tau2, lik(tau2)
}

// inverse3 inverts a symmetric 3×3 matrix by cofactors.
func inverse3(a [9]float64) ([9]float64, bool) {
	c00 := a[4]*a[8] - a[5]*a[7]
	c01 := a[5]*a[6] - a[3]*a[8]
	c02 := a[3]*a[7] - a[4]*a[6]
	det := a[0]*c00 + a[1]*c01 + a[2]*c02
	var inv [9]float64
	if !(math.Abs(det) > 1e-300) || math.IsNaN(det) {
		return inv, false
	}
	inv[0] = c00 / det
	inv[1] = (a[2]*a[7] - a[1]*a[8]) / det
	inv[2] = (a[1]*a[5] - a[2]*a[4]) / det
	inv[3] = c01 / det
	inv[4] = (a[0]*a[8] - a[2]*a[6]) / det
	inv[5] = (a[2]*a[3] - a[0]*a[5]) / det
	inv[6] = c02 / det
	inv[7] = (a[1]*a[6] - a[0]*a[7]) / det
	inv[8] = (a[0]*a[4] - a[1]*a[3]) / det
	return inv, true
}

// testMonotone tests whether the oriented levels yo change direction: for
// every interior level m it fits two lines meeting at m (brokenLine, with
// the family variance that fit leaves) and asks for a significant rise on
// one side and a significant fall on the other — an intersection–union
// test, whose p-value is the larger of the two one-sided ones. The
// smallest over m is multiplied by the number of candidates (Bonferroni).
// Slopes are referred to Student's t on n − 3 degrees of freedom when the
// sampling variances are unknown (the variance is estimated from the
// residuals), else to the normal with the family variance plugged in (as
// in DerSimonian–Laird random-effects tests).
func testMonotone(t, yo, v []float64, known bool) monotonicity {
	n := len(t)
	res := monotonicity{pHump: 1, pDip: 1, turnHump: -1, turnDip: -1}
	if n < 4 {
		return res
	}
	cands := float64(n - 2)
	for m := 1; m <= n-2; m++ {
		bL, seL, bR, seR, tau2, m2ll := brokenLine(t, yo, v, known, m)
		// BIC with the three line parameters, τ² and the turn's position.
		bic := m2ll + 5*math.Log(float64(n))
		upper := func(z float64) float64 { // P(Z ≥ z)
			if !known {
				return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 3)}.Survival(z)
			}
			return distuv.UnitNormal.Survival(z)
		}
		zl, zr := bL/seL, bR/seR
		hump := math.Min(1, math.Max(upper(zl), upper(-zr))*cands)
		dip := math.Min(1, math.Max(upper(-zl), upper(zr))*cands)
		if hump < res.pHump || res.turnHump < 0 {
			res.pHump, res.turnHump, res.sdHump, res.bicHump = hump, m, math.Sqrt(tau2), bic
			res.riseHump, res.fallHump = yo[m]-yo[0], yo[m]-yo[n-1]
		}
		if dip < res.pDip || res.turnDip < 0 {
			res.pDip, res.turnDip, res.sdDip, res.bicDip = dip, m, math.Sqrt(tau2), bic
			res.fallDip, res.riseDip = yo[0]-yo[m], yo[n-1]-yo[m]
		}
	}
	return res
}

// monotoneEvidence states the non-monotonicity test: a shape counts when
// its slopes are significant and the broken line also describes the curve
// better (lower BIC) than every monotone model fitted (bicMonotone), so
// that a monotone curve the broken line merely misfits — a sharp sigmoid
// seen at hundreds of levels — is not called non-monotone.
func monotoneEvidence(mo monotonicity, levels []Level, alpha, bicMonotone float64) (Evidence, string) {
	hump := mo.pHump < alpha/2 && mo.bicHump < bicMonotone
	dip := mo.pDip < alpha/2 && mo.bicDip < bicMonotone
	dir := ""
	switch {
	case hump && dip:
		dir = DirectionBothWays
	case hump:
		dir = DirectionImprovesThenWorse
	case dip:
		dir = DirectionWorsensThenImprove
	}
	vals := map[string]float64{"p_improves_then_worsens": mo.pHump, "p_worsens_then_improves": mo.pDip, "alpha": alpha,
		"bic_improves_then_worsens": mo.bicHump, "bic_worsens_then_improves": mo.bicDip, "bic_best_monotone": bicMonotone}
	if mo.turnHump >= 0 {
		vals["x_peak"] = levels[mo.turnHump].X
		vals["x_trough"] = levels[mo.turnDip].X
	}
	detail := fmt.Sprintf("two lines meeting at each interior level, with the family variance they leave: "+
		"improves then worsens p = %s (turn at %s, family sd %s, BIC %.4g), worsens then improves p = %s (turn at %s, family sd %s, BIC %.4g), Bonferroni over %d turning levels; each shape needs p < alpha/2 = %g and a lower BIC than the best monotone model (%.4g)",
		// BICs keep four digits, not the lab's three: they are compared by
		// their differences, a few units on values in the hundreds.
		numfmt.Num(mo.pHump), numfmt.Num(levels[mo.turnHump].X), numfmt.Num(mo.sdHump), mo.bicHump, numfmt.Num(mo.pDip), numfmt.Num(levels[mo.turnDip].X), numfmt.Num(mo.sdDip), mo.bicDip, len(levels)-2, alpha/2, bicMonotone)
	if dir == "" {
		detail += ": no significant change of direction"
	} else {
		detail += ": the curve changes direction"
	}
	return Evidence{Test: "monotone", Pass: dir == "", Values: vals, Detail: detail}, dir
}
