package stats

import (
	"math"
	"testing"
)

func TestBigBench(t *testing.T) {
	const eps = BigBenchEpsilon
	cases := []struct {
		name string
		y    []float64
		b, l float64 // want; exact up to rounding (1e-12)
	}{
		// A straight line through k points: every step equal, B = L = k − 1.
		{"line", []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, 5, 5},
		// One jump among k − 1 steps: L = √(k − 1); the median step is 0, so
		// B = I/eps (the documented clip instead of +Inf).
		{"jump", []float64{0, 0, 0, 1, 1, 1}, 1 / eps, math.Sqrt(5)},
		// Flat: the overall improvement is below eps, both 0.
		{"flat", []float64{0.3, 0.3, 0.3, 0.3}, 0, 0},
		// Decline: the sign of I follows argmax − argmin.
		{"decline", []float64{1, 0.5, 0}, -2, -2},
		{"one point", []float64{0.5}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if b := Breakthroughness(c.y, eps); math.Abs(b-c.b) > 1e-9*math.Max(1, math.Abs(c.b)) {
				t.Errorf("breakthroughness %g, want %g", b, c.b)
			}
			if l := Linearity(c.y, eps); math.Abs(l-c.l) > 1e-12 {
				t.Errorf("linearity %g, want %g", l, c.l)
			}
		})
	}
	// Both are ratios of differences: a positive affine map leaves them
	// unchanged (as long as nothing hits the eps floor).
	y := []float64{0.1, 0.12, 0.3, 0.31, 0.8}
	z := make([]float64, len(y))
	for i := range y {
		z[i] = 3*y[i] - 7
	}
	if math.Abs(Breakthroughness(y, eps)-Breakthroughness(z, eps)) > 1e-9 || math.Abs(Linearity(y, eps)-Linearity(z, eps)) > 1e-9 {
		t.Errorf("not affine invariant")
	}
}

func TestAboveChanceP(t *testing.T) {
	cases := []struct {
		name             string
		mean             float64
		n                int
		se, chance, want float64
	}{
		// P(X ≥ 9 | n=10, p=0.5) = (10 + 1)/1024.
		{"binomial", 0.9, 10, 0, 0.5, 11.0 / 1024},
		// P(X ≥ 0) = 1.
		{"zero successes", 0, 10, 0, 0.5, 1},
		// One-sided z test: z = 2 → 0.02275.
		{"z test", 0.3, 0, 0.1, 0.1, 0.022750131948179},
	}
	for _, c := range cases {
		if p := aboveChanceP(c.mean, c.n, c.se, c.chance); math.Abs(p-c.want) > 1e-9 {
			t.Errorf("%s: p = %g, want %g", c.name, p, c.want)
		}
	}
	if p := aboveChanceP(0.5, 0, 0, 0.1); !math.IsNaN(p) {
		t.Errorf("no n, no stderr: p = %g, want NaN", p)
	}
}
