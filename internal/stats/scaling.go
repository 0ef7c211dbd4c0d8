package stats

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/optimize"
)

// ScalingPoint is one trained model: parameters N, training tokens D and
// final loss L (nats per token, or any positive loss).
type ScalingPoint struct {
	N, D, L float64
	Line    string
}

// ScalingColumns names the CSV columns ReadScalingCSV uses. Exactly one of
// Tokens and FLOPs may be set; with FLOPs, D = C/(6N) (Kaplan et al. 2020's
// C ≈ 6ND). With neither, D is absent and only single-axis fits apply.
type ScalingColumns struct {
	Params, Tokens, FLOPs, Loss string
}

// DefaultScalingColumns are emlab's own column names.
func DefaultScalingColumns() ScalingColumns {
	return ScalingColumns{Params: "params", Tokens: "tokens", Loss: "loss"}
}

// ReadScalingCSV reads (N, D, L) rows. Missing columns are
// *MissingColumnError; non-numeric, non-positive or non-finite cells are
// errors naming the line and column. hasD reports whether D was read.
func ReadScalingCSV(r io.Reader, cols ScalingColumns) (pts []ScalingPoint, hasD bool, err error) {
	if cols.Tokens != "" && cols.FLOPs != "" {
		return nil, false, fmt.Errorf("give a tokens column or a FLOPs column, not both")
	}
	tb, err := readTable(r)
	if err != nil {
		return nil, false, err
	}
	ci, err := tb.col(cols.Params, true)
	if err != nil {
		return nil, false, err
	}
	li, err := tb.col(cols.Loss, true)
	if err != nil {
		return nil, false, err
	}
	di, fi := -1, -1
	if cols.Tokens != "" {
		if di, err = tb.col(cols.Tokens, true); err != nil {
			return nil, false, err
		}
	}
	if cols.FLOPs != "" {
		if fi, err = tb.col(cols.FLOPs, true); err != nil {
			return nil, false, err
		}
	}
	get := func(r, c int) (float64, error) {
		v, ok, err := tb.float(r, c)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("line %d: column %s is empty", tb.lines[r], tb.header[c])
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("line %d: column %s: %v must be a positive finite number (fits are in log space)", tb.lines[r], tb.header[c], v)
		}
		return v, nil
	}
	for r := range tb.rows {
		p := ScalingPoint{Line: fmt.Sprintf("line %d", tb.lines[r])}
		if p.N, err = get(r, ci); err != nil {
			return nil, false, err
		}
		if p.L, err = get(r, li); err != nil {
			return nil, false, err
		}
		switch {
		case di >= 0:
			if p.D, err = get(r, di); err != nil {
				return nil, false, err
			}
		case fi >= 0:
			c, err := get(r, fi)
			if err != nil {
				return nil, false, err
			}
			p.D = c / (6 * p.N)
		}
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		return nil, false, fmt.Errorf("CSV has a header but no rows")
	}
	return pts, di >= 0 || fi >= 0, nil
}

// ScalingOptions tune the scaling fits.
type ScalingOptions struct {
	// Delta is the Huber loss threshold on log loss (Hoffmann et al. 2022 use 1e-3).
	Delta float64
	// Boot replicates (resampling points with replacement), Seed, Workers
	// and Level (interval coverage) as in Options.
	Boot    int
	Seed    uint64
	Workers int
	Level   float64
	// Compute is the budget C (FLOPs) at which to report the compute-optimal
	// allocation; 0 means the largest 6ND in the data.
	Compute float64
}

// DefaultScalingOptions are the settings emlab scaling fit uses.
func DefaultScalingOptions() ScalingOptions {
	return ScalingOptions{Delta: 1e-3, Boot: 200, Seed: 1, Level: 0.95}
}

// Interval is an estimate with a bootstrap percentile interval (Lo, Hi are
// NaN without a bootstrap).
type Interval struct {
	Value, Lo, Hi float64
}

// ChinchillaFit is L(N, D) = E + A/N^α + B/D^β fitted by Hoffmann et al.
// 2022's approach 3, with the compute-optimal allocation it implies.
type ChinchillaFit struct {
	E, A, B, Alpha, Beta Interval
	// Compute is the budget C the allocation refers to. Under C = 6ND
	// (Hoffmann et al. 2022, eq. 4, appendix D.2):
	//	N*(C) = G·(C/6)^a, D*(C) = G⁻¹·(C/6)^b,
	//	G = (αA/(βB))^(1/(α+β)), a = β/(α+β), b = α/(α+β).
	Compute              float64
	NOpt, DOpt           Interval
	TokensPerParam       Interval // D*/N* at Compute
	ExponentN, ExponentD Interval // a and b
	// DropN and DropD are how much each term lowers the loss across the
	// sampled range, A·(N_min^−α − N_max^−α) and B·(D_min^−β − D_max^−β):
	// the part of the loss each axis accounts for in these points. An
	// exponent alone can mislead — a tiny β with a large B is a constant
	// that trades places with E.
	DropN, DropD Interval
	Points       int
	Objective    float64 // Σ Huber residual at the optimum
	Converged    bool    // the best start ended with a convergence status
	// AtBound names the parameters whose best fit sits at a bound: "E" when
	// E is at its lower bound 0 (see atLowerBound). BoundNote says which
	// reported quantities that leaves conditional. A and B are bounded
	// below by 0 too, but the fit never needs their bound: a term the
	// losses do not support goes flat (an exponent near 0, a constant that
	// trades with E) or grows (a negative exponent) instead, which the
	// drops and Degenerate report.
	AtBound []string
	// EProfile is the range of E whose objective, with A, α, B, β refitted,
	// is within the likelihood-ratio cut of the best (see profileE), and
	// TokensPerParamProfile the range of D*/N* at Compute over the fits in
	// that range: how far the allocation moves with an E the runs allow.
	EProfile, TokensPerParamProfile Range
	// EIdentified is false when E is at its bound or its profile range
	// reaches 0 or spans more than eSpanFrac of the smallest loss
	// (eIdentified); BoundNote then says what rests on E.
	EIdentified bool
	lmin        float64
}

// boundTol is how close to its lower bound 0 a fitted E may come, as a
// fraction of the smallest observed loss, before it counts as at the bound.
// E is fitted as the exponential of a free parameter, so a bound the data
// push against shows as the optimiser running the log far negative (E ≈
// 1e-13 on the scale-axes study's runs) rather than as an exact 0; an
// irreducible loss worth a thousandth of the loss is not one the fit
// measured.
const boundTol = 1e-3

// atLowerBound reports whether a fitted E sits at its lower bound 0, next
// to the smallest observed loss lmin.
func atLowerBound(e, lmin float64) bool { return e < boundTol*lmin }

// BoundNote says which parameters of the fit are at a bound and what that
// means for the quantities derived from them; "" when none is.
//
// The compute-optimal N*, D* minimise A/N^α + B/D^β on 6ND = C: E is an
// additive constant and does not enter them, but they are computed from
// A, α, B, β, and those were fitted with E held at 0 — a constant trades
// against a slowly decaying term (B/D^β with a small β is nearly one), so
// another E would move them. They are therefore conditional on E = 0, and
// so are the exponents a, b. The loss drops over the sampled ranges are
// differences of the fitted law between points inside the data, where the
// constant cancels and the law follows the losses whatever E is: they do
// not rest on E. TestBoundDependence checks both by refitting with E held
// elsewhere.
//
// An E inside its bounds is not identified either when the profile of the
// objective in E (EProfile) is wide: the same argument then makes N*, D*,
// D*/N* and the exponents depend on which E of the range is taken, and
// the note gives the range D*/N* spans over it.
func (f *ChinchillaFit) BoundNote() string {
	s := eNotes(f.AtBound, f.EIdentified, f.EProfile, f.lmin,
		"; A, α, B, β were fitted with E held at 0, so N*, D*, D*/N* and the exponents of N* and D* in C are conditional on E = 0 (the loss drops over the sampled ranges do not depend on E)",
		"; A, α, B, β move with E across that range, so N*, D*, D*/N* and the exponents of N* and D* in C depend on which E is taken (the loss drops over the sampled ranges do not depend on E)")
	if !f.EIdentified && !math.IsNaN(f.TokensPerParamProfile.Lo) {
		s = append(s, fmt.Sprintf("Over E from %s to %s, D*/N* ranges from %s to %s", numText(f.EProfile.Lo), numText(f.EProfile.Hi),
			numText(f.TokensPerParamProfile.Lo), numText(f.TokensPerParamProfile.Hi)))
	}
	return strings.Join(s, ". ")
}

// ELabels are the words a table puts beside E and beside the quantities
// computed from A, α, B, β when E is not identified (both "" when it is),
// so that every table states the one judgement (EIdentified) alike.
func (f *ChinchillaFit) ELabels() (e, dependent string) {
	switch {
	case f.EIdentified:
		return "", ""
	case slices.Contains(f.AtBound, "E"):
		return "at its lower bound: not identified", "conditional on E = 0"
	default:
		return fmt.Sprintf("not identified: %s to %s fit as well", numText(f.EProfile.Lo), numText(f.EProfile.Hi)), "depends on the E taken"
	}
}

// lse3 returns ln(e^u + e^v + e^w) and the softmax weights.
func lse3(u, v, w float64) (float64, float64, float64, float64) {
	m := math.Max(u, math.Max(v, w))
	eu, ev, ew := math.Exp(u-m), math.Exp(v-m), math.Exp(w-m)
	s := eu + ev + ew
	return m + math.Log(s), eu / s, ev / s, ew / s
}

func huber(r, delta float64) (float64, float64) {
	if math.Abs(r) <= delta {
		return 0.5 * r * r, r
	}
	if r > 0 {
		return delta * (r - 0.5*delta), delta
	}
	return delta * (-r - 0.5*delta), -delta
}

// chinchillaObjective is Σ_i Huber_δ(LSE(a − α ln N_i, b − β ln D_i, e) − ln L_i)
// over θ = (a, b, e, α, β) with A = e^a, B = e^b, E = e^e
// (Hoffmann et al. 2022, eq. 6); grad may be nil.
func chinchillaObjective(theta, grad []float64, lnN, lnD, lnL []float64, delta float64) float64 {
	a, b, e, al, be := theta[0], theta[1], theta[2], theta[3], theta[4]
	if grad != nil {
		for i := range grad {
			grad[i] = 0
		}
	}
	var f float64
	for i := range lnN {
		pred, wA, wB, wE := lse3(a-al*lnN[i], b-be*lnD[i], e)
		h, dh := huber(pred-lnL[i], delta)
		f += h
		if grad != nil {
			grad[0] += dh * wA
			grad[1] += dh * wB
			grad[2] += dh * wE
			grad[3] -= dh * wA * lnN[i]
			grad[4] -= dh * wB * lnD[i]
		}
	}
	return f
}

// lbfgs minimises f from x0 with gonum's L-BFGS and returns the location,
// value and whether it converged. Line-search failures near a kink of the
// Huber loss still return the best point found.
func lbfgs(f func(x []float64) float64, g func(grad, x []float64), x0 []float64) ([]float64, float64, bool) {
	p := optimize.Problem{Func: f, Grad: g}
	set := &optimize.Settings{GradientThreshold: 1e-10, MajorIterations: 2000,
		Converger: &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-12, Iterations: 50}}
	res, err := optimize.Minimize(p, x0, set, &optimize.LBFGS{})
	if res == nil {
		return x0, f(x0), false
	}
	ok := err == nil && (res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence)
	return res.X, res.F, ok
}

// chinchillaGrid is Hoffmann et al.'s grid of initialisations:
// α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}.
func chinchillaGrid() [][]float64 {
	var g [][]float64
	for _, al := range []float64{0, 0.5, 1, 1.5, 2} {
		for _, be := range []float64{0, 0.5, 1, 1.5, 2} {
			for _, e := range []float64{-1, -0.5, 0, 0.5, 1} {
				for a := 0.0; a <= 25; a += 5 {
					for b := 0.0; b <= 25; b += 5 {
						g = append(g, []float64{a, b, e, al, be})
					}
				}
			}
		}
	}
	return g
}

// bestStarts evaluates obj on every start and returns the k best.
func bestStarts(starts [][]float64, k int, obj func([]float64) float64) [][]float64 {
	type sv struct {
		s []float64
		v float64
	}
	vals := make([]sv, len(starts))
	for i, s := range starts {
		v := obj(s)
		if math.IsNaN(v) {
			v = math.Inf(1)
		}
		vals[i] = sv{s, v}
	}
	sort.SliceStable(vals, func(i, j int) bool { return vals[i].v < vals[j].v })
	out := make([][]float64, 0, k)
	for i := 0; i < k && i < len(vals); i++ {
		out = append(out, vals[i].s)
	}
	return out
}

func minimiseFrom(ctx context.Context, starts [][]float64, f func(x []float64) float64, g func(grad, x []float64)) ([]float64, float64, bool) {
	var best []float64
	bestF := math.Inf(1)
	conv := false
	for i, s := range starts {
		if i > 0 && ctx.Err() != nil {
			break // the caller reports the cancellation
		}
		x, v, ok := lbfgs(f, g, append([]float64(nil), s...))
		if v < bestF {
			best, bestF, conv = x, v, ok
		}
	}
	return best, bestF, conv
}

// chinchillaStarts is how many of the best grid points L-BFGS starts from.
// Hoffmann et al. start from every grid point; the grid's own objective
// values rank them, and the best 32 cover the basins that matter at a
// fraction of the cost (checked by the recovery tests).
const chinchillaStarts = 32

// FitChinchilla fits L(N, D) = E + A/N^α + B/D^β by Hoffmann et al. 2022's
// approach 3: minimise the Huber loss (δ = o.Delta) between the predicted
// and observed log loss with L-BFGS, started from the best points of their
// initialisation grid; intervals by a percentile bootstrap over points.
// It needs at least 6 points with at least 2 distinct N and 2 distinct D.
func FitChinchilla(ctx context.Context, pts []ScalingPoint, o ScalingOptions) (*ChinchillaFit, error) {
	if err := checkScaling(pts, true); err != nil {
		return nil, err
	}
	n := len(pts)
	lnN, lnD, lnL := make([]float64, n), make([]float64, n), make([]float64, n)
	maxC := 0.0
	nMin, nMax, dMin, dMax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i, p := range pts {
		lnN[i], lnD[i], lnL[i] = math.Log(p.N), math.Log(p.D), math.Log(p.L)
		maxC = math.Max(maxC, 6*p.N*p.D)
		nMin, nMax, dMin, dMax = math.Min(nMin, p.N), math.Max(nMax, p.N), math.Min(dMin, p.D), math.Max(dMax, p.D)
	}
	compute := o.Compute
	if compute <= 0 {
		compute = maxC
	}
	fit := func(lnN, lnD, lnL []float64, starts [][]float64) ([]float64, float64, bool) {
		f := func(x []float64) float64 { return chinchillaObjective(x, nil, lnN, lnD, lnL, o.Delta) }
		g := func(grad, x []float64) { chinchillaObjective(x, grad, lnN, lnD, lnL, o.Delta) }
		return minimiseFrom(ctx, starts, f, g)
	}
	grid := chinchillaGrid()
	starts := bestStarts(grid, chinchillaStarts, func(x []float64) float64 { return chinchillaObjective(x, nil, lnN, lnD, lnL, o.Delta) })
	theta, obj, conv := fit(lnN, lnD, lnL, starts)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scaling fit: %w", err)
	}
	derived := func(th []float64) []float64 {
		A, B, E, al, be := math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), th[3], th[4]
		G := math.Pow(al*A/(be*B), 1/(al+be))
		ea, eb := be/(al+be), al/(al+be)
		nopt := G * math.Pow(compute/6, ea)
		dopt := math.Pow(compute/6, eb) / G
		dropN := A * (math.Pow(nMin, -al) - math.Pow(nMax, -al))
		dropD := B * (math.Pow(dMin, -be) - math.Pow(dMax, -be))
		return []float64{E, A, B, al, be, nopt, dopt, dopt / nopt, ea, eb, dropN, dropD}
	}
	point := derived(theta)
	lmin := math.Inf(1)
	for _, p := range pts {
		lmin = math.Min(lmin, p.L)
	}
	out := &ChinchillaFit{Compute: compute, Points: n, Objective: obj, Converged: conv, AtBound: []string{}, lmin: lmin}
	if atLowerBound(point[0], lmin) {
		out.AtBound = append(out.AtBound, "E")
	}
	res := make([]float64, n)
	for i := range res {
		pred, _, _, _ := lse3(theta[0]-theta[3]*lnN[i], theta[1]-theta[4]*lnD[i], theta[2])
		res[i] = pred - lnL[i]
	}
	// The profile refits (a, b, α, β) with e = ln E held.
	refit := func(eFixed float64, x0 []float64) ([]float64, float64) {
		e := math.Log(eFixed)
		full := func(x []float64) []float64 { return []float64{x[0], x[1], e, x[2], x[3]} }
		f := func(x []float64) float64 { return chinchillaObjective(full(x), nil, lnN, lnD, lnL, o.Delta) }
		g := func(grad, x []float64) {
			var g5 [5]float64
			chinchillaObjective(full(x), g5[:], lnN, lnD, lnL, o.Delta)
			grad[0], grad[1], grad[2], grad[3] = g5[0], g5[1], g5[3], g5[4]
		}
		x, v, _ := lbfgs(f, g, append([]float64(nil), x0...))
		return x, v
	}
	steps := profileE(point[0], lmin, []float64{theta[0], theta[1], theta[3], theta[4]}, refit)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scaling fit: profile in E: %w", err)
	}
	var in []profileStep
	out.EProfile, in = profileRange(steps, point[0], obj, profileScale(res, o.Delta, 5))
	out.TokensPerParamProfile = Range{Lo: point[7], Hi: point[7]}
	for _, st := range in {
		tpp := derived([]float64{st.x[0], st.x[1], math.Log(st.e), st.x[2], st.x[3]})[7]
		out.TokensPerParamProfile.Lo = math.Min(out.TokensPerParamProfile.Lo, tpp)
		out.TokensPerParamProfile.Hi = math.Max(out.TokensPerParamProfile.Hi, tpp)
	}
	out.EIdentified = eIdentified(slices.Contains(out.AtBound, "E"), out.EProfile, lmin)
	ivs := []*Interval{&out.E, &out.A, &out.B, &out.Alpha, &out.Beta, &out.NOpt, &out.DOpt, &out.TokensPerParam, &out.ExponentN, &out.ExponentD, &out.DropN, &out.DropD}
	for i, iv := range ivs {
		*iv = Interval{Value: point[i], Lo: math.NaN(), Hi: math.NaN()}
	}
	if o.Boot == 0 {
		return out, nil
	}
	reps := make([][]float64, o.Boot)
	few := starts[:min(3, len(starts))]
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "chinchilla", func(rng *rand.Rand, b int) {
		bn, bd, bl := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range bn {
			j := rng.IntN(n)
			bn[i], bd[i], bl[i] = lnN[j], lnD[j], lnL[j]
		}
		th, _, _ := fit(bn, bd, bl, append([][]float64{theta}, few...))
		reps[b] = derived(th)
	})
	if err != nil {
		return nil, fmt.Errorf("scaling fit: bootstrap: %w", err)
	}
	setIntervals(ivs, reps, o.Level)
	return out, nil
}

func setIntervals(ivs []*Interval, reps [][]float64, level float64) {
	a := (1 - level) / 2
	col := make([]float64, 0, len(reps))
	for i, iv := range ivs {
		col = col[:0]
		for _, r := range reps {
			if !math.IsNaN(r[i]) {
				col = append(col, r[i])
			}
		}
		iv.Lo, iv.Hi = quantile(col, a), quantile(col, 1-a)
	}
}

func checkScaling(pts []ScalingPoint, needD bool) error {
	need := 4
	if needD {
		need = 6
	}
	if len(pts) < need {
		return fmt.Errorf("%w: %d points, need at least %d", ErrTooFewLevels, len(pts), need)
	}
	ns, ds := map[float64]bool{}, map[float64]bool{}
	lmin, lmax := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lmin, lmax = math.Min(lmin, p.L), math.Max(lmax, p.L)
		for _, v := range []float64{p.N, p.L} {
			if !(v > 0) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: N=%v L=%v: values must be positive and finite", p.Line, p.N, p.L)
			}
		}
		if needD && (!(p.D > 0) || math.IsInf(p.D, 0)) {
			return fmt.Errorf("%s: D=%v must be positive and finite", p.Line, p.D)
		}
		ns[p.N], ds[p.D] = true, true
	}
	if len(ns) < 2 {
		return fmt.Errorf("%w: all points have the same N; a scaling fit needs at least 2", ErrTooFewLevels)
	}
	if lmax-lmin <= 1e-12*lmax {
		// Any exponent fits a constant with A = 0: the optimiser would
		// "converge" on α = 0 and report a law that is not there.
		return fmt.Errorf("the loss is %g at every point: a constant has no scaling law to fit", lmin)
	}
	if needD && len(ds) < 2 {
		return fmt.Errorf("%w: all points have the same D; L(N, D) needs at least 2", ErrTooFewLevels)
	}
	return nil
}

// PowerLawFit is the single-axis law L = E + A·x^(−α).
type PowerLawFit struct {
	E, A, Alpha Interval
	Points      int
	// AtBound is ["E"] when E sits at its lower bound 0 (as for
	// ChinchillaFit.AtBound), else empty.
	AtBound []string
	// EProfile and EIdentified as for ChinchillaFit, with A and α refitted.
	EProfile    Range
	EIdentified bool
	lmin        float64
}

// BoundNote says which parameters are at their lower bound and what that
// leaves of the fit; "" when none is. With E at 0 the law is Kaplan's pure
// power law and α is the exponent of the whole loss, conditional on E = 0
// (a positive E would steepen it).
func (f *PowerLawFit) BoundNote() string {
	return strings.Join(eNotes(f.AtBound, f.EIdentified, f.EProfile, f.lmin,
		", and α is conditional on E = 0", ", and α depends on which E is taken"), ". ")
}

// eNotes is the two fits' statement about E: at its lower bound (the
// sentence ends with atBound, what rests on E = 0), else not identified
// by a wide profile (ends with wide, what moves with E), else nothing.
func eNotes(atBound []string, identified bool, profile Range, lmin float64, atBoundTail, wideTail string) []string {
	if slices.Contains(atBound, "E") {
		return []string{"E at its lower bound (0): the irreducible loss is not identified by these runs" + atBoundTail}
	}
	if why := eNotIdentifiedWhy(identified, profile, lmin); why != "" {
		return []string{why + wideTail}
	}
	return nil
}

// ELabel is the words a table puts beside E when E is not identified, ""
// when it is (the one judgement, EIdentified).
func (f *PowerLawFit) ELabel() string {
	switch {
	case f.EIdentified:
		return ""
	case slices.Contains(f.AtBound, "E"):
		return "at its lower bound 0: not identified"
	default:
		return fmt.Sprintf("not identified: %s to %s fit as well", numText(f.EProfile.Lo), numText(f.EProfile.Hi))
	}
}

// FitPowerLaw fits L = E + A·x^(−α) in the manner of approach 3: the Huber
// loss on log L with LSE(a − α ln x, e), L-BFGS from the best of the grid
// α ∈ {0, …, 2}, e ∈ {−1, …, 1}, a ∈ {0, 5, …, 25}; bootstrap intervals.
func FitPowerLaw(ctx context.Context, x, L []float64, o ScalingOptions) (*PowerLawFit, error) {
	pts := make([]ScalingPoint, len(x))
	for i := range x {
		pts[i] = ScalingPoint{N: x[i], L: L[i], Line: fmt.Sprintf("point %d", i+1)}
	}
	if err := checkScaling(pts, false); err != nil {
		return nil, err
	}
	n := len(x)
	lx, ll := make([]float64, n), make([]float64, n)
	for i := range x {
		lx[i], ll[i] = math.Log(x[i]), math.Log(L[i])
	}
	obj := func(th, grad, lx, ll []float64) float64 {
		if grad != nil {
			grad[0], grad[1], grad[2] = 0, 0, 0
		}
		var f float64
		for i := range lx {
			pred, wA, wE, _ := lse3(th[0]-th[2]*lx[i], th[1], math.Inf(-1))
			h, dh := huber(pred-ll[i], o.Delta)
			f += h
			if grad != nil {
				grad[0] += dh * wA
				grad[1] += dh * wE
				grad[2] -= dh * wA * lx[i]
			}
		}
		return f
	}
	fit := func(lx, ll []float64, starts [][]float64) []float64 {
		th, _, _ := minimiseFrom(ctx, starts,
			func(t []float64) float64 { return obj(t, nil, lx, ll) },
			func(g, t []float64) { obj(t, g, lx, ll) })
		return th
	}
	var grid [][]float64
	for _, al := range []float64{0, 0.5, 1, 1.5, 2} {
		for _, e := range []float64{-1, -0.5, 0, 0.5, 1} {
			for a := 0.0; a <= 25; a += 5 {
				grid = append(grid, []float64{a, e, al})
			}
		}
	}
	starts := bestStarts(grid, 10, func(t []float64) float64 { return obj(t, nil, lx, ll) })
	th := fit(lx, ll, starts)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("power-law fit: %w", err)
	}
	derived := func(th []float64) []float64 { return []float64{math.Exp(th[1]), math.Exp(th[0]), th[2]} }
	lmin := slices.Min(L)
	out := &PowerLawFit{Points: n, AtBound: []string{}, lmin: lmin}
	ivs := []*Interval{&out.E, &out.A, &out.Alpha}
	point := derived(th)
	for i, v := range point {
		*ivs[i] = Interval{Value: v, Lo: math.NaN(), Hi: math.NaN()}
	}
	if atLowerBound(point[0], lmin) {
		out.AtBound = append(out.AtBound, "E")
	}
	res := make([]float64, n)
	for i := range res {
		pred, _, _, _ := lse3(th[0]-th[2]*lx[i], th[1], math.Inf(-1))
		res[i] = pred - ll[i]
	}
	// The profile refits (a, α) with e = ln E held.
	refit := func(eFixed float64, x0 []float64) ([]float64, float64) {
		e := math.Log(eFixed)
		f := func(x []float64) float64 { return obj([]float64{x[0], e, x[1]}, nil, lx, ll) }
		g := func(grad, x []float64) {
			var g3 [3]float64
			obj([]float64{x[0], e, x[1]}, g3[:], lx, ll)
			grad[0], grad[1] = g3[0], g3[2]
		}
		x, v, _ := lbfgs(f, g, append([]float64(nil), x0...))
		return x, v
	}
	steps := profileE(point[0], lmin, []float64{th[0], th[2]}, refit)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("power-law fit: profile in E: %w", err)
	}
	out.EProfile, _ = profileRange(steps, point[0], obj(th, nil, lx, ll), profileScale(res, o.Delta, 3))
	out.EIdentified = eIdentified(slices.Contains(out.AtBound, "E"), out.EProfile, lmin)
	if o.Boot == 0 {
		return out, nil
	}
	reps := make([][]float64, o.Boot)
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "powerlaw", func(rng *rand.Rand, b int) {
		bx, bl := make([]float64, n), make([]float64, n)
		for i := range bx {
			j := rng.IntN(n)
			bx[i], bl[i] = lx[j], ll[j]
		}
		reps[b] = derived(fit(bx, bl, append([][]float64{th}, starts[:3]...)))
	})
	if err != nil {
		return nil, fmt.Errorf("power-law fit: bootstrap: %w", err)
	}
	setIntervals(ivs, reps, o.Level)
	return out, nil
}

// KaplanFit is Kaplan et al. 2020's pure power law L(x) = (Xc/x)^α
// (their L(N) with N_c, α_N, or L(D) with D_c, α_D), fitted by least squares
// on ln L = α ln Xc − α ln x.
type KaplanFit struct {
	Xc, Alpha Interval
	Points    int
}

// FitKaplan fits L = (Xc/x)^α with a percentile bootstrap over points.
func FitKaplan(ctx context.Context, x, L []float64, o ScalingOptions) (*KaplanFit, error) {
	pts := make([]ScalingPoint, len(x))
	for i := range x {
		pts[i] = ScalingPoint{N: x[i], L: L[i], Line: fmt.Sprintf("point %d", i+1)}
	}
	if err := checkScaling(pts, false); err != nil {
		return nil, err
	}
	n := len(x)
	lx, ll := make([]float64, n), make([]float64, n)
	for i := range x {
		lx[i], ll[i] = math.Log(x[i]), math.Log(L[i])
	}
	fit := func(lx, ll []float64) []float64 {
		var mx, my float64
		for i := range lx {
			mx += lx[i]
			my += ll[i]
		}
		mx /= float64(len(lx))
		my /= float64(len(lx))
		var sxy, sxx float64
		for i := range lx {
			sxy += (lx[i] - mx) * (ll[i] - my)
			sxx += (lx[i] - mx) * (lx[i] - mx)
		}
		if sxx == 0 {
			return []float64{math.NaN(), math.NaN()}
		}
		alpha := -sxy / sxx
		icpt := my - (-alpha)*mx
		return []float64{math.Exp(icpt / alpha), alpha}
	}
	out := &KaplanFit{Points: n}
	ivs := []*Interval{&out.Xc, &out.Alpha}
	for i, v := range fit(lx, ll) {
		*ivs[i] = Interval{Value: v, Lo: math.NaN(), Hi: math.NaN()}
	}
	if o.Boot == 0 {
		return out, nil
	}
	reps := make([][]float64, o.Boot)
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "kaplan", func(rng *rand.Rand, b int) {
		bx, bl := make([]float64, n), make([]float64, n)
		for i := range bx {
			j := rng.IntN(n)
			bx[i], bl[i] = lx[j], ll[j]
		}
		reps[b] = fit(bx, bl)
	})
	if err != nil {
		return nil, fmt.Errorf("Kaplan fit: bootstrap: %w", err)
	}
	setIntervals(ivs, reps, o.Level)
	return out, nil
}
