package main

// vec.go generates the AVX-512 elementwise and row kernels (gen_vec_amd64.s):
// GELU forward and backward, the exp-and-sum of softmax rows, row maxima,
// dot products, the softmax backward row and vector adds. Each kernel walks
// its n elements 16 at a time and finishes with one masked vector (lanes
// ≥ n mask off loads and stores, which also suppresses their faults), so
// every element is computed by the same instructions whatever its position:
// results do not depend on how callers cut rows into chunks. Reductions keep
// one 16-lane accumulator and fold it in a fixed order.
//
// exp follows the scalar expf of fastmath.go (Cephes expf, Moshier 1984):
// x = n·ln2 + r, e^r by the same degree-6 polynomial evaluated with FMAs,
// and the 2ⁿ scaling by VSCALEFPS, which handles n = 128 and the subnormal
// range without bit tricks. Inputs are clamped to [expLo, expHi] first, so
// e^x stays finite and the polynomial is never fed an infinity; lanes below
// expLo are set to 0 as the scalar expf does.

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

const (
	geluC   = 0.7978845608028654 // sqrt(2/π)
	geluA   = 0.044715
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375
	ln2Lo   = -2.12194440e-4
	expHi   = 88.72283     // just under ln(MaxFloat32): e^x stays finite
	expLo   = -87.33654475 // ln(smallest normal float32): below it e^x is 0
	sigHi   = 80.0         // σ's exp argument bound: 1/(1+e^80) is still normal
	expP0   = 1.9875691500e-4
	expP1   = 1.3981999507e-3
	expP2   = 8.3334519073e-3
	expP3   = 4.1665795894e-2
	expP4   = 1.6666665459e-1
	expP5   = 5.0000001201e-1
	vecBits = 16 // float32 lanes in a zmm
)

// consts holds each DATA symbol once: kernels share them.
var consts = map[string]operand.Mem{}

// bcast loads the float32 constant v broadcast into a new zmm.
func bcast(name string, v float32) reg.VecVirtual {
	m, ok := consts[name]
	if !ok {
		// Raw bits: avo prints operand.F32(80) as $(80), which the Go
		// assembler stores as the integer 80.
		m = ConstData(name, operand.U32(math.Float32bits(v)))
		consts[name] = m
	}
	z := ZMM()
	VBROADCASTSS(m, z)
	return z
}

// expConsts are the broadcast constants of expVec, loaded once per kernel.
type expConsts struct {
	hi, lo, log2e, ln2Hi, ln2Lo, one, two reg.VecVirtual
	p                                     [6]reg.VecVirtual
}

func loadExpConsts(hi float32) expConsts {
	var c expConsts
	c.hi = bcast(fmt.Sprintf("expHi%d", int(hi)), hi)
	c.lo = bcast("expLo", expLo)
	c.log2e = bcast("log2e", log2e)
	c.ln2Hi = bcast("ln2Hi", ln2Hi)
	c.ln2Lo = bcast("ln2Lo", ln2Lo)
	c.one = bcast("one", 1)
	c.two = bcast("two", 2)
	for i, v := range []float32{expP0, expP1, expP2, expP3, expP4, expP5} {
		c.p[i] = bcast(fmt.Sprintf("expP%d", i), v)
	}
	return c
}

// expVec sets y = e^x lane by lane (x is clobbered).
// NaN lanes stay NaN: VMINPS/VMAXPS return their first Go operand (Intel's
// second source) when either is NaN, and that operand is x.
func expVec(c expConsts, x, y reg.VecVirtual) {
	// Lanes below expLo give 0, as the scalar expf: subnormal results would
	// make every later multiply take a microcode assist (≈ 100 cycles).
	live := K()
	VCMPPS(operand.U8(5), c.lo, x, live) // x ≥ expLo or NaN (not-less-than, unordered)
	VMINPS(x, c.hi, x)
	VMAXPS(x, c.lo, x)
	fn := ZMM()
	VMULPS(c.log2e, x, fn)
	VRNDSCALEPS(operand.U8(8), fn, fn) // round to nearest even, no precision exception
	r := x
	VFNMADD231PS(c.ln2Hi, fn, r) // r = x − fn·ln2Hi (exact: ln2Hi has 9 bits)
	VFNMADD231PS(c.ln2Lo, fn, r) // r −= fn·ln2Lo
	p := ZMM()
	VMOVAPS(c.p[0], p)
	for i := 1; i < 6; i++ {
		VFMADD213PS(c.p[i], r, p) // p = p·r + P_i
	}
	rr := ZMM()
	VMULPS(r, r, rr)
	VFMADD213PS(r, rr, p)       // p = p·r² + r
	VADDPS(c.one, p, p)         // + 1
	VSCALEFPS_Z(fn, p, live, y) // y = p·2^fn, 0 in the lanes below expLo
}

// paramAddr is the stack address of a float32 argument. Kernels broadcast
// it straight from memory: avo's Load uses the legacy-SSE MOVSS, and a
// legacy-SSE instruction after a zmm write (dirty upper state) measured
// ~150 ns per call here. For the same reason results are stored (MOVSS)
// after VZEROUPPER.
func paramAddr(name string) operand.Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// vecLoop emits the 16-wide loop over n elements and the masked tail.
// body(masked) emits one vector's work; ptrs are advanced by 64 bytes per
// vector. k is set to the tail mask before the masked body.
func vecLoop(n reg.Register, ptrs []reg.Register, k reg.OpmaskVirtual, body func(masked bool)) {
	vecLoopL("", n, ptrs, k, body)
}

// vecLoopL is vecLoop with labels prefixed by pfx (for several loops in one
// function).
func vecLoopL(pfx string, n reg.Register, ptrs []reg.Register, k reg.OpmaskVirtual, body func(masked bool)) {
	Label(pfx + "loop")
	CMPQ(n, operand.U8(vecBits))
	JL(operand.LabelRef(pfx + "tail"))
	body(false)
	for _, p := range ptrs {
		ADDQ(operand.U8(64), p)
	}
	SUBQ(operand.U8(vecBits), n)
	JMP(operand.LabelRef(pfx + "loop"))
	Label(pfx + "tail")
	TESTQ(n, n)
	JZ(operand.LabelRef(pfx + "done"))
	ones := GP64()
	MOVQ(operand.I32(-1), ones)
	m := GP64()
	BZHIQ(n, ones, m) // low n bits
	KMOVW(m.As32(), k)
	body(true)
	Label(pfx + "done")
}

// load reads 16 floats (or the masked lanes, others zero) from p.
func load(p reg.Register, masked bool, k reg.OpmaskVirtual, z reg.VecVirtual) {
	if masked {
		VMOVUPS_Z(operand.Mem{Base: p}, k, z)
	} else {
		VMOVUPS(operand.Mem{Base: p}, z)
	}
}

// store writes 16 floats (or the masked lanes) to p.
func store(z reg.VecVirtual, p reg.Register, masked bool, k reg.OpmaskVirtual) {
	if masked {
		VMOVUPS(z, k, operand.Mem{Base: p})
	} else {
		VMOVUPS(z, operand.Mem{Base: p})
	}
}

// hsum folds the 16 lanes of acc in a fixed order and returns the xmm
// holding the sum in lane 0.
func hsum(acc reg.VecVirtual) reg.VecVirtual { return hfold(acc, VADDPS, VADDSS) }

// hmax is hsum's fold with VMAXPS: the largest lane in lane 0.
func hmax(acc reg.VecVirtual) reg.VecVirtual { return hfold(acc, VMAXPS, VMAXSS) }

// hfold folds acc's 16 lanes by op (packed) and opS (the last, scalar
// step): lanes i and i+8, then i and i+4, i and i+2, i and i+1. fold16
// (attn.go) folds 16 rows at once in this order.
func hfold(acc reg.VecVirtual, op, opS func(ops ...operand.Op)) reg.VecVirtual {
	y := YMM()
	VEXTRACTF64X4(operand.U8(1), acc, y)
	op(y, acc.AsY(), y)
	x := XMM()
	VEXTRACTF128(operand.U8(1), y, x)
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	VMOVSHDUP(x, t)
	opS(t, x, x)
	return x
}

// The pass bodies below are shared by the one-span kernels (max512,
// expShift512, scale512, dot512, softmaxBwd512) and the row kernels built
// from the same operations (softmaxRow512, softmaxRows512,
// softmaxBwdRows512): one emitter per pass is what makes a row kernel's
// bits those of its spans. Each returns vecLoop's body for one vector.

// maxStep: acc = max(acc, x's vector) lane by lane; masked lanes keep acc
// (start acc as x[0] broadcast, so lanes past n never contribute).
func maxStep(x reg.Register, acc reg.VecVirtual, k reg.OpmaskVirtual) func(masked bool) {
	return func(masked bool) {
		if masked {
			VMAXPS(operand.Mem{Base: x}, acc, k, acc)
		} else {
			VMAXPS(operand.Mem{Base: x}, acc, acc)
		}
	}
}

// expShiftStep: e = e^(v·sc − sh) of src's vector, acc += e over the lanes
// that exist (acc starts at 0), e stored to dst unless dst is nil (dst may
// be src).
func expShiftStep(c expConsts, src, dst reg.Register, sc, sh, acc reg.VecVirtual, k reg.OpmaskVirtual) func(masked bool) {
	return func(masked bool) {
		v := ZMM()
		load(src, masked, k, v)
		VFMSUB213PS(sh, sc, v) // v·scale − shift
		e := ZMM()
		expVec(c, v, e)
		if masked {
			VADDPS(e, acc, k, acc) // lanes ≥ n stay out of the sum
		} else {
			VADDPS(e, acc, acc)
		}
		if dst != nil {
			store(e, dst, masked, k)
		}
	}
}

// scaleStep: x's vector *= s.
func scaleStep(x reg.Register, s reg.VecVirtual, k reg.OpmaskVirtual) func(masked bool) {
	return func(masked bool) {
		v := ZMM()
		load(x, masked, k, v)
		VMULPS(s, v, v)
		store(v, x, masked, k)
	}
}

// dotStep: acc += a's vector · b's vector (masked lanes load 0 in both).
func dotStep(a, b reg.Register, acc reg.VecVirtual, k reg.OpmaskVirtual) func(masked bool) {
	return func(masked bool) {
		va, vb := ZMM(), ZMM()
		load(a, masked, k, va)
		load(b, masked, k, vb)
		VFMADD231PS(va, vb, acc)
	}
}

// softmaxBwdMath: vp += (va·sc)·(vd − dt), the softmax backward's
// element (va and vd are overwritten).
func softmaxBwdMath(va, vd, vp, sc, dt reg.VecVirtual) {
	VSUBPS(dt, vd, vd)
	VMULPS(sc, va, va)
	VFMADD231PS(va, vd, vp)
}

// clearFrom emits the loop that stores zeros to the n floats from p (n ≥ 0
// in a register it consumes; p is advanced), labels prefixed by pfx.
func clearFrom(pfx string, p, n reg.Register, k reg.OpmaskVirtual) {
	z := ZMM()
	VXORPS(z, z, z)
	vecLoopL(pfx, n, []reg.Register{p}, k, func(masked bool) {
		store(z, p, masked, k)
	})
}

// sigmoid2u sets s = σ(2u) = 1/(1 + e^{−2u}) for u = √(2/π)(v + 0.044715v³),
// GELU's ½(1 + tanh u), and returns v² for the backward's du/dv.
func sigmoid2u(c expConsts, ga, gc, m2 reg.VecVirtual, v, s reg.VecVirtual) reg.VecVirtual {
	v2 := ZMM()
	VMULPS(v, v, v2)
	t := ZMM()
	VMOVAPS(ga, t)
	VFMADD213PS(gc, v2, t) // t = c·a·v² + c
	a := ZMM()
	VMULPS(v, t, a)
	VMULPS(m2, a, a) // −2u
	e := ZMM()
	expVec(c, a, e)
	VADDPS(c.one, e, e) // d = 1 + e^{−2u}
	// 1/d by VRCP14PS (2⁻¹⁴) and one Newton step r(2 − d·r): ≈ 1 ulp.
	r := ZMM()
	VRCP14PS(e, r)
	VFNMADD213PS(c.two, r, e) // e = 2 − r·d
	VMULPS(e, r, s)
	return v2
}

// streamAhead is how far ahead (bytes) the elementwise passes over
// activations prefetch their inputs: read cold (the forward wrote them
// long before), they stalled on memory that the hardware prefetchers did
// not bring in time.
const streamAhead = 2048

// prefetchAhead prefetches each of ps streamAhead bytes ahead (not in the
// masked tail, whose lines are the last).
func prefetchAhead(masked bool, ps ...reg.Register) {
	if masked {
		return
	}
	for _, p := range ps {
		PREFETCHT0(operand.Mem{Base: p, Disp: streamAhead})
	}
}

func geluFwd() {
	TEXT("geluFwd512", NOSPLIT, "func(out, x *float32, n int)")
	Pragma("noescape")
	Doc("geluFwd512 sets out[i] = x[i]·σ(2u(x[i])) for i < n (GPT-2's tanh GELU); see vec.go.")
	out := Load(Param("out"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	c := loadExpConsts(sigHi)
	ga, gc, m2 := bcast("geluCA", geluC*geluA), bcast("geluC", geluC), bcast("minus2", -2)
	k := K()
	vecLoop(n, []reg.Register{out, x}, k, func(masked bool) {
		prefetchAhead(masked, x)
		v := ZMM()
		load(x, masked, k, v)
		s := ZMM()
		sigmoid2u(c, ga, gc, m2, v, s)
		VMULPS(s, v, s)
		store(s, out, masked, k)
	})
	VZEROUPPER()
	RET()
}

func geluBwd(accum bool) {
	if accum {
		TEXT("geluBwd512", NOSPLIT, "func(dx, x, dout *float32, n int)")
		Doc("geluBwd512 accumulates dx[i] += dout[i]·GELU'(x[i]) for i < n; see vec.go.")
	} else {
		TEXT("geluBwdSet512", NOSPLIT, "func(dx, x, dout *float32, n int)")
		Doc("geluBwdSet512 sets dx[i] = dout[i]·GELU'(x[i]) for i < n; see vec.go.")
	}
	Pragma("noescape")
	dx := Load(Param("dx"), GP64())
	x := Load(Param("x"), GP64())
	dout := Load(Param("dout"), GP64())
	n := Load(Param("n"), GP64())
	c := loadExpConsts(sigHi)
	ga, gc, m2 := bcast("geluCA", geluC*geluA), bcast("geluC", geluC), bcast("minus2", -2)
	ga3 := bcast("geluCA3", 3*geluC*geluA)
	k := K()
	vecLoop(n, []reg.Register{dx, x, dout}, k, func(masked bool) {
		prefetchAhead(masked, x, dout)
		v := ZMM()
		load(x, masked, k, v)
		s := ZMM()
		v2 := sigmoid2u(c, ga, gc, m2, v, s)
		// GELU = v·s, s = σ(2u): d/dv = s + 2v·s(1−s)·du/dv,
		// du/dv = c(1 + 3a·v²).
		du := ZMM()
		VMOVAPS(ga3, du)
		VFMADD213PS(gc, v2, du)
		w := ZMM()
		VMOVAPS(s, w)
		VFNMADD231PS(s, s, w) // s − s²
		VMULPS(du, w, w)
		VMULPS(v, w, w)
		VADDPS(w, w, w)
		VADDPS(s, w, w)
		g := ZMM()
		load(dout, masked, k, g)
		if !accum {
			VMULPS(g, w, w)
			store(w, dx, masked, k)
			return
		}
		d := ZMM()
		load(dx, masked, k, d)
		VFMADD231PS(g, w, d)
		store(d, dx, masked, k)
	})
	VZEROUPPER()
	RET()
}

// expShift emits expShift512 (store) or expShiftSum512 (sum only).
func expShift(storeOut bool) {
	if storeOut {
		TEXT("expShift512", NOSPLIT, "func(dst, src *float32, n int, scale, shift float32) float32")
		Doc("expShift512 sets dst[i] = e^(src[i]·scale − shift) for i < n and returns their sum",
			"(one 16-lane accumulator folded in a fixed order); dst may equal src.")
	} else {
		TEXT("expShiftSum512", NOSPLIT, "func(src *float32, n int, scale, shift float32) float32")
		Doc("expShiftSum512 returns Σ e^(src[i]·scale − shift) over i < n, summed as expShift512.")
	}
	Pragma("noescape")
	var dst reg.Register
	ptrs := []reg.Register{}
	if storeOut {
		dst = Load(Param("dst"), GP64())
		ptrs = append(ptrs, dst)
	}
	src := Load(Param("src"), GP64())
	ptrs = append(ptrs, src)
	n := Load(Param("n"), GP64())
	sc, sh := ZMM(), ZMM()
	VBROADCASTSS(paramAddr("scale"), sc)
	VBROADCASTSS(paramAddr("shift"), sh)
	c := loadExpConsts(expHi)
	acc := ZMM()
	VXORPS(acc, acc, acc)
	k := K()
	vecLoop(n, ptrs, k, expShiftStep(c, src, dst, sc, sh, acc, k))
	s := hsum(acc)
	VZEROUPPER()
	Store(s, ReturnIndex(0))
	RET()
}

func maxVec() {
	TEXT("max512", NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape")
	Doc("max512 returns the largest of x[0:n], n ≥ 1.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	acc := ZMM()
	VBROADCASTSS(operand.Mem{Base: x}, acc)
	k := K()
	vecLoop(n, []reg.Register{x}, k, maxStep(x, acc, k))
	xx := hmax(acc)
	VZEROUPPER()
	Store(xx, ReturnIndex(0))
	RET()
}

func scaleVec() {
	TEXT("scale512", NOSPLIT, "func(x *float32, n int, s float32)")
	Pragma("noescape")
	Doc("scale512 sets x[i] *= s for i < n.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	s := ZMM()
	VBROADCASTSS(paramAddr("s"), s)
	k := K()
	vecLoop(n, []reg.Register{x}, k, scaleStep(x, s, k))
	VZEROUPPER()
	RET()
}

func dotVec() {
	TEXT("dot512", NOSPLIT, "func(a, b *float32, n int) float32")
	Pragma("noescape")
	Doc("dot512 returns Σ a[i]·b[i] over i < n (one 16-lane accumulator, fixed fold).")
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	acc := ZMM()
	VXORPS(acc, acc, acc)
	k := K()
	vecLoop(n, []reg.Register{a, b}, k, dotStep(a, b, acc, k))
	s := hsum(acc)
	VZEROUPPER()
	Store(s, ReturnIndex(0))
	RET()
}

func softmaxBwdVec() {
	TEXT("softmaxBwd512", NOSPLIT, "func(dp, a, d *float32, n int, scale, dot float32)")
	Pragma("noescape")
	Doc("softmaxBwd512 accumulates dp[i] += scale·a[i]·(d[i] − dot) for i < n.")
	dp := Load(Param("dp"), GP64())
	a := Load(Param("a"), GP64())
	d := Load(Param("d"), GP64())
	n := Load(Param("n"), GP64())
	sc, dt := ZMM(), ZMM()
	VBROADCASTSS(paramAddr("scale"), sc)
	VBROADCASTSS(paramAddr("dot"), dt)
	k := K()
	vecLoop(n, []reg.Register{dp, a, d}, k, func(masked bool) {
		va, vd, vp := ZMM(), ZMM(), ZMM()
		load(a, masked, k, va)
		load(d, masked, k, vd)
		load(dp, masked, k, vp)
		softmaxBwdMath(va, vd, vp, sc, dt)
		store(vp, dp, masked, k)
	})
	VZEROUPPER()
	RET()
}

func addVec() {
	TEXT("add512", NOSPLIT, "func(dst, a, b *float32, n int)")
	Pragma("noescape")
	Doc("add512 sets dst[i] = a[i] + b[i] for i < n (dst may alias a or b).")
	dst := Load(Param("dst"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	k := K()
	vecLoop(n, []reg.Register{dst, a, b}, k, func(masked bool) {
		va, vb := ZMM(), ZMM()
		load(a, masked, k, va)
		load(b, masked, k, vb)
		VADDPS(vb, va, va)
		store(va, dst, masked, k)
	})
	VZEROUPPER()
	RET()
}

func packRows() {
	TEXT("packRows512", NOSPLIT, "func(dst, src *float32, k, lds, ldd int, mask uint16)")
	Pragma("noescape")
	Doc("packRows512 copies k rows of up to 16 floats (the lanes set in mask) from src",
		"(rows lds floats apart) to dst (rows ldd apart): GEMM's packing of op(A) = Aᵀ panels.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	k := Load(Param("k"), GP64())
	lds := Load(Param("lds"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(operand.U8(2), lds)
	SHLQ(operand.U8(2), ldd)
	m := Load(Param("mask"), GP32())
	km := K()
	KMOVW(m, km)
	v := ZMM()
	Label("loop")
	TESTQ(k, k)
	JZ(operand.LabelRef("done"))
	VMOVUPS_Z(operand.Mem{Base: src}, km, v)
	VMOVUPS(v, km, operand.Mem{Base: dst})
	ADDQ(lds, src)
	ADDQ(ldd, dst)
	DECQ(k)
	JMP(operand.LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// copies returns fresh registers holding the values of regs (loops advance
// their pointers and count down n, so each pass works on copies).
func copies(regs ...reg.Register) []reg.Register {
	out := make([]reg.Register, len(regs))
	for i, r := range regs {
		c := GP64()
		MOVQ(r, c)
		out[i] = c
	}
	return out
}

func lnFwd() {
	TEXT("lnFwdRow512", NOSPLIT, "func(out, x, gamma, beta *float32, n int, nf, eps float32) (mean, rstd float32)")
	Pragma("noescape")
	Doc("lnFwdRow512 normalises one row of n ≥ 1 floats, out = (x − mean)·rstd·g + b with",
		"rstd = 1/sqrt(var + eps) (biased variance, two passes in float32 with 16-lane",
		"sums), and returns mean and rstd; nf is float32(n).")
	out := Load(Param("out"), GP64())
	x := Load(Param("x"), GP64())
	g := Load(Param("gamma"), GP64()) // not "g": the Go assembler's goroutine register
	b := Load(Param("beta"), GP64())
	n := Load(Param("n"), GP64())
	k := K()
	// Pass 1: the mean (masked lanes load as 0).
	acc := ZMM()
	VXORPS(acc, acc, acc)
	c := copies(n, x)
	vecLoopL("m", c[0], c[1:], k, func(masked bool) {
		v := ZMM()
		load(c[1], masked, k, v)
		VADDPS(v, acc, acc)
	})
	mean := hsum(acc)
	VDIVSS(paramAddr("nf"), mean, mean)
	mu := ZMM()
	VBROADCASTSS(mean, mu)
	// Pass 2: the variance about it (masked lanes would add mean²: merge-mask).
	acc2 := ZMM()
	VXORPS(acc2, acc2, acc2)
	c = copies(n, x)
	vecLoopL("v", c[0], c[1:], k, func(masked bool) {
		v := ZMM()
		load(c[1], masked, k, v)
		VSUBPS(mu, v, v)
		if masked {
			VFMADD231PS(v, v, k, acc2)
		} else {
			VFMADD231PS(v, v, acc2)
		}
	})
	vr := hsum(acc2)
	VDIVSS(paramAddr("nf"), vr, vr)
	VADDSS(paramAddr("eps"), vr, vr)
	VSQRTSS(vr, vr, vr)
	one := XMM()
	VMOVSS(ConstData("lnOne", operand.U32(math.Float32bits(1))), one)
	VDIVSS(vr, one, one) // rstd
	rs := ZMM()
	VBROADCASTSS(one, rs)
	// Pass 3: the output.
	vecLoopL("o", n, []reg.Register{out, x, g, b}, k, func(masked bool) {
		v, gv, bv := ZMM(), ZMM(), ZMM()
		load(x, masked, k, v)
		load(g, masked, k, gv)
		load(b, masked, k, bv)
		VSUBPS(mu, v, v)
		VMULPS(rs, v, v)
		VFMADD213PS(bv, gv, v)
		store(v, out, masked, k)
	})
	VZEROUPPER()
	Store(mean, ReturnIndex(0))
	Store(one, ReturnIndex(1))
	RET()
}

func lnBwd() {
	TEXT("lnBwdRow512", NOSPLIT, "func(dx, dg, db, dout, x, gamma *float32, n int, nf, mean, rstd float32)")
	Pragma("noescape")
	Doc("lnBwdRow512 accumulates one row's LayerNorm gradients: with h = (x − mean)·rstd,",
		"dg += dout·h, db += dout, dx += rstd·(dout·g − mean(dout·g) − h·mean(dout·g·h)).")
	dx := Load(Param("dx"), GP64())
	dg := Load(Param("dg"), GP64())
	db := Load(Param("db"), GP64())
	dout := Load(Param("dout"), GP64())
	x := Load(Param("x"), GP64())
	g := Load(Param("gamma"), GP64())
	n := Load(Param("n"), GP64())
	mu, rs := ZMM(), ZMM()
	VBROADCASTSS(paramAddr("mean"), mu)
	VBROADCASTSS(paramAddr("rstd"), rs)
	k := K()
	// Pass 1: Σ dout·g and Σ dout·g·h (masked lanes have dout = g = 0).
	sg, sgh := ZMM(), ZMM()
	VXORPS(sg, sg, sg)
	VXORPS(sgh, sgh, sgh)
	c := copies(n, dout, x, g)
	vecLoopL("s", c[0], c[1:], k, func(masked bool) {
		d, v, gv := ZMM(), ZMM(), ZMM()
		load(c[1], masked, k, d)
		load(c[2], masked, k, v)
		load(c[3], masked, k, gv)
		VSUBPS(mu, v, v)
		VMULPS(rs, v, v) // h
		VMULPS(gv, d, d) // dout·g
		VADDPS(d, sg, sg)
		VFMADD231PS(d, v, sgh)
	})
	a := hsum(sg)
	VDIVSS(paramAddr("nf"), a, a)
	bb := hsum(sgh)
	VDIVSS(paramAddr("nf"), bb, bb)
	msg, msgh := ZMM(), ZMM()
	VBROADCASTSS(a, msg)
	VBROADCASTSS(bb, msgh)
	vecLoopL("d", n, []reg.Register{dx, dg, db, dout, x, g}, k, func(masked bool) {
		d, v, gv := ZMM(), ZMM(), ZMM()
		load(dout, masked, k, d)
		load(x, masked, k, v)
		load(g, masked, k, gv)
		VSUBPS(mu, v, v)
		VMULPS(rs, v, v) // h
		acc := ZMM()
		load(dg, masked, k, acc)
		VFMADD231PS(d, v, acc)
		store(acc, dg, masked, k)
		acc2 := ZMM()
		load(db, masked, k, acc2)
		VADDPS(d, acc2, acc2)
		store(acc2, db, masked, k)
		t := ZMM()
		VMULPS(gv, d, t)
		VSUBPS(msg, t, t)
		VFNMADD231PS(v, msgh, t) // t −= h·mean(g·h)
		ddx := ZMM()
		load(dx, masked, k, ddx)
		VFMADD231PS(t, rs, ddx)
		store(ddx, dx, masked, k)
	})
	VZEROUPPER()
	RET()
}

// packAhead: the packer prefetches the row 2^packAhead rows ahead.
const packAhead = 3

func packPanels() {
	TEXT("packPanels512", NOSPLIT, "func(dst, src *float32, rows, lds, panels, pstride int, last uint16)")
	Pragma("noescape")
	Doc("packPanels512 packs rows × (14·panels) floats of src (rows lds apart) into panels",
		"of 14 columns: row r of panel ip goes to dst[ip·pstride + 14·r]. The last panel copies",
		"the columns set in last. Rows are read once, in order (op(A) = Aᵀ for the 14-row tiles).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rows := Load(Param("rows"), GP64())
	lds := Load(Param("lds"), GP64())
	panels := Load(Param("panels"), GP64())
	pstride := Load(Param("pstride"), GP64())
	SHLQ(operand.U8(2), lds)
	SHLQ(operand.U8(2), pstride)
	full, lastK := K(), K()
	m := GP32()
	MOVL(operand.U32(1<<14-1), m)
	KMOVW(m, full)
	lm := Load(Param("last"), GP32())
	KMOVW(lm, lastK)
	DECQ(panels) // full panels before the last
	ahead := GP64()
	MOVQ(lds, ahead)
	SHLQ(operand.U8(packAhead), ahead)
	v := ZMM()
	Label("row")
	TESTQ(rows, rows)
	JZ(operand.LabelRef("done"))
	s, d, c := GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(panels, c)
	Label("panel")
	TESTQ(c, c)
	JZ(operand.LabelRef("lastpanel"))
	PREFETCHT0(operand.Mem{Base: s, Index: ahead, Scale: 1})
	VMOVUPS_Z(operand.Mem{Base: s}, full, v)
	VMOVUPS(v, full, operand.Mem{Base: d})
	ADDQ(operand.U8(56), s)
	ADDQ(pstride, d)
	DECQ(c)
	JMP(operand.LabelRef("panel"))
	Label("lastpanel")
	VMOVUPS_Z(operand.Mem{Base: s}, lastK, v)
	VMOVUPS(v, lastK, operand.Mem{Base: d})
	ADDQ(lds, src)
	ADDQ(operand.U8(56), dst)
	DECQ(rows)
	JMP(operand.LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}

func packB32() {
	TEXT("packB512", NOSPLIT, "func(dst, src *float32, rows, lds int, mask uint32)")
	Pragma("noescape")
	Doc("packB512 copies rows of 32 floats (the columns set in mask, the others 0) from src",
		"(rows lds apart) to the contiguous dst: GEMM's packing of an untransposed B panel.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rows := Load(Param("rows"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(operand.U8(2), lds)
	m := Load(Param("mask"), GP32())
	lo, hi := K(), K()
	KMOVW(m, lo)
	SHRL(operand.U8(16), m)
	KMOVW(m, hi)
	v0, v1 := ZMM(), ZMM()
	Label("loop")
	TESTQ(rows, rows)
	JZ(operand.LabelRef("done"))
	VMOVUPS_Z(operand.Mem{Base: src}, lo, v0)
	VMOVUPS_Z(operand.Mem{Base: src, Disp: 64}, hi, v1)
	VMOVUPS(v0, operand.Mem{Base: dst})
	VMOVUPS(v1, operand.Mem{Base: dst, Disp: 64})
	ADDQ(lds, src)
	ADDQ(operand.U8(128), dst)
	DECQ(rows)
	JMP(operand.LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

func softmaxRowVec() {
	TEXT("softmaxRow512", NOSPLIT, "func(row *float32, live, rows, n int, scale float32)")
	Pragma("noescape")
	Doc("softmaxRow512 turns rows consecutive rows of n floats (row r at row[r·n:]) into",
		"causal attention rows: row r's first live+r entries become softmax(x·scale)",
		"(1 ≤ live, live+rows−1 ≤ n, scale > 0) and the rest 0. Per row: max, exp and",
		"sum, normalise, clear — the same operations as max512/expShift512/scale512 —",
		"with the exp constants loaded once for all rows. Each row's reductions wait",
		"on the one before: softmaxRows512 is the fast form for several rows.")
	row := Load(Param("row"), GP64())
	live := Load(Param("live"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	k := K()
	sc := ZMM()
	VBROADCASTSS(paramAddr("scale"), sc)
	cons := loadExpConsts(expHi)
	Label("row")
	// max over row[:live]
	mx := ZMM()
	VBROADCASTSS(operand.Mem{Base: row}, mx)
	c := copies(live, row)
	vecLoopL("m", c[0], c[1:], k, maxStep(c[1], mx, k))
	xx := hmax(mx)
	VMULSS(sc.AsX(), xx, xx) // shift = max·scale
	sh := ZMM()
	VBROADCASTSS(xx, sh)
	// e^(x·scale − shift) and its sum
	acc := ZMM()
	VXORPS(acc, acc, acc)
	c = copies(live, row)
	vecLoopL("e", c[0], c[1:], k, expShiftStep(cons, c[1], c[1], sc, sh, acc, k))
	s := hsum(acc)
	one := XMM()
	VMOVSS(consts["one"], one)
	VDIVSS(s, one, one) // 1/sum
	inv := ZMM()
	VBROADCASTSS(one, inv)
	c = copies(live, row)
	vecLoopL("s", c[0], c[1:], k, scaleStep(c[1], inv, k))
	// zero row[live:n]
	rest := GP64()
	MOVQ(n, rest)
	SUBQ(live, rest)
	p := GP64()
	LEAQ(operand.Mem{Base: row, Index: live, Scale: 4}, p)
	clearFrom("z", p, rest, k)
	// next row: one more live entry, n floats further
	LEAQ(operand.Mem{Base: row, Index: n, Scale: 4}, row)
	INCQ(live)
	DECQ(rows)
	JNZ(operand.LabelRef("row"))
	VZEROUPPER()
	RET()
}

// mxcsrFlush are MXCSR's flush-to-zero (bit 15) and denormals-are-zero
// (bit 6) bits.
const mxcsrFlush = 1<<15 | 1<<6

func adamWVec() {
	TEXT("adamW512", NOSPLIT, "func(p, grad, m, v *float32, n int, c *float32)")
	Pragma("noescape")
	Doc("adamW512 applies one AdamW step to n parameters p with gradients grad and moments",
		"m, v; c points to adamConsts (b1, 1−b1, b2, 1−b2, eps, decay, stepSize, √bc2).",
		"The operations are adamWGo's, in its order, with MXCSR's flush-to-zero and",
		"denormals-are-zero set for the loop (and restored): moments decaying towards 0",
		"never become subnormal, whose arithmetic takes microcode assists.")
	p := Load(Param("p"), GP64())
	g := Load(Param("grad"), GP64()) // not "g": the Go assembler's goroutine register
	m := Load(Param("m"), GP64())
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	c := Load(Param("c"), GP64())
	saved, flush := AllocLocal(4), AllocLocal(4)
	VSTMXCSR(saved)
	t := GP32()
	MOVL(saved, t)
	ORL(operand.U32(mxcsrFlush), t)
	MOVL(t, flush)
	VLDMXCSR(flush)
	var cs [8]reg.VecVirtual
	for i := range cs {
		cs[i] = ZMM()
		VBROADCASTSS(operand.Mem{Base: c, Disp: 4 * i}, cs[i])
	}
	b1, omb1, b2, omb2, eps, decay, step, bc2 := cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7]
	k := K()
	vecLoop(n, []reg.Register{p, g, m, v}, k, func(masked bool) {
		vg, vm, vv, vp := ZMM(), ZMM(), ZMM(), ZMM()
		load(g, masked, k, vg)
		load(m, masked, k, vm)
		load(v, masked, k, vv)
		load(p, masked, k, vp)
		// m = b1·m + (1−b1)·g
		t1 := ZMM()
		VMULPS(b1, vm, vm)
		VMULPS(omb1, vg, t1)
		VADDPS(t1, vm, vm)
		// v = b2·v + ((1−b2)·g)·g
		VMULPS(b2, vv, vv)
		VMULPS(omb2, vg, t1)
		VMULPS(vg, t1, t1)
		VADDPS(t1, vv, vv)
		store(vm, m, masked, k)
		store(vv, v, masked, k)
		// p = p·decay − (stepSize·m)/(√v/√bc2 + eps)
		d := ZMM()
		VSQRTPS(vv, d)
		VDIVPS(bc2, d, d)
		VADDPS(eps, d, d)
		VMULPS(step, vm, t1)
		VDIVPS(d, t1, t1)
		VMULPS(decay, vp, vp)
		VSUBPS(t1, vp, vp)
		store(vp, p, masked, k)
	})
	VLDMXCSR(saved)
	VZEROUPPER()
	RET()
}

func scaleFlushVec() {
	TEXT("scaleFlush512", NOSPLIT, "func(x *float32, n int, s, thr float32)")
	Pragma("noescape")
	Doc("scaleFlush512 sets x[i] = x[i]·s for i < n, or +0 where |x[i]| < thr (thr = the",
		"smallest normal float32 / |s|: products that would be subnormal are never formed).")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	sv, tv, abs := ZMM(), ZMM(), ZMM()
	VBROADCASTSS(paramAddr("s"), sv)
	VBROADCASTSS(paramAddr("thr"), tv)
	VPBROADCASTD(ConstData("absMask", operand.U32(0x7fffffff)), abs)
	k := K()
	vecLoop(n, []reg.Register{x}, k, func(masked bool) {
		v, a := ZMM(), ZMM()
		load(x, masked, k, v)
		VANDPS(abs, v, a)
		keep := K()
		if masked {
			VCMPPS(operand.U8(5), tv, a, k, keep) // |x| ≥ thr or NaN, within the tail
		} else {
			VCMPPS(operand.U8(5), tv, a, keep)
		}
		VMULPS_Z(sv, v, keep, v)
		store(v, x, masked, k)
	})
	VZEROUPPER()
	RET()
}

func reluFwdVec() {
	TEXT("reluFwd512", NOSPLIT, "func(out, x *float32, n int)")
	Pragma("noescape")
	Doc("reluFwd512 sets out[i] = x[i] if x[i] > 0, else +0 (NaN too), for i < n.")
	out := Load(Param("out"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	zero := ZMM()
	VXORPS(zero, zero, zero)
	k := K()
	vecLoop(n, []reg.Register{out, x}, k, func(masked bool) {
		v := ZMM()
		load(x, masked, k, v)
		// MAXPS returns its second source (here +0) when either is NaN and
		// when both are zeros, as the Go loop's x > 0 test.
		VMAXPS(zero, v, v)
		store(v, out, masked, k)
	})
	VZEROUPPER()
	RET()
}

func reluBwdVec() {
	TEXT("reluBwd512", NOSPLIT, "func(dx, x, dout *float32, n int)")
	Pragma("noescape")
	Doc("reluBwd512 accumulates dx[i] += dout[i] where x[i] > 0, for i < n.")
	dx := Load(Param("dx"), GP64())
	x := Load(Param("x"), GP64())
	dout := Load(Param("dout"), GP64())
	n := Load(Param("n"), GP64())
	zero := ZMM()
	VXORPS(zero, zero, zero)
	k := K()
	vecLoop(n, []reg.Register{dx, x, dout}, k, func(masked bool) {
		v, d, g := ZMM(), ZMM(), ZMM()
		load(x, masked, k, v)
		load(dx, masked, k, d)
		load(dout, masked, k, g)
		pos := K()
		VCMPPS(operand.U8(0x1e), zero, v, pos) // x > 0, ordered (NaN: false)
		VADDPS(g, d, pos, d)
		store(d, dx, masked, k)
	})
	VZEROUPPER()
	RET()
}

// vecKernels emits every kernel of gen_vec_amd64.s.
func vecKernels() {
	reluFwdVec()
	reluBwdVec()
	adamWVec()
	scaleFlushVec()
	softmaxRowVec()
	softmaxRowsBlock()
	softmaxBwdRowsBlock()
	packB32()
	transposeShuffle()
	prefetchLines()
	prefetchRowLines()
	packPanels()
	packRows()
	lnFwd()
	lnBwd()
	geluFwd()
	geluBwd(true)
	geluBwd(false)
	expShift(true)
	expShift(false)
	maxVec()
	scaleVec()
	dotVec()
	softmaxBwdVec()
	addVec()
}
