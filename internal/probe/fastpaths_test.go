package probe

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/gonum/optimize"
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

// fitLogRegPlain is FitLogReg's loss and gradient as first written (one
// logit at a time over strided weights, every evaluation running the rows
// again, math.Max in the log-sum-exp): the oracle of its comparisons.
func fitLogRegPlain(x []float64, y []int, n, d, k int, lambda float64) []float64 {
	mean, std := make([]float64, d), make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += x[i*d+j] / float64(n)
		}
	}
	for i := range n {
		for j := range d {
			v := x[i*d+j] - mean[j]
			std[j] += v * v / float64(n)
		}
	}
	for j := range d {
		std[j] = math.Sqrt(std[j])
		if std[j] < 1e-12 {
			std[j] = 1
		}
	}
	z := make([]float64, n*d)
	for i := range n {
		for j := range d {
			z[i*d+j] = (x[i*d+j] - mean[j]) / std[j]
		}
	}
	lsePlain := lsePlain64
	logits := make([]float64, k)
	eval := func(w, grad []float64) float64 {
		if grad != nil {
			clear(grad)
		}
		var loss float64
		for i := range n {
			row := z[i*d : (i+1)*d]
			for c := range k {
				s := w[d*k+c]
				for j, v := range row {
					s += v * w[j*k+c]
				}
				logits[c] = s
			}
			lse := lsePlain(logits)
			loss += lse - logits[y[i]]
			if grad != nil {
				for c := range k {
					g := math.Exp(logits[c]-lse) / float64(n)
					if c == y[i] {
						g -= 1 / float64(n)
					}
					for j, v := range row {
						grad[j*k+c] += g * v
					}
					grad[d*k+c] += g
				}
			}
		}
		loss /= float64(n)
		for i := range d * k {
			loss += lambda / 2 * w[i] * w[i]
			if grad != nil {
				grad[i] += lambda * w[i]
			}
		}
		return loss
	}
	p := optimize.Problem{
		Func: func(w []float64) float64 { return eval(w, nil) },
		Grad: func(grad, w []float64) { eval(w, grad) },
	}
	res, err := optimize.Minimize(p, make([]float64, (d+1)*k), &optimize.Settings{MajorIterations: 500, GradientThreshold: 1e-6}, &optimize.LBFGS{})
	if err != nil && res == nil {
		panic(err)
	}
	return res.X
}

// TestFitLogRegMatchesPlain checks FitLogReg's weights against
// fitLogRegPlain bit for bit on random data of several shapes (row counts
// with every remainder mod 4, the rows FitLogReg takes together):
// separable classes (large weights), noise, a
// constant feature, an unused class, a strong and no penalty.
func TestFitLogRegMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		n, d, k   int
		signal    float64
		lambda    float64
		constant  bool
		skipClass bool
	}{
		{41, 1, 2, 2, 1e-3, false, false},
		{63, 3, 5, 0, 1e-3, false, false},
		{100, 8, 3, 3, 1e-3, true, false},
		{150, 16, 10, 1, 1e-3, false, true},
		{200, 48, 10, 0.5, 1e-3, false, false},
		{81, 12, 2, 5, 0, false, false},
		{123, 7, 4, 1, 1, false, false},
	} {
		x, y := make([]float64, c.n*c.d), make([]int, c.n)
		for i := range c.n {
			y[i] = rng.IntN(c.k)
			if c.skipClass && y[i] == c.k-1 {
				y[i] = 0
			}
			for j := range c.d {
				x[i*c.d+j] = rng.NormFloat64() + c.signal*float64((y[i]+j)%c.k)
			}
			if c.constant {
				x[i*c.d] = 2.5
			}
		}
		m, err := FitLogReg(x, y, c.n, c.d, c.k, c.lambda)
		if err != nil {
			t.Fatal(err)
		}
		want := fitLogRegPlain(x, y, c.n, c.d, c.k, c.lambda)
		if len(m.W) != len(want) {
			t.Fatalf("%+v: %d weights, plain %d", c, len(m.W), len(want))
		}
		for i := range want {
			if math.Float64bits(m.W[i]) != math.Float64bits(want[i]) {
				t.Errorf("%+v: weight %d = %v (%#x), plain %v (%#x)", c, i, m.W[i], math.Float64bits(m.W[i]), want[i], math.Float64bits(want[i]))
				break
			}
		}
	}
}

// TestLse64MatchesMathMax checks lse64 (builtin max) against the math.Max
// form bit for bit on the rows where they could part: NaN, ±Inf, signed
// zeros as the maximum, all −Inf, one element, random rows. NaN results
// compare as NaN.
func TestLse64MatchesMathMax(t *testing.T) {
	nan, inf, negz := math.NaN(), math.Inf(1), math.Copysign(0, -1)
	plain := lsePlain64
	rows := [][]float64{{0.5}, {nan, 1, 2}, {1, 2, nan}, {nan, inf, 1}, {1, inf, 2}, {-inf, -inf}, {-inf, -3},
		{negz, 0, -1}, {0, negz, -1}, {negz, -2}, {negz}, {3, 3, 1}, {-inf, inf}}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		row := make([]float64, 1+rng.IntN(40))
		for j := range row {
			row[j] = rng.NormFloat64() * float64(1+i%30)
		}
		rows = append(rows, row)
	}
	for _, row := range rows {
		got, want := lse64(row), plain(row)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("%v: %v (%#x), math.Max form %v (%#x)", row, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// TestForEachReportsTheFirstError: every job runs once when none fails,
// and the error returned is the lowest failing job's, whatever the number
// of goroutines.
func TestForEachReportsTheFirstError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4, 8} {
		runtime.GOMAXPROCS(procs)
		var ran [50]atomic.Int32
		if err := forEach(len(ran), func(i int) error { ran[i].Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		for i := range ran {
			if n := ran[i].Load(); n != 1 {
				t.Errorf("GOMAXPROCS %d: job %d ran %d times", procs, i, n)
			}
		}
		for _, fail := range [][]int{{7}, {7, 3, 40}, {49}, {0, 1}} {
			err := forEach(50, func(i int) error {
				if slices.Contains(fail, i) {
					return fmt.Errorf("job %d", i)
				}
				return nil
			})
			if want := fmt.Sprintf("job %d", slices.Min(fail)); err == nil || err.Error() != want {
				t.Errorf("GOMAXPROCS %d, failing %v: err = %v, want %s", procs, fail, err, want)
			}
		}
		if procs > 1 {
			// Job 3 fails only after job 40 has: the error is still job
			// 3's, the one a serial loop stops at, not the first in time.
			late := make(chan struct{})
			err := forEach(50, func(i int) error {
				switch i {
				case 3:
					select {
					case <-late:
					case <-time.After(10 * time.Second):
					}
					return errors.New("job 3")
				case 40:
					close(late)
					return errors.New("job 40")
				}
				return nil
			})
			if err == nil || err.Error() != "job 3" {
				t.Errorf("GOMAXPROCS %d, job 3 failing after job 40: err = %v, want job 3", procs, err)
			}
		}
	}
	if err := forEach(0, func(int) error { return errors.New("ran") }); err != nil {
		t.Errorf("no jobs: err = %v", err)
	}
}

// BenchmarkFitLogReg fits probes of the linear_probe suite's shapes: 162
// training rows of a 48-wide residual stream, 2 and 10 classes.
func BenchmarkFitLogReg(b *testing.B) {
	for _, k := range []int{2, 10} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			const n, d = 162, 48
			rng := rand.New(rand.NewPCG(7, 8))
			x, y := make([]float64, n*d), make([]int, n)
			for i := range n {
				y[i] = rng.IntN(k)
				for j := range d {
					x[i*d+j] = rng.NormFloat64() + 0.3*float64((y[i]+j)%k)
				}
			}
			for b.Loop() {
				if _, err := FitLogReg(x, y, n, d, k, 1e-3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// lsePlain64 is log Σ exp(v) as lse64 computed it with math.Max: the
// reference of the fit's oracle and of lse64's own test.
func lsePlain64(v []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = math.Max(mx, x)
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}
