package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// hingeRef is the plain O(n · grid) hinge fit: for every threshold on the
// grid, the simple regression of y on max(0, L* − L) over the listed points.
// It is the oracle of hingeData.fit.
func hingeRef(loss, y []float64) (lstar, c, k, rss float64) {
	lo, hi := rangeOf(loss)
	rss = math.Inf(1)
	const grid = 400
	n := float64(len(y))
	for g := 0; g <= grid; g++ {
		ls := lo + (hi-lo)*float64(g)/grid
		var sh, sy, shh, shy float64
		for i := range y {
			h := math.Max(0, ls-loss[i])
			sh, sy, shh, shy = sh+h, sy+y[i], shh+h*h, shy+h*y[i]
		}
		den := n*shh - sh*sh
		kk, cc := 0.0, sy/n
		if den > 1e-12*n*shh && shh > 0 {
			kk = (n*shy - sh*sy) / den
			cc = (sy - kk*sh) / n
		}
		var r float64
		for i := range y {
			d := y[i] - cc - kk*math.Max(0, ls-loss[i])
			r += d * d
		}
		if r < rss-1e-9*math.Max(r, 1e-300) {
			lstar, c, k, rss = ls, cc, kk, r
		}
	}
	return lstar, c, k, rss
}

// TestHingeMatchesReference: the sorted, running-sum hinge fit equals the
// plain one, unweighted and with bootstrap counts (which must equal fitting
// the copied points). Tolerance 1e-7 relative: the two sum in different
// orders.
func TestHingeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		n := 10 + rng.IntN(300)
		loss, y := make([]float64, n), make([]float64, n)
		ls := 1.5 + rng.Float64()
		for i := range loss {
			loss[i] = 1 + 2*rng.Float64()
			if trial%4 == 0 {
				loss[i] = math.Round(loss[i]*10) / 10 // ties
			}
			y[i] = 0.05 + 0.5*math.Max(0, ls-loss[i]) + 0.02*rng.NormFloat64()
		}
		check := func(name string, got, want [4]float64) {
			t.Helper()
			for i, w := range want {
				if math.Abs(got[i]-w) > 1e-7*math.Max(1, math.Abs(w)) {
					t.Errorf("trial %d %s: got %v, want %v", trial, name, got, want)
					return
				}
			}
		}
		a, b, c, d := hingeRef(loss, y)
		e, f, g, h := hinge(loss, y)
		check("unweighted", [4]float64{e, f, g, h}, [4]float64{a, b, c, d})

		hd := newHingeData(loss, y)
		counts := make([]float64, n)
		bl, by := make([]float64, n), make([]float64, n)
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range bl {
			j := rng.IntN(n)
			bl[i], by[i] = loss[j], y[j]
			counts[hd.pos[j]]++
			lo, hi = math.Min(lo, loss[j]), math.Max(hi, loss[j])
		}
		a, b, c, d = hingeRef(bl, by)
		rep := *hd
		rep.lo, rep.hi = lo, hi
		e, f, g, h = rep.fit(counts)
		check("bootstrap counts", [4]float64{e, f, g, h}, [4]float64{a, b, c, d})
	}
}

// TestPoisson1: the Poisson bootstrap's counts have mean 1 and variance 1
// (tolerance 0.01: 10⁶ draws estimate both to ±0.003).
func TestPoisson1(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 1000000
	var s, ss float64
	for i := 0; i < n; i++ {
		k := float64(poisson1(rng))
		s += k
		ss += k * k
	}
	m := s / n
	v := ss/n - m*m
	if math.Abs(m-1) > 0.01 || math.Abs(v-1) > 0.01 {
		t.Errorf("mean %g variance %g, want 1 and 1", m, v)
	}
}
