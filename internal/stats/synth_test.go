package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// shape is a true curve: the expected score at t = log10(x).
type shape struct {
	name    string
	verdict string
	f       func(t float64) float64
}

const synthChance = 0.1

// synthShapes returns the four shapes the classifier must tell apart, on a
// ladder spanning t ∈ [4, 7] (three decades of scale).
func synthShapes() []shape {
	c := synthChance
	return []shape{
		{"sharp_sigmoid", VerdictEmergent, func(t float64) float64 { return c + (0.95-c)*logistic((t-5.6)/0.06) }},
		{"power_law", VerdictSmooth, func(t float64) float64 { return 1 - (1-c)*math.Pow(10, -0.5*(t-4)) }},
		{"line", VerdictSmooth, func(t float64) float64 { return c + 0.8*(t-4)/3 }},
		{"flat", VerdictFlat, func(t float64) float64 { return c }},
	}
}

// synthCurve draws a curve from s: levels log-spaced scales in [1e4, 1e7],
// seeds replicates each, each score the fraction of n items answered
// correctly with probability s.f(t).
func synthCurve(rng *rand.Rand, s shape, levels, seeds, n int) *Curve {
	c := &Curve{Task: s.name, Metric: "exact_match", Axis: AxisParams, Chance: synthChance, HasChance: true}
	for i := 0; i < levels; i++ {
		t := 4 + 3*float64(i)/float64(levels-1)
		p := s.f(t)
		for k := 0; k < seeds; k++ {
			v := float64(drawBinomial(rng, n, p)) / float64(n)
			c.Points = append(c.Points, Point{X: math.Pow(10, t), Value: v, N: n, Seed: fmt.Sprint(k)})
		}
	}
	return c
}
