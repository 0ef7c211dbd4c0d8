package tensor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAttentionHeadMatchesReference runs the fused head (AVX-512 tiles that
// skip the masked triangle) against the Gemm-based reference on odd T and
// head widths, with strided views as in a (T, 3C) QKV buffer. Both sum the
// same nonzero terms in the same k order (the skipped terms are exact
// zeros), so they agree to float32 rounding of the softmax rows: rtol 1e-5
// as the other fast kernels. With upperZero (a pattern buffer holding zeros
// above the diagonal, garbage elsewhere) the fused head must give the same
// bits as when it writes all of p.
func TestAttentionHeadMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	for _, T := range []int{1, 3, 14, 17, 29, 64, 65, 270} {
		for _, Dh := range []int{1, 8, 16, 17, 32, 40} {
			if T > 65 && Dh != 17 {
				continue // one long context (several k-blocks) is enough
			}
			name := fmt.Sprintf("T=%d,Dh=%d", T, Dh)
			ld, ldz := 3*Dh+5, Dh+3
			qkv := randn(rng, T*ld, 1)
			q, k, v := qkv, qkv[Dh:], qkv[2*Dh+2:]
			p, pR := randn(rng, T*T, 1), make([]float32, T*T) // garbage in p must be overwritten
			z, zR := make([]float32, T*ldz), make([]float32, T*ldz)
			// upperZero: garbage only on and below the diagonal, zeros above.
			pU := slices.Clone(p)
			for i := range T {
				clear(pU[i*T+i+1 : i*T+T])
			}
			AttentionHeadForward(p, z, ldz, q, k, v, ld, T, Dh, 0.3, make([]float32, Dh*T), false)
			attentionHeadForwardRef(pR, zR, ldz, q, k, v, ld, T, Dh, 0.3)
			closeTo(t, name+" pattern", p, pR, fastAtol, fastRtol)
			closeTo(t, name+" z", z, zR, fastAtol, fastRtol)
			// Leaving the zeros above the diagonal blocks unwritten changes
			// no bit of p or z.
			zU := make([]float32, T*ldz)
			AttentionHeadForward(pU, zU, ldz, q, k, v, ld, T, Dh, 0.3, make([]float32, Dh*T), true)
			if i, d := firstBitDiff(pU, p); i >= 0 {
				t.Fatalf("%s: upperZero pattern[%d] %g, full write %g (|Δ| %g)", name, i, pU[i], p[i], d)
			}
			if i, d := firstBitDiff(zU, z); i >= 0 {
				t.Fatalf("%s: upperZero z[%d] %g, full write %g (|Δ| %g)", name, i, zU[i], z[i], d)
			}

			dz := randn(rng, T*ldz, 1)
			d, dR := randn(rng, T*ld, 1), make([]float32, T*ld)
			copy(dR, d) // the columns outside the three heads must survive
			dq, dk, dv := d, d[Dh:], d[2*Dh+2:]
			AttentionHeadBackward(dq, dk, dv, ld, dz, ldz, q, k, v, p, T, Dh, 0.3, randn(rng, 2*T*T+Dh*T, 1))
			attentionHeadBackwardRef(dR, dR[Dh:], dR[2*Dh+2:], ld, dz, ldz, q, k, v, p, T, Dh, 0.3, make([]float32, 2*T*T))
			closeTo(t, name+" dqkv", d, dR, 1e-5, fastRtol)
		}
	}
}

// TestAttentionRowMatchesHead checks AttentionRow, one query over n cached
// keys, against row n−1 of AttentionHeadForward over the same keys, bit for
// bit (the decoder's bit-identity with Forward rests on it): lengths across
// the tile widths and past one k-block, odd head widths, scores spanning
// exp's underflow, and the head computed over a longer context T ≥ n (the
// row's later keys masked), as Forward runs it.
func TestAttentionRowMatchesHead(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	for _, n := range []int{1, 2, 13, 14, 15, 33, 64, 257, 300} {
		for _, Dh := range []int{1, 7, 16, 33} {
			for _, spread := range []float64{0.1, 30} {
				T := n + 3
				name := fmt.Sprintf("n=%d,Dh=%d,spread=%g", n, Dh, spread)
				ld := 3*Dh + 1
				qkv := randn(rng, T*ld, spread)
				q, k, v := qkv, qkv[Dh:], qkv[2*Dh+1:]
				p, z := make([]float32, T*T), make([]float32, T*Dh)
				AttentionHeadForward(p, z, Dh, q, k, v, ld, T, Dh, 0.25, make([]float32, Dh*T), false)
				// The cache's layout: keys transposed (Dh, n) with stride ldk,
				// values (n, Dh) with stride ldv.
				ldk, ldv := n+5, Dh+2
				kT, vc := make([]float32, Dh*ldk), make([]float32, n*ldv)
				for j := 0; j < n; j++ {
					for c := 0; c < Dh; c++ {
						kT[c*ldk+j] = k[j*ld+c]
						vc[j*ldv+c] = v[j*ld+c]
					}
				}
				row, zr := randn(rng, n, 1), randn(rng, Dh, 1) // garbage must be overwritten
				AttentionRow(row, zr, q[(n-1)*ld:(n-1)*ld+Dh], kT, ldk, vc, ldv, n, Dh, 0.25)
				if i, d := firstBitDiff(row, p[(n-1)*T:(n-1)*T+n]); i >= 0 {
					t.Fatalf("%s: pattern[%d] %g, head %g (|Δ| %g)", name, i, row[i], p[(n-1)*T+i], d)
				}
				if i, d := firstBitDiff(zr, z[(n-1)*Dh:n*Dh]); i >= 0 {
					t.Fatalf("%s: z[%d] %g, head %g (|Δ| %g)", name, i, zr[i], z[(n-1)*Dh+i], d)
				}
			}
		}
	}
}
