package tensor

import "math"

// Fast float32 elementary functions for the softmax, cross-entropy and GELU
// kernels, written so the compiler keeps them in registers without libm
// calls or float64 conversions.

const (
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375 // ln 2 split as in Cephes expf: ln2Hi·n is exact
	ln2Lo  = -2.12194440e-4
	expMax = 88.72283905206835 // ln(MaxFloat32)
	expMin = -87.33654475      // ln(smallest normal float32)
)

// expf returns e^x in float32 with a relative error below 3e-7 (≈ 2.5 ulp;
// TestExpfAccuracy sweeps [−87.3, 88.7]) for x ≥ expMin, 0 for x < expMin
// (absolute error < 1.2e-38: the denormal range is flushed), +Inf above
// expMax, NaN for NaN. Method (Cephes expf, Moshier 1984): x = n·ln2 + r
// with |r| ≤ ln2/2, e^r by a degree-6 minimax polynomial, 2ⁿ by exponent bits.
func expf(x float32) float32 {
	if !(x < expMax) {
		if x != x {
			return x
		}
		return float32(math.Inf(1))
	}
	if x < expMin {
		return 0
	}
	// Round x·log2e to nearest without a branch on its sign (a 50%
	// mispredicted branch for zero-mean inputs): adding 1.5·2²³ pushes the
	// fraction bits out of a float32, |t| < 2²² here.
	const magic = 12582912
	fn := (x*log2e + magic) - magic
	n := int32(fn)
	r := x - fn*ln2Hi - fn*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// n ∈ [−126, 128]: scale in two steps so 2¹²⁸ does not overflow the bits.
	if n > 127 {
		return y * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// sigmoid2 returns σ(2u) = 1/(1 + e^{−2u}) in float32: GELU's
// ½(1 + tanh u) without the cancellation of 1 + tanh u for u ≪ 0. Its
// absolute error is below 3e-7 (from expf's relative error).
func sigmoid2(u float32) float32 {
	return 1 / (1 + expf(-2*u))
}
