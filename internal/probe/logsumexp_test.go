package probe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// logSumExpPlain is logSumExp with math.Max, as it was written first: the
// oracle of its comparisons.
func logSumExpPlain(row []float32) float64 {
	mx := math.Inf(-1)
	for _, x := range row {
		mx = math.Max(mx, float64(x))
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - mx)
	}
	return mx + math.Log(s)
}

// TestLogSumExpMatchesPlain checks logSumExp against logSumExpPlain bit for
// bit, on random rows and on the rows where a
// comparison and math.Max part: NaN anywhere, ±Inf, signed zeros as the
// maximum, all −Inf, one element. NaN results compare as NaN.
func TestLogSumExpMatchesPlain(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negz := float32(math.Copysign(0, -1))
	rows := map[string][]float32{
		"one":            {0.5},
		"nan first":      {nan, 1, 2},
		"nan last":       {1, 2, nan},
		"nan then +inf":  {nan, inf, 1},
		"+inf":           {1, inf, 2},
		"-inf only":      {-inf, -inf},
		"-inf and value": {-inf, -3},
		"-0 then +0":     {negz, 0, -1},
		"+0 then -0":     {0, negz, -1},
		"-0 only":        {negz, -2},
		"ties":           {3, 3, 1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		row := make([]float32, 1+rng.IntN(70))
		for j := range row {
			row[j] = float32(rng.NormFloat64() * float64(1+i%20))
		}
		rows[string(rune('a'+i%26))+string(rune('0'+i/26))] = row
	}
	for name, row := range rows {
		got, want := logSumExp(row), logSumExpPlain(row)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("%s %v: %v (%#x), math.Max form %v (%#x)", name, row, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}
