package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Finite-difference gradient checks. Each op's forward is rewritten in
// float64 here (the formula, nothing else); the loss is L = Σ w⊙f(x) with
// random w, its gradient is estimated by central differences in float64
// (h = 1e-5: truncation O(h²·f''') ≈ 1e-10, rounding O(ε/h) ≈ 1e-11) and
// compared with the float32 backward kernel fed w as dout. The float32
// kernel's own rounding is ~1e-7 relative per term, so a tolerance of
// 1e-4·(|g|+scale) is tight enough to catch any wrong term (those are O(1)).

func fdGrad(x []float64, loss func([]float64) float64) []float64 {
	const h = 1e-5
	g := make([]float64, len(x))
	for i := range x {
		x0 := x[i]
		x[i] = x0 + h
		lp := loss(x)
		x[i] = x0 - h
		lm := loss(x)
		x[i] = x0
		g[i] = (lp - lm) / (2 * h)
	}
	return g
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func checkGrad(t *testing.T, what string, got []float32, want []float64, scale float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= 1e-4*(math.Abs(want[i])+scale)) {
			t.Fatalf("%s[%d]: analytic %g, finite difference %g (|diff| %g)", what, i, got[i], want[i], d)
		}
	}
}

func TestLayerNormGradFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	rows, n := 3, 17
	x, gamma, beta, w := randn(rng, rows*n, 1), randn(rng, n, 1), randn(rng, n, 1), randn(rng, rows*n, 1)
	const eps = 1e-5
	fwd := func(x, gamma, beta []float64) float64 {
		var L float64
		for r := 0; r < rows; r++ {
			xr := x[r*n : r*n+n]
			var mu, v float64
			for _, a := range xr {
				mu += a
			}
			mu /= float64(n)
			for _, a := range xr {
				v += (a - mu) * (a - mu)
			}
			rs := 1 / math.Sqrt(v/float64(n)+eps)
			for j, a := range xr {
				L += float64(w[r*n+j]) * ((a-mu)*rs*gamma[j] + beta[j])
			}
		}
		return L
	}
	x64, g64, b64 := to64(x), to64(gamma), to64(beta)
	wantDx := fdGrad(x64, func(x []float64) float64 { return fwd(x, g64, b64) })
	wantDg := fdGrad(g64, func(g []float64) float64 { return fwd(x64, g, b64) })
	wantDb := fdGrad(b64, func(b []float64) float64 { return fwd(x64, g64, b) })

	out, mean, rstd := make([]float32, rows*n), make([]float32, rows), make([]float32, rows)
	LayerNormForward(out, mean, rstd, x, gamma, beta, rows, n, eps)
	dx, dg, db := make([]float32, rows*n), make([]float32, n), make([]float32, n)
	LayerNormBackward(dx, dg, db, w, x, gamma, mean, rstd, rows, n)
	checkGrad(t, "dx", dx, wantDx, 1)
	checkGrad(t, "dgamma", dg, wantDg, 1)
	checkGrad(t, "dbeta", db, wantDb, 1)
}

func TestGELUGradFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	x, w := randn(rng, 200, 2.5), randn(rng, 200, 1)
	x64 := to64(x)
	want := fdGrad(x64, func(x []float64) float64 {
		var L float64
		for i, v := range x {
			L += float64(w[i]) * 0.5 * v * (1 + math.Tanh(geluC*(v+0.044715*v*v*v)))
		}
		return L
	})
	dx := make([]float32, len(x))
	GELUBackward(dx, x, w)
	checkGrad(t, "dx", dx, want, 1)
}

func TestCausalSoftmaxGradFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 3))
	const T, scale = 9, 0.35
	pre, w := randn(rng, T*T, 2), randn(rng, T*T, 1)
	want := fdGrad(to64(pre), func(p []float64) float64 {
		var L float64
		for t := 0; t < T; t++ {
			mx := math.Inf(-1)
			for j := 0; j <= t; j++ {
				mx = math.Max(mx, p[t*T+j]*scale)
			}
			var s float64
			for j := 0; j <= t; j++ {
				s += math.Exp(p[t*T+j]*scale - mx)
			}
			for j := 0; j <= t; j++ {
				L += float64(w[t*T+j]) * math.Exp(p[t*T+j]*scale-mx) / s
			}
		}
		return L
	})
	att := append([]float32(nil), pre...)
	CausalSoftmaxForward(att, T, scale)
	dpre := make([]float32, T*T)
	CausalSoftmaxBackward(dpre, w, att, T, scale)
	checkGrad(t, "dpre", dpre, want, 1)
}

func TestSoftmaxCrossEntropyGradFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	const rows, V, gs = 4, 13, 0.25
	logits := randn(rng, rows*V, 2)
	targets := []int32{3, -1, 12, 0}
	want := fdGrad(to64(logits), func(l []float64) float64 {
		var L float64
		for r := 0; r < rows; r++ {
			if targets[r] < 0 {
				continue
			}
			var s float64
			for _, v := range l[r*V : r*V+V] {
				s += math.Exp(v)
			}
			L += math.Log(s) - l[r*V+int(targets[r])]
		}
		return gs * L
	})
	dl := make([]float32, rows*V)
	SoftmaxCrossEntropy(dl, logits, targets, rows, V, gs)
	checkGrad(t, "dlogits", dl, want, 0.1)
}

// TestAttentionHeadGradFD checks the fused head's backward (dq, dk, dv from
// AttentionHeadBackward on AttentionHeadForward's pattern) against central
// differences of L = Σ w⊙z in float64, z = causal softmax(q·kᵀ·scale)·v, on
// odd context lengths and head widths below, at and past one 16-float
// vector, in the strided layout of a (T, 3C) QKV buffer.
func TestAttentionHeadGradFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 6))
	for _, c := range []struct{ T, Dh int }{{1, 1}, {5, 3}, {17, 16}, {29, 17}, {15, 33}} {
		T, Dh := c.T, c.Dh
		ld, ldz := 3*Dh+2, Dh+1
		scale := 1 / math.Sqrt(float64(Dh))
		qkv, w := randn(rng, T*ld, 1), randn(rng, T*ldz, 1)
		loss := func(x []float64) float64 {
			var L float64
			s := make([]float64, T)
			for i := 0; i < T; i++ {
				mx := math.Inf(-1)
				for j := 0; j <= i; j++ {
					var d float64
					for e := 0; e < Dh; e++ {
						d += x[i*ld+e] * x[j*ld+Dh+e]
					}
					s[j] = d * scale
					mx = math.Max(mx, s[j])
				}
				var sum float64
				for j := 0; j <= i; j++ {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for e := 0; e < Dh; e++ {
					var z float64
					for j := 0; j <= i; j++ {
						z += s[j] / sum * x[j*ld+2*Dh+e]
					}
					L += float64(w[i*ldz+e]) * z
				}
			}
			return L
		}
		want := fdGrad(to64(qkv), loss)
		p, z := make([]float32, T*T), make([]float32, T*ldz)
		AttentionHeadForward(p, z, ldz, qkv, qkv[Dh:], qkv[2*Dh:], ld, T, Dh, float32(scale), make([]float32, Dh*T), false)
		d := make([]float32, T*ld)
		AttentionHeadBackward(d, d[Dh:], d[2*Dh:], ld, w, ldz, qkv, qkv[Dh:], qkv[2*Dh:], p, T, Dh, float32(scale), make([]float32, 2*T*T+Dh*T))
		// The padding columns 3Dh..ld: d stays 0, the loss ignores them.
		checkGrad(t, fmt.Sprintf("T=%d,Dh=%d dqkv", T, Dh), d, want, 1)
	}
}
