package stats

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Range is a closed interval [Lo, Hi] (both NaN when not computed).
type Range struct {
	Lo, Hi float64
}

// The profile of the fit's objective in E: refit the other parameters with
// E held at each of profilePoints values evenly spaced on [0, lmin) (lmin
// the smallest observed loss; E above it would put the law above a loss it
// must explain), and at six more within half a step either side of the
// free fit's ê so that a narrow profile is resolved too, and keep the range
// of E whose objective is within the cut below of the smallest.
//
// The cut is the likelihood-ratio test's, reading the Huber objective
// F(θ) = Σ ρ(r_i) on log-loss residuals r_i as the negative log-likelihood
// of errors with density ∝ exp(−ρ(r)/s), s a scale: 2·(F(E) − F_min)/s is
// then asymptotically χ² with one degree of freedom, and E is kept while
//
//	F(E) − F_min ≤ ½·χ²₁(0.95)·ŝ.
//
// For a loss homogeneous of degree k in r (k = 2 for squares, giving s =
// σ²; k = 1 for absolute values, giving s = δ·b of a Laplace law) the
// maximum-likelihood scale is k·Σρ/n = Σ r·ρ'(r)/n (Euler), which is how ŝ
// is estimated here — Σ r_i·ψ(r_i) with ψ = ρ' — since the Huber loss is
// quadratic below δ and linear above it and the residuals may sit in
// either part; n − p replaces n to count the fitted parameters, as the
// residual variance does. The cut is therefore neither loose for a fit
// that is mostly in its linear part nor tight for one in its quadratic
// part, and it scales with the noise in the losses, not with their level.
const (
	profilePoints = 25
	chi2One95     = 3.841458820694124 // χ²₁ 0.95 quantile
)

// eSpanFrac: E counts as not identified when its profile range spans more
// than this fraction of the smallest observed loss — the runs cannot then
// say whether half the remaining loss is irreducible or still to be
// learned, which is what E is for.
const eSpanFrac = 0.5

// profileStep is one point of the profile: E, the best objective with E
// held there, the free parameters at that optimum, and whether the point
// is the free fit itself.
type profileStep struct {
	e, obj float64
	x      []float64
}

// profileScale is ŝ = Σ r_i·ψ(r_i)/(n − p) for residuals r at the optimum.
func profileScale(res []float64, delta float64, p int) float64 {
	var s float64
	for _, r := range res {
		_, psi := huber(r, delta)
		s += r * psi
	}
	return s / float64(max(len(res)-p, 1))
}

// profileE walks the E grid outward from the free fit's ê, refitting with
// E held at each grid value from the previous solution (x0 the free fit's
// other parameters): the valley moves smoothly with E, so one L-BFGS run
// per point finds it, and the walk is deterministic. refit returns the
// parameters and objective with E held.
func profileE(eHat, lmin float64, x0 []float64, refit func(e float64, x0 []float64) ([]float64, float64)) []profileStep {
	step := lmin / profilePoints
	grid := make([]float64, 0, profilePoints+6)
	for k := range profilePoints {
		grid = append(grid, step*float64(k))
	}
	for _, d := range []float64{-0.5, -0.25, -0.125, 0.125, 0.25, 0.5} {
		if e := eHat + d*step; e > 0 && e < lmin {
			grid = append(grid, e)
		}
	}
	slices.Sort(grid)
	grid = slices.Compact(grid)
	k0 := 0
	for k0 < len(grid) && grid[k0] <= eHat {
		k0++
	}
	steps := make([]profileStep, len(grid))
	prev := x0
	for k := k0 - 1; k >= 0; k-- {
		x, v := refit(grid[k], prev)
		steps[k], prev = profileStep{grid[k], v, x}, x
	}
	prev = x0
	for k := k0; k < len(grid); k++ {
		x, v := refit(grid[k], prev)
		steps[k], prev = profileStep{grid[k], v, x}, x
	}
	return steps
}

// profileRange is the range of E whose objective is within ½·χ²₁(0.95)·s
// of the smallest (the free fit's, or a grid point's should the walk find
// a lower one), with the edges interpolated linearly to the first grid
// points outside; in is the steps inside. The range always holds ê.
func profileRange(steps []profileStep, eHat, objHat, s float64) (r Range, in []profileStep) {
	fmin := objHat
	for _, st := range steps {
		fmin = math.Min(fmin, st.obj)
	}
	cut := fmin + 0.5*chi2One95*s
	r = Range{Lo: eHat, Hi: eHat}
	lo, hi := -1, -1
	for k, st := range steps {
		if st.obj <= cut {
			in = append(in, st)
			if lo < 0 {
				lo = k
			}
			hi = k
			r.Lo, r.Hi = math.Min(r.Lo, st.e), math.Max(r.Hi, st.e)
		}
	}
	// edge interpolates the crossing of the cut between an inside point
	// (e1, f1) and the outside neighbour (e2, f2).
	edge := func(e1, f1, e2, f2 float64) float64 {
		if f2 <= f1 {
			return e1
		}
		return e1 + (e2-e1)*math.Max(0, math.Min(1, (cut-f1)/(f2-f1)))
	}
	// The neighbours of the range: the grid points just outside it, or the
	// free fit where no grid point is inside.
	below, above := -1, len(steps)
	for k, st := range steps {
		if st.e < r.Lo {
			below = k
		}
		if st.e > r.Hi && above == len(steps) {
			above = k
		}
	}
	loF, hiF := objHat, objHat
	if lo >= 0 && steps[lo].e <= eHat {
		loF = steps[lo].obj
	}
	if hi >= 0 && steps[hi].e >= eHat {
		hiF = steps[hi].obj
	}
	if below >= 0 {
		r.Lo = edge(r.Lo, loF, steps[below].e, steps[below].obj)
	}
	if above < len(steps) {
		r.Hi = edge(r.Hi, hiF, steps[above].e, steps[above].obj)
	}
	return r, in
}

// eIdentified is the one judgement of whether the runs determine E: not
// when the fitted E is at its lower bound (atLowerBound), when its
// profile range reaches 0 (E = 0 fits as well as the best E), or when the
// range spans more than eSpanFrac of the smallest loss lmin.
func eIdentified(atBound bool, prof Range, lmin float64) bool {
	if atBound || math.IsNaN(prof.Lo) {
		return false
	}
	return prof.Lo > 0 && prof.Hi-prof.Lo <= eSpanFrac*lmin
}

// eNotIdentifiedWhy says why an E that is not at its bound is not
// identified; "" when it is.
func eNotIdentifiedWhy(identified bool, prof Range, lmin float64) string {
	switch {
	case identified:
		return ""
	case prof.Lo <= 0:
		return fmt.Sprintf("E not identified: the fit's objective stays within its 95 %% likelihood-ratio cut for E from %s to %s, down to E = 0", numText(prof.Lo), numText(prof.Hi))
	default:
		return fmt.Sprintf("E not identified: the fit's objective stays within its 95 %% likelihood-ratio cut for E from %s to %s, more than %g of the smallest loss (%s)", numText(prof.Lo), numText(prof.Hi), eSpanFrac, numText(lmin))
	}
}

// numText writes a number with 3 significant digits for the notes, without
// an exponent between 1e-3 and 1e6 (a tokens-per-parameter of 2780 reads
// better than 2.78e+03).
func numText(v float64) string {
	if a := math.Abs(v); v == 0 || (a >= 1e-3 && a < 1e6) {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
