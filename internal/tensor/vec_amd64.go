//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// useVec512 selects the AVX-512 spans of gen_vec_amd64.s (avo lists
// AVX512F and AVX512DQ for them, and BMI2's BZHI for the tail masks).
var useVec512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasBMI2

func geluForwardSpan(o, x []float32) {
	if useVec512 && len(x) > 0 {
		_ = o[len(x)-1]
		geluFwd512(&o[0], &x[0], len(x))
		return
	}
	geluForwardGo(o, x)
}

func geluBackwardSpan(d, x, g []float32) {
	if useVec512 && len(x) > 0 {
		_, _ = d[len(x)-1], g[len(x)-1]
		geluBwd512(&d[0], &x[0], &g[0], len(x))
		return
	}
	geluBackwardGo(d, x, g)
}

func expShiftSpan(dst, src []float32, scale, shift float32) float32 {
	if useVec512 && len(src) > 0 {
		if dst == nil {
			return expShiftSum512(&src[0], len(src), scale, shift)
		}
		_ = dst[len(src)-1]
		return expShift512(&dst[0], &src[0], len(src), scale, shift)
	}
	return expShiftGo(dst, src, scale, shift)
}

func maxSpan(x []float32) float32 {
	if useVec512 {
		_ = x[0]
		return max512(&x[0], len(x))
	}
	return maxGo(x)
}

func scaleSpan(x []float32, s float32) {
	if useVec512 && len(x) > 0 {
		scale512(&x[0], len(x), s)
		return
	}
	scaleGo(x, s)
}

// scaleFlushSpan sets x = x·s, flushing the products that would be subnormal
// to +0 (scaleFlushGo).
func scaleFlushSpan(x []float32, s float32) {
	if useVec512 && len(x) > 0 {
		scaleFlush512(&x[0], len(x), s, flushThreshold(s))
		return
	}
	scaleFlushGo(x, s, flushThreshold(s))
}

func dotSpan(a, b []float32) float32 {
	if useVec512 && len(a) > 0 {
		_ = b[len(a)-1]
		return dot512(&a[0], &b[0], len(a))
	}
	return dotGo(a, b)
}

func softmaxBwdSpan(dp, a, d []float32, scale, dot float32) {
	if useVec512 && len(a) > 0 {
		_, _ = dp[len(a)-1], d[len(a)-1]
		softmaxBwd512(&dp[0], &a[0], &d[0], len(a), scale, dot)
		return
	}
	softmaxBwdGo(dp, a, d, scale, dot)
}

func addSpan(dst, a, b []float32) {
	if useVec512 && len(a) > 0 {
		_, _ = dst[len(a)-1], b[len(a)-1]
		add512(&dst[0], &a[0], &b[0], len(a))
		return
	}
	addGo(dst, a, b)
}

// packRowsSpan is packRowsGo; with AVX-512 one masked move per row (w ≤ 16)
// replaces a memmove call per row.
func packRowsSpan(dst, src []float32, k, lds, ldd, w int) {
	if useVec512 && k > 0 && w > 0 && w <= 16 {
		_, _ = dst[(k-1)*ldd+w-1], src[(k-1)*lds+w-1]
		packRows512(&dst[0], &src[0], k, lds, ldd, uint16(1)<<uint(w)-1)
		return
	}
	packRowsGo(dst, src, k, lds, ldd, w)
}

// lnFwdRows512 is LayerNormForward's affine case for rows [r0, r1) on
// AVX-512 (float32 16-lane sums instead of float64: the two-pass variance
// keeps |mean| ≫ std harmless, and TestLayerNormMatchesReference holds it
// to the float64 reference).
func lnFwdRows512(out, mean, rstd, x, gamma, beta []float32, r0, r1, n int, eps float32) bool {
	if !useVec512 || gamma == nil || n == 0 {
		return false
	}
	gamma, beta = gamma[:n], beta[:n]
	for r := r0; r < r1; r++ {
		o, xr := out[r*n:r*n+n], x[r*n:r*n+n]
		mean[r], rstd[r] = lnFwdRow512(&o[0], &xr[0], &gamma[0], &beta[0], n, float32(n), eps)
	}
	return true
}

// lnBwdRows512 is LayerNormBackward's affine case for rows [r0, r1),
// accumulating dgamma and dbeta into dg, db.
func lnBwdRows512(dx, dg, db, dout, x, gamma, mean, rstd []float32, r0, r1, n int) bool {
	if !useVec512 || gamma == nil || n == 0 {
		return false
	}
	gamma, dg, db = gamma[:n], dg[:n], db[:n]
	for r := r0; r < r1; r++ {
		d, xr, dd := dx[r*n:r*n+n], x[r*n:r*n+n], dout[r*n:r*n+n]
		lnBwdRow512(&d[0], &dg[0], &db[0], &dd[0], &xr[0], &gamma[0], n, float32(n), mean[r], rstd[r])
	}
	return true
}

// packPanelsFast reports whether packPanelsSpan has an assembly kernel for
// panels of MR rows.
func packPanelsFast(MR int) bool { return useVec512 && MR == 14 }

// packPanelsSpan packs op(A) = Aᵀ for rows = kl k-steps of the m columns of
// src (rows lds apart) into 14-column panels, panel ip at dst[ip·pstride:],
// 14 floats per k-step (packPanelsFast must hold).
func packPanelsSpan(dst, src []float32, rows, lds, m, pstride int) {
	if rows == 0 || m == 0 {
		return
	}
	panels := (m + 13) / 14
	_, _ = dst[(panels-1)*pstride+14*rows-1], src[(rows-1)*lds+m-1]
	packPanels512(&dst[0], &src[0], rows, lds, panels, pstride, uint16(1)<<uint(m-14*(panels-1))-1)
}

func geluBackwardSetSpan(d, x, g []float32) {
	if useVec512 && len(x) > 0 {
		_, _ = d[len(x)-1], g[len(x)-1]
		geluBwdSet512(&d[0], &x[0], &g[0], len(x))
		return
	}
	geluBackwardSetGo(d, x, g)
}

func transposeSpan(dst, src []float32, rows, cols, lds, ldd int) {
	if useVec512 && rows > 0 && cols > 0 {
		_, _ = dst[(cols-1)*ldd+rows-1], src[(rows-1)*lds+cols-1]
		transpose512(&dst[0], &src[0], rows, cols, lds, ldd)
		return
	}
	transposeGo(dst, src, rows, cols, lds, ldd)
}

// packB32Fast reports whether packB has an assembly kernel for NR columns.
func packB32Fast(NR int) bool { return useVec512 && NR == 32 }

// softmaxRowSpan is softmaxRowGo in one assembly call (the same operations).
func softmaxRowSpan(row []float32, live int, scale float32) {
	if useVec512 && live >= 1 && live <= len(row) {
		softmaxRow512(&row[0], live, 1, len(row), scale)
		return
	}
	softmaxRowGo(row, live, scale)
}

// softmaxRowsSpan is softmaxRowsGo, one assembly call per 16 rows (the
// same bits).
func softmaxRowsSpan(p []float32, live, rows, n, width int, scale float32) {
	if useVec512 && rows > 0 && live >= 1 && live+rows-1 <= width && width <= n {
		_ = p[(rows-1)*n+width-1]
		for r := 0; r < rows; r += 16 {
			softmaxRows512(&p[r*n], live+r, min(16, rows-r), n, width, scale)
		}
		return
	}
	softmaxRowsGo(p, live, rows, n, width, scale)
}

// softmaxBwdRowSpan is softmaxBwdRowGo (its spans are the assembly's).
func softmaxBwdRowSpan(dp, a, d []float32, scale float32) { softmaxBwdRowGo(dp, a, d, scale) }

// softmaxBwdRowsSpan is softmaxBwdRowsGo, one assembly call per 16 rows
// (the same bits).
func softmaxBwdRowsSpan(dp, a, d []float32, live, rows, n, width int, scale float32) {
	if useVec512 && rows > 0 && live >= 1 && live+rows-1 <= width && width <= n {
		last := (rows-1)*n + width - 1
		_, _, _ = dp[last], a[(rows-1)*n+live+rows-2], d[(rows-1)*n+live+rows-2]
		for r := 0; r < rows; r += 16 {
			o := r * n
			softmaxBwdRows512(&dp[o], &a[o], &d[o], live+r, min(16, rows-r), n, width, scale)
		}
		return
	}
	softmaxBwdRowsGo(dp, a, d, live, rows, n, width, scale)
}

func adamWSpan(p, g, m, v []float32, c *adamConsts) {
	if useVec512 && len(p) > 0 {
		_, _, _ = g[len(p)-1], m[len(p)-1], v[len(p)-1]
		adamW512(&p[0], &g[0], &m[0], &v[0], len(p), &c.b1)
		return
	}
	adamWGo(p, g, m, v, c)
}

func reluForwardSpan(out, x []float32) {
	if useVec512 && len(x) > 0 {
		_ = out[len(x)-1]
		reluFwd512(&out[0], &x[0], len(x))
		return
	}
	reluForwardGo(out, x)
}

func reluBackwardSpan(dx, x, dout []float32) {
	if useVec512 && len(x) > 0 {
		_, _ = dx[len(x)-1], dout[len(x)-1]
		reluBwd512(&dx[0], &x[0], &dout[0], len(x))
		return
	}
	reluBackwardGo(dx, x, dout)
}

// prefetchSpan asks for the cache lines of x ahead of their use.
func prefetchSpan(x []float32) {
	if useVec512 && len(x) > 0 {
		prefetch512(&x[0], len(x))
	}
}

// prefetchRowsSpan asks for the cache lines of rows rows of n floats, ld
// apart from x[0], to be brought into L2.
func prefetchRowsSpan(x []float32, rows, ld, n int) {
	if useVec512 && rows > 0 && n > 0 {
		_ = x[(rows-1)*ld+n-1]
		prefetchRows512(&x[0], rows, ld, n)
	}
}
