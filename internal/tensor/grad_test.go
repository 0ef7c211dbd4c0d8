package tensor

import (
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
