package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Proportions on different items: the difference between two accuracies
// measured on separate item sets (two gaps of a task, two variants), which
// the paired tests do not cover.

// DiffInterval is a difference of two proportions p1 − p2 with its
// interval at the requested level.
type DiffInterval struct {
	P1, P2 float64
	Diff   float64
	Lo, Hi float64
}

// Wilson is the Wilson score interval of k successes in n trials (Wilson
// 1927), which keeps its coverage near 0 and 1 where the Wald interval
// fails.
func Wilson(k, n int, level float64) (lo, hi float64, err error) {
	if n <= 0 || k < 0 || k > n {
		return math.NaN(), math.NaN(), fmt.Errorf("wilson: %d successes in %d trials", k, n)
	}
	if !(level > 0 && level < 1) {
		return math.NaN(), math.NaN(), fmt.Errorf("wilson: level must be in (0, 1), got %g", level)
	}
	z := distuv.UnitNormal.Quantile(1 - (1-level)/2)
	nf, p := float64(n), float64(k)/float64(n)
	den := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / den
	h := z / den * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return math.Max(0, c-h), math.Min(1, c+h), nil
}

// DiffProportions is k1/n1 − k2/n2 with Newcombe's hybrid score interval
// (Newcombe 1998, "Interval estimation for the difference between
// independent proportions", method 10), built from the two Wilson
// intervals; it stays inside [−1, 1] and behaves at 0 and 1.
func DiffProportions(k1, n1, k2, n2 int, level float64) (DiffInterval, error) {
	l1, u1, err := Wilson(k1, n1, level)
	if err != nil {
		return DiffInterval{}, err
	}
	l2, u2, err := Wilson(k2, n2, level)
	if err != nil {
		return DiffInterval{}, err
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	d := p1 - p2
	return DiffInterval{P1: p1, P2: p2, Diff: d,
		Lo: d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2)),
		Hi: d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))}, nil
}
