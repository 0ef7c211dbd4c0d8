package probe

import (
	"fmt"
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

// restrictedExcludedPlain is RestrictedExcluded as it was written first,
// with (a+b) mod p by division and math.Max: the oracle of the running
// index and the comparisons.
func restrictedExcludedPlain(logits []float64, p int, keys []int, train []bool) (FourierLosses, error) {
	if p < 3 || len(logits) != p*p*p || len(train) != p*p {
		return FourierLosses{}, fmt.Errorf("fourier losses: %d logits and %d train flags for p=%d", len(logits), len(train), p)
	}
	proj := make([]float64, p*p*p) // the key-frequency part, same layout
	for _, k := range keys {
		if k < 1 || k > (p-1)/2 {
			return FourierLosses{}, fmt.Errorf("fourier losses: key frequency %d outside [1, %d]", k, (p-1)/2)
		}
		w := 2 * math.Pi * float64(k) / float64(p)
		cs, sn := make([]float64, p), make([]float64, p) // by (a+b) mod p
		for s := range p {
			cs[s], sn[s] = math.Cos(w*float64(s)), math.Sin(w*float64(s))
		}
		for c := range p {
			var alpha, beta float64
			for a := range p {
				for b := range p {
					f := logits[(a*p+b)*p+c]
					alpha += f * cs[(a+b)%p]
					beta += f * sn[(a+b)%p]
				}
			}
			alpha, beta = 2*alpha/float64(p*p), 2*beta/float64(p*p)
			for a := range p {
				for b := range p {
					proj[(a*p+b)*p+c] += alpha*cs[(a+b)%p] + beta*sn[(a+b)%p]
				}
			}
		}
	}
	ce := func(row []float64, y int) float64 {
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		return mx + math.Log(s) - row[y]
	}
	var out FourierLosses
	nTrain := 0
	ex := make([]float64, p)
	for a := range p {
		for b := range p {
			i := (a*p + b) * p
			y := (a + b) % p
			out.Full += ce(logits[i:i+p], y)
			out.Restricted += ce(proj[i:i+p], y)
			if train[a*p+b] {
				for c := range p {
					ex[c] = logits[i+c] - proj[i+c]
				}
				out.Excluded += ce(ex, y)
				nTrain++
			}
		}
	}
	if nTrain == 0 {
		return FourierLosses{}, fmt.Errorf("fourier losses: no training pairs")
	}
	out.Full /= float64(p * p)
	out.Restricted /= float64(p * p)
	out.Excluded /= float64(nTrain)
	return out, nil
}

// TestRestrictedExcludedMatchesPlain checks RestrictedExcluded against
// restrictedExcludedPlain bit for bit on random logits, for several p, key
// sets and training splits.
func TestRestrictedExcludedMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range []int{3, 7, 13, 23} {
		logits := make([]float64, p*p*p)
		for i := range logits {
			logits[i] = rng.NormFloat64() * 4
		}
		train := make([]bool, p*p)
		for i := range train {
			train[i] = rng.IntN(3) > 0
		}
		train[0] = true
		for _, keys := range [][]int{{1}, {(p - 1) / 2}, {1, (p - 1) / 2}} {
			got, err := RestrictedExcluded(logits, p, keys, train)
			if err != nil {
				t.Fatal(err)
			}
			want, err := restrictedExcludedPlain(logits, p, keys, train)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name     string
				got, wnt float64
			}{{"full", got.Full, want.Full}, {"restricted", got.Restricted, want.Restricted}, {"excluded", got.Excluded, want.Excluded}} {
				if math.Float64bits(c.got) != math.Float64bits(c.wnt) {
					t.Errorf("p=%d keys %v: %s %v, plain %v", p, keys, c.name, c.got, c.wnt)
				}
			}
		}
	}
}
