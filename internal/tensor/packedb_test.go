package tensor

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemmPackedBBitIdentical checks GemmPackedB against Gemm bit for bit,
// for each kernel set: op(B) = B and Bᵀ, k over several k-blocks (the last
// short), n with an edge panel, m from one row (where Gemm reads B in
// place) to several chunks, beta 0, 1 and 0.5, padded strides; and one
// PackedB reused over row pieces of A, as the GPT's backward uses it.
func TestGemmPackedBBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, isa := range append(slices.Clone(gemmISAs), nil) {
		saved := activeISA
		activeISA = isa
		for _, transB := range []bool{false, true} {
			for _, sh := range []struct{ n, k int }{{128, 384}, {45, 530}, {33, 7}} {
				for _, m := range []int{1, 14, 256, 300} {
					for _, beta := range []float32{0, 1, 0.5} {
						g := gemmCase{false, transB, m, sh.n, sh.k, 3, beta}
						p := newGemmProblem(g, rng)
						var pb PackedB
						pb.Pack(transB, sh.n, sh.k, p.b, p.ldb)
						want, got := slices.Clone(p.c), slices.Clone(p.c)
						Gemm(false, transB, m, sh.n, sh.k, p.a, p.lda, p.b, p.ldb, beta, want, p.ldc)
						GemmPackedB(m, p.a, p.lda, &pb, beta, got, p.ldc)
						if !bitsEqual(got, want) {
							t.Errorf("%s %v: GemmPackedB differs from Gemm", isaName(isa), g)
						}
						// Row pieces of A through one packing: the whole product's rows.
						pieces := slices.Clone(p.c)
						for r0 := 0; r0 < m; r0 += 100 {
							r1 := min(r0+100, m)
							GemmPackedB(r1-r0, p.a[r0*p.lda:], p.lda, &pb, beta, pieces[r0*p.ldc:], p.ldc)
						}
						if !bitsEqual(pieces, want) {
							t.Errorf("%s %v: GemmPackedB over row pieces differs from Gemm", isaName(isa), g)
						}
					}
				}
			}
		}
		activeISA = saved
	}
}

// TestGemmKBlockPieces checks GemmKBlock's promise: Gemm(true, false, …,
// beta 1) over consecutive row ranges of A and B that start at multiples
// of GemmKBlock gives the bits of one call over all rows, for each kernel
// set (lda ≤ 128 reads Aᵀ in place, lda > 128 packs it). A split inside a
// k-block must differ somewhere, or the test could not see a wrong
// GemmKBlock.
func TestGemmKBlockPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, isa := range append(slices.Clone(gemmISAs), nil) {
		saved := activeISA
		activeISA = isa
		kb := GemmKBlock()
		for _, sh := range []struct{ m, n, k int }{{128, 384, 2048}, {512, 128, 1100}, {37, 61, 700}} {
			a, b := randSlice(rng, sh.k*sh.m), randSlice(rng, sh.k*sh.n)
			c0 := randSlice(rng, sh.m*sh.n)
			want := slices.Clone(c0)
			Gemm(true, false, sh.m, sh.n, sh.k, a, sh.m, b, sh.n, 1, want, sh.n)
			for _, step := range []int{1, 2, 3} {
				got := slices.Clone(c0)
				for r0 := 0; r0 < sh.k; r0 += step * kb {
					r1 := min(r0+step*kb, sh.k)
					Gemm(true, false, sh.m, sh.n, r1-r0, a[r0*sh.m:], sh.m, b[r0*sh.n:], sh.n, 1, got, sh.n)
				}
				if !bitsEqual(got, want) {
					t.Errorf("%s %v: pieces of %d k-blocks differ from one product", isaName(isa), sh, step)
				}
			}
			if kb > 1 {
				got := slices.Clone(c0)
				h := kb / 2
				Gemm(true, false, sh.m, sh.n, h, a, sh.m, b, sh.n, 1, got, sh.n)
				Gemm(true, false, sh.m, sh.n, sh.k-h, a[h*sh.m:], sh.m, b[h*sh.n:], sh.n, 1, got, sh.n)
				if bitsEqual(got, want) {
					t.Errorf("%s %v: a split inside a k-block gave the same bits; the test cannot see a wrong k-block", isaName(isa), sh)
				}
			}
		}
		activeISA = saved
	}
}
