package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLevelTermsMatchModels: a model's per-level terms give, bit for bit,
// what its fv gives — at θ (eval) and at θ with any one parameter moved
// by a forward-difference step (perturbed, from θ's terms) — on both
// axis directions, with the terms left as eval wrote them.
func TestLevelTermsMatchModels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, dir := range []float64{1, -1} {
		mc := modelContext{tref: dir * 4, dir: dir, lo: -0.1, hi: 1.1}
		for _, m := range curveModels(mc) {
			if m.terms == nil {
				continue
			}
			for trial := 0; trial < 50; trial++ {
				theta := make([]float64, m.k)
				for i := range theta {
					theta[i] = r.NormFloat64()
				}
				if m.name == ModelSigmoid || m.name == ModelBNSL {
					theta[2+btoi(m.name == ModelBNSL)] = mc.tref + dir*3*r.Float64()
				}
				ts := make([]float64, 12)
				for i := range ts {
					ts[i] = mc.tref + dir*3*r.Float64()
				}
				want, got := make([]float64, len(ts)), make([]float64, len(ts))
				tm := make([]float64, m.terms.size(len(ts)))
				m.fv(theta, ts, want)
				m.terms.eval(theta, ts, tm, got)
				sameBits(t, m.name+" eval", want, got)
				kept := append([]float64(nil), tm...)
				for j := range theta {
					p := append([]float64(nil), theta...)
					p[j] += 1e-7 * math.Max(1, math.Abs(p[j]))
					m.fv(p, ts, want)
					m.terms.perturbed(p, ts, j, tm, got)
					sameBits(t, m.name+" perturbed", want, got)
					sameBits(t, m.name+" terms after perturbed", kept, tm)
				}
			}
		}
	}
}

// TestLMFitModelMatchesLMFit: the fits through the models' terms end
// where the plain fits on fv do, bit for bit, on noisy sigmoid and power
// curves from several starts (each fit takes dozens of steps, accepted
// and rejected, so the terms of the current θ must follow every move).
func TestLMFitModelMatchesLMFit(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 24
	ts, ys, ws := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range ts {
		ts[i] = 3 + 3*float64(i)/float64(n-1)
		ys[i] = 0.1 + 0.8*logistic((ts[i]-4.6)/0.15) + 0.03*r.NormFloat64()
		ws[i] = 1 + r.Float64()
	}
	mc := newModelContext(ts, ys, 1, true, 0.5)
	fits := 0
	for _, m := range curveModels(mc) {
		if m.terms == nil {
			continue
		}
		for _, p0 := range m.starts(ts, ys) {
			pa, sa := lmFit(m.fv, ts, ys, ws, p0)
			pb, sb := lmFitModel(m, ts, ys, ws, p0)
			sameBits(t, m.name+" θ", pa, pb)
			sameBits(t, m.name+" S", []float64{sa}, []float64{sb})
			fits++
		}
	}
	if fits < 10 {
		t.Fatalf("only %d fits compared", fits)
	}
}

func sameBits(t *testing.T, what string, want, got []float64) {
	t.Helper()
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			t.Fatalf("%s [%d]: %v, want %v (bit for bit)", what, i, got[i], want[i])
		}
	}
}

// TestNormalEquationsMatchRef: the register kernels give, bit for bit,
// the plain loop's JᵀWJ and JᵀWr for every parameter count (those with a
// kernel and those without), on Jacobians with entries over many orders
// of magnitude and both signs (where the order of the additions shows),
// signed zeros, and level counts from one to a binned curve's.
func TestNormalEquationsMatchRef(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for k := 1; k <= 8; k++ {
		for _, n := range []int{1, 2, 7, 24, 216, 400} {
			J, w, res := make([]float64, n*k), make([]float64, n), make([]float64, n)
			for i := range J {
				J[i] = r.NormFloat64() * math.Pow(10, 8*r.Float64()-4)
				if r.IntN(20) == 0 {
					J[i] = math.Copysign(0, r.NormFloat64())
				}
			}
			for i := range w {
				w[i] = math.Pow(10, 6*r.Float64()-3)
				res[i] = r.NormFloat64() * 1e-2
			}
			wantA, wantG := make([]float64, k*k), make([]float64, k)
			gotA, gotG := make([]float64, k*k), make([]float64, k)
			for i := range gotA {
				gotA[i] = math.NaN() // every entry must be written
			}
			normalEquationsRef(J, w, res, k, wantA, wantG)
			normalEquations(J, w, res, k, gotA, gotG)
			sameBits(t, fmt.Sprintf("k=%d n=%d A", k, n), wantA, gotA)
			sameBits(t, fmt.Sprintf("k=%d n=%d g", k, n), wantG, gotG)
		}
	}
}
