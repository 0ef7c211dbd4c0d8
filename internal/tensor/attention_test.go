package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAttentionHeadMatchesReference runs the fused head (AVX-512 tiles that
// skip the masked triangle) against the Gemm-based reference on odd T and
// head widths, with strided views as in a (T, 3C) QKV buffer. Both sum the
// same nonzero terms in the same k order (the skipped terms are exact
// zeros), so they agree to float32 rounding of the softmax rows: rtol 1e-5
// as the other fast kernels.
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
			AttentionHeadForward(p, z, ldz, q, k, v, ld, T, Dh, 0.3, make([]float32, Dh*T))
			attentionHeadForwardRef(pR, zR, ldz, q, k, v, ld, T, Dh, 0.3)
			closeTo(t, name+" pattern", p, pR, fastAtol, fastRtol)
			closeTo(t, name+" z", z, zR, fastAtol, fastRtol)

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
