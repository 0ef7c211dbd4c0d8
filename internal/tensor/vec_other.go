//go:build !amd64 || purego

package tensor

// Without the assembly the spans are the plain Go loops of vec.go.

const useVec512 = false

func geluForwardSpan(o, x []float32)     { geluForwardGo(o, x) }
func geluBackwardSpan(d, x, g []float32) { geluBackwardGo(d, x, g) }
func expShiftSpan(dst, src []float32, scale, shift float32) float32 {
	return expShiftGo(dst, src, scale, shift)
}
func maxSpan(x []float32) float32      { return maxGo(x) }
func scaleSpan(x []float32, s float32) { scaleGo(x, s) }
func scaleFlushSpan(x []float32, s float32) {
	scaleFlushGo(x, s, flushThreshold(s))
}
func dotSpan(a, b []float32) float32 { return dotGo(a, b) }
func addSpan(dst, a, b []float32)    { addGo(dst, a, b) }
func softmaxBwdSpan(dp, a, d []float32, scale, dot float32) {
	softmaxBwdGo(dp, a, d, scale, dot)
}

func packRowsSpan(dst, src []float32, k, lds, ldd, w int) { packRowsGo(dst, src, k, lds, ldd, w) }

func lnFwdRows512(out, mean, rstd, x, gamma, beta []float32, r0, r1, n int, eps float32) bool {
	return false
}

func lnBwdRows512(dx, dg, db, dout, x, gamma, mean, rstd []float32, r0, r1, n int) bool {
	return false
}

func packPanelsFast(MR int) bool { return false }

func packPanelsSpan(dst, src []float32, rows, lds, m, pstride int) {
	panic("tensor: packPanelsSpan without assembly")
}

func geluBackwardSetSpan(d, x, g []float32) { geluBackwardSetGo(d, x, g) }

func transposeSpan(dst, src []float32, rows, cols, lds, ldd int) {
	transposeGo(dst, src, rows, cols, lds, ldd)
}

func packB32Fast(NR int) bool { return false }

func packB512(dst, src *float32, rows, lds int, mask uint32) {
	panic("tensor: packB512 without assembly")
}

func softmaxRowSpan(row []float32, live int, scale float32) { softmaxRowGo(row, live, scale) }
func softmaxRowsSpan(p []float32, live, rows, n, width int, scale float32) {
	softmaxRowsGo(p, live, rows, n, width, scale)
}

func softmaxBwdRowSpan(dp, a, d []float32, scale float32) { softmaxBwdRowGo(dp, a, d, scale) }
func softmaxBwdRowsSpan(dp, a, d []float32, live, rows, n, width int, scale float32) {
	softmaxBwdRowsGo(dp, a, d, live, rows, n, width, scale)
}

func adamWSpan(p, g, m, v []float32, c *adamConsts) { adamWGo(p, g, m, v, c) }

func reluForwardSpan(out, x []float32)       { reluForwardGo(out, x) }
func reluBackwardSpan(dx, x, dout []float32) { reluBackwardGo(dx, x, dout) }

func prefetchSpan(x []float32) {}

func prefetchRowsSpan(x []float32, rows, ld, n int) {}
