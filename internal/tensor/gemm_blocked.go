package tensor

import (
	"math/bits"
	"sync"
	"unsafe"
)

// This file holds the cache-blocked GEMM driver around the assembly
// micro-kernels (BLIS loop order, Van Zee & van de Geijn 2015): B is packed
// once into k-blocks of NR-column panels; C is cut into fixed chunks of
// mc×nc; in a chunk, each packed B micro-panel (kc×NR, kept in L1) is swept
// over the chunk's rows in MR-row tiles, A being read in place (its block
// stays in L2). It does not pack A: the kernels take A's row and k strides, so
// op(A) = A and op(A) = Aᵀ need no copy, except for leading dimensions that
// are multiples of 1024 floats, whose rows would alias in the L1 sets; those
// blocks are copied to a buffer with a padded stride.

// microKernel computes C[r, j] (+)= Σ_p a[r·rs + p·ps]·b[p·ldb + j] for one
// tile; see internal/asmgen for the contract.
type microKernel func(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, mask uint64, accum int, bias *float32)

// gemmISA describes one instruction set's kernels and blocking.
type gemmISA struct {
	name   string
	mr, nr int // micro-tile
	kc     int // k-block: B micro-panel kc×nr stays in L1
	mc, nc int // chunk of C handled by one goroutine at a time (multiples of mr, nr)
	// strideB: the kernels mask their B loads, so an unpacked op(B) = B can
	// be read in place.
	strideB bool
	// tile runs one micro-kernel on an mr×nr tile (mr ≤ isa.mr, nr ≤ isa.nr),
	// adding the bias row (nr floats) last when bias is not nil.
	tile func(mr, nr, k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, accum bool, bias *float32)
}

// bufFree recycles packing buffers so steady-state training does not
// allocate: one free list per power-of-two capacity, so a step's mix of
// sizes does not keep discarding buffers that are too small (one shared
// sync.Pool allocated ~20 MB a step at the medium preset). Unlike a
// sync.Pool the lists survive garbage collections; they hold at most what
// the largest step had in use at once.
var bufFree struct {
	sync.Mutex
	lists [48][]*[]float32
}

// bufClass is the list of buffers of capacity 2^bufClass(n) ≥ n.
func bufClass(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

func getBuf(n int) *[]float32 {
	c := bufClass(n)
	bufFree.Lock()
	if l := bufFree.lists[c]; len(l) > 0 {
		p := l[len(l)-1]
		bufFree.lists[c] = l[:len(l)-1]
		bufFree.Unlock()
		*p = (*p)[:n]
		return p
	}
	bufFree.Unlock()
	s := make([]float32, n, 1<<c)
	return &s
}

func putBuf(p *[]float32) {
	c := bufClass(cap(*p))
	bufFree.Lock()
	if bufFree.lists[c] == nil {
		// Room for several buffers in use at once (two micro-batches'
		// products each hold two), so that the list rarely grows.
		bufFree.lists[c] = make([]*[]float32, 0, 16)
	}
	bufFree.lists[c] = append(bufFree.lists[c], p)
	bufFree.Unlock()
}

// packB copies op(B)[k0:k0+kl, j:j+nr] into dst as kl rows of NR floats,
// zero padding columns nr..NR.
func packB(dst []float32, transB bool, b []float32, ldb, k0, kl, j, nr, NR int) {
	dst = dst[:kl*NR]
	if !transB && packB32Fast(NR) && kl > 0 {
		_ = b[(k0+kl-1)*ldb+j+nr-1]
		packB512(&dst[0], &b[k0*ldb+j], kl, ldb, uint32(uint64(1)<<uint(nr)-1))
		return
	}
	if !transB {
		for p := 0; p < kl; p++ {
			row := dst[p*NR : p*NR+NR]
			copy(row, b[(k0+p)*ldb+j:(k0+p)*ldb+j+nr])
			clear(row[nr:])
		}
		return
	}
	if packB32Fast(NR) && kl > 0 {
		// op(B)[p, jj] = b[(j+jj)·ldb + k0 + p]: a transpose, in 16×16
		// blocks through registers (the dX products' Wᵀ; the loop below
		// was 1.3% of the tiny step).
		transposeSpan(dst, b[j*ldb+k0:], nr, kl, ldb, NR)
		if nr < NR {
			for p := 0; p < kl; p++ {
				clear(dst[p*NR+nr : p*NR+NR])
			}
		}
		return
	}
	if nr < NR {
		clear(dst)
	}
	// op(B)[p, jj] = b[(j+jj)·ldb + k0 + p]: four source rows at a time so
	// each destination row segment is written with fewer passes.
	jj := 0
	for ; jj+4 <= nr; jj += 4 {
		s0 := b[(j+jj)*ldb+k0 : (j+jj)*ldb+k0+kl]
		s1 := b[(j+jj+1)*ldb+k0 : (j+jj+1)*ldb+k0+kl]
		s2 := b[(j+jj+2)*ldb+k0 : (j+jj+2)*ldb+k0+kl]
		s3 := b[(j+jj+3)*ldb+k0 : (j+jj+3)*ldb+k0+kl]
		for p := range s0 {
			d := dst[p*NR+jj : p*NR+jj+4 : p*NR+jj+4]
			d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; jj < nr; jj++ {
		s := b[(j+jj)*ldb+k0 : (j+jj)*ldb+k0+kl]
		for p, v := range s {
			dst[p*NR+jj] = v
		}
	}
}

// gemmSerialFlops is the size below which a product runs in its caller's
// goroutine: under about 10 µs of work (2·m·n·k < 2 MFLOP, one attention
// head's product), handing chunks to other goroutines costs more than it
// saves. The chunks are the same either way.
const gemmSerialFlops = 1 << 21

// gemmJob is one gemmBlocked call: its operands, the blocking derived from
// them, and the phase being run in parallel (gemmJob.do). Jobs come from a
// free list, so a call allocates nothing.
type gemmJob struct {
	isa            *gemmISA
	transA, transB bool
	m, n, k        int
	a, b, c, bias  []float32
	lda, ldb, ldc  int
	beta           float32

	packed          bool      // op(B) is packed into bp
	bp, ap          []float32 // packed op(B) and op(A) = Aᵀ panels
	nPan, mPan, nkb int       // NR panels of B, MR panels of A, k-blocks
	mc, nc, nChunks int       // chunk of C and the chunks per row of chunks
	copyA           bool      // A's rows are copied to a padded stride
	packA           bool      // op(A) = Aᵀ is packed into ap
	kb0, kb1        int       // the k-blocks phaseChunks runs, [kb0, kb1)
	apStride        int       // floats from one panel of ap to the next
	phase           gemmPhase // what do runs
	bpBuf, apBuf    *[]float32
}

// gemmPhase is the loop a gemmJob's do runs.
type gemmPhase int

const (
	phasePackB       gemmPhase = iota // do(jp): pack panel jp of op(B), every k-block
	phasePackARows                    // do(i): pack k-steps [i·packARows, …) of k-block kb0 of Aᵀ, row by row
	phasePackAPanels                  // do(ip): pack panel ip of k-block kb0 of Aᵀ (no assembly packer)
	phaseChunks                       // do(ci): compute chunk ci of C
)

var gemmJobs jobList[gemmJob]

// gemmBlocked computes C = beta·C + op(A)·op(B) with isa's kernels. Chunk
// boundaries depend only on m, n and the ISA, and each element of C is
// accumulated by one kernel in k-block order, so the result is bit-identical
// for every thread count.
//
// bias (n floats, or nil) is added to every row of C after the product, in
// the last k-block's store: bit-identical to a separate AddBias.
func gemmBlocked(isa *gemmISA, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) {
	gemmBlockedB(isa, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, bias, nil)
}

// gemmBlockedB is gemmBlocked with op(B) already packed in bp (PackedB's
// layout, that of phasePackB) when bp is not nil.
func gemmBlockedB(isa *gemmISA, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias, bp []float32) {
	if k == 0 { // (GemmBias does not come here with k = 0)
		scaleC(m, n, beta, c, ldc)
		return
	}
	j := gemmJobs.get()
	*j = gemmJob{isa: isa, transA: transA, transB: transB, m: m, n: n, k: k,
		a: a, b: b, c: c, bias: bias, lda: lda, ldb: ldb, ldc: ldc, beta: beta}
	MR, NR, KC := isa.mr, isa.nr, isa.kc
	j.nPan = (n + NR - 1) / NR
	j.mPan = (m + MR - 1) / MR
	j.nkb = (k + KC - 1) / KC
	// Small products run their chunks in the caller (gemmSerialFlops).
	par := parallel
	if 2*m*n*k < gemmSerialFlops {
		par = serial
	}

	// Packing B costs about one cycle per element and is repaid by reuse over
	// m/MR row tiles; with few rows (the weight gradients Xᵀ·dY, m = d) an
	// untransposed B is read in place instead (measured faster even for
	// ldb = 1024, whose rows alias in L1: the panel is re-read from L2).
	j.packed = transB || !isa.strideB || m > 256 || bp != nil
	if bp != nil {
		j.bp = bp
	} else if j.packed {
		// All of op(B), in packBPanel's layout.
		j.bpBuf = getBuf(k * j.nPan * NR)
		j.bp = *j.bpBuf
		j.phase = phasePackB
		par(j.nPan, j)
	}

	// op(A) = Aᵀ: each k-step of a tile touches a new cache line lda
	// apart. Beyond 128 floats (512 bytes) apart it is packed into MR-row
	// panels, one contiguous run of MR floats per k-step; kernels read it
	// with rs = 1, ps = MR. Closer rows are read in place (rs = 1, ps =
	// lda): the weight gradients of models with d ≤ 128 measured 5–20%
	// faster so (AMD Zen 4, best single calls), and the packing pass was
	// 3–5% of such a model's step.
	j.packA = transA && lda > gemmPackALda
	// Rows of A whose stride is a multiple of 4 KiB all map to one L1
	// set. At 2 KiB (the small preset's F = V = 512: mlp.c_proj's forward,
	// the backward's dpre·W_fcᵀ and dlogits·wte) they span two sets and
	// are read in place: copying them (read cold, written, read again)
	// cost more than the aliasing, and the small step ran 1.4–1.9 %
	// faster (medians of three interleaved series) without the copy.
	j.copyA = !transA && lda%1024 == 0

	j.mc, j.nc = chunkSizes(isa, m, n)
	nChunks := ((m + j.mc - 1) / j.mc) * ((n + j.nc - 1) / j.nc)
	j.nChunks = (n + j.nc - 1) / j.nc
	if !j.packA {
		j.kb0, j.kb1 = 0, j.nkb
		j.phase = phaseChunks
		par(nChunks, j)
	} else {
		// One k-block at a time: pack it, then run every chunk's part of
		// it (each element of C still sums its k-blocks in order). Its
		// panels (at most kc·m floats) stay in L2 between their packing
		// and their use. Panel ip starts at ip·apStride, one cache line
		// past the panel before's end: at a stride of kl·MR floats (14
		// KiB for kl = 256) the packer's mPan write streams fell into two
		// L1 sets and evicted each other's lines (packing 256 k-steps of
		// 256 floats: 14 GB/s, 49 with the line of padding).
		j.apBuf = getBuf(j.mPan * (min(KC, k)*MR + 16))
		j.ap = *j.apBuf
		for kb := 0; kb < j.nkb; kb++ {
			kl := min(KC, k-kb*KC)
			j.kb0, j.kb1, j.apStride = kb, kb+1, kl*MR+16
			if packPanelsFast(MR) {
				// Row by row, each row of A read once and scattered over
				// the panels (reading panel by panel streams A mPan times).
				j.phase = phasePackARows
				par((kl+packARows-1)/packARows, j)
			} else {
				j.phase = phasePackAPanels
				par(j.mPan, j)
			}
			j.phase = phaseChunks
			par(nChunks, j)
		}
	}

	if j.bpBuf != nil {
		putBuf(j.bpBuf)
	}
	if j.apBuf != nil {
		putBuf(j.apBuf)
	}
	*j = gemmJob{}
	gemmJobs.put(j)
}

// serial runs t's chunks in order in the calling goroutine.
func serial(n int, t task) {
	for i := 0; i < n; i++ {
		t.do(i)
	}
}

func (j *gemmJob) do(i int) {
	switch j.phase {
	case phasePackB:
		j.packBPanel(i)
	case phasePackARows:
		MR, KC := j.isa.mr, j.isa.kc
		k0 := j.kb0 * KC
		kl := min(KC, j.k-k0)
		r0 := i * packARows
		r1 := min(r0+packARows, kl)
		packPanelsSpan(j.ap[r0*MR:], j.a[(k0+r0)*j.lda:], r1-r0, j.lda, j.m, j.apStride)
	case phasePackAPanels:
		MR, KC := j.isa.mr, j.isa.kc
		k0 := j.kb0 * KC
		kl := min(KC, j.k-k0)
		r := i * MR
		packRowsSpan(j.ap[i*j.apStride:i*j.apStride+kl*MR], j.a[k0*j.lda+r:], kl, j.lda, MR, min(MR, j.m-r))
	case phaseChunks:
		j.chunk(i)
	}
}

// packBPanel packs panel jp of op(B) for every k-block.
func (j *gemmJob) packBPanel(jp int) {
	packBPanel(j.bp, j.isa, j.transB, j.b, j.ldb, j.n, j.k, jp)
}

// packBPanel packs panel jp of op(B) (k, n) for every k-block into bp,
// the layout of all of op(B) that the chunks read: k-block kb starts at
// k0·nPan·NR, and within it panel jp (kl × NR) at jp·kl·NR.
func packBPanel(bp []float32, isa *gemmISA, transB bool, b []float32, ldb, n, k, jp int) {
	NR, KC := isa.nr, isa.kc
	nPan := (n + NR - 1) / NR
	c := jp * NR
	nr := min(NR, n-c)
	for k0 := 0; k0 < k; k0 += KC {
		kl := min(KC, k-k0)
		off := k0*nPan*NR + jp*kl*NR
		packB(bp[off:off+kl*NR], transB, b, ldb, k0, kl, c, nr, NR)
	}
}

// chunk computes chunk ci of C (its rows × its columns, every k-block).
func (j *gemmJob) chunk(ci int) {
	isa, a, b, c := j.isa, j.a, j.b, j.c
	MR, NR, KC := isa.mr, isa.nr, isa.kc
	m, n, k, lda, ldb, ldc := j.m, j.n, j.k, j.lda, j.ldb, j.ldc
	i0 := (ci / j.nChunks) * j.mc
	i1 := min(i0+j.mc, m)
	j0 := (ci % j.nChunks) * j.nc
	j1 := min(j0+j.nc, n)
	if beta := j.beta; beta != 0 && beta != 1 && j.kb0 == 0 {
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			for jj := range row {
				row[jj] *= beta
			}
		}
	}
	rs, ps := lda, 1
	if j.transA {
		rs, ps = 1, lda
	}
	// An untransposed B read in place whose rows are a multiple of 4 KiB
	// apart (all in one L1 set) is copied per k-block and panel into a
	// contiguous kl×NR buffer when the chunk has several row tiles to
	// reuse it: medium's fc1.dW (ldb = 1024) 57 → 84 GFLOP/s side by
	// side; at 2 KiB strides (small) it measured no better.
	var cbuf *[]float32
	if !j.packed && ldb%1024 == 0 && i1-i0 > MR {
		cbuf = getBuf(KC * NR)
		defer putBuf(cbuf)
	}
	var abuf *[]float32
	if j.copyA {
		abuf = getBuf((i1 - i0 + MR) * (KC + 16))
		defer putBuf(abuf)
	}
	for kb := j.kb0; kb < j.kb1; kb++ {
		k0 := kb * KC
		kl := min(KC, k-k0)
		accum := kb > 0 || j.beta != 0
		aBlk, ars, aps := a[i0*rs+k0*ps:], rs, ps
		if j.copyA {
			ld := kl + 16
			buf := *abuf
			for i := i0; i < i1; i++ {
				copy(buf[(i-i0)*ld:(i-i0)*ld+kl], a[i*lda+k0:i*lda+k0+kl])
			}
			aBlk, ars, aps = buf, ld, 1
		} else if j.packA {
			aBlk, ars, aps = j.ap, 1, MR
		}
		for jp := j0 / NR; jp*NR < j1; jp++ {
			col := jp * NR
			nr := min(NR, n-col)
			var bpan *float32
			bld := NR
			if j.packed {
				bpan = &j.bp[k0*j.nPan*NR+jp*kl*NR]
			} else if cbuf != nil {
				packB((*cbuf)[:kl*NR], false, b, ldb, k0, kl, col, nr, NR)
				bpan = &(*cbuf)[0]
			} else {
				bpan, bld = &b[k0*ldb+col], ldb
			}
			var bj *float32
			if j.bias != nil && kb == j.nkb-1 {
				bj = &j.bias[col]
			}
			for i := i0; i < i1; i += MR {
				mr := min(MR, i1-i)
				// The first k-block is the first to touch the tile's C lines
				// (later ones find them in cache: a chunk's C is at most
				// mc·nc floats); asking for the next tile's lines now lets
				// their misses overlap this tile's FMAs instead of stalling
				// its stores. It pays where C is large and k small: the tiny
				// step's k = 64 products write activations no cache holds,
				// and ran at ~60 GFLOP/s there against ~100 with C in L2
				// (docs/benchmarks.md). Prefetching changes no value.
				if kb == 0 {
					if i == i0 {
						prefetchRowsSpan(c[i*ldc+col:], mr, ldc, nr)
					}
					if i+MR < i1 {
						prefetchRowsSpan(c[(i+MR)*ldc+col:], min(MR, i1-i-MR), ldc, nr)
					}
				}
				aoff := (i - i0) * ars
				if j.packA {
					aoff = i / MR * j.apStride
				}
				isa.tile(mr, nr, kl, &aBlk[aoff], ars, aps, bpan, bld, &c[i*ldc+col], ldc, accum, bj)
			}
		}
	}
}

// chunkSizes picks the chunk of C one goroutine computes at a time: isa's
// cache-sized mc×nc, halved (down to one tile) until there are at least 8
// chunks, so two threads stay busy on small or thin products. It depends on
// the shape only, never on the thread count.
func chunkSizes(isa *gemmISA, m, n int) (mc, nc int) {
	mc, nc = isa.mc, isa.nc
	chunks := func() int { return ((m + mc - 1) / mc) * ((n + nc - 1) / nc) }
	for chunks() < 8 && (mc > isa.mr || nc > isa.nr) {
		if nc > isa.nr && (nc >= n || mc <= isa.mr || (n+nc-1)/nc <= (m+mc-1)/mc) {
			nc = max(isa.nr, (nc/2+isa.nr-1)/isa.nr*isa.nr)
		} else {
			mc = max(isa.mr, (mc/2+isa.mr-1)/isa.mr*isa.mr)
		}
	}
	return mc, nc
}

// scaleC sets C = beta·C (beta 0 clears, so NaNs in C do not survive).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// tileViaTemp runs a full-width kernel into a temporary and merges the nr
// valid columns into C: used by kernels that cannot mask column edges.
func tileViaTemp(kern microKernel, NR, mr, nr, k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, accum bool, bias *float32) {
	var tmp [16 * 16]float32
	kern(k, a, rs, ps, b, ldb, &tmp[0], NR, 0, 0, nil)
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	var bs []float32
	if bias != nil {
		bs = unsafe.Slice(bias, nr)
	}
	for r := 0; r < mr; r++ {
		row := cs[r*ldc : r*ldc+nr]
		t := tmp[r*NR : r*NR+nr]
		if accum {
			for j := range row {
				row[j] += t[j]
			}
		} else {
			copy(row, t)
		}
		for j, b := range bs { // after C, as the kernels
			row[j] += b
		}
	}
}

// Scratch returns a buffer of n floats with undefined contents from the
// kernels' free lists (see bufFree); Release gives it back. Model code uses
// them for temporaries that each goroutine of a parallel loop needs for a
// moment, so that a steady-state step allocates nothing.
func Scratch(n int) *[]float32 { return getBuf(n) }

// Release returns a buffer obtained from Scratch.
func Release(p *[]float32) { putBuf(p) }

// packARows is the k-steps of one packing task of Aᵀ (phasePackARows):
// a k-block is packed in a few parallel pieces.
const packARows = 64

// gemmPackALda is the row stride of A above which op(A) = Aᵀ is packed.
const gemmPackALda = 128
