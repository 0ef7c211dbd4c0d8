package stats

import (
	"math"
	"sort"
)

// BigBenchEpsilon is the floor on the denominators of Breakthroughness and
// Linearity, in normalised score units (fractions of the chance-to-perfect
// range). A curve whose overall improvement is below it is flat and scores 0.
const BigBenchEpsilon = 1e-3

// overallImprovement is BIG-bench's I(y) = sign(argmax y − argmin y)·(max y − min y)
// for y ordered by increasing scale (Srivastava et al. 2022, appendix B).
func overallImprovement(y []float64) float64 {
	imax, imin := 0, 0
	for i, v := range y {
		if v > y[imax] {
			imax = i
		}
		if v < y[imin] {
			imin = i
		}
	}
	d := y[imax] - y[imin]
	if imax < imin {
		d = -d
	}
	return d
}

// Breakthroughness is BIG-bench's breakthroughness score (Srivastava et al.
// 2022, appendix B) of scores y ordered by increasing scale:
//
//	B = I(y) / sqrt(median_i (y_{i+1} − y_i)²)
//
// the overall improvement over the root-median-square of successive
// differences: large when most steps are small and one is large (a jump).
// Linearity uses the root-mean-square instead. Both are unchanged by a
// positive affine rescaling of y, so normalisation to chance matters only
// for the flat-curve floor: the denominator is floored at eps (use
// BigBenchEpsilon on normalised scores), so a curve that is constant except
// for one jump scores I/eps rather than +Inf, and a curve with |I| < eps
// scores 0. Fewer than two points score 0.
func Breakthroughness(y []float64, eps float64) float64 {
	return bigbenchRatio(y, eps, func(sq []float64) float64 {
		s := append([]float64(nil), sq...)
		sort.Float64s(s)
		m := len(s) / 2
		if len(s)%2 == 1 {
			return s[m]
		}
		return (s[m-1] + s[m]) / 2
	})
}

// Linearity is BIG-bench's linearity score (Srivastava et al. 2022,
// appendix B): L = I(y) / sqrt(mean_i (y_{i+1} − y_i)²). A straight line
// through k points scores k − 1, a single jump √(k − 1). Flooring as in
// Breakthroughness.
func Linearity(y []float64, eps float64) float64 {
	return bigbenchRatio(y, eps, func(sq []float64) float64 {
		var s float64
		for _, v := range sq {
			s += v
		}
		return s / float64(len(sq))
	})
}

func bigbenchRatio(y []float64, eps float64, centre func([]float64) float64) float64 {
	if len(y) < 2 {
		return 0
	}
	I := overallImprovement(y)
	if math.Abs(I) < eps {
		return 0
	}
	sq := make([]float64, len(y)-1)
	for i := range sq {
		d := y[i+1] - y[i]
		sq[i] = d * d
	}
	return I / math.Max(math.Sqrt(centre(sq)), eps)
}

// normalise maps scores to BIG-bench's normalised scale, 0 at chance and 1
// at a perfect score: (y − chance)/(1 − chance). Without a chance rate the
// scores are returned as given (treated as already normalised).
func normalise(y []float64, chance float64, has bool) []float64 {
	out := append([]float64(nil), y...)
	if !has || chance >= 1 {
		return out
	}
	for i := range out {
		out[i] = (out[i] - chance) / (1 - chance)
	}
	return out
}
