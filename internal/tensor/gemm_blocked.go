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
// are multiples of 512 floats, whose rows would alias in the L1 sets; those
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

// gemmBlocked computes C = beta·C + op(A)·op(B) with isa's kernels. Chunk
// boundaries depend only on m, n and the ISA, and each element of C is
// accumulated by one kernel in k-block order, so the result is bit-identical
// for every thread count.
//
// bias (n floats, or nil) is added to every row of C after the product, in
// the last k-block's store: bit-identical to a separate AddBias.
func gemmBlocked(isa *gemmISA, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) {
	if k == 0 { // (GemmBias does not come here with k = 0)
		scaleC(m, n, beta, c, ldc)
		return
	}
	MR, NR, KC := isa.mr, isa.nr, isa.kc
	nPan := (n + NR - 1) / NR
	nkb := (k + KC - 1) / KC

	// Packing B costs about one cycle per element and is repaid by reuse over
	// m/MR row tiles; with few rows (the weight gradients Xᵀ·dY, m = d) an
	// untransposed B is read in place instead (measured faster even for
	// ldb = 1024, whose rows alias in L1: the panel is re-read from L2).
	packed := transB || !isa.strideB || m > 256
	var bp []float32
	if packed {
		// All of op(B): k-block kb starts at k0·nPan·NR; within it, panel jp
		// (kl×NR) at jp·kl·NR.
		bpp := getBuf(k * nPan * NR)
		defer putBuf(bpp)
		bp = *bpp
	}
	packPanel := func(jp int) {
		if !packed {
			return
		}
		j := jp * NR
		nr := min(NR, n-j)
		for kb := 0; kb < nkb; kb++ {
			k0 := kb * KC
			kl := min(KC, k-k0)
			off := k0*nPan*NR + jp*kl*NR
			packB(bp[off:off+kl*NR], transB, b, ldb, k0, kl, j, nr, NR)
		}
	}
	if 2*m*n*k < 1<<21 {
		serialFor(nPan, packPanel)
	} else {
		ParallelFor(nPan, packPanel)
	}

	rs, ps := lda, 1
	if transA {
		rs, ps = 1, lda
	}
	// op(A) = Aᵀ: each k-step of a tile would touch a new cache line lda
	// apart, so all of it is packed once (shared by every chunk) into MR-row
	// panels, one contiguous run of MR floats per k-step: k-block kb starts
	// at k0·mPan·MR, panel ip (kl×MR) at ip·kl·MR; kernels read it with
	// rs = 1, ps = MR.
	mPan := (m + MR - 1) / MR
	var ap []float32
	if transA {
		app := getBuf(k * mPan * MR)
		defer putBuf(app)
		ap = *app
		if packPanelsFast(MR) {
			// Row by row, each row of A read once and scattered over the
			// panels (reading panel by panel streams A mPan times).
			pk := func(kb int) {
				k0 := kb * KC
				kl := min(KC, k-k0)
				packPanelsSpan(ap[k0*mPan*MR:(k0+kl)*mPan*MR], a[k0*lda:], kl, lda, m, kl*MR)
			}
			if 2*m*n*k < 1<<21 {
				serialFor(nkb, pk)
			} else {
				ParallelFor(nkb, pk)
			}
		} else {
			ParallelFor(mPan, func(ip int) {
				i := ip * MR
				mr := min(MR, m-i)
				for kb := 0; kb < nkb; kb++ {
					k0 := kb * KC
					kl := min(KC, k-k0)
					panel := ap[k0*mPan*MR+ip*kl*MR : k0*mPan*MR+(ip+1)*kl*MR]
					packRowsSpan(panel, a[k0*lda+i:], kl, lda, MR, mr)
				}
			})
		}
	}
	// Rows of A whose stride is a multiple of 2 KiB map to few L1 sets.
	copyA := !transA && lda%512 == 0

	mc, nc := chunkSizes(isa, m, n)
	mChunks := (m + mc - 1) / mc
	nChunks := (n + nc - 1) / nc
	// Below about 10 µs of work, starting goroutines costs more than it
	// saves (one attention head's product): run the same chunks serially.
	par := ParallelFor
	if 2*m*n*k < 1<<21 {
		par = serialFor
	}
	par(mChunks*nChunks, func(ci int) {
		i0 := (ci / nChunks) * mc
		i1 := min(i0+mc, m)
		j0 := (ci % nChunks) * nc
		j1 := min(j0+nc, n)
		if beta != 0 && beta != 1 {
			for i := i0; i < i1; i++ {
				row := c[i*ldc+j0 : i*ldc+j1]
				for j := range row {
					row[j] *= beta
				}
			}
		}
		// An untransposed B read in place whose rows are a multiple of 4 KiB
		// apart (all in one L1 set) is copied per k-block and panel into a
		// contiguous kl×NR buffer when the chunk has several row tiles to
		// reuse it: medium's fc1.dW (ldb = 1024) 57 → 84 GFLOP/s side by
		// side; at 2 KiB strides (small) it measured no better.
		var cbuf *[]float32
		if !packed && ldb%1024 == 0 && i1-i0 > MR {
			cbuf = getBuf(KC * NR)
			defer putBuf(cbuf)
		}
		var abuf *[]float32
		if copyA {
			abuf = getBuf((i1 - i0 + MR) * (KC + 16))
			defer putBuf(abuf)
		}
		for kb := 0; kb < nkb; kb++ {
			k0 := kb * KC
			kl := min(KC, k-k0)
			accum := kb > 0 || beta != 0
			aBlk, ars, aps := a[i0*rs+k0*ps:], rs, ps
			if copyA {
				ld := kl + 16
				buf := *abuf
				for i := i0; i < i1; i++ {
					copy(buf[(i-i0)*ld:(i-i0)*ld+kl], a[i*lda+k0:i*lda+k0+kl])
				}
				aBlk, ars, aps = buf, ld, 1
			} else if transA {
				aBlk, ars, aps = ap[k0*mPan*MR:], 1, MR
			}
			for jp := j0 / NR; jp*NR < j1; jp++ {
				j := jp * NR
				nr := min(NR, n-j)
				var bpan *float32
				bld := NR
				if packed {
					bpan = &bp[k0*nPan*NR+jp*kl*NR]
				} else if cbuf != nil {
					packB((*cbuf)[:kl*NR], false, b, ldb, k0, kl, j, nr, NR)
					bpan = &(*cbuf)[0]
				} else {
					bpan, bld = &b[k0*ldb+j], ldb
				}
				for i := i0; i < i1; i += MR {
					mr := min(MR, i1-i)
					aoff := (i - i0) * ars
					if transA {
						aoff = i * kl // panel i/MR of the k-block starts at that·MR·kl
					}
					var bj *float32
					if bias != nil && kb == nkb-1 {
						bj = &bias[j]
					}
					isa.tile(mr, nr, kl, &aBlk[aoff], ars, aps, bpan, bld, &c[i*ldc+j], ldc, accum, bj)
				}
			}
		}
	})
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

// serialFor runs fn(0..n-1) in order in the calling goroutine.
func serialFor(n int, fn func(int)) {
	for i := 0; i < n; i++ {
		fn(i)
	}
}
