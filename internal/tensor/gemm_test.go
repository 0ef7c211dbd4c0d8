package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// gemmCase is one problem: op(A) (m, k), op(B) (k, n), with padding added to
// every leading dimension so strided views are exercised.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	pad            int // extra columns in every stored row
	beta           float32
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,pad=%d,beta=%g", g.transA, g.transB, g.m, g.n, g.k, g.pad, g.beta)
}

// gemmProblem holds the operands of a case, filled from a seeded generator.
type gemmProblem struct {
	a, b, c       []float32
	lda, ldb, ldc int
}

func newGemmProblem(g gemmCase, rng *rand.Rand) gemmProblem {
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	fill := func(rows, cols, ld int) []float32 {
		s := make([]float32, max(rows*ld, 1))
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	p := gemmProblem{lda: ac + g.pad, ldb: bc + g.pad, ldc: g.n + g.pad}
	p.a = fill(ar, ac, p.lda)
	p.b = fill(br, bc, p.ldb)
	p.c = fill(g.m, g.n, p.ldc)
	return p
}

// gemmTolerance bounds |fast − ref| for C[i,j]. Both compute the same sum;
// the reference in float64, the kernel in float32 with one rounding per
// multiply-add, so (Higham, Accuracy and Stability, §3.1) the error is at
// most γ_k·Σ_p |a_ip||b_pj| + |beta·c| rounding, γ_k ≈ k·u with u = 2⁻²⁴.
// The reference then rounds once to float32 (another u·|c|). Factor 2 of
// slack covers the final addition of the k-block partial sums.
func gemmTolerance(g gemmCase, p gemmProblem, c0 []float32, i, j int) float64 {
	const u = 1.0 / (1 << 24)
	var s float64
	for q := 0; q < g.k; q++ {
		var av, bv float32
		if g.transA {
			av = p.a[q*p.lda+i]
		} else {
			av = p.a[i*p.lda+q]
		}
		if g.transB {
			bv = p.b[j*p.ldb+q]
		} else {
			bv = p.b[q*p.ldb+j]
		}
		s += math.Abs(float64(av) * float64(bv))
	}
	s += math.Abs(float64(g.beta) * float64(c0[i*p.ldc+j]))
	return 2*float64(g.k+2)*u*s + 1e-30
}

func checkGemmCase(t *testing.T, isa *gemmISA, g gemmCase, rng *rand.Rand) {
	t.Helper()
	p := newGemmProblem(g, rng)
	want := slices.Clone(p.c)
	gemmRef(g.transA, g.transB, g.m, g.n, g.k, p.a, p.lda, p.b, p.ldb, g.beta, want, p.ldc)
	got := slices.Clone(p.c)
	if isa == nil {
		gemmGo(g.transA, g.transB, g.m, g.n, g.k, p.a, p.lda, p.b, p.ldb, g.beta, got, p.ldc)
	} else {
		gemmBlocked(isa, g.transA, g.transB, g.m, g.n, g.k, p.a, p.lda, p.b, p.ldb, g.beta, got, p.ldc, nil)
	}
	for i := 0; i < g.m; i++ {
		for j := 0; j < p.ldc; j++ {
			idx := i*p.ldc + j
			if j >= g.n {
				// Padding between rows of C must never be written.
				if got[idx] != p.c[idx] {
					t.Fatalf("%v: wrote padding C[%d,%d]", g, i, j)
				}
				continue
			}
			d := math.Abs(float64(got[idx]) - float64(want[idx]))
			if tol := gemmTolerance(g, p, p.c, i, j); !(d <= tol) {
				t.Fatalf("%v: C[%d,%d] = %g, want %g (|diff| %g > tol %g)", g, i, j, got[idx], want[idx], d, tol)
			}
		}
	}
}

// isaName names the plain Go loop "go".
func isaName(isa *gemmISA) string {
	if isa == nil {
		return "go"
	}
	return isa.name
}

func TestGemmMatchesReference(t *testing.T) {
	sizes := []int{1, 3, 16, 17, 31, 33, 63, 65}
	ks := []int{1, 3, 17, 64, 257, 300}
	if testing.Short() {
		sizes = []int{1, 3, 17, 33, 65}
		ks = []int{1, 17, 257}
	}
	isas := append([]*gemmISA{nil}, gemmISAs...)
	for _, isa := range isas {
		t.Run(isaName(isa), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, m := range sizes {
						for _, n := range sizes {
							k := ks[(m+n)%len(ks)]
							beta := []float32{0, 1, 0.5}[(m+2*n)%3]
							pad := (m * n) % 3
							checkGemmCase(t, isa, gemmCase{tA, tB, m, n, k, pad, beta}, rng)
						}
					}
				}
			}
		})
	}
}

// TestGemmShapes covers the shapes the model presets use, including the
// strided per-head views and leading dimensions that are multiples of 512
// (lda = 1024: the copied-A path; 512: read in place) and k beyond one
// k-block.
func TestGemmShapes(t *testing.T) {
	cases := []gemmCase{
		{false, false, 129, 192, 64, 0, 0},  // QKV projection, tiny
		{false, true, 127, 64, 192, 0, 1},   // dX = dY·Wᵀ
		{true, false, 64, 256, 129, 0, 1},   // dW = Xᵀ·dY
		{false, true, 64, 64, 16, 176, 0},   // scores = Q·Kᵀ, per head in a (T, 3C) buffer
		{false, false, 64, 16, 64, 0, 0},    // att·V
		{false, false, 70, 40, 1024, 0, 0},  // lda = 1024: copied A
		{false, true, 33, 70, 512, 0, 1},    // lda = ldb = 512
		{true, true, 45, 77, 600, 5, 0.25},  // both transposed, three k-blocks
		{false, false, 230, 530, 40, 0, 0},  // several chunks in both directions
		{true, false, 250, 600, 20, 3, 1},   // ditto, transposed A
		{false, false, 300, 70, 40, 2, 0.5}, // m > 256: B packed
		{true, false, 270, 33, 300, 1, 1},   // ditto, transposed A
		{true, false, 200, 70, 600, 2, 0.5}, // Aᵀ packed k-block by k-block, a short last one, beta scaling once
		{false, false, 5, 5, 0, 0, 0.5},     // k = 0 scales C
		{false, false, 4, 3, 0, 0, 0},       // k = 0, beta = 0 clears C
		{false, false, 1, 1, 1, 0, 0},
		{true, false, 70, 1024, 300, 0, 1},  // ldb = 1024, m ≤ 256: B panels copied per chunk
		{false, false, 30, 1000, 33, 24, 0}, // ditto with padding (ldb = 1024), odd n
	}
	for _, isa := range gemmISAs {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, g := range cases {
			t.Run(isa.name+"/"+g.String(), func(t *testing.T) { checkGemmCase(t, isa, g, rng) })
		}
	}
}

// TestGemmThreadIndependence checks the promise of the package doc: results
// are bit-identical for any SetThreads value.
func TestGemmThreadIndependence(t *testing.T) {
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range []gemmCase{
		{false, false, 300, 600, 300, 0, 0},
		{true, true, 257, 129, 513, 1, 1},
		{false, true, 64, 64, 16, 0, 0},
	} {
		p := newGemmProblem(g, rng)
		var outs [][]float32
		for _, th := range []int{1, 2, 3} {
			SetThreads(th)
			c := slices.Clone(p.c)
			Gemm(g.transA, g.transB, g.m, g.n, g.k, p.a, p.lda, p.b, p.ldb, g.beta, c, p.ldc)
			outs = append(outs, c)
		}
		for i := 1; i < len(outs); i++ {
			if !slices.Equal(outs[0], outs[i]) {
				t.Errorf("%v: result with thread setting #%d differs from 1 thread", g, i)
			}
		}
	}
}

func TestGemmPanicsOnShortBuffer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Gemm accepted a too-short C")
		}
	}()
	Gemm(false, false, 2, 2, 2, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
}

// TestGemmBiasIsGemmThenAddBias: for every kernel set, the bias folded into
// the last k-block's store gives exactly (bit for bit) Gemm followed by the
// row-wise bias add, on odd shapes, all transposes, several k-blocks
// (k = 600) and a C with padding between rows (which must stay untouched).
func TestGemmBiasIsGemmThenAddBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	isas := append([]*gemmISA{nil}, gemmISAs...)
	for _, isa := range isas {
		for _, sh := range [][3]int{{1, 1, 1}, {3, 17, 5}, {14, 32, 64}, {29, 65, 600}, {300, 70, 40}} {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}} {
				g := gemmCase{tr[0], tr[1], m, n, k, 2, 0}
				p := newGemmProblem(g, rng)
				bias := randn(rng, n, 1)
				want := slices.Clone(p.c)
				got := slices.Clone(p.c)
				if isa == nil {
					gemmGo(g.transA, g.transB, m, n, k, p.a, p.lda, p.b, p.ldb, 0, want, p.ldc)
				} else {
					gemmBlocked(isa, g.transA, g.transB, m, n, k, p.a, p.lda, p.b, p.ldb, 0, want, p.ldc, nil)
				}
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						want[i*p.ldc+j] += bias[j]
					}
				}
				if isa == nil {
					saved := activeISA
					activeISA = nil
					GemmBias(g.transA, g.transB, m, n, k, p.a, p.lda, p.b, p.ldb, bias, got, p.ldc)
					activeISA = saved
				} else {
					gemmBlocked(isa, g.transA, g.transB, m, n, k, p.a, p.lda, p.b, p.ldb, 0, got, p.ldc, bias)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s %v: GemmBias differs from Gemm + bias", isaName(isa), g)
				}
			}
		}
	}
}
