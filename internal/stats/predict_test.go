package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPredictMatchesModels checks Predict, which rebuilds a model from its
// reported parameters, against the model's own function at random
// parameters, on both directions of axis: the two cannot drift apart.
func TestPredictMatchesModels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, axis := range []string{AxisParams, AxisEvalLoss} {
		dir := scaleDir(axis)
		xRef := 3e4
		if dir < 0 {
			xRef = 4.5 // the largest eval loss is the smallest scale
		}
		mc := modelContext{tref: dir * math.Log10(xRef), dir: dir, lo: -0.1, hi: 1.1}
		for _, m := range curveModels(mc) {
			for trial := 0; trial < 20; trial++ {
				theta := make([]float64, m.k)
				for i := range theta {
					theta[i] = r.NormFloat64()
				}
				if m.name == ModelSigmoid || m.name == ModelBNSL {
					// A midpoint or break inside the sampled range.
					theta[2+btoi(m.name == ModelBNSL)] = mc.tref + r.Float64()*2
				}
				f, ok := Predict(m.name, m.report(theta), axis, xRef)
				if !ok {
					t.Fatalf("%s on %s: Predict refused the reported parameters %v", m.name, axis, m.report(theta))
				}
				for k := 0; k < 10; k++ {
					tt := mc.tref + 3*r.Float64()
					x := math.Pow(10, dir*tt)
					want, got := m.f(theta, tt), f(x)
					// Relative 1e-9: the same formula evaluated through
					// log10 and back.
					if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
						t.Fatalf("%s on %s at x=%g: Predict %g, model %g", m.name, axis, x, got, want)
					}
				}
			}
		}
	}
	if _, ok := Predict("cubic", map[string]float64{}, AxisParams, 1); ok {
		t.Errorf("an unknown model was predicted")
	}
	if _, ok := Predict(ModelLinear, map[string]float64{"slope_per_decade": 1}, AxisParams, 1); ok {
		t.Errorf("a missing parameter was accepted")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestModelsAtEveryLevelMatchOneByOne: a model evaluated at all levels in
// one call (what the fits use, with its θ-only terms taken once) gives,
// bit for bit, what it gives at each level alone.
func TestModelsAtEveryLevelMatchOneByOne(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	mc := modelContext{tref: 4, dir: 1, lo: -0.1, hi: 1.1}
	for _, m := range curveModels(mc) {
		for trial := 0; trial < 20; trial++ {
			theta := make([]float64, m.k)
			for i := range theta {
				theta[i] = r.NormFloat64()
			}
			ts := make([]float64, 9)
			for i := range ts {
				ts[i] = mc.tref + 3*r.Float64()
			}
			all := make([]float64, len(ts))
			m.fv(theta, ts, all)
			for i, ti := range ts {
				if one := m.f(theta, ti); math.Float64bits(one) != math.Float64bits(all[i]) {
					t.Fatalf("%s at t=%g: %v in one call over the levels, %v alone", m.name, ti, all[i], one)
				}
			}
		}
	}
}
