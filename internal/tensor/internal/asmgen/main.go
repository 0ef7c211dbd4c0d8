// Command asmgen generates emlab's SGEMM micro-kernels (gen_gemm_amd64.s and
// its Go stubs) and, with -kernels vec, the AVX-512 elementwise kernels
// (gen_vec_amd64.s, see vec.go) with avo. Run it through
// `go generate ./internal/tensor`.
//
// Each micro-kernel computes one register-resident tile of C:
//
//	C[r, j] (+)= Σ_p A[r·rs + p·ps] · B[p·ldb + j]     r < mr, j < nr
//
// A is read in place through two strides (rs between rows, ps between
// k-steps, in elements), so the same kernel serves op(A) = A (rs = lda,
// ps = 1), op(A) = Aᵀ (rs = 1, ps = lda) and a packed copy; B is read as
// rows ldb apart (a packed panel has ldb = NR; an unpacked op(B) = B its own
// leading dimension). Accumulation happens in
// registers in k order, then the tile is stored (accum = 0) or added to C
// (accum ≠ 0), and a bias row (bias ≠ nil, nr floats) is added last. The
// k order per element is fixed, so results do not depend on
// how the caller distributes tiles over threads.
//
// AVX-512 (the BLIS "skx" shape transposed to row-major): 14 rows × 32
// columns = 28 zmm accumulators, 2 zmm for the B row, 2 for broadcasts of A
// (tiles 16 columns wide broadcast A inside their FMAs instead).
// Columns beyond nr are masked on load and store (mask in K1), so edge tiles
// need no temporary. AVX2+FMA: 6 rows × 16 columns = 12 ymm accumulators; the
// caller handles column edges through a temporary tile.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

const (
	mr512 = 14
	mr256 = 6
)

const sig = "func(k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, mask uint64, accum int, bias *float32)"

// rowAddr returns the address of A's row r at the current k-step: rows are
// grouped five per base register (SI, DI, R8), each group addressed as
// base + {0, 1, 2, 3, 4}·rs with CX = rs and DX = 3·rs in bytes.
func rowAddr(r int) operand.Mem {
	bases := []reg.Register{reg.RSI, reg.RDI, reg.R8}
	m := operand.Mem{Base: bases[r/5]}
	switch r % 5 {
	case 1:
		m.Index, m.Scale = reg.RCX, 1
	case 2:
		m.Index, m.Scale = reg.RCX, 2
	case 3:
		m.Index, m.Scale = reg.RDX, 1
	case 4:
		m.Index, m.Scale = reg.RCX, 4
	}
	return m
}

// prologue loads the arguments common to both ISAs and sets up the row bases.
func prologue(mr int) {
	Load(Param("k"), reg.RAX)
	Load(Param("a"), reg.RSI)
	Load(Param("rs"), reg.RCX)
	Load(Param("ps"), reg.R9)
	Load(Param("b"), reg.RBX)
	Load(Param("c"), reg.R10)
	Load(Param("ldc"), reg.R11)
	Load(Param("ldb"), reg.R12)
	SHLQ(operand.U8(2), reg.R12)
	SHLQ(operand.U8(2), reg.RCX)
	SHLQ(operand.U8(2), reg.R9)
	SHLQ(operand.U8(2), reg.R11)
	LEAQ(operand.Mem{Base: reg.RCX, Index: reg.RCX, Scale: 2}, reg.RDX) // 3·rs
	if mr > 5 {
		LEAQ(operand.Mem{Base: reg.RSI, Index: reg.RCX, Scale: 4}, reg.RDI)
		ADDQ(reg.RCX, reg.RDI) // a + 5·rs
	}
	if mr > 10 {
		LEAQ(operand.Mem{Base: reg.RDI, Index: reg.RCX, Scale: 4}, reg.R8)
		ADDQ(reg.RCX, reg.R8) // a + 10·rs
	}
}

// advanceA moves every used row base one k-step on.
func advanceA(mr int) {
	ADDQ(reg.R9, reg.RSI)
	if mr > 5 {
		ADDQ(reg.R9, reg.RDI)
	}
	if mr > 10 {
		ADDQ(reg.R9, reg.R8)
	}
}

func kernel512(mr, nv int) {
	name := fmt.Sprintf("sgemmK512x%dx%d", mr, nv)
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×%d tile of C (AVX-512F); see package asmgen.", name, mr, 16*nv))
	prologue(mr)
	acc := func(r, v int) reg.VecPhysical { return zr(r*2 + v) }
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VPXORD(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	bv := []reg.VecPhysical{reg.Z28, reg.Z29}
	bc := []reg.VecPhysical{reg.Z30, reg.Z31}
	// The last B vector is loaded under the column mask: an unpacked B row
	// may end inside it.
	Load(Param("mask"), reg.R13)
	KMOVQ(reg.R13, reg.K1)
	step := func() {
		for v := 0; v < nv-1; v++ {
			VMOVUPS(operand.Mem{Base: reg.RBX, Disp: 64 * v}, bv[v])
		}
		VMOVUPS_Z(operand.Mem{Base: reg.RBX, Disp: 64 * (nv - 1)}, reg.K1, bv[nv-1])
		for r := 0; r < mr; r++ {
			if nv == 1 {
				// One instruction per A element, the broadcast
				// embedded in the FMA: with a VBROADCASTSS per FMA
				// the 16-wide tiles of narrow attention heads ran at
				// 75% of the 32-wide ones' speed on Zen 4.
				VFMADD231PS_BCST(rowAddr(r), bv[0], acc(r, 0))
				continue
			}
			t := bc[r%2]
			VBROADCASTSS(rowAddr(r), t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(t, bv[v], acc(r, v))
			}
		}
		advanceA(mr)
	}
	kLoop(step)

	Label("store")
	// Four epilogues: C (+)= acc, then (with a bias row) + bias. The bias is
	// added after C, as AddBias after a Gemm, so Gemm with a bias is
	// bit-identical to Gemm then AddBias.
	Load(Param("bias"), reg.RBX)
	Load(Param("accum"), reg.R13)
	TESTQ(reg.RBX, reg.RBX)
	JZ(operand.LabelRef("nobias"))
	bias := []reg.VecPhysical{reg.Z28, reg.Z29}
	if nv == 2 {
		VMOVUPS(operand.Mem{Base: reg.RBX}, bias[0])
	}
	VMOVUPS_Z(operand.Mem{Base: reg.RBX, Disp: 64 * (nv - 1)}, reg.K1, bias[nv-1])
	TESTQ(reg.R13, reg.R13)
	JZ(operand.LabelRef("overwritebias"))
	store512(mr, nv, acc, true, bias)
	Label("overwritebias")
	store512(mr, nv, acc, false, bias)
	Label("nobias")
	TESTQ(reg.R13, reg.R13)
	JZ(operand.LabelRef("overwrite"))
	store512(mr, nv, acc, true, nil)
	Label("overwrite")
	store512(mr, nv, acc, false, nil)
}

// store512 writes the tile: acc (+ C when accum) (+ bias when given), rows
// ldc apart from R10, the last vector under the column mask K1; then returns.
func store512(mr, nv int, acc func(r, v int) reg.VecPhysical, accum bool, bias []reg.VecPhysical) {
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			m := operand.Mem{Base: reg.R10, Disp: 64 * v}
			a := acc(r, v)
			if accum {
				if v == nv-1 {
					VADDPS_Z(m, a, reg.K1, a)
				} else {
					VADDPS(m, a, a)
				}
			}
			if bias != nil {
				VADDPS(bias[v], a, a)
			}
			if v == nv-1 {
				VMOVUPS(a, reg.K1, m)
			} else {
				VMOVUPS(a, m)
			}
		}
		if r+1 < mr {
			ADDQ(reg.R11, reg.R10)
		}
	}
	VZEROUPPER()
	RET()
}

func kernel256(mr int) {
	name := fmt.Sprintf("sgemmK256x%d", mr)
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d×16 tile of C (AVX2+FMA); mask is ignored.", name, mr))
	prologue(mr)
	acc := func(r, v int) reg.VecPhysical { return yr(r*2 + v) }
	for r := 0; r < mr; r++ {
		for v := 0; v < 2; v++ {
			VXORPS(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	bv := []reg.VecPhysical{reg.Y12, reg.Y13}
	bc := []reg.VecPhysical{reg.Y14, reg.Y15}
	step := func() {
		for v := 0; v < 2; v++ {
			VMOVUPS(operand.Mem{Base: reg.RBX, Disp: 32 * v}, bv[v])
		}
		for r := 0; r < mr; r++ {
			t := bc[r%2]
			VBROADCASTSS(rowAddr(r), t)
			for v := 0; v < 2; v++ {
				VFMADD231PS(t, bv[v], acc(r, v))
			}
		}
		advanceA(mr)
	}
	kLoop(step)

	Label("store")
	Load(Param("bias"), reg.RBX)
	Load(Param("accum"), reg.R13)
	TESTQ(reg.RBX, reg.RBX)
	JZ(operand.LabelRef("nobias"))
	bias := []reg.VecPhysical{reg.Y12, reg.Y13}
	VMOVUPS(operand.Mem{Base: reg.RBX}, bias[0])
	VMOVUPS(operand.Mem{Base: reg.RBX, Disp: 32}, bias[1])
	TESTQ(reg.R13, reg.R13)
	JZ(operand.LabelRef("overwritebias"))
	store256(mr, acc, true, bias)
	Label("overwritebias")
	store256(mr, acc, false, bias)
	Label("nobias")
	TESTQ(reg.R13, reg.R13)
	JZ(operand.LabelRef("overwrite"))
	store256(mr, acc, true, nil)
	Label("overwrite")
	store256(mr, acc, false, nil)
}

// store256 is store512 for the 6×16 AVX2 tile (no column mask).
func store256(mr int, acc func(r, v int) reg.VecPhysical, accum bool, bias []reg.VecPhysical) {
	for r := 0; r < mr; r++ {
		for v := 0; v < 2; v++ {
			m := operand.Mem{Base: reg.R10, Disp: 32 * v}
			if accum {
				VADDPS(m, acc(r, v), acc(r, v))
			}
			if bias != nil {
				VADDPS(bias[v], acc(r, v), acc(r, v))
			}
			VMOVUPS(acc(r, v), m)
		}
		if r+1 < mr {
			ADDQ(reg.R11, reg.R10)
		}
	}
	VZEROUPPER()
	RET()
}

func zr(i int) reg.VecPhysical {
	return []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27,
	}[i]
}

func yr(i int) reg.VecPhysical {
	return []reg.VecPhysical{
		reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11,
	}[i]
}

// writeTable writes the Go file that indexes the kernels by tile shape.
func writeTable(path string) error {
	f := new(bytes.Buffer)
	fmt.Fprintln(f, "// Code generated by internal/asmgen. DO NOT EDIT.")
	fmt.Fprintln(f)
	fmt.Fprintln(f, "//go:build amd64 && !purego")
	fmt.Fprintln(f)
	fmt.Fprintln(f, "package tensor")
	fmt.Fprintln(f)
	fmt.Fprintf(f, "// kernels512[mr][nv] computes an mr×(16·nv) tile; index 0 is unused.\n")
	fmt.Fprintf(f, "var kernels512 = [%d][3]microKernel{\n", mr512+1)
	for r := 1; r <= mr512; r++ {
		fmt.Fprintf(f, "\t%d: {1: sgemmK512x%dx1, 2: sgemmK512x%dx2},\n", r, r, r)
	}
	fmt.Fprintln(f, "}")
	fmt.Fprintln(f)
	fmt.Fprintf(f, "// kernels256[mr] computes an mr×16 tile; index 0 is unused.\n")
	fmt.Fprintf(f, "var kernels256 = [%d]microKernel{\n", mr256+1)
	for r := 1; r <= mr256; r++ {
		fmt.Fprintf(f, "\t%d: sgemmK256x%d,\n", r, r)
	}
	fmt.Fprintln(f, "}")
	src, err := format.Source(f.Bytes())
	if err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}

func main() {
	kernels := flag.String("kernels", "gemm", "which file to generate: gemm (SGEMM micro-kernels) or vec (elementwise, vec.go)")
	flag.Parse()
	ConstraintExpr("amd64,!purego")
	if *kernels == "vec" {
		vecKernels()
		Generate()
		return
	}
	for r := 1; r <= mr512; r++ {
		for nv := 1; nv <= 2; nv++ {
			kernel512(r, nv)
		}
	}
	for r := 1; r <= mr256; r++ {
		kernel256(r)
	}
	if err := writeTable("gen_gemm_table_amd64.go"); err != nil {
		fmt.Fprintln(os.Stderr, "asmgen:", err)
		os.Exit(1)
	}
	Generate()
}

// kLoop emits a micro-kernel's loop over k (RAX k-steps left, RBX at B's
// row, R12 B's row stride): two k-steps an iteration, then at most one
// more, and on to the label "store".
func kLoop(step func()) {
	Label("loop2")
	CMPQ(reg.RAX, operand.U8(2))
	JL(operand.LabelRef("tail"))
	step()
	ADDQ(reg.R12, reg.RBX)
	step()
	ADDQ(reg.R12, reg.RBX)
	SUBQ(operand.U8(2), reg.RAX)
	JMP(operand.LabelRef("loop2"))
	Label("tail")
	TESTQ(reg.RAX, reg.RAX)
	JZ(operand.LabelRef("store"))
	step()
}
