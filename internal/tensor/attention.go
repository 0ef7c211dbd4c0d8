package tensor

// attention.go holds one causal attention head's forward and backward,
// fused: the (T, T) scores never leave the head's own buffers, and the
// products skip the masked upper triangle tile by tile, which the general
// Gemm cannot (it would also pay its packing and dispatch per product; a
// head of the tiny preset is six products of ~2 µs each).
//
// Shapes: q, k, v (and dq, dk, dv) are (T, Dh) views with row stride ld
// (one head's columns of a (T, 3C) QKV buffer); z and dz are (T, Dh) with
// row stride ldz; p is the (T, T) pattern, upper triangle 0. The
// backward reads p's lower triangle and its diagonal row blocks only (the
// dv tiles of key block [j0, j1) read rows t ≥ j0 at columns [j0, j1)), so
// the forward need not rewrite the zeros right of them on every call.
//
// Where the time went on the tiny preset's heads (T=64, Dh=16), and what
// answers it: each softmax row waited on two horizontal folds and a
// division (the block kernels of softmaxRowsSpan fold all rows of a block
// at once); 16-wide tiles paid a broadcast per FMA (the nv=1 micro-kernels
// broadcast inside the FMA); in a training step the head's rows come from
// memory one miss per k-step (they are prefetched at the start, or one
// row block ahead from spreadPrefetch on).
//
// The plain references are attentionHeadForwardRef/BackwardRef (the same
// computation through Gemm and the row kernels, as the GPT first did it);
// they also serve CPUs without the AVX-512 kernels.

// AttentionHeadForward computes p = causal softmax(q·kᵀ·scale) (T, T) and
// z = p·v (T, Dh). scratch holds at least Dh·T floats.
//
// p's upper triangle is 0 on return. upperZero says that it is 0 already
// (the caller's pattern buffer holds zeros there: last written by this
// function at the same T, or freshly allocated); the function then writes
// only the rows' live entries and the masked entries of the diagonal row
// blocks (tiles that the products read), and leaves the rest of the
// triangle — nearly half of p, read by none of the head's products, only by
// a model's activation readers — untouched.
func AttentionHeadForward(p, z []float32, ldz int, q, k, v []float32, ld, T, Dh int, scale float32, scratch []float32, upperZero bool) {
	isa := activeISA
	if isa == nil || !isa.strideB {
		attentionHeadForwardRef(p, z, ldz, q, k, v, ld, T, Dh, scale)
		return
	}
	checkHead(T, Dh, ld, ldz, q, k, v, z)
	_ = p[T*T-1]
	MR, NR := isa.mr, isa.nr
	kT := scratch[:Dh*T] // (Dh, T) = kᵀ, so score rows read contiguous B rows
	// The head's rows come from memory in a step: ask for them ahead of
	// the tiles rather than one miss per k-step, k first and all of it (the
	// transpose reads it at once). q's and v's rows are asked for all at
	// once too when the head is small; from spreadPrefetch on, one row
	// block ahead (see there).
	spread := T*Dh >= spreadPrefetch
	prefetchRowsSpan(k, T, ld, Dh)
	qv := T
	if spread {
		qv = min(MR, T)
	}
	prefetchRowsSpan(q, qv, ld, Dh)
	prefetchRowsSpan(v, qv, ld, Dh)
	prefetchPattern(p, 0, min(MR, T), T, upperZero)
	transposeSpan(kT, k, T, Dh, ld, T)
	for i0 := 0; i0 < T; i0 += MR {
		mr := min(MR, T-i0)
		i1 := i0 + mr
		if i1 < T {
			// The next block's pattern rows (and q's and v's), while this
			// block computes.
			n := min(MR, T-i1)
			if spread {
				prefetchRowsSpan(q[i1*ld:], n, ld, Dh)
				prefetchRowsSpan(v[i1*ld:], n, ld, Dh)
			}
			prefetchPattern(p, i1, i1+n, T, upperZero)
		}
		// Scores of rows [i0, i1) against keys [0, i1): later keys are masked.
		for j := 0; j < i1; j += NR {
			isa.tile(mr, min(NR, i1-j), Dh, &q[i0*ld], ld, 1, &kT[j], T, &p[i0*T+j], T, false, nil)
		}
		// The rows' masked entries: those left of i1 hold scores the tiles
		// wrote, and this block's P·V and the backward's dv tiles read them
		// (as zeros); those right of it are 0 already when upperZero.
		width := T
		if upperZero {
			width = i1
		}
		softmaxRowsSpan(p[i0*T:], i0+1, mr, T, width, scale)
		// z rows [i0, i1) = p[i0:i1, 0:i1]·v[0:i1] (p is 0 beyond), summed
		// in Gemm's k-blocks so each z row is bit-identical to a one-row
		// Gemm over the same keys (the decoder's step relies on it).
		for d := 0; d < Dh; d += NR {
			for k0 := 0; k0 < i1; k0 += isa.kc {
				isa.tile(mr, min(NR, Dh-d), min(isa.kc, i1-k0), &p[i0*T+k0], T, 1, &v[k0*ld+d], ld, &z[i0*ldz+d], ldz, k0 > 0, nil)
			}
		}
	}
}

// spreadPrefetch is the head size T·Dh from which the heads prefetch
// their rows one row block ahead instead of all at the start. Asked for
// all at once, a small preset's head (T = 128, Dh = 32: 768 lines
// forward, 1,792 backward) fills the core's queue of outstanding misses,
// and the prefetch instructions wait for memory where the tiles could
// have computed: spread, the small preset's heads ran 1.11× (forward)
// and 1.17× (backward) faster on the Zen 5 machine (docs/benchmarks.md,
// "Zen 5: the heads' prefetch spread over the row blocks"). The tiny
// preset's backward (T·Dh = 1,024) ran slower spread: there the extra
// calls per row block cost more than the overlap gains.
const spreadPrefetch = 4096

// prefetchBackwardRows prefetches rows [i0, i0+n) of the views that
// AttentionHeadBackward reads or writes after vᵀ.
func prefetchBackwardRows(q, k, dq, dk, dv []float32, ld int, dz []float32, ldz, i0, n, Dh int) {
	o := i0 * ld
	prefetchRowsSpan(k[o:], n, ld, Dh)
	prefetchRowsSpan(dz[i0*ldz:], n, ldz, Dh)
	prefetchRowsSpan(dq[o:], n, ld, Dh)
	prefetchRowsSpan(q[o:], n, ld, Dh)
	prefetchRowsSpan(dk[o:], n, ld, Dh)
	prefetchRowsSpan(dv[o:], n, ld, Dh)
}

// prefetchPattern prefetches the pattern rows [i0, i1) that
// AttentionHeadForward is about to write: their first i1 columns when the
// rest stays untouched (upperZero), else the whole rows.
func prefetchPattern(p []float32, i0, i1, T int, upperZero bool) {
	if upperZero {
		prefetchRowsSpan(p[i0*T:], i1-i0, T, i1)
		return
	}
	prefetchSpan(p[i0*T : i1*T])
}

// AttentionHeadBackward writes (overwrites) dq, dk, dv (T, Dh) from dz and
// the forward's q, k, v and pattern p. scratch holds at least 2·T·T + Dh·T
// floats.
//
// With s = q·kᵀ·scale and p = softmax(s) row-wise: dp = dz·vᵀ, dv = pᵀ·dz,
// ds = p⊙(dp − rowsum(dp⊙p))·scale, dq = ds·k, dk = dsᵀ·q.
func AttentionHeadBackward(dq, dk, dv []float32, ld int, dz []float32, ldz int, q, k, v, p []float32, T, Dh int, scale float32, scratch []float32) {
	isa := activeISA
	if isa == nil || !isa.strideB {
		attentionHeadBackwardRef(dq, dk, dv, ld, dz, ldz, q, k, v, p, T, Dh, scale, scratch)
		return
	}
	checkHead(T, Dh, ld, ldz, q, k, v, dz)
	checkHead(T, Dh, ld, ldz, dq, dk, dv, dz)
	_ = p[T*T-1]
	MR, NR := isa.mr, isa.nr
	dP, dS, vT := scratch[:T*T], scratch[T*T:2*T*T], scratch[2*T*T:2*T*T+Dh*T]
	// The head's rows ahead of the tiles (see AttentionHeadForward), v
	// first and all of it (the transpose reads it at once), the gradients'
	// too: their first stores would each wait for a line. The others all
	// at once when the head is small; from spreadPrefetch on, one row
	// block ahead of the first loop, which reads k's, dz's and dq's rows
	// up to its block; q's, dk's and dv's, which the second loop reads,
	// come in the same steps, so that they are in L2 by then.
	spread := T*Dh >= spreadPrefetch
	if spread {
		prefetchRowsSpan(v, T, ld, Dh)
		prefetchBackwardRows(q, k, dq, dk, dv, ld, dz, ldz, 0, min(MR, T), Dh)
	} else {
		for _, x := range [][]float32{v, q, k, dq, dk, dv} {
			prefetchRowsSpan(x, T, ld, Dh)
		}
		prefetchRowsSpan(dz, T, ldz, Dh)
	}
	transposeSpan(vT, v, T, Dh, ld, T)
	for i0 := 0; i0 < T; i0 += MR {
		mr := min(MR, T-i0)
		i1 := i0 + mr
		if spread && i1 < T {
			prefetchBackwardRows(q, k, dq, dk, dv, ld, dz, ldz, i1, min(MR, T-i1), Dh)
		}
		// dp rows [i0, i1), columns [0, i1) = dz·vᵀ.
		for j := 0; j < i1; j += NR {
			isa.tile(mr, min(NR, i1-j), Dh, &dz[i0*ldz], ldz, 1, &vT[j], T, &dP[i0*T+j], T, false, nil)
		}
		// ds rows, 0 above the diagonal up to i1 (dq and dk read them).
		softmaxBwdRowsSpan(dS[i0*T:], p[i0*T:], dP[i0*T:], i0+1, mr, T, i1, scale)
		// dq rows [i0, i1) = ds[i0:i1, 0:i1]·k[0:i1].
		for d := 0; d < Dh; d += NR {
			isa.tile(mr, min(NR, Dh-d), i1, &dS[i0*T], T, 1, &k[d], ld, &dq[i0*ld+d], ld, false, nil)
		}
	}
	// dv rows [j0, j1) = p[j0:T, j0:j1]ᵀ·dz[j0:T], dk likewise with ds and q:
	// key j only receives from queries t ≥ j.
	for j0 := 0; j0 < T; j0 += MR {
		mr := min(MR, T-j0)
		kk := T - j0
		for d := 0; d < Dh; d += NR {
			nr := min(NR, Dh-d)
			isa.tile(mr, nr, kk, &p[j0*T+j0], 1, T, &dz[j0*ldz+d], ldz, &dv[j0*ld+d], ld, false, nil)
			isa.tile(mr, nr, kk, &dS[j0*T+j0], 1, T, &q[j0*ld+d], ld, &dk[j0*ld+d], ld, false, nil)
		}
	}
}

// AttentionRow computes one query's causal attention over n ≥ 1 keys:
// p (n) = softmax(q·Kᵀ·scale) and z (Dh) = p·V, where kT (Dh, n) holds the
// keys transposed with row stride ldk and v (n, Dh) the values with row
// stride ldv. Each element is computed exactly as row n−1 of
// AttentionHeadForward over the same keys computes it (the same tiles, the
// same k-blocks, the same softmax row), so a decoder that caches keys and
// values reproduces Forward bit for bit; it skips Gemm's dispatch, which
// costs as much as the arithmetic of one query.
func AttentionRow(p, z, q, kT []float32, ldk int, v []float32, ldv, n, Dh int, scale float32) {
	if n < 1 || Dh < 1 || len(p) < n || len(z) < Dh || len(q) < Dh || ldk < n || ldv < Dh ||
		len(kT) < (Dh-1)*ldk+n || len(v) < (n-1)*ldv+Dh {
		panic("tensor.AttentionRow: views too short for their shape")
	}
	isa := activeISA
	if isa == nil || !isa.strideB {
		Gemm(false, false, 1, n, Dh, q, Dh, kT, ldk, 0, p, n)
		causalSoftmaxRow(p[:n], n, scale)
		Gemm(false, false, 1, Dh, n, p, n, v, ldv, 0, z, Dh)
		return
	}
	NR, KC := isa.nr, isa.kc
	for j := 0; j < n; j += NR {
		isa.tile(1, min(NR, n-j), Dh, &q[0], Dh, 1, &kT[j], ldk, &p[j], n, false, nil)
	}
	causalSoftmaxRow(p[:n], n, scale)
	for d := 0; d < Dh; d += NR {
		for k0 := 0; k0 < n; k0 += KC {
			isa.tile(1, min(NR, Dh-d), min(KC, n-k0), &p[k0], n, 1, &v[k0*ldv+d], ldv, &z[d], Dh, k0 > 0, nil)
		}
	}
}

// checkHead panics on views too short for (T, Dh) heads (a programming
// error), since the fast path hands raw pointers to the kernels.
func checkHead(T, Dh, ld, ldz int, a, b, c, z []float32) {
	need := (T-1)*ld + Dh
	if T <= 0 || Dh <= 0 || ld < Dh || ldz < Dh || len(a) < need || len(b) < need || len(c) < need || len(z) < (T-1)*ldz+Dh {
		panic("tensor: attention head views too short for their shape")
	}
}

// attentionHeadForwardRef is AttentionHeadForward through Gemm and
// CausalSoftmaxForward over the full (T, T) square.
func attentionHeadForwardRef(p, z []float32, ldz int, q, k, v []float32, ld, T, Dh int, scale float32) {
	Gemm(false, true, T, T, Dh, q, ld, k, ld, 0, p, T)
	CausalSoftmaxForward(p, T, scale)
	Gemm(false, false, T, Dh, T, p, T, v, ld, 0, z, ldz)
}

// attentionHeadBackwardRef is AttentionHeadBackward through Gemm and
// CausalSoftmaxBackward over the full square; scratch holds 2·T·T floats.
func attentionHeadBackwardRef(dq, dk, dv []float32, ld int, dz []float32, ldz int, q, k, v, p []float32, T, Dh int, scale float32, scratch []float32) {
	dp, ds := scratch[:T*T], scratch[T*T:2*T*T]
	Gemm(false, true, T, T, Dh, dz, ldz, v, ld, 0, dp, T)
	Gemm(true, false, T, Dh, T, p, T, dz, ldz, 0, dv, ld)
	clear(ds)
	CausalSoftmaxBackward(ds, dp, p, T, scale)
	Gemm(false, false, T, Dh, T, ds, T, k, ld, 0, dq, ld)
	Gemm(true, false, T, Dh, T, ds, T, q, ld, 0, dk, ld)
}
