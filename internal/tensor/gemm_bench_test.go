package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchGemmShapes are the matrix products of one training step of each
// preset (M = B·T rows; tools/bench/gemm times the same list against
// OpenBLAS). Attention shapes are one head's, with the strides of a (T, 3d)
// QKV buffer.
func benchGemmShapes() []struct {
	name string
	g    gemmCase
	lda  int
	ldb  int
} {
	type shape = struct {
		name string
		g    gemmCase
		lda  int
		ldb  int
	}
	var out []shape
	for _, p := range []struct {
		name       string
		m, d, v, t int
		dh         int
	}{{"tiny", 2048, 64, 128, 64, 16}, {"small", 4096, 128, 512, 128, 32}, {"medium", 4096, 256, 2048, 256, 32}} {
		m, d := p.m, p.d
		out = append(out,
			shape{p.name + "/qkv", gemmCase{false, false, m, 3 * d, d, 0, 0}, d, 3 * d},
			shape{p.name + "/fc1", gemmCase{false, false, m, 4 * d, d, 0, 0}, d, 4 * d},
			shape{p.name + "/fc2", gemmCase{false, false, m, d, 4 * d, 0, 0}, 4 * d, d},
			shape{p.name + "/lmhead", gemmCase{false, true, m, p.v, d, 0, 0}, d, d},
			shape{p.name + "/fc1.dX", gemmCase{false, true, m, d, 4 * d, 0, 0}, 4 * d, 4 * d},
			shape{p.name + "/fc1.dW", gemmCase{true, false, d, 4 * d, m, 0, 1}, d, 4 * d},
			shape{p.name + "/fc2.dW", gemmCase{true, false, 4 * d, d, m, 0, 1}, 4 * d, d},
			shape{p.name + "/qkv.dW", gemmCase{true, false, d, 3 * d, m, 0, 1}, d, 3 * d},
			shape{p.name + "/att.QK", gemmCase{false, true, p.t, p.t, p.dh, 0, 0}, 3 * d, 3 * d},
			shape{p.name + "/att.AV", gemmCase{false, false, p.t, p.dh, p.t, 0, 0}, p.t, 3 * d},
		)
	}
	return out
}

func BenchmarkGemm(b *testing.B) {
	for _, s := range benchGemmShapes() {
		g := s.g
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb := g.operands(rng, s.lda, s.ldb)
		c := randSlice(rng, g.m*g.n)
		b.Run(fmt.Sprintf("%s/%dx%dx%d", s.name, g.m, g.n, g.k), func(b *testing.B) {
			for b.Loop() {
				Gemm(g.transA, g.transB, g.m, g.n, g.k, a, s.lda, bb, s.ldb, g.beta, c, g.n)
			}
			b.ReportMetric(2*float64(g.m)*float64(g.n)*float64(g.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// BenchmarkGemmTinyStep times the linear layers' products of one tiny
// micro-batch (1024 rows, d = 64, V = 128) on one thread, each in the form
// the step calls it (the forward's with their bias, the weight gradients
// accumulating, the unembedding tied to wte as the presets have it): it
// separates the forward's k = 64 products from the backward's, whose rates
// the step's profile compares. cpu-GFLOP/s counts CPU time (getrusage),
// for a shared machine.
//
// C=hot writes one output again and again (it stays in L2); C=cold cycles
// through outputs of 64 MiB in all, so that each call writes lines no
// cache holds, as the step's forward does (it keeps every layer's
// activations for the backward). A=cold also cycles A through 64 MiB:
// the products whose A the step last wrote long before (dxf reads the
// logits' gradient written before the other micro-batch's forward; the
// weight gradients read the forward's saved activations).
func BenchmarkGemmTinyStep(b *testing.B) {
	defer SetThreads(Threads())
	SetThreads(1)
	const n, d, v = 1024, 64, 128
	for _, s := range []struct {
		name     string
		g        gemmCase
		lda, ldb int
		bias     bool
		coldA    bool // the step reads A cold
	}{
		{"fwd/qkv", gemmCase{false, false, n, 3 * d, d, 0, 0}, d, 3 * d, true, false},
		{"fwd/proj", gemmCase{false, false, n, d, d, 0, 0}, d, d, true, false},
		{"fwd/fc1", gemmCase{false, false, n, 4 * d, d, 0, 0}, d, 4 * d, true, false},
		{"fwd/fc2", gemmCase{false, false, n, d, 4 * d, 0, 0}, 4 * d, d, true, false},
		{"fwd/lmhead", gemmCase{false, true, n, v, d, 0, 0}, d, d, false, false},
		{"bwd/dxf", gemmCase{false, false, n, d, v, 0, 0}, v, d, false, true},
		{"bwd/fc2.dX", gemmCase{false, true, n, 4 * d, d, 0, 0}, d, d, false, false},
		{"bwd/fc1.dX", gemmCase{false, true, n, d, 4 * d, 0, 0}, 4 * d, 4 * d, false, false},
		{"bwd/qkv.dX", gemmCase{false, true, n, d, 3 * d, 0, 0}, 3 * d, 3 * d, false, false},
		{"bwd/wte.dW", gemmCase{true, false, v, d, n, 0, 1}, v, d, false, false},
		{"bwd/fc2.dW", gemmCase{true, false, 4 * d, d, n, 0, 1}, 4 * d, d, false, true},
		{"bwd/fc1.dW", gemmCase{true, false, d, 4 * d, n, 0, 1}, d, 4 * d, false, true},
		{"bwd/qkv.dW", gemmCase{true, false, d, 3 * d, n, 0, 1}, d, 3 * d, false, true},
	} {
		g := s.g
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb := g.operands(rng, s.lda, s.ldb)
		bias := randSlice(rng, g.n)
		as := [][]float32{a}
		cs := [][]float32{randSlice(rng, g.m*g.n)}
		for _, mode := range []string{"C=hot", "C=cold", "A=cold"} {
			switch mode {
			case "C=cold":
				if g.beta != 0 {
					continue // the weight gradients accumulate into one C
				}
				for len(cs) < max(2, (64<<20)/(4*g.m*g.n)) {
					cs = append(cs, make([]float32, g.m*g.n))
				}
			case "A=cold":
				if !s.coldA {
					continue
				}
				for len(as) < max(2, (64<<20)/(4*len(a))) {
					as = append(as, randSlice(rng, len(a)))
				}
			}
			b.Run(fmt.Sprintf("%s/%dx%dx%d/%s", s.name, g.m, g.n, g.k, mode), func(b *testing.B) {
				cpu0 := cpuTime()
				i := 0
				for b.Loop() {
					a, c := as[i%len(as)], cs[i%len(cs)]
					i++
					if s.bias {
						GemmBias(g.transA, g.transB, g.m, g.n, g.k, a, s.lda, bb, s.ldb, bias, c, g.n)
					} else {
						Gemm(g.transA, g.transB, g.m, g.n, g.k, a, s.lda, bb, s.ldb, g.beta, c, g.n)
					}
				}
				flop := 2 * float64(g.m) * float64(g.n) * float64(g.k) * float64(b.N)
				if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
					b.ReportMetric(flop/cpu/1e9, "cpu-GFLOP/s")
				}
			})
		}
	}
}

// operands draws random A and B for the case with row strides lda and
// ldb (their row counts follow the transposes).
func (g gemmCase) operands(rng *rand.Rand, lda, ldb int) (a, b []float32) {
	ar, br := g.m, g.k
	if g.transA {
		ar = g.k
	}
	if g.transB {
		br = g.n
	}
	return randSlice(rng, ar*lda), randSlice(rng, br*ldb)
}
