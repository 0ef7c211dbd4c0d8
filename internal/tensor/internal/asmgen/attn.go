package main

// attn.go generates the row-block kernels of the fused attention head: the
// causal softmax of up to 16 rows and its backward, and the transpose.
//
// A row's softmax is a chain: its maximum (a horizontal fold), then exp and
// a sum (another fold), then one division, each step waiting on the one
// before. Run row after row, the chains leave the FMA units idle (a row of
// the tiny preset holds 32 scores on average). The block
// kernels run each pass over all rows of the block first, keeping every
// row's 16-lane partial result, and fold the 16 rows' partials together in
// one shuffle network (fold16): the rows' chains overlap, and one VDIVPS
// serves 16 rows. fold16 adds lanes in exactly the order of the one-row
// fold (hsum), so each row's bits are those of softmaxRow512.

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// fold16Idx is the DATA symbol of fold16's final permutation (defined once).
var fold16Idx *operand.Mem

// fold16 loads the 16 vectors at tmp (64 bytes apart; row r's partial at
// tmp + 64·r) and returns one vector whose lane r is row r's 16 lanes folded
// by op (VADDPS or VMAXPS): lanes i and i+8 first, then i and i+4, i and i+2,
// i and i+1, as hsum folds one vector.
func fold16(tmp reg.Register, op func(ops ...operand.Op)) reg.VecVirtual {
	ld := func(i int) reg.VecVirtual {
		v := ZMM()
		VMOVUPS(operand.Mem{Base: tmp, Disp: 64 * i}, v)
		return v
	}
	// pair combines a and b by two shuffles (imm lo, hi) and op.
	pair := func(a, b reg.VecVirtual, lo, hi uint8, shuf func(ops ...operand.Op)) reg.VecVirtual {
		l, h := ZMM(), ZMM()
		shuf(operand.U8(lo), b, a, l)
		shuf(operand.U8(hi), b, a, h)
		op(h, l, l)
		return l
	}
	// Level 1: x[k] lanes 0–7 are row 2k's lane i + lane i+8, lanes 8–15
	// row 2k+1's (256-bit halves).
	var x [8]reg.VecVirtual
	for k := range x {
		x[k] = pair(ld(2*k), ld(2*k+1), 0x44, 0xEE, VSHUFF32X4)
	}
	// Level 2: y[m]'s 128-bit chunk j is row 4m+j's lanes i + i+4.
	var y [4]reg.VecVirtual
	for m := range y {
		y[m] = pair(x[2*m], x[2*m+1], 0x88, 0xDD, VSHUFF32X4)
	}
	// Level 3: z[u]'s chunk j holds rows 8u+j and 8u+4+j, two lanes each
	// (i + i+2).
	var z [2]reg.VecVirtual
	for u := range z {
		z[u] = pair(y[2*u], y[2*u+1], 0x44, 0xEE, VSHUFPS)
	}
	// Level 4: o's lane 4j+m is row j+4m's sum of its two lanes.
	o := pair(z[0], z[1], 0x88, 0xDD, VSHUFPS)
	// Rows in order: lane r takes o's lane 4(r mod 4) + r/4.
	if fold16Idx == nil {
		m := GLOBL("fold16idx", attr.RODATA|attr.NOPTR)
		for r := 0; r < 16; r++ {
			DATA(4*r, operand.U32(uint32(4*(r%4)+r/4)))
		}
		fold16Idx = &m
	}
	iv, out := ZMM(), ZMM()
	VMOVDQU32(*fold16Idx, iv)
	VPERMPS(o, iv, out)
	return out
}

// frameTmp returns a pointer to 16·16 floats on the kernel's own frame,
// aligned to 64 bytes (a Go array would be cleared on every call: 16 zmm
// stores).
// The kernels using it are not NOSPLIT: their frame is too large for that.
func frameTmp() reg.Register {
	m := AllocLocal(16*64 + 64)
	t := GP64()
	LEAQ(m, t)
	ADDQ(operand.U8(63), t)
	ANDQ(operand.I8(-64), t)
	return t
}

// zeroTmpRows clears tmp's partials of rows [rows, 16), so that fold16 adds
// zeros, never stale bits, in the lanes of missing rows.
func zeroTmpRows(tmp, rows reg.Register) {
	z := ZMM()
	VXORPS(z, z, z)
	p, n := GP64(), GP64()
	MOVQ(rows, n)
	MOVQ(rows, p)
	SHLQ(operand.U8(6), p)
	ADDQ(tmp, p)
	Label("ztmp")
	CMPQ(n, operand.U8(16))
	JGE(operand.LabelRef("ztmpdone"))
	VMOVUPS(z, operand.Mem{Base: p})
	ADDQ(operand.U8(64), p)
	INCQ(n)
	JMP(operand.LabelRef("ztmp"))
	Label("ztmpdone")
}

// rowLoop emits a loop over rows r < rows: body gets the row's data
// pointers (advanced by n floats per row), its live count (live+r) and r,
// which it must not modify.
func rowLoop(pfx string, rows, live, n reg.Register, ptrs []reg.Register, body func(ps []reg.Register, l, r reg.Register)) {
	r := GP64()
	MOVQ(operand.U32(0), r)
	ps := copies(ptrs...)
	lv := copies(live)[0]
	Label(pfx + "row")
	body(ps, lv, r)
	for _, p := range ps {
		LEAQ(operand.Mem{Base: p, Index: n, Scale: 4}, p)
	}
	INCQ(lv)
	INCQ(r)
	CMPQ(r, rows)
	JL(operand.LabelRef(pfx + "row"))
}

// slotOf returns the address of row r's partial in tmp.
func slotOf(tmp, r reg.Register) operand.Mem {
	t := GP64()
	MOVQ(r, t)
	SHLQ(operand.U8(6), t)
	return operand.Mem{Base: tmp, Index: t, Scale: 1}
}

// laneOf sets b to lane r of v in every lane. The lanes stay in a
// register: read back from tmp, a 4-byte load of the 64-byte store still in
// flight waited for the store to reach the cache (no forwarding), the
// largest stall in the block kernels' profile.
func laneOf(v reg.VecVirtual, r reg.Register, b reg.VecVirtual) {
	idx := ZMM()
	VPBROADCASTD(r.(reg.GPVirtual).As32(), idx)
	VPERMPS(v, idx, b)
}

// clearRowTail emits the clearing of row[live:width] (width the kernel's
// parameter, live a register).
func clearRowTail(pfx string, row, live reg.Register, k reg.OpmaskVirtual) {
	rest := Load(Param("width"), GP64())
	SUBQ(live, rest)
	p := GP64()
	LEAQ(operand.Mem{Base: row, Index: live, Scale: 4}, p)
	clearFrom(pfx, p, rest, k)
}

func softmaxRowsBlock() {
	TEXT("softmaxRows512", 0, "func(row *float32, live, rows, n, width int, scale float32)")
	Pragma("noescape")
	Doc("softmaxRows512 is softmaxRow512 for 1 ≤ rows ≤ 16 rows, n floats apart, in three",
		"passes over the block (maxima, exp and sums, normalise and clear), each row's fold",
		"done for all rows at once (fold16), clearing each row only up to width",
		"(live+rows−1 ≤ width ≤ n). The bits are softmaxRow512's up to width.")
	row := Load(Param("row"), GP64())
	live := Load(Param("live"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	tmp := frameTmp()
	k := K()
	sc := ZMM()
	VBROADCASTSS(paramAddr("scale"), sc)
	zeroTmpRows(tmp, rows)

	// Pass 1: each row's 16-lane maximum over row[:live].
	rowLoop("a", rows, live, n, []reg.Register{row}, func(ps []reg.Register, l, r reg.Register) {
		mx := ZMM()
		VBROADCASTSS(operand.Mem{Base: ps[0]}, mx)
		c := copies(ps[0], l)
		vecLoopL("am", c[1], c[:1], k, maxStep(c[0], mx, k))
		VMOVUPS(mx, slotOf(tmp, r))
	})
	shift := fold16(tmp, VMAXPS)
	VMULPS(sc, shift, shift) // max·scale, per row

	// Pass 2: e = exp(x·scale − shift) in place, and each row's 16-lane sum.
	cons := loadExpConsts(expHi)
	rowLoop("b", rows, live, n, []reg.Register{row}, func(ps []reg.Register, l, r reg.Register) {
		sh := ZMM()
		laneOf(shift, r, sh)
		acc := ZMM()
		VXORPS(acc, acc, acc)
		c := copies(ps[0], l)
		vecLoopL("be", c[1], c[:1], k, expShiftStep(cons, c[0], c[0], sc, sh, acc, k))
		VMOVUPS(acc, slotOf(tmp, r))
	})
	s := fold16(tmp, VADDPS)
	inv := bcast("one", 1)
	VDIVPS(s, inv, inv) // 1/sum per row, as VDIVSS

	// Pass 3: normalise row[:live], clear row[live:width].
	rowLoop("c", rows, live, n, []reg.Register{row}, func(ps []reg.Register, l, r reg.Register) {
		iv := ZMM()
		laneOf(inv, r, iv)
		c := copies(ps[0], l)
		vecLoopL("cs", c[1], c[:1], k, scaleStep(c[0], iv, k))
		clearRowTail("cz", ps[0], l, k)
	})
	VZEROUPPER()
	RET()
}

func softmaxBwdRowsBlock() {
	TEXT("softmaxBwdRows512", 0, "func(dp, a, d *float32, live, rows, n, width int, scale float32)")
	Pragma("noescape")
	Doc("softmaxBwdRows512 writes 1 ≤ rows ≤ 16 consecutive causal rows of the softmax",
		"backward, each n floats apart in dp, a and d: row r's first live+r entries become",
		"0 + scale·a·(d − Σ a·d) (the sum over those entries; the product added to zero as",
		"softmaxBwd512 accumulates into a cleared row) and its entries up to width are set",
		"to 0 (1 ≤ live, live+rows−1 ≤ width ≤ n). Two passes over the block (the sums,",
		"then the rows), each row's fold done for all rows at once (fold16, in dot512's",
		"order).")
	// Few registers: the pointers are loaded again where each pass starts.
	live := Load(Param("live"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	tmp := frameTmp()
	k := K()
	zeroTmpRows(tmp, rows)

	// Pass 1: each row's 16-lane partial of Σ a·d over its live entries.
	a := Load(Param("a"), GP64())
	d := Load(Param("d"), GP64())
	rowLoop("a", rows, live, n, []reg.Register{a, d}, func(ps []reg.Register, l, r reg.Register) {
		acc := ZMM()
		VXORPS(acc, acc, acc)
		c := copies(l, ps[0], ps[1])
		vecLoopL("ad", c[0], c[1:], k, dotStep(c[1], c[2], acc, k))
		VMOVUPS(acc, slotOf(tmp, r))
	})
	dots := fold16(tmp, VADDPS)

	// Pass 2: dp = 0 + scale·a·(d − dot) over the live entries, 0 up to
	// width. One byte offset walks the three rows.
	sc := ZMM()
	VBROADCASTSS(paramAddr("scale"), sc)
	dp := Load(Param("dp"), GP64())
	a = Load(Param("a"), GP64())
	d = Load(Param("d"), GP64())
	rowLoop("b", rows, live, n, []reg.Register{dp, a, d}, func(ps []reg.Register, l, r reg.Register) {
		dt := ZMM()
		laneOf(dots, r, dt)
		cnt, off := GP64(), GP64()
		MOVQ(l, cnt)
		MOVQ(operand.U32(0), off)
		at := func(i int) operand.Mem { return operand.Mem{Base: ps[i], Index: off, Scale: 1} }
		body := func(masked bool) {
			va, vd, vp := ZMM(), ZMM(), ZMM()
			if masked {
				VMOVUPS_Z(at(1), k, va)
				VMOVUPS_Z(at(2), k, vd)
			} else {
				VMOVUPS(at(1), va)
				VMOVUPS(at(2), vd)
			}
			VXORPS(vp, vp, vp)
			softmaxBwdMath(va, vd, vp, sc, dt)
			if masked {
				VMOVUPS(vp, k, at(0))
			} else {
				VMOVUPS(vp, at(0))
			}
		}
		Label("buloop")
		CMPQ(cnt, operand.U8(16))
		JL(operand.LabelRef("butail"))
		body(false)
		ADDQ(operand.U8(64), off)
		SUBQ(operand.U8(16), cnt)
		JMP(operand.LabelRef("buloop"))
		Label("butail")
		TESTQ(cnt, cnt)
		JZ(operand.LabelRef("budone"))
		ones, m := GP64(), GP64()
		MOVQ(operand.I32(-1), ones)
		BZHIQ(cnt, ones, m)
		KMOVW(m.As32(), k)
		body(true)
		Label("budone")
		clearRowTail("bz", ps[0], l, k)
	})
	VZEROUPPER()
	RET()
}

// transposeShuffle emits transpose512: 16×16 blocks moved through
// registers (unpack and 128-bit shuffles: 64 shuffles per block), where the
// gather it replaces took one 16-element VGATHERDPS per column of 16 rows.
func transposeShuffle() {
	TEXT("transpose512", NOSPLIT, "func(dst, src *float32, rows, cols, lds, ldd int)")
	Pragma("noescape")
	Doc("transpose512 sets dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols, in 16×16",
		"blocks through registers. Edge blocks load their missing columns as 0 and repeat",
		"their last row, and store only the rows and columns that exist.")
	srcBlk := Load(Param("src"), GP64())
	dstBlk := Load(Param("dst"), GP64())
	nrRem := Load(Param("rows"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(operand.U8(2), lds)
	ldd := Load(Param("ldd"), GP64())
	SHLQ(operand.U8(2), ldd)
	rowMask, colMask := K(), K()
	mask := func(n reg.Register, k reg.OpmaskVirtual) {
		c, ones, m := GP64(), GP64(), GP64()
		MOVQ(n, c)
		MOVQ(operand.U32(16), m)
		CMPQ(c, m)
		CMOVQGT(m, c) // min(n, 16)
		MOVQ(operand.I32(-1), ones)
		BZHIQ(c, ones, m)
		KMOVW(m.As32(), k)
	}
	Label("rblk")
	mask(nrRem, rowMask)
	sp, dp := GP64(), GP64()
	MOVQ(srcBlk, sp)
	MOVQ(dstBlk, dp)
	ncRem := Load(Param("cols"), GP64())
	Label("cblk")
	mask(ncRem, colMask)
	// Rows 4g..4g+3 → u[g][e], whose 128-bit chunk L is column 4L+e of
	// those rows.
	var u [4][4]reg.VecVirtual
	q := GP64()
	MOVQ(sp, q)
	row := func(i int) reg.VecVirtual {
		if i > 0 { // the next row while there is one, else this one again
			t := GP64()
			LEAQ(operand.Mem{Base: q, Index: lds, Scale: 1}, t)
			CMPQ(nrRem, operand.U8(i))
			CMOVQGT(t, q)
		}
		v := ZMM()
		VMOVUPS_Z(operand.Mem{Base: q}, colMask, v)
		return v
	}
	for g := 0; g < 4; g++ {
		r0, r1, r2, r3 := row(4*g), row(4*g+1), row(4*g+2), row(4*g+3)
		t0, t1, t2, t3 := ZMM(), ZMM(), ZMM(), ZMM()
		VUNPCKLPS(r1, r0, t0)
		VUNPCKHPS(r1, r0, t1)
		VUNPCKLPS(r3, r2, t2)
		VUNPCKHPS(r3, r2, t3)
		for e := range u[g] {
			u[g][e] = ZMM()
		}
		VUNPCKLPD(t2, t0, u[g][0])
		VUNPCKHPD(t2, t0, u[g][1])
		VUNPCKLPD(t3, t1, u[g][2])
		VUNPCKHPD(t3, t1, u[g][3])
	}
	// Column 4L+e = chunk L of u[0..3][e]; store it if it exists.
	pe, ldd4, ldd12 := GP64(), GP64(), GP64()
	MOVQ(dp, pe)
	MOVQ(ldd, ldd4)
	SHLQ(operand.U8(2), ldd4)
	LEAQ(operand.Mem{Base: ldd4, Index: ldd4, Scale: 2}, ldd12)
	for e := 0; e < 4; e++ {
		a, b, c, d := ZMM(), ZMM(), ZMM(), ZMM()
		VSHUFF32X4(operand.U8(0x44), u[1][e], u[0][e], a)
		VSHUFF32X4(operand.U8(0xEE), u[1][e], u[0][e], b)
		VSHUFF32X4(operand.U8(0x44), u[3][e], u[2][e], c)
		VSHUFF32X4(operand.U8(0xEE), u[3][e], u[2][e], d)
		for L, at := range []operand.Mem{
			{Base: pe}, {Base: pe, Index: ldd4, Scale: 1},
			{Base: pe, Index: ldd4, Scale: 2}, {Base: pe, Index: ldd12, Scale: 1},
		} {
			o := ZMM()
			x, y, imm := a, c, uint8(0x88)
			if L >= 2 {
				x, y = b, d
			}
			if L%2 == 1 {
				imm = 0xDD
			}
			VSHUFF32X4(operand.U8(imm), y, x, o)
			skip := fmt.Sprintf("skip%d_%d", e, L)
			CMPQ(ncRem, operand.U8(4*L+e+1))
			JL(operand.LabelRef(skip))
			VMOVUPS(o, rowMask, at)
			Label(skip)
		}
		ADDQ(ldd, pe)
	}
	// Next 16 columns: 16 source floats on, 16 destination rows on.
	ADDQ(operand.U8(64), sp)
	LEAQ(operand.Mem{Base: dp, Index: ldd, Scale: 8}, dp)
	LEAQ(operand.Mem{Base: dp, Index: ldd, Scale: 8}, dp)
	SUBQ(operand.U8(16), ncRem)
	JG(operand.LabelRef("cblk"))
	// Next 16 rows.
	LEAQ(operand.Mem{Base: srcBlk, Index: lds, Scale: 8}, srcBlk)
	LEAQ(operand.Mem{Base: srcBlk, Index: lds, Scale: 8}, srcBlk)
	ADDQ(operand.U8(64), dstBlk)
	SUBQ(operand.U8(16), nrRem)
	JG(operand.LabelRef("rblk"))
	VZEROUPPER()
	RET()
}

// prefetchLines emits prefetch512: PREFETCHT0 for each 64-byte line of n
// floats from p. The attention head's pattern rows of the next row block
// are fetched while this block computes: their first stores (the scores,
// then the zeros right of the diagonal) otherwise wait for each line to
// come from memory, and the full store queue stalls the block's softmax.
func prefetchLines() {
	TEXT("prefetch512", NOSPLIT, "func(p *float32, n int)")
	Pragma("noescape")
	Doc("prefetch512 prefetches the cache lines holding n ≥ 1 floats from p into L1.")
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	end := GP64()
	LEAQ(operand.Mem{Base: p, Index: n, Scale: 4, Disp: -1}, end)
	ANDQ(operand.I8(-64), p)
	Label("loop")
	PREFETCHT0(operand.Mem{Base: p})
	ADDQ(operand.U8(64), p)
	CMPQ(p, end)
	JLE(operand.LabelRef("loop"))
	RET()
}

// prefetchRowLines emits prefetchRows512: PREFETCHT1 (into L2) of the lines
// holding n floats of each of rows rows, ld floats apart: one attention
// head's q, k, v (or their gradients) are T rows of Dh floats 3C apart in a
// buffer that a step's other products have long evicted, and the tiles
// that read them one row per k-step wait on each miss in turn.
func prefetchRowLines() {
	TEXT("prefetchRows512", NOSPLIT, "func(p *float32, rows, ld, n int)")
	Pragma("noescape")
	Doc("prefetchRows512 prefetches into L2 the cache lines holding n ≥ 1 floats of each",
		"of rows ≥ 1 rows, ld floats apart, from p.")
	p := Load(Param("p"), GP64())
	rows := Load(Param("rows"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(operand.U8(2), ld)
	n := Load(Param("n"), GP64())
	Label("row")
	q, end := GP64(), GP64()
	LEAQ(operand.Mem{Base: p, Index: n, Scale: 4, Disp: -1}, end)
	MOVQ(p, q)
	ANDQ(operand.I8(-64), q)
	Label("line")
	PREFETCHT1(operand.Mem{Base: q})
	ADDQ(operand.U8(64), q)
	CMPQ(q, end)
	JLE(operand.LabelRef("line"))
	ADDQ(ld, p)
	DECQ(rows)
	JNZ(operand.LabelRef("row"))
	RET()
}
