package stats

import (
	"math"
	"slices"
	"strings"

	"emlab/internal/numfmt"
)

// A curve model's parameterisation imposes limits the data never chose:
// the sigmoid's floor and ceiling live in a box (modelContext.lo, hi), its
// width has a floor (sigmoidMinWidth), and the exponents of the power
// laws are exponentials of free parameters, so bounded below by 0 and
// driven to ±∞ in their logarithm when the data ask for a shape the model
// cannot take. A fit that ends at such a limit reports a number that says
// where the limit is, not what the data measured. This file is the one
// owner of that judgement for the curve models (Fit.AtBound, filled by
// each model's atBound in curveModels) and of the words that say what it
// means (CurveBoundNote). The scaling fits' own judgement of E is
// ChinchillaFit.AtBound.

// boxEdgeFrac: a floor or ceiling counts as at its bound when it lies
// within this fraction of the box's width of an edge the data do not
// reach (edgeReachZ). The box is a logistic of a free parameter, so a fit
// pushing against an edge ends a few logits short of it (1e-3 of the box
// at logit −6.9) rather than on it; 1 % of the box is half a percent of a
// data range when the box is the default one (half a data range either
// side), far below what the levels resolve.
const boxEdgeFrac = 0.01

// edgeReachZ: the data reach an edge of the box when the level whose
// mean lies nearest it is within this many of its standard errors of it
// — the fit's own noise model of a level, √(v + τ²) with sampling
// variance v and family variance τ², the errors the width's χ² rule
// weighs by — or within boxEdgeFrac of the box, whichever is wider. An
// edge the data reach is where the data put the parameter, not a limit
// the fit ran into: an exact match of 0 at the small rungs with the box
// clipped to [0, 1], or one of 0.987 at the top rung (2 seeds of 150
// items), 0.013 short of 1 where that level's standard error under the
// fit is 0.013 — a curve at 1 as far as the sampling can tell, whose
// fitted ceiling of 1 is no alarm. Two standard errors is the usual
// two-sided 95 % cut: an edge further than that from the nearest level
// is one the data stay short of, and a fit that ends on it reports the
// edge, not a plateau it measured. Only the nearest level decides: a
// noisy level further down the curve says nothing of where it ends.
const edgeReachZ = 2.0

// widthFloorFactor: a sigmoid width below this multiple of
// sigmoidMinWidth counts as at its floor: the free parameter is then the
// logarithm of an excess over the floor no larger than the floor itself,
// i.e. the optimiser was running it toward −∞.
const widthFloorFactor = 2

// chi2Resolve: a width (the sigmoid's, or a broken power law's bend
// sharpness) counts as unresolved when sending it to its limit — the
// floor, or a kink — with every other parameter held raises the fit's χ²
// (each level weighted by its sampling variance plus the family variance)
// by less than this: 1 is the profile-likelihood cut of one parameter at
// one standard error, and holding the others can only overstate the rise
// (refitting them would lower it). The data then cannot tell the fitted
// width from one at the limit: the fit stopped wherever the logistic
// saturated at the levels next to the midpoint (for rungs 0.27 decades
// apart, a few thousandths of a decade, above the floor), and the number
// is an upper bound.
const chi2Resolve = 1.0

// chi2Rise is Σ w_i[(y_i − g_i)² − (y_i − ŷ_i)²]: how much worse the
// curve g fits the levels than the fitted ŷ, with the fit's weights.
func chi2Rise(y, w, fitted, g []float64) float64 {
	var d float64
	for i := range y {
		a, b := y[i]-g[i], y[i]-fitted[i]
		d += w[i] * (a*a - b*b)
	}
	return d
}

// exponentFrac: an exponent of a power in the error (power_law_error's α,
// broken_power_law's α₀ and α₁) counts as at a bound when its power
// changes by less than this fraction across the sampled scales (α at its
// lower bound 0: the curve is a straight line in log x, and the asymptote
// and gap trade along it without limit — a fit ends with an asymptote
// thousands of data ranges away), or by more than 1 − exponentFrac within
// the first sampled step it acts on (α at its upper limit: the whole decay
// happens between two levels, so the levels only bound α from below).
const exponentFrac = 0.01

// Which limit an exponent at a bound sits at (Fit.ExponentLimit): the
// two have different meanings, and the notes say which.
const (
	// exponentZero: the power changes by under exponentFrac over the
	// span it acts on, so that stretch of the curve is flat (or, for a
	// power law in the error with a free asymptote, a straight line in
	// log x): α = 0 describes its shape, not a rate measured.
	exponentZero = "zero"
	// exponentUnresolved: the power falls by over 1 − exponentFrac within
	// the first sampled step it acts on, so the levels bound α only from
	// below.
	exponentUnresolved = "past_resolution"
)

// powerLimit applies the exponentFrac rule to a power 10^(−α·Δ): span is
// the sampled range it acts on and step the first sampled step. It says
// which limit α is at (exponentZero, exponentUnresolved), "" when
// neither.
func powerLimit(alpha, span, step float64) string {
	switch {
	case !(alpha >= 0) || 1-math.Pow(10, -alpha*span) < exponentFrac:
		return exponentZero
	case math.IsInf(alpha, 1) || step > 0 && math.Pow(10, -alpha*step) < exponentFrac:
		return exponentUnresolved
	}
	return ""
}

// fitBounds is what of one fit sits at a limit: the parameters
// (Fit.AtBound, never nil) and, for each exponent among them, which limit
// (Fit.ExponentLimit).
type fitBounds struct {
	at       []string
	exponent map[string]string
}

// exponentAt records the exponent p (of value alpha) when powerLimit puts
// it at a limit.
func (b *fitBounds) exponentAt(p string, alpha, span, step float64) {
	if lim := powerLimit(alpha, span, step); lim != "" {
		b.at = append(b.at, p)
		if b.exponent == nil {
			b.exponent = map[string]string{}
		}
		b.exponent[p] = lim
	}
}

// boxAtBound applies the boxEdgeFrac and edgeReachZ rules to a value v
// in the box [lo, hi], with the levels' means y and the fit's χ² weights
// w (1/(v + τ²): a level's standard error under the fit is 1/√w).
func boxAtBound(v, lo, hi float64, y, w []float64) bool {
	tol := boxEdgeFrac * (hi - lo)
	reached := func(edge float64) bool {
		near := -1
		for i, yi := range y {
			if near < 0 || math.Abs(yi-edge) < math.Abs(y[near]-edge) {
				near = i
			}
		}
		return near >= 0 && math.Abs(y[near]-edge) <= math.Max(tol, edgeReachZ/math.Sqrt(w[near]))
	}
	return (v-lo < tol && !reached(lo)) || (hi-v < tol && !reached(hi))
}

// firstStepAfter is the first positive gap between a sampled t above c
// and the level before it (the first step a power that starts at c acts
// on); 0 when no level lies above c.
func firstStepAfter(t []float64, c float64) float64 {
	for i, ti := range t {
		if ti > c {
			if i == 0 {
				return ti - c
			}
			return ti - math.Max(t[i-1], c)
		}
	}
	return 0
}

// Parameter names a bound concerns, as the models report them.
const (
	paramFloor   = "floor"
	paramCeiling = "ceiling"
	paramWidth   = "width_decades"
	paramRise    = "rise_10_90_decades"
	paramAlpha   = "alpha_per_decade"
	paramAlpha0  = "alpha0_per_decade"
	paramAlpha1  = "alpha1_per_decade"
	paramSharp   = "sharpness_decades"
)

// CurveBoundNote says in words which parameters of a fitted curve model
// are at a bound its parameterisation imposed (atBound as Fit.AtBound
// names them, exponentLimit as Fit.ExponentLimit says which limit each
// exponent is at) and what that leaves of the numbers printed from it; ""
// when none is. widthDecades is the fitted sigmoid width (used to say
// whether it sits on the floor itself), NaN when unknown. An exponent
// whose limit is not given (an analysis written before the limits were
// recorded) gets the words for either.
func CurveBoundNote(model string, atBound []string, widthDecades float64, exponentLimit map[string]string) string {
	if len(atBound) == 0 {
		return ""
	}
	has := func(p string) bool { return slices.Contains(atBound, p) }
	var s []string
	switch model {
	case ModelSigmoid:
		if has(paramWidth) {
			s = append(s, "its "+widthBoundWords(widthDecades))
		}
		var fc []string
		if has(paramFloor) {
			fc = append(fc, "floor")
		}
		if has(paramCeiling) {
			fc = append(fc, "ceiling")
		}
		if len(fc) > 0 {
			s = append(s, "its "+strings.Join(fc, " and ")+" "+passWord(len(fc) == 1, "is", "are")+
				" at the edge of the range the fit allows, more than "+numfmt.Num(edgeReachZ)+" standard errors beyond the level nearest it: the sampled scales do not show the curve levelling off, so x* and the 10–90 % rise are conditional on that edge")
		}
	case ModelPower:
		if has(paramAlpha) {
			switch exponentLimit[paramAlpha] {
			case exponentZero:
				s = append(s, "its exponent is at 0 (its power changes by under 1 % over the sampled scales): the curve is a straight line in log x, along which the asymptote and gap run off together, so neither is determined")
			case exponentUnresolved:
				s = append(s, "its exponent is past what the sampled steps resolve (its power falls by over 99 % in the first step): the drop is over by the second level, so the exponent is only a lower bound")
			default:
				s = append(s, "its exponent is at a limit (its power changes by under 1 % over the sampled scales, or by over 99 % in the first step): the asymptote and gap are not determined")
			}
		}
	case ModelBNSL:
		zero := map[string]string{
			paramAlpha0: "the curve is flat before the break, and 0 describes that flat start, not a rate the levels measure",
			paramAlpha1: "the break adds no bend over the scales after it, where the curve keeps the power it had before",
		}
		from := map[string]string{paramAlpha0: "from the smallest scale", paramAlpha1: "after the break"}
		for _, p := range []string{paramAlpha0, paramAlpha1} {
			if !has(p) {
				continue
			}
			switch exponentLimit[p] {
			case exponentZero:
				s = append(s, p+" is at 0 (its power changes by under 1 % over the scales it acts on): "+zero[p])
			case exponentUnresolved:
				s = append(s, p+" is past what the sampled steps resolve (its power falls by over 99 % in the first step it acts on): the fall "+from[p]+" is over within one step, so it is only a lower bound")
			default:
				s = append(s, p+" is at 0 or past what the sampled steps resolve")
			}
		}
		if has(paramSharp) {
			s = append(s, paramSharp+" is unresolved (a kink at the break fits the levels within one standard error): the bend is at least this sharp")
		}
		if len(s) > 0 {
			s[len(s)-1] += "; " + passWord(len(s) == 1, "the number is", "each number is") + " a limit of the parameterisation, while the curve drawn through the levels is unaffected"
		}
	}
	if len(s) == 0 {
		return ""
	}
	return model + ": " + strings.Join(s, "; ")
}

// fitBoundNote is CurveBoundNote of a fit.
func fitBoundNote(f *Fit) string {
	w, ok := f.Params[paramWidth]
	if !ok {
		w = math.NaN()
	}
	return CurveBoundNote(f.Model, f.AtBound, w, f.ExponentLimit)
}

// forecastBoundNote says what of a forecast (ForecastCurve) rests on a
// parameter at a bound: the model chosen on the smaller rungs (best),
// whose limit the forecast extrapolates, and the sigmoids that x* from
// the smaller rungs (small) and from all rungs (full) come from (nil when
// not fitted); "" when nothing is at a bound.
func forecastBoundNote(best, small, full *Fit) string {
	var notes []string
	if n := fitBoundNote(best); n != "" {
		notes = append(notes, "the forecast extrapolates a fit at a bound, "+n)
	}
	for _, x := range []struct {
		f    *Fit
		what string
	}{{small, "x* from the smaller rungs"}, {full, "x* from all rungs"}} {
		if x.f == nil || len(x.f.AtBound) == 0 || math.IsNaN(x.f.Params["x_mid"]) || math.IsInf(x.f.Params["x_mid"], 0) {
			continue
		}
		if x.f == best {
			notes = append(notes, x.what+" comes from this sigmoid")
		} else {
			notes = append(notes, x.what+" comes from the "+fitBoundNote(x.f))
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "At a bound: " + strings.Join(notes, "; ") + "."
}

// The loss view's hinge (hinge) profiles L* over a grid from the lowest
// loss observed to the highest. At the low end no point lies below L*:
// the hinge is the constant c, and every L* at or under the lowest loss
// fits the same. At the high end none lies above it: the hinge is a line
// in the loss, and every L* at or over the highest loss fits the same.
// One sampled loss short of either end is no better: a piece of the hinge
// fitted to the points at one loss passes through their mean whatever the
// score does, so a single loss below L* shows no improvement with the
// loss, and a single loss at or above it shows no flat part before the
// threshold. Either way the data do not place L*: it reports the end of
// the losses sampled.
const paramLStar = "L_star"

// lossThresholdAtBound names L* (LossThreshold.AtBound, never nil) when
// fewer than two distinct losses lie below it or fewer than two at or
// above it, and says which end in words ("" when neither).
func lossThresholdAtBound(loss []float64, lstar float64) ([]string, string) {
	below, above := map[float64]bool{}, map[float64]bool{}
	for _, l := range loss {
		if l < lstar {
			below[l] = true
		} else {
			above[l] = true
		}
	}
	lo, hi := rangeOf(loss)
	switch {
	case len(below) < 2:
		return []string{paramLStar}, "At a limit: L* is within one sampled loss of the lowest eval loss (" + numfmt.Num(lo) + "): at most that loss lies below it, so the losses below L* show no improvement with the loss, and L* marks the end of the losses sampled, not a threshold."
	case len(above) < 2:
		return []string{paramLStar}, "At a limit: L* is within one sampled loss of the highest eval loss (" + numfmt.Num(hi) + "): only that loss lies at or above it, so no flat part before the threshold is seen — the score improves along one line over the losses sampled — and the threshold lies there or beyond: L* marks the end of the losses sampled."
	}
	return []string{}, ""
}

// The p^L check (PowerLCheck) fits the answer length L on a grid in log L
// over [powerLMin, powerLMax]. An L within powerLEdgeFrac of either end is
// at the limit of that range: the best length lies there or beyond, so no
// length in the range explains exact match from the per-position
// accuracy, and the check says so rather than report the edge.
const (
	powerLMin, powerLMax = 0.5, 64.0
	powerLEdgeFrac       = 0.01
)

// powerLAtBound applies the powerLEdgeFrac rule to a fitted L.
func powerLAtBound(L float64) bool {
	return L <= powerLMin*(1+powerLEdgeFrac) || L >= powerLMax*(1-powerLEdgeFrac)
}

// fitAtBound is m.atBound on the levels (t, y) with χ² weights cw (1/(v +
// τ²), or 1/τ² without sampling variances); its at is never nil.
func fitAtBound(m curveModel, theta, t, y, cw []float64) fitBounds {
	var b fitBounds
	if m.atBound != nil {
		b = m.atBound(theta, t, y, cw)
	}
	if b.at == nil {
		b.at = []string{}
	}
	return b
}

// widthBoundWords says what a sigmoid width at its bound means: the rise
// is at least as sharp as reported, and the sampling cannot say how much
// sharper. It also says what that does to the midpoint: a step much
// narrower than the gap between the two sampled sizes either side of it
// gives the same values at every sampled size wherever in that gap it
// stands, so the fit places x* in the gap, not at a point of it (and
// bootstrap replicates that all start from the same gap can agree on a
// point the data never chose).
func widthBoundWords(widthDecades float64) string {
	const midpoint = "; x* is placed only somewhere between the sampled sizes either side of the step"
	if widthDecades < widthFloorFactor*sigmoidMinWidth {
		return "width is at the floor the fit imposes (" + numfmt.Num(sigmoidMinWidth) + " decades): the rise is at least this sharp; the sampling cannot resolve the width" + midpoint
	}
	return "width is unresolved (a step at the floor width fits the levels within one standard error): the rise is at least this sharp; the sampling cannot resolve the width" + midpoint
}

// Collapse fits (CollapseAxes) search a grid rather than a box: the
// midpoint within collapseMidReach decades of the data, the width between
// collapseMinWidth and collapseMaxWidth decades, with the floor and
// ceiling imposed (chance and 1 for an accuracy), not fitted. What of such
// a fit sits at a limit of that grid, or rests on an imposed level the
// runs never come near, reports the limit, not a measurement; the same
// judgement as the curve models', on the grid's own limits.
const (
	paramCollapseMid  = "x_mid"
	paramCollapseRise = "rise_10_90_decades"
)

// collapseAtBound names what of the collapse fit (m, s) of the runs'
// scores y at log scales t, floor lo and ceiling hi imposed, sits at a
// limit (CollapseAxis.AtBound); never nil:
//
//   - x_mid when m lies within one coarse grid step of either end of the
//     midpoint grid: the best midpoint is there or beyond it, half a
//     decade past the runs;
//   - rise_10_90_decades when s lies within half a coarse grid step of
//     either end of the width grid, or the best step (the narrowest
//     width, its midpoint refitted) raises the residual sum of squares by
//     less than one residual variance (RSS/(n − 2), m and s fitted) — the
//     chi2Resolve rule with the runs' scatter about the curve as their
//     standard error: the runs cannot tell the fitted rise from a step,
//     so it is an upper bound;
//   - ceiling when no score reaches the curve's midpoint level, halfway
//     from floor to ceiling (floor when no score lies below it): the upper
//     half of the curve, and so x*, is placed by the imposed level alone.
func collapseAtBound(t, y []float64, lo, hi, m, s float64) []string {
	out := []string{}
	tmin, tmax := rangeOf(t)
	if m-(tmin-collapseMidReach) < collapseMidStep || (tmax+collapseMidReach)-m < collapseMidStep {
		out = append(out, paramCollapseMid)
	}
	half := math.Sqrt(collapseWidth(1) / collapseWidth(0))
	rss := logisticRSS(t, y, lo, hi, m, s, math.Inf(1))
	s2 := math.Max(rss/float64(max(len(t)-2, 1)), residualFloor(y))
	// The best step: the narrowest width, its midpoint refitted on the
	// fine grid's spacing (a step placed between two runs fits wherever
	// the gap is, not only at m).
	step := math.Inf(1)
	for mm := tmin - collapseMidReach; mm <= tmax+collapseMidReach; mm += collapseFineStep {
		step = math.Min(step, logisticRSS(t, y, lo, hi, mm, collapseMinWidth, step))
	}
	if s < collapseMinWidth*half || s > collapseMaxWidth/half || (step-rss)/s2 < chi2Resolve {
		out = append(out, paramCollapseRise)
	}
	ylo, yhi := rangeOf(y)
	if mid := (lo + hi) / 2; yhi < mid {
		out = append(out, paramCeiling)
	} else if ylo > mid {
		out = append(out, paramFloor)
	}
	return out
}

// BoundNote says in words what of the collapse fit on this axis sits at a
// limit (AtBound) and what that leaves of x* and the rise; "" when
// nothing does.
func (a CollapseAxis) BoundNote() string {
	var s []string
	if slices.Contains(a.AtBound, paramCollapseMid) {
		s = append(s, "x* is at the edge of the midpoint grid, "+numfmt.Num(collapseMidReach)+" decades past the runs: the best midpoint lies there or beyond, so x* is a limit of the fit, not a measurement")
	}
	if slices.Contains(a.AtBound, paramCollapseRise) {
		if a.RiseDecades/(2*math.Log(9)) > math.Sqrt(collapseMinWidth*collapseMaxWidth) {
			s = append(s, "the rise is at the wide end of the widths the fit searches ("+numfmt.Num(2*math.Log(9)*collapseMaxWidth)+" decades or more): the runs place no transition on this axis")
		} else {
			s = append(s, "the rise is at the narrowest the fit allows, or a step fits the runs within their scatter: it is at least this sharp, and the runs cannot resolve it")
		}
	}
	if slices.Contains(a.AtBound, paramCeiling) {
		s = append(s, "no run reaches the curve's midpoint level (halfway to the imposed ceiling "+numfmt.Num(a.Ceiling)+"): the curve's upper half is that ceiling, not data, so x* is an extrapolation to it")
	}
	if slices.Contains(a.AtBound, paramFloor) {
		s = append(s, "no run lies below the curve's midpoint level (halfway from the imposed floor "+numfmt.Num(a.Floor)+"): the curve's lower half is that floor, not data, so x* is an extrapolation to it")
	}
	if len(s) == 0 {
		return ""
	}
	return "At a limit against " + a.Axis + ": " + strings.Join(s, "; ") + "."
}
