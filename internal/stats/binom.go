package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// aboveChanceP is the one-sided p-value of observing a mean score of at
// least mean on n items if every item were answered at the chance rate:
// P(X ≥ round(mean·n)), X ~ Binomial(n, chance) — Wei et al. 2022's "near
// random" made a test. Without an item count but with a standard error it
// is the one-sided z test; with neither it is NaN.
func aboveChanceP(mean float64, n int, stderr, chance float64) float64 {
	switch {
	case n > 0 && chance > 0 && chance < 1:
		k := math.Round(mean * float64(n))
		if k <= 0 {
			return 1
		}
		return distuv.Binomial{N: float64(n), P: chance}.Survival(k - 1)
	case n > 0 && chance <= 0:
		// Chance 0: any success is impossible under the null.
		if mean*float64(n) >= 0.5 {
			return 0
		}
		return 1
	case stderr > 0:
		return distuv.UnitNormal.Survival((mean - chance) / stderr)
	}
	return math.NaN()
}
