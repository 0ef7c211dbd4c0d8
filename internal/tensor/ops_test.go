package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// oddSizes are the row widths every elementwise kernel is checked on: 1, 3
// and sizes around the unroll and chunk boundaries.
var oddSizes = []int{1, 3, 17, 63, 64, 65, 127, 129}

func randn(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

// closeTo fails if |got−want| > atol + rtol·|want| anywhere.
func closeTo(t *testing.T, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= atol+rtol*math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %g > %g + %g·|want|)", what, i, got[i], want[i], d, atol, rtol)
		}
	}
}

// The fast kernels reorder float32 sums (two accumulators, per-chunk
// partials) and use expf (≤ 3e-7 relative): against the references they
// agree to a few float32 ulps of the row's magnitude, so rtol = 1e-5 with
// atol = 1e-6 for O(1) values leaves 10× margin while catching any
// formula error (those are O(1)).
const fastRtol, fastAtol = 1e-5, 1e-6

func TestLayerNormMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	for _, n := range oddSizes {
		for _, affine := range []bool{true, false} {
			rows := 3 + n%5
			x := randn(rng, rows*n, 2)
			for i := range x {
				x[i] += 3 // a mean away from 0
			}
			var gamma, beta []float32
			if affine {
				gamma, beta = randn(rng, n, 1), randn(rng, n, 1)
			}
			out, mean, rstd := make([]float32, rows*n), make([]float32, rows), make([]float32, rows)
			outR, meanR, rstdR := make([]float32, rows*n), make([]float32, rows), make([]float32, rows)
			LayerNormForward(out, mean, rstd, x, gamma, beta, rows, n, 1e-5)
			layerNormForwardRef(outR, meanR, rstdR, x, gamma, beta, rows, n, 1e-5)
			name := fmt.Sprintf("n=%d,affine=%v", n, affine)
			closeTo(t, name+" out", out, outR, fastAtol, fastRtol)
			closeTo(t, name+" rstd", rstd, rstdR, 0, fastRtol)

			dout := randn(rng, rows*n, 1)
			dx0 := randn(rng, rows*n, 1) // accumulation target
			dg0, db0 := randn(rng, n, 1), randn(rng, n, 1)
			dx, dg, db := slices.Clone(dx0), slices.Clone(dg0), slices.Clone(db0)
			dxR, dgR, dbR := slices.Clone(dx0), slices.Clone(dg0), slices.Clone(db0)
			LayerNormBackward(dx, dg, db, dout, x, gamma, mean, rstd, rows, n)
			layerNormBackwardRef(dxR, dgR, dbR, dout, x, gamma, mean, rstd, rows, n)
			// dx sums n terms of size |dout|·rstd: allow n·ulp-scale slack.
			closeTo(t, name+" dx", dx, dxR, 1e-6*float64(n), fastRtol)
			closeTo(t, name+" dgamma", dg, dgR, 1e-6*float64(rows), fastRtol)
			closeTo(t, name+" dbeta", db, dbR, 1e-6*float64(rows), fastRtol)
		}
	}
}

func TestGELUMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2))
	for _, n := range append(slices.Clone(oddSizes), 40000) {
		x := randn(rng, n, 3)
		x[0] = -12 // deep negative tail: x·σ(2u) must not cancel
		out, outR := make([]float32, n), make([]float32, n)
		GELUForward(out, x)
		geluForwardRef(outR, x)
		// GELU(x) = x·σ(2u): σ's absolute error 3e-7 scales with |x| ≤ 15.
		closeTo(t, fmt.Sprint("gelu n=", n), out, outR, 5e-6, fastRtol)
		dout := randn(rng, n, 1)
		dx0 := randn(rng, n, 1)
		dx, dxR := slices.Clone(dx0), slices.Clone(dx0)
		GELUBackward(dx, x, dout)
		geluBackwardRef(dxR, x, dout)
		closeTo(t, fmt.Sprint("dgelu n=", n), dx, dxR, 1e-5, fastRtol)
	}
}

func TestCausalSoftmaxMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 3))
	for _, T := range oddSizes {
		att := randn(rng, T*T, 4)
		attR := slices.Clone(att)
		CausalSoftmaxForward(att, T, 0.25)
		causalSoftmaxForwardRef(attR, T, 0.25)
		closeTo(t, fmt.Sprint("softmax T=", T), att, attR, fastAtol, fastRtol)
		datt := randn(rng, T*T, 1)
		d0 := randn(rng, T*T, 1)
		d, dR := slices.Clone(d0), slices.Clone(d0)
		CausalSoftmaxBackward(d, datt, att, T, 0.25)
		causalSoftmaxBackwardRef(dR, datt, att, T, 0.25)
		closeTo(t, fmt.Sprint("dsoftmax T=", T), d, dR, fastAtol, fastRtol)
	}
}

func TestSoftmaxCrossEntropyMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 4))
	for _, V := range oddSizes {
		rows := 5 + V%7
		logits := randn(rng, rows*V, 5)
		targets := make([]int32, rows)
		for i := range targets {
			targets[i] = int32(rng.IntN(V))
		}
		targets[1] = -1             // ignored row
		dl := randn(rng, rows*V, 1) // garbage: must be overwritten
		dlR := make([]float32, rows*V)
		sum, n := SoftmaxCrossEntropy(dl, logits, targets, rows, V, 0.1)
		sumR, nR := softmaxCrossEntropyRef(dlR, logits, targets, rows, V, 0.1)
		if n != nR || math.Abs(sum-sumR) > 1e-5*math.Abs(sumR)+1e-6 {
			t.Fatalf("V=%d: loss %g over %d rows, want %g over %d", V, sum, n, sumR, nR)
		}
		closeTo(t, fmt.Sprint("dlogits V=", V), dl, dlR, 1e-7, fastRtol)
		s2, _ := SoftmaxCrossEntropy(nil, logits, targets, rows, V, 0.1)
		if s2 != sum {
			t.Fatalf("V=%d: loss without gradient %g differs from %g", V, s2, sum)
		}
	}
}

func TestAdamWMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 5))
	for _, n := range []int{1, 17, 65, 40000} {
		p, g, m := randn(rng, n, 1), randn(rng, n, 1), randn(rng, n, 0.1)
		v := randn(rng, n, 0.1)
		for i := range v {
			v[i] *= v[i]
		}
		h := AdamWParams{LR: 3e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, Step: 7}
		pR, mR, vR := slices.Clone(p), slices.Clone(m), slices.Clone(v)
		AdamW(p, g, m, v, h)
		adamWRef(pR, g, mR, vR, h)
		// Same float32 operations in the same order: bit-identical.
		if !slices.Equal(p, pR) || !slices.Equal(m, mR) || !slices.Equal(v, vR) {
			t.Fatalf("n=%d: AdamW differs from the reference", n)
		}
	}
}

func TestBiasGradMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 6))
	for _, n := range append(slices.Clone(oddSizes), 600) {
		rows := 33
		dy := randn(rng, rows*n, 1)
		d0 := randn(rng, n, 1)
		d, dR := slices.Clone(d0), slices.Clone(d0)
		BiasGrad(d, dy, rows, n)
		biasGradRef(dR, dy, rows, n)
		if !slices.Equal(d, dR) { // same order of additions per column
			t.Fatalf("n=%d: BiasGrad differs from the reference", n)
		}
	}
}

// TestOpsThreadIndependence: the reductions (LayerNorm's dgamma, the CE sum)
// and everything else are bit-identical for 1, 2 and 3 threads.
func TestOpsThreadIndependence(t *testing.T) {
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(7, 7))
	rows, n, V := 300, 65, 129
	x, gamma, beta, dout := randn(rng, rows*n, 1), randn(rng, n, 1), randn(rng, n, 1), randn(rng, rows*n, 1)
	logits := randn(rng, rows*V, 3)
	targets := make([]int32, rows)
	for i := range targets {
		targets[i] = int32(rng.IntN(V))
	}
	run := func() [][]float32 {
		out, mean, rstd := make([]float32, rows*n), make([]float32, rows), make([]float32, rows)
		LayerNormForward(out, mean, rstd, x, gamma, beta, rows, n, 1e-5)
		dx, dg, db := make([]float32, rows*n), make([]float32, n), make([]float32, n)
		LayerNormBackward(dx, dg, db, dout, x, gamma, mean, rstd, rows, n)
		gl, dgl := make([]float32, rows*n), make([]float32, rows*n)
		GELUForward(gl, x)
		GELUBackward(dgl, x, dout)
		dl := make([]float32, rows*V)
		s, _ := SoftmaxCrossEntropy(dl, logits, targets, rows, V, 1)
		return [][]float32{out, dx, dg, db, gl, dgl, dl, {float32(s), float32(s - float64(float32(s)))}}
	}
	SetThreads(1)
	want := run()
	for _, th := range []int{2, 3} {
		SetThreads(th)
		got := run()
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("output %d differs with %d threads", i, th)
			}
		}
	}
}

// TestBiasGELUMatchesReference: pre gains the bias exactly (one float32 add
// per element, as a plain loop) and post is geluForwardRef of it, on odd
// widths and enough rows for several chunks.
func TestBiasGELUMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range append(slices.Clone(oddSizes), 1024) {
		rows := 3 + 40000/n
		pre, bias := randn(rng, rows*n, 2), randn(rng, n, 1)
		want := slices.Clone(pre)
		for r := 0; r < rows; r++ {
			for j := 0; j < n; j++ {
				want[r*n+j] += bias[j]
			}
		}
		post, postR := make([]float32, rows*n), make([]float32, rows*n)
		BiasGELUForward(post, pre, bias, rows, n)
		if !slices.Equal(pre, want) {
			t.Fatalf("n=%d: pre + bias differs from the plain loop", n)
		}
		geluForwardRef(postR, want)
		// As TestGELUMatchesReference.
		closeTo(t, fmt.Sprint("bias+gelu n=", n), post, postR, 5e-6, fastRtol)
	}
}

// TestGELUBiasBackwardMatchesReference: dpre is overwritten with
// geluBackwardRef's gradient (tolerance as TestGELUMatchesReference) and
// dbias gains exactly BiasGrad's column sums of the dpre it wrote.
func TestGELUBiasBackwardMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, n := range append(slices.Clone(oddSizes), 300) {
		rows := 37
		pre, dpost := randn(rng, rows*n, 3), randn(rng, rows*n, 1)
		dpre := randn(rng, rows*n, 1) // garbage: must be overwritten
		db0 := randn(rng, n, 1)
		db := slices.Clone(db0)
		GELUBiasBackward(dpre, db, pre, dpost, rows, n)
		want := make([]float32, rows*n)
		geluBackwardRef(want, pre, dpost)
		closeTo(t, fmt.Sprint("dpre n=", n), dpre, want, 1e-5, fastRtol)
		dbR := slices.Clone(db0)
		biasGradRef(dbR, dpre, rows, n)
		if !slices.Equal(db, dbR) {
			t.Fatalf("n=%d: dbias differs from the row-order column sums", n)
		}
	}
}

// TestAdamWSubnormalNotSlower times AdamW on the state of a run whose loss
// has reached ≈ 0 with weight decay 0 — moments and gradients far below the
// normal range, the weights small — against an ordinary state, interleaved,
// best of several rounds. Subnormal operands cost microcode assists (2–7×
// per operation on the CPUs measured) unless flushed; the kernel flushes
// them, so the two states must run at the same speed (1.5× allows for the
// noise of a shared machine).
func TestAdamWSubnormalNotSlower(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	if !useVec512 {
		t.Skip("the plain Go AdamW flushes its results like the assembly, but only MXCSR spares the subnormal operations' cost")
	}
	defer SetThreads(Threads())
	SetThreads(1)
	const n = 1 << 17
	rng := rand.New(rand.NewPCG(7, 9))
	state := func(scale float64) (p, g, m, v []float32) {
		p, g, m = randn(rng, n, 0.1), randn(rng, n, 1e-3*scale), randn(rng, n, 1e-3*scale)
		v = randn(rng, n, 1e-3*scale)
		for i := range v {
			v[i] *= v[i]
		}
		return
	}
	type st struct{ p, g, m, v, p0, m0, v0 []float32 }
	mk := func(scale float64) *st {
		p, g, m, v := state(scale)
		return &st{p, g, m, v, slices.Clone(p), slices.Clone(m), slices.Clone(v)}
	}
	normal, sub := mk(1), mk(1e-36) // g, m ≈ 1e-39, v ≈ 1e-78 → 0: subnormal or below
	h := AdamWParams{LR: 3e-3, Beta1: 0.9, Beta2: 0.98, Eps: 1e-8, Step: 500}
	run := func(s *st) time.Duration {
		copy(s.p, s.p0)
		copy(s.m, s.m0)
		copy(s.v, s.v0)
		t0 := time.Now()
		AdamW(s.p, s.g, s.m, s.v, h)
		return time.Since(t0)
	}
	best := [2]time.Duration{time.Hour, time.Hour}
	for r := 0; r < 15; r++ {
		best[0] = min(best[0], run(normal))
		best[1] = min(best[1], run(sub))
	}
	ratio := float64(best[1]) / float64(best[0])
	t.Logf("AdamW over %d parameters: ordinary state %v, subnormal state %v (%.2f×)", n, best[0], best[1], ratio)
	if ratio > 1.5 {
		t.Errorf("AdamW on subnormal moments is %.2f× slower than on ordinary ones (%v vs %v)", ratio, best[1], best[0])
	}
}
