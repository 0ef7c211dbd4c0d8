package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// vecSizes cover the empty span, every masked tail length and several full
// vectors.
func vecSizes() []int {
	var s []int
	for n := 0; n <= 49; n++ {
		s = append(s, n)
	}
	return append(s, 63, 64, 65, 127, 255, 1000)
}

// TestSpansMatchGo checks each span (the AVX-512 assembly where the CPU has
// it) against its plain Go loop. The assembly evaluates the same formulas
// with FMAs and 16-lane sums, so elementwise results agree to a few ulps
// (rtol 1e-6 on values of order 1, atol for the cancellation in GELU's
// derivative) and sums to float32 rounding of n terms.
func TestSpansMatchGo(t *testing.T) {
	if !useVec512 {
		t.Skip("no AVX-512 on this CPU or build: the spans are the Go loops themselves")
	}
	rng := rand.New(rand.NewPCG(9, 1))
	for _, n := range vecSizes() {
		x := randn(rng, n, 3)
		if n > 2 {
			x[0], x[1], x[2] = -40, 40, 0 // deep tails and the origin
		}
		name := fmt.Sprint("n=", n)
		o, oG := make([]float32, n+1), make([]float32, n+1)
		o[n], oG[n] = 7, 7 // past the end: must stay
		geluForwardSpan(o[:n], x)
		geluForwardGo(oG[:n], x)
		closeTo(t, name+" gelu", o, oG, 1e-6, 1e-6)

		g := randn(rng, n, 1)
		d0 := randn(rng, n+1, 1)
		d, dG := slices.Clone(d0), slices.Clone(d0)
		geluBackwardSpan(d[:n], x, g)
		geluBackwardGo(dG[:n], x, g)
		// GELU' = s + 2v·s(1−s)·du sums terms up to |v|·du ≈ 5 for |x| ≤ 9
		// that cancel: allow a few ulps of that, 5e-6 absolute.
		closeTo(t, name+" dgelu", d, dG, 5e-6, 1e-6)

		e, eG := make([]float32, n+1), make([]float32, n+1)
		s := expShiftSpan(e[:n], x, 0.7, 1.5)
		sG := expShiftGo(eG[:n], x, 0.7, 1.5)
		closeTo(t, name+" exp", e, eG, 0, 1e-6)
		closeTo(t, name+" exp sum", []float32{s}, []float32{sG}, 0, 1e-6*float64(max(n, 1)))
		if s2 := expShiftSpan(nil, x, 0.7, 1.5); s2 != s {
			t.Fatalf("%s: sum without store %g, with store %g", name, s2, s)
		}

		b := randn(rng, n, 1)
		closeTo(t, name+" dot", []float32{dotSpan(x, b)}, []float32{dotGo(x, b)}, 1e-5*float64(n), 1e-5)
		sum := slices.Clone(x)
		addSpan(sum, sum, b)
		sumG := make([]float32, n)
		addGo(sumG, x, b)
		if !slices.Equal(sum, sumG) {
			t.Fatalf("%s: add differs", name)
		}
		sc, scG := slices.Clone(x), slices.Clone(x)
		scaleSpan(sc, 0.3)
		scaleGo(scG, 0.3)
		if !slices.Equal(sc, scG) {
			t.Fatalf("%s: scale differs", name)
		}
		p0 := randn(rng, n, 1)
		p, pG := slices.Clone(p0), slices.Clone(p0)
		softmaxBwdSpan(p, x, b, 0.25, 0.5)
		softmaxBwdGo(pG, x, b, 0.25, 0.5)
		closeTo(t, name+" softmax bwd", p, pG, 1e-6, 1e-6)
		if w := n % 17; n > 0 {
			rows := n/17 + 1
			src := randn(rng, rows*19, 1)
			dst, dstG := make([]float32, rows*14+16), make([]float32, rows*14+16)
			packRowsSpan(dst, src, rows, 19, 14, min(w, 14))
			packRowsGo(dstG, src, rows, 19, 14, min(w, 14))
			if !slices.Equal(dst, dstG) {
				t.Fatalf("%s: packRows of %d rows × %d differs", name, rows, min(w, 14))
			}
		}
		if rows, cols := n/3+1, n%7+1; true {
			src := randn(rng, rows*(cols+2), 1)
			dst, dstG := make([]float32, cols*(rows+1)), make([]float32, cols*(rows+1))
			transposeSpan(dst, src, rows, cols, cols+2, rows+1)
			transposeGo(dstG, src, rows, cols, cols+2, rows+1)
			if !slices.Equal(dst, dstG) {
				t.Fatalf("transpose %d×%d differs", rows, cols)
			}
		}
		if n > 0 {
			// The one-call rows do exactly what the span sequences do.
			live := 1 + n/2
			r, rG := randn(rng, n, 3), make([]float32, n)
			copy(rG, r)
			softmaxRowSpan(r, live, 0.3)
			softmaxRowGo(rG, live, 0.3)
			if !slices.Equal(r, rG) {
				t.Fatalf("%s: softmax row (live %d) differs from the span sequence", name, live)
			}
			// Several rows in one call: row r with live+r entries.
			rows := min(n-live+1, 5)
			m, mG := randn(rng, rows*n, 3), make([]float32, rows*n)
			copy(mG, m)
			softmaxRowsSpan(m, live, rows, n, n, 0.3)
			softmaxRowsGo(mG, live, rows, n, n, 0.3)
			if !slices.Equal(m, mG) {
				t.Fatalf("%s: %d softmax rows (live %d..) differ from the span sequence", name, rows, live)
			}
			dp0 := randn(rng, n, 1)
			dp, dpG := slices.Clone(dp0), slices.Clone(dp0)
			softmaxBwdRowSpan(dp, r, b, 0.3)
			softmaxBwdRowGo(dpG, r, b, 0.3)
			if !slices.Equal(dp, dpG) {
				t.Fatalf("%s: softmax backward row differs from the span sequence", name)
			}
			// Several rows in one call, each cleared to a width first.
			width := min(n, live+rows+1)
			brow := randn(rng, rows*n, 1)
			ar, dr := randn(rng, rows*n, 1), randn(rng, rows*n, 1)
			bG := slices.Clone(brow)
			softmaxBwdRowsSpan(brow, ar, dr, live, rows, n, width, 0.3)
			softmaxBwdRowsGo(bG, ar, dr, live, rows, n, width, 0.3)
			if !slices.Equal(brow, bG) {
				t.Fatalf("%s: %d softmax backward rows differ from the span sequence", name, rows)
			}
		}
		if n > 0 {
			x[rng.IntN(n)] = 50
			if got, want := maxSpan(x), maxGo(x); got != want {
				t.Fatalf("%s: max %g, want %g", name, got, want)
			}
		}
	}
}

// TestExpSpanAccuracy sweeps e^x over float32's range against float64
// math.Exp: the same 3e-7 relative bound as the scalar expf, exactly 0
// below the normal range's end (no subnormals), and NaN in, NaN out.
func TestExpSpanAccuracy(t *testing.T) {
	const n = 20001
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-87.3 + (88.7+87.3)*float64(i)/(n-1))
	}
	e := make([]float32, n)
	expShiftSpan(e, x, 1, 0)
	for i, v := range x {
		want := math.Exp(float64(v))
		if d := math.Abs(float64(e[i])-want) / want; d > 3e-7 {
			t.Fatalf("e^%g = %g, want %g (relative error %.2g)", v, e[i], want, d)
		}
	}
	y := []float32{-200, float32(math.NaN()), 0, -87.4, float32(math.Inf(-1))}
	expShiftSpan(y, y, 1, 0)
	if y[0] != 0 || y[1] == y[1] || y[2] != 1 || y[3] != 0 || y[4] != 0 {
		t.Fatalf("e^{-200, NaN, 0, -87.4, -Inf} = %v, want {0, NaN, 1, 0, 0}", y)
	}
}

// TestAdamWSpanFlushesSubnormals checks the AdamW span (the assembly where
// the CPU has it) against adamWGo, bit for bit, on every tail length, with
// values spread over the normal range and down into the subnormals: moments
// decaying towards zero and gradients whose squares underflow, the state of
// a run whose loss has reached ≈ 0. The kernel flushes (MXCSR) where
// adamWGo emulates the flush, so no moment or parameter may come out
// subnormal. Afterwards the goroutine's own float arithmetic must still
// keep subnormals (the kernel restores MXCSR).
func TestAdamWSpanFlushesSubnormals(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 7))
	spread := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			// |x| from 1e-45 (the smallest subnormal) to 1e1, either sign.
			x[i] = float32(math.Pow(10, -45+46*rng.Float64()))
			if rng.IntN(2) == 0 {
				x[i] = -x[i]
			}
		}
		return x
	}
	c := adamConsts{b1: 0.9, omb1: 1 - float32(0.9), b2: 0.98, omb2: 1 - float32(0.98), eps: 1e-8, decay: 1,
		stepSize: 3e-3, bc2sqrt: 0.3}
	subnormals := 0
	for _, n := range vecSizes() {
		p, g, m, v := spread(n), spread(n), spread(n), spread(n)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		for _, x := range [][]float32{p, g, m, v} {
			for _, e := range x {
				if e != 0 && math.Abs(float64(e)) < 0x1p-126 {
					subnormals++
				}
			}
		}
		pG, mG, vG := slices.Clone(p), slices.Clone(m), slices.Clone(v)
		adamWSpan(p, g, m, v, &c)
		adamWGo(pG, g, mG, vG, &c)
		for name, pair := range map[string][2][]float32{"p": {p, pG}, "m": {m, mG}, "v": {v, vG}} {
			if i, d := firstBitDiff(pair[0], pair[1]); i >= 0 {
				t.Fatalf("n=%d %s[%d]: span %g, Go %g (|Δ| %g)", n, name, i, pair[0][i], pair[1][i], d)
			}
			for i, e := range pair[0] {
				if e != 0 && math.Abs(float64(e)) < 0x1p-126 {
					t.Fatalf("n=%d: %s[%d] = %g is subnormal", n, name, i, e)
				}
			}
		}
	}
	if subnormals < 100 {
		t.Fatalf("only %d subnormal inputs: the test does not exercise the flush", subnormals)
	}
	tiny := []float32{0x1p-126}
	if h := tiny[0] * float32(len(tiny)) / 4; h == 0 {
		t.Fatal("a subnormal result after the kernel was flushed: MXCSR was not restored")
	}
}

// firstBitDiff is the first index where a and b differ in their bits and
// the difference there, or −1.
func firstBitDiff(a, b []float32) (int, float64) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, math.Abs(float64(a[i]) - float64(b[i]))
		}
	}
	return -1, 0
}

// TestScaleFlushSpan checks scaleFlushSpan against scaleFlushGo bit for bit
// (the same multiply; the same threshold) on values across the float32
// range, NaN included, and that no product comes out subnormal.
func TestScaleFlushSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 8))
	for _, s := range []float32{1, 1.0 / 512, 3e-5, -0.25} {
		for _, n := range vecSizes() {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(math.Pow(10, -44+44*rng.Float64()))
				if rng.IntN(2) == 0 {
					x[i] = -x[i]
				}
			}
			if n > 3 {
				x[3] = float32(math.NaN())
			}
			y, yG := slices.Clone(x), slices.Clone(x)
			scaleFlushSpan(y, s)
			scaleFlushGo(yG, s, flushThreshold(s))
			if i, d := firstBitDiff(y, yG); i >= 0 {
				t.Fatalf("s=%g n=%d [%d]: span %g, Go %g (|Δ| %g)", s, n, i, y[i], yG[i], d)
			}
			for i, e := range y {
				if e != 0 && math.Abs(float64(e)) < 0x1p-126 {
					t.Fatalf("s=%g n=%d: [%d] = %g is subnormal", s, n, i, e)
				}
				if x[i] == x[i] && e != 0 && e != x[i]*s {
					t.Fatalf("s=%g n=%d: [%d] = %g, want %g·%g", s, n, i, e, x[i], s)
				}
			}
			if n > 3 && y[3] == y[3] {
				t.Fatalf("s=%g: NaN became %g", s, y[3])
			}
		}
	}
}

// TestReLUSpans checks the ReLU spans against their Go loops bit for bit,
// on every tail length, with NaN, ±0 and ±Inf among the inputs.
func TestReLUSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, n := range vecSizes() {
		x := randn(rng, n, 2)
		for i := 0; i < n && i < len(special); i++ {
			x[i*3%n] = special[i]
		}
		o, oG := make([]float32, n+1), make([]float32, n+1)
		o[n], oG[n] = 7, 7 // past the end: must stay
		reluForwardSpan(o[:n], x)
		reluForwardGo(oG[:n], x)
		if i, d := firstBitDiff(o, oG); i >= 0 {
			t.Fatalf("n=%d relu[%d]: span %g, Go %g (|Δ| %g)", n, i, o[i], oG[i], d)
		}
		g := randn(rng, n, 1)
		d0 := randn(rng, n+1, 1)
		d, dG := slices.Clone(d0), slices.Clone(d0)
		reluBackwardSpan(d[:n], x, g)
		reluBackwardGo(dG[:n], x, g)
		if i, dd := firstBitDiff(d, dG); i >= 0 {
			t.Fatalf("n=%d drelu[%d]: span %g, Go %g (|Δ| %g)", n, i, d[i], dG[i], dd)
		}
	}
}

// TestSoftmaxRowBlocksMatchRows holds the block kernels (all rows' folds in
// one shuffle network, one call per 16 rows) to the row-by-row spans bit for
// bit: blocks of 1 to 40 rows (several calls, a partial last one), rows
// shorter and longer than a vector, cleared to several widths, scores
// spanning exp's underflow.
func TestSoftmaxRowBlocksMatchRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 7))
	for _, n := range []int{1, 2, 15, 16, 17, 31, 33, 64, 65, 130} {
		for _, rows := range []int{1, 2, 5, 14, 16, 17, 33, 40} {
			for _, live := range []int{1, 2, 16, 17, 40} {
				if live+rows-1 > n {
					continue
				}
				for _, spread := range []float64{1, 60} {
					name := fmt.Sprintf("n=%d,rows=%d,live=%d,spread=%g", n, rows, live, spread)
					// Rows cleared to the last row's live count, a little
					// beyond it, and to n; what lies beyond must survive.
					for _, width := range []int{live + rows - 1, min(n, live+rows+16), n} {
						m := randn(rng, rows*n, spread)
						mG := slices.Clone(m)
						softmaxRowsSpan(m, live, rows, n, width, 0.3)
						softmaxRowsGo(mG, live, rows, n, width, 0.3)
						if i, d := firstBitDiff(m, mG); i >= 0 {
							t.Fatalf("%s,width=%d: softmax[%d] %g, rows %g (|Δ| %g)", name, width, i, m[i], mG[i], d)
						}
					}
					width := min(n, live+rows+3)
					a, d := randn(rng, rows*n, 1), randn(rng, rows*n, spread)
					dp := randn(rng, rows*n, 1)
					dpG := slices.Clone(dp)
					softmaxBwdRowsSpan(dp, a, d, live, rows, n, width, 0.3)
					softmaxBwdRowsGo(dpG, a, d, live, rows, n, width, 0.3)
					if i, df := firstBitDiff(dp, dpG); i >= 0 {
						t.Fatalf("%s: softmax backward[%d] %g, rows %g (|Δ| %g)", name, i, dp[i], dpG[i], df)
					}
				}
			}
		}
	}
}

// TestTransposeSpan checks the 16×16-block transpose against the plain loop
// on shapes with partial blocks in both directions and padded strides, and
// that nothing outside the destination's rows × cols changes.
func TestTransposeSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 8))
	for _, rows := range []int{1, 5, 15, 16, 17, 33, 64, 100} {
		for _, cols := range []int{1, 7, 15, 16, 17, 32, 40} {
			lds, ldd := cols+3, rows+5
			src := randn(rng, rows*lds, 1)
			dst := randn(rng, cols*ldd+7, 1) // garbage outside must survive
			dstG := slices.Clone(dst)
			transposeSpan(dst, src, rows, cols, lds, ldd)
			transposeGo(dstG, src, rows, cols, lds, ldd)
			if i, _ := firstBitDiff(dst, dstG); i >= 0 {
				t.Fatalf("rows=%d cols=%d: dst[%d] = %g, want %g", rows, cols, i, dst[i], dstG[i])
			}
		}
	}
}
