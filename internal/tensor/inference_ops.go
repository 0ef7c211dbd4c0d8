package tensor

import "math"

// inference_ops.go holds the forward-only kernels of the transformers emlab
// loads but does not train (GPT-NeoX/Pythia): the exact, erf-based GELU and
// rotary position embeddings. They are plain loops (each is its own
// reference); neither has a backward, since no gradient flows through a
// loaded model.

// GELUErfForward applies the exact GELU (Hendrycks & Gimpel 2016; torch's
// default approximate='none'): out = x/2·(1 + erf(x/√2)), evaluated in
// float64 and rounded once, so it is within half an ulp of the true value.
// It is not GELUForward's tanh approximation (they differ by up to ≈ 5e-4
// near |x| ≈ 2, far above float32 rounding).
func GELUErfForward(out, x []float32) {
	run(&elemJobs, elemChunks(len(x)), elemJob{op: elemGELUErf, x: x, y: out[:len(x)]})
}

// geluErfGo is GELUErfForward's span.
func geluErfGo(out, x []float32) {
	out = out[:len(x)]
	for i, xi := range x {
		v := float64(xi)
		out[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
	}
}

// RotaryInvFreq returns the R/2 inverse frequencies of rotary embeddings
// over R dims with base b, computed in float32 as GPT-NeoX and Hugging Face
// compute them: 1/b^(2i/R), the exponent a float32 quotient, the power
// rounded to float32 (torch's powf agrees to ≤ 1 ulp; the Go tests compare
// against the values the PyTorch reference stores), the reciprocal a
// float32 division. R must be even and positive.
func RotaryInvFreq(R int, base float64) []float32 {
	out := make([]float32, R/2)
	for i := range out {
		e := float32(2*i) / float32(R)
		p := float32(math.Pow(base, float64(e)))
		out[i] = 1 / p
	}
	return out
}

// RotaryTables returns cos and sin, (n, R/2) row-major, of the angles
// pos·invFreq[i] for pos in [0, n): the angle is a float32 product, as in
// Hugging Face's float32 inference (so position p carries its ≈ p·2⁻²⁴
// relative angle error, which the model was trained with), and its cosine
// and sine are taken in float64 and rounded once.
func RotaryTables(n int, invFreq []float32) (cos, sin []float32) {
	h := len(invFreq)
	cos, sin = make([]float32, n*h), make([]float32, n*h)
	for p := 0; p < n; p++ {
		for i, f := range invFreq {
			a := float64(float32(p) * f)
			cos[p*h+i] = float32(math.Cos(a))
			sin[p*h+i] = float32(math.Sin(a))
		}
	}
	return cos, sin
}

// RotaryForward rotates, in place, the first R dims of each of H heads of
// Dh dims in one row x (H·Dh values, head h at x[h·Dh:]) by the angles of
// one position, given as that position's rows of RotaryTables (cos, sin:
// R/2 values each). In GPT-NeoX's "rotate half" form: for i < R/2, with
// a = x[i] and b = x[i+R/2],
//
//	x[i]     = a·cos_i − b·sin_i
//	x[i+R/2] = b·cos_i + a·sin_i
//
// (Su et al. 2021, RoFormer, eq. 34, with the pairs (i, i+R/2) instead of
// (2i, 2i+1)). Dims R..Dh−1 pass unchanged.
func RotaryForward(x []float32, H, Dh int, cos, sin []float32) {
	half := len(cos)
	for h := 0; h < H; h++ {
		v := x[h*Dh : h*Dh+2*half]
		for i := 0; i < half; i++ {
			a, b := v[i], v[i+half]
			c, s := cos[i], sin[i]
			// The conversions round each product, forbidding fused
			// multiply-adds: the same arithmetic as torch's
			// q·cos + rotate_half(q)·sin on every platform.
			v[i] = float32(a*c) - float32(b*s)
			v[i+half] = float32(b*c) + float32(a*s)
		}
	}
}
