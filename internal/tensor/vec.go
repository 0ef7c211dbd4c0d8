package tensor

import "math"

// vec.go holds the row and elementwise building blocks of the kernels in
// ops.go ("spans": one contiguous run of floats). On amd64 with AVX-512 they
// run the avo-generated assembly of gen_vec_amd64.s (vec_amd64.go picks
// it); elsewhere, and as the assembly's test oracle, these plain Go loops.
// Each span's result for an element depends only on that element's inputs
// (sums: on the span's length), never on where the caller cut its chunks.

// geluForwardGo sets o = x·σ(2u), u = √(2/π)(x + 0.044715x³).
func geluForwardGo(o, x []float32) {
	o = o[:len(x)]
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		o[i] = v * sigmoid2(u) // ½(1 + tanh u) = σ(2u)
	}
}

// geluBackwardGo accumulates d += g·GELU'(x).
func geluBackwardGo(d, x, g []float32) {
	d, g = d[:len(x)], g[:len(x)]
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		s := sigmoid2(u)
		// GELU = v·s with s = σ(2u): d/dv = s + v·2s(1−s)·du/dv.
		du := float32(geluC) * (1 + 3*0.044715*v*v)
		d[i] += g[i] * (s + 2*v*s*(1-s)*du)
	}
}

// expShiftGo sets dst = e^(src·scale − shift) (dst nil: not stored) and
// returns the float32 sum.
func expShiftGo(dst, src []float32, scale, shift float32) float32 {
	var s0, s1 float32
	j := 0
	for ; j+2 <= len(src); j += 2 {
		e0, e1 := expf(src[j]*scale-shift), expf(src[j+1]*scale-shift)
		if dst != nil {
			dst[j], dst[j+1] = e0, e1
		}
		s0 += e0
		s1 += e1
	}
	if j < len(src) {
		e := expf(src[j]*scale - shift)
		if dst != nil {
			dst[j] = e
		}
		s0 += e
	}
	return s0 + s1
}

// maxGo returns the largest element of x (len(x) ≥ 1).
func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

// scaleGo sets x *= s.
func scaleGo(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// scaleFlushGo sets x = x·s, or +0 where |x| < thr (NaN kept).
func scaleFlushGo(x []float32, s, thr float32) {
	for i, v := range x {
		if float32(math.Abs(float64(v))) < thr {
			x[i] = 0
		} else {
			x[i] = v * s
		}
	}
}

// flushThreshold is the |x| below which x·s would be subnormal: the
// smallest normal float32 over |s| (+Inf for s = 0 flushes everything).
func flushThreshold(s float32) float32 {
	return float32(0x1p-126 / math.Abs(float64(s)))
}

// dotGo returns Σ a·b.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 float32
	j := 0
	for ; j+2 <= len(a); j += 2 {
		s0 += a[j] * b[j]
		s1 += a[j+1] * b[j+1]
	}
	if j < len(a) {
		s0 += a[j] * b[j]
	}
	return s0 + s1
}

// softmaxBwdGo accumulates dp += scale·a·(d − dot).
func softmaxBwdGo(dp, a, d []float32, scale, dot float32) {
	dp, d = dp[:len(a)], d[:len(a)]
	for j := range a {
		dp[j] += scale * a[j] * (d[j] - dot)
	}
}

// addGo sets dst = a + b (dst may alias a or b).
func addGo(dst, a, b []float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	for i := range a {
		dst[i] = a[i] + b[i]
	}
}

// packRowsGo copies k rows of w floats from src (rows lds apart) to dst
// (rows ldd apart).
func packRowsGo(dst, src []float32, k, lds, ldd, w int) {
	for p := 0; p < k; p++ {
		copy(dst[p*ldd:p*ldd+w], src[p*lds:p*lds+w])
	}
}

// geluBackwardSetGo sets d = g·GELU'(x).
func geluBackwardSetGo(d, x, g []float32) {
	clear(d[:len(x)])
	geluBackwardGo(d, x, g)
}

// transposeGo sets dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols.
func transposeGo(dst, src []float32, rows, cols, lds, ldd int) {
	for r := 0; r < rows; r++ {
		for c, x := range src[r*lds : r*lds+cols] {
			dst[c*ldd+r] = x
		}
	}
}

// softmaxRowGo sets row[:live] = softmax(row[:live]·scale) (scale > 0,
// live ≥ 1) and clears row[live:], from the spans above.
func softmaxRowGo(row []float32, live int, scale float32) {
	l := row[:live]
	mx := maxSpan(l) * scale
	s := expShiftSpan(l, l, scale, mx)
	scaleSpan(l, 1/s)
	clear(row[live:])
}

// softmaxRowsGo runs softmaxRowGo on rows consecutive rows n floats apart
// in p, row r with live+r live entries, each row taken to width floats
// (cleared from live+r to width; live+rows−1 ≤ width ≤ n): what lies
// beyond width is left as it is.
func softmaxRowsGo(p []float32, live, rows, n, width int, scale float32) {
	for r := 0; r < rows; r++ {
		softmaxRowGo(p[r*n:r*n+width], live+r, scale)
	}
}

// softmaxBwdRowGo accumulates dp += scale·a·(d − Σ a·d).
func softmaxBwdRowGo(dp, a, d []float32, scale float32) {
	softmaxBwdSpan(dp, a, d, scale, dotSpan(a, d))
}

// softmaxBwdRowsGo sets rows consecutive causal rows of the softmax
// backward, n floats apart in dp, a and d: row r's first live+r entries
// become scale·a·(d − Σ a·d) (accumulated into a cleared row) and the rest
// up to width 0.
func softmaxBwdRowsGo(dp, a, d []float32, live, rows, n, width int, scale float32) {
	for r := 0; r < rows; r++ {
		row := dp[r*n : r*n+width]
		clear(row)
		l := live + r
		softmaxBwdRowGo(row[:l], a[r*n:r*n+l], d[r*n:r*n+l], scale)
	}
}
