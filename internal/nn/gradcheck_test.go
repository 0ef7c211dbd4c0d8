package nn

// Finite-difference gradient checks shared by every model's tests.
//
// Two kinds of check are offered:
//
//   - checkModelFD perturbs a Model's own float32 parameters and compares
//     central differences of the loss with the analytic gradient of Backward.
//     The loss is recomputed in float64 from the float32 logits
//     (crossEntropy64), so the only float32 noise is the forward pass's own
//     rounding. The perturbation is measured after rounding to float32
//     (δ = float32(θ + h·v) − θ, exact in float32), and the analytic side is
//     g·(δ₊ − δ₋), so the rounding of θ ± h·v costs nothing. What remains is
//     the forward's rounding noise ε_L (≈ 1e-7 of the logits' scale for the
//     tiny models here) divided by the step: error ≈ ε_L/h + O(h²·L''').
//     Callers state AbsTol/RelTol from that budget.
//   - fdGrad64 is a plain float64 central difference for checks against a
//     float64 reference implementation written in the test (the strongest
//     check: truncation O(h²) ≈ 1e-10 and rounding ≈ 1e-16/h ≈ 1e-11 for
//     h = 1e-5, so the residual is the float32 backward's own error).
//
// Both fail (t.Errorf) on a mismatch; they are meant to catch a wrong sign, a
// missing term, a transposed matrix or a skipped accumulation, each of which
// gives errors of order 1 relative, far above the tolerances.

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// crossEntropy64 is the mean over targets ≥ 0 of −log softmax(logits)[target]
// for logits (rows, V), computed in float64 (0 when no target counts).
func crossEntropy64(logits []float32, targets []int32, V int) float64 {
	var sum float64
	n := 0
	for r, tg := range targets {
		if tg < 0 {
			continue
		}
		row := logits[r*V : (r+1)*V]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		sum += mx + math.Log(s) - float64(row[tg])
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// fdOptions configures checkModelFD.
type fdOptions struct {
	H       float64 // step, in parameter units
	Entries int     // random entries checked per tensor, besides the largest-|grad| entry and one random direction
	AbsTol  float64 // |fd − analytic| ≤ AbsTol + RelTol·|analytic|
	RelTol  float64
}

// fdResult is one comparison made by checkModelFD.
type fdResult struct {
	Param    string
	What     string // "direction" or "entry <i>"
	FD, Grad float64
}

// checkModelFD compares Backward's gradient of m at (tokens, targets) with
// central differences of crossEntropy64 over the model's float32 parameters:
// for every parameter tensor, along one random unit direction, at its
// largest-|grad| entry and at opt.Entries random entries. It restores the
// parameters and leaves the analytic gradient in Params().Grad. It returns
// all comparisons (for logging the worst one) and reports each failure with
// t.Errorf.
func checkModelFD(t *testing.T, m Model, tokens, targets []int32, B, T int, rng *rand.Rand, opt fdOptions) []fdResult {
	t.Helper()
	ps := m.Params()
	ps.ZeroGrad()
	m.Forward(tokens, targets, B, T)
	m.Backward()
	grad := slices.Clone(ps.Grad)
	V := m.Config().DVocab
	loss := func() float64 {
		m.Forward(tokens, nil, B, T)
		return crossEntropy64(m.Logits(), targets[:B*T], V)
	}
	// perturb applies θ_i ← float32(θ_i + s·dir_i) on idx and returns the
	// loss and the exact applied steps.
	perturb := func(idx []int, dir []float64, s float64, saved []float32) (float64, []float64) {
		applied := make([]float64, len(idx))
		for j, i := range idx {
			ps.Data[i] = float32(float64(saved[j]) + s*dir[j])
			applied[j] = float64(ps.Data[i]) - float64(saved[j])
		}
		l := loss()
		for j, i := range idx {
			ps.Data[i] = saved[j]
		}
		return l, applied
	}
	var out []fdResult
	check := func(p Param, what string, idx []int, dir []float64) {
		saved := make([]float32, len(idx))
		for j, i := range idx {
			saved[j] = ps.Data[i]
		}
		// e(s) = (L(θ+δ₊) − L(θ+δ₋) − g·(δ₊ − δ₋)) / 2s is the error of the
		// analytic gradient along dir, plus an O(s²) truncation term that
		// Richardson's (4·e(h) − e(2h))/3 cancels, leaving O(h⁴) and the
		// rounding noise.
		errAt := func(s float64) float64 {
			lp, dp := perturb(idx, dir, s, saved)
			lm, dm := perturb(idx, dir, -s, saved)
			var an float64
			for j, i := range idx {
				an += float64(grad[i]) * (dp[j] - dm[j])
			}
			return (lp - lm - an) / (2 * s)
		}
		var an float64 // g·dir
		for j, i := range idx {
			an += float64(grad[i]) * dir[j]
		}
		fd := an + (4*errAt(opt.H)-errAt(2*opt.H))/3
		r := fdResult{Param: p.Name, What: what, FD: fd, Grad: an}
		out = append(out, r)
		if math.Abs(fd-an) > opt.AbsTol+opt.RelTol*math.Abs(an) || math.IsNaN(fd) || math.IsNaN(an) {
			t.Errorf("%s %s: finite difference %.8g, backward %.8g (diff %.3g > %.3g + %.3g·|backward|)",
				p.Name, what, fd, an, math.Abs(fd-an), opt.AbsTol, opt.RelTol)
		}
	}
	for _, p := range ps.Params {
		g := grad[p.Off : p.Off+p.Size]
		// A random unit direction over the whole tensor: any wrong entry
		// moves g·v unless it is orthogonal to v, which has probability 0.
		idx := make([]int, p.Size)
		dir := make([]float64, p.Size)
		var nrm float64
		for i := range idx {
			idx[i] = p.Off + i
			dir[i] = rng.NormFloat64()
			nrm += dir[i] * dir[i]
		}
		for i := range dir {
			dir[i] /= math.Sqrt(nrm)
		}
		check(p, "direction", idx, dir)
		for _, i := range sampleEntries(g, opt.Entries, rng) {
			check(p, "entry "+strconv.Itoa(i), []int{p.Off + i}, []float64{1})
		}
	}
	copy(ps.Grad, grad)
	return out
}

// sampleEntries returns the index of the largest |g| followed by k distinct
// random other indices (fewer if g is short).
func sampleEntries(g []float32, k int, rng *rand.Rand) []int {
	best := 0
	for i, v := range g {
		if math.Abs(float64(v)) > math.Abs(float64(g[best])) {
			best = i
		}
	}
	idx := []int{best}
	perm := rng.Perm(len(g))
	for _, i := range perm {
		if len(idx) > k {
			break
		}
		if i != best {
			idx = append(idx, i)
		}
	}
	return idx
}

// fdGrad64 is the central difference (f(x+h) − f(x−h)) / 2h at x[i], in
// float64; x[i] is restored.
func fdGrad64(f func() float64, x []float64, i int, h float64) float64 {
	x0 := x[i]
	x[i] = x0 + h
	fp := f()
	x[i] = x0 - h
	fm := f()
	x[i] = x0
	return (fp - fm) / (2 * h)
}

// worstFD returns the comparison with the largest |fd − grad| relative to
// atol + rtol·|grad| (for t.Logf).
func worstFD(rs []fdResult, atol, rtol float64) fdResult {
	var w fdResult
	worst := -1.0
	for _, r := range rs {
		if e := math.Abs(r.FD-r.Grad) / (atol + rtol*math.Abs(r.Grad)); e > worst {
			worst, w = e, r
		}
	}
	return w
}
