package tensor

// PackedB is op(B) packed once for the kernels, for several products
// A·op(B) that share it: a layer's Wᵀ taken by row pieces of its input
// (nn's backward runs c_attn's dX one cache-sized piece at a time), where
// packing an n×k transpose for every piece cost about as much as the
// piece's own FMAs saved. The zero value is empty; Pack fills it, reusing
// its buffer, so a training step packs without allocating.
type PackedB struct {
	transB bool
	n, k   int
	b      []float32 // op(B)'s source, for the plain Go kernel
	ldb    int
	buf    []float32 // the packed panels (blocked kernels)
	isa    *gemmISA  // the kernels buf is packed for (nil: none)
}

// Pack packs op(B) (k, n), op(B) = B or Bᵀ as in Gemm, into p. It keeps a
// reference to b: b must not change while p is in use.
// It packs for the kernels active now, and GemmPackedB runs those.
func (p *PackedB) Pack(transB bool, n, k int, b []float32, ldb int) {
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if n < 0 || k < 0 {
		panic("tensor.PackedB.Pack: negative size")
	}
	if br > 0 && bc > 0 && (ldb < bc || len(b) < (br-1)*ldb+bc) {
		panic("tensor.PackedB.Pack: buffer B too short for its shape")
	}
	p.transB, p.n, p.k, p.b, p.ldb = transB, n, k, b, ldb
	p.isa = activeISA
	if p.isa == nil || n == 0 || k == 0 {
		return
	}
	nPan := (n + p.isa.nr - 1) / p.isa.nr
	need := k * nPan * p.isa.nr
	if cap(p.buf) < need {
		p.buf = make([]float32, need)
	}
	p.buf = p.buf[:need]
	for jp := range nPan {
		packBPanel(p.buf, p.isa, transB, b, ldb, n, k, jp)
	}
}

// GemmPackedB computes C = beta·C + A·op(B) for the op(B) (k, n) that p
// holds, A (m, k) untransposed: the bits of Gemm(false, transB, m, n, k,
// a, lda, B, ldb, beta, c, ldc) for the transB, B and ldb given to Pack
// (the kernels read the same numbers in the same order, packed or not).
func GemmPackedB(m int, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	n, k := p.n, p.k
	checkGemm(false, p.transB, m, n, k, a, lda, p.b, p.ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if isa := p.isa; isa != nil {
		gemmBlockedB(isa, false, p.transB, m, n, k, a, lda, p.b, p.ldb, beta, c, ldc, nil, p.buf)
		return
	}
	gemmGo(false, p.transB, m, n, k, a, lda, p.b, p.ldb, beta, c, ldc)
}
