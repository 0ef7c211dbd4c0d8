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
		ar, br := g.m, g.k
		if g.transA {
			ar = g.k
		}
		if g.transB {
			br = g.n
		}
		a := randSlice(rng, ar*s.lda)
		bb := randSlice(rng, br*s.ldb)
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
