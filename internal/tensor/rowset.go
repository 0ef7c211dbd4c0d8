package tensor

// RowSet names the rows of a full (Full, ·) matrix that a compacted matrix
// holds: compacted row i is full row Idx[i], Idx ascending. It lets a model
// run row-wise work on only the rows it needs (the rows whose target is not
// ignored) while its reductions over rows keep the full matrix's bits.
//
// The kernels that sum over rows (the weight-gradient product, LayerNorm's
// gain and bias gradients, the cross-entropy's loss sum) sum in fixed
// chunks of rows (k-blocks, row chunks) whose partial sums are then added
// in order. Their …Rows variants add the compacted rows in the chunks of
// the full matrix, so the result is bit for bit that of the full kernel on
// a matrix whose rows outside the set are zero (or ignored): every term of
// a zero row is ±0, and adding ±0 leaves a sum that started at +0 exactly
// as it was (x + ±0 = x for x ≠ 0, and +0 + ±0 = +0; only −0 + −0 is −0,
// and a sum that starts at +0 never becomes −0). Kernels whose rows are
// independent (a product's rows, LayerNorm's forward, elementwise ones)
// need no variant: a row's arithmetic does not depend on where it is.
type RowSet struct {
	Idx  []int32 // the full rows held, ascending
	Full int     // rows of the full matrix
}

// span returns the compacted rows [i0, i1) whose full rows lie in
// [r0, r1); a nil set is the identity.
func (s *RowSet) span(r0, r1 int) (i0, i1 int) {
	if s == nil {
		return r0, r1
	}
	return s.lowerBound(r0), s.lowerBound(r1)
}

// lowerBound is the first i with Idx[i] ≥ r (len(Idx) if none).
func (s *RowSet) lowerBound(r int) int {
	lo, hi := 0, len(s.Idx)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int(s.Idx[mid]) < r {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// GemmTNRows computes C += Aᵀ·B (C (m, n)) where A (k, m) and B (k, n) hold
// the compacted rows of set (k = len(set.Idx)): bit for bit
// Gemm(true, false, m, n, set.Full, Afull, lda, Bfull, ldb, 1, C, ldc) for
// full matrices whose rows outside set are zero in B (see RowSet). The
// blocked kernels sum each element of C over k in k-blocks of KC rows,
// each block from +0 and added to C in order, so the compacted rows run
// one full k-block at a time; the plain Go kernel adds every product to C
// in k order, so any split gives its bits.
func GemmTNRows(m, n int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, set *RowSet) {
	k := len(set.Idx)
	checkGemm(true, false, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 || k == 0 {
		return
	}
	isa := activeISA
	if isa == nil {
		gemmGo(true, false, m, n, k, a, lda, b, ldb, 1, c, ldc)
		return
	}
	for r0 := 0; r0 < set.Full; r0 += isa.kc {
		i0, i1 := set.span(r0, r0+isa.kc)
		if i0 == i1 {
			continue // the full product adds a block sum of +0 here
		}
		gemmBlocked(isa, true, false, m, n, i1-i0, a[i0*lda:], lda, b[i0*ldb:], ldb, 1, c, ldc, nil)
	}
}

// GemmKBlock is the k-block of the active Gemm kernels: Gemm(true, false,
// m, n, k, …, beta 1) sums each element of C over k in blocks of this many
// rows of A and B, each block from +0 and added to C in order (the plain
// Go kernel adds every product in k order: 1). So calls over consecutive
// row ranges of A and B that start at multiples of GemmKBlock, each with
// beta 1, give the bits of one call over all rows: a caller may compute a
// weight gradient piece by piece while its rows are still in cache.
func GemmKBlock() int {
	if isa := activeISA; isa != nil {
		return isa.kc
	}
	return 1
}

// ExpandRows moves the compacted rows of set, held in the first
// len(set.Idx) rows of buf (rows of n floats), in place to their full
// positions and sets every other row of buf[:set.Full·n] to zero.
func ExpandRows(buf []float32, set *RowSet, n int) {
	buf = buf[:set.Full*n]
	next := set.Full // rows [next, Full) are final
	for i := len(set.Idx) - 1; i >= 0; i-- {
		r := int(set.Idx[i]) // r ≥ i: moving down never overwrites a row not yet moved
		clear(buf[(r+1)*n : next*n])
		if r != i {
			copy(buf[r*n:(r+1)*n], buf[i*n:(i+1)*n])
		}
		next = r
	}
	clear(buf[:next*n])
}

// GatherRows copies the rows of set from full (set.Full rows of n floats)
// into the first len(set.Idx) rows of dst; dst may be full itself.
func GatherRows(dst, full []float32, set *RowSet, n int) {
	for i, r := range set.Idx { // r ≥ i: in place, row r is read before it is written
		copy(dst[i*n:(i+1)*n], full[int(r)*n:(int(r)+1)*n])
	}
}
