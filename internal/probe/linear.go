package probe

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// LogReg is a multinomial logistic-regression probe (Alain & Bengio 2016,
// "Understanding intermediate layers using linear classifier probes") over
// standardised features.
type LogReg struct {
	D, K      int
	Mean, Std []float64 // feature standardisation from the training set
	W         []float64 // (D+1, K): row D is the bias
}

// FitLogReg fits a probe on n rows of x (n, d) with labels y in [0, k),
// minimising mean cross-entropy + λ/2·‖W‖² (biases not penalised) with
// L-BFGS from zero weights, at most 500 iterations. The fit is
// deterministic: same inputs, same weights. Features are standardised with
// the training mean and standard deviation (constant features are left
// centred at 0).
func FitLogReg(x []float64, y []int, n, d, k int, lambda float64) (*LogReg, error) {
	if n < 2 || d < 1 || k < 2 || len(x) != n*d || len(y) != n {
		return nil, fmt.Errorf("logistic regression: %d features, %d labels for (n=%d, d=%d), k=%d", len(x), len(y), n, d, k)
	}
	if err := finite64("logistic regression: features", x); err != nil {
		return nil, err
	}
	for i, c := range y {
		if c < 0 || c >= k {
			return nil, fmt.Errorf("logistic regression: label %d of row %d outside [0, %d)", c, i, k)
		}
	}
	m := &LogReg{D: d, K: k, Mean: make([]float64, d), Std: make([]float64, d)}
	for i := range n {
		for j := range d {
			m.Mean[j] += x[i*d+j] / float64(n)
		}
	}
	for i := range n {
		for j := range d {
			v := x[i*d+j] - m.Mean[j]
			m.Std[j] += v * v / float64(n)
		}
	}
	for j := range d {
		m.Std[j] = math.Sqrt(m.Std[j])
		if m.Std[j] < 1e-12 {
			m.Std[j] = 1
		}
	}
	z := make([]float64, n*d)
	for i := range n {
		for j := range d {
			z[i*d+j] = (x[i*d+j] - m.Mean[j]) / m.Std[j]
		}
	}
	// The logits and log-sum-exp of every row at the weights last
	// evaluated: gonum asks for the loss and then, separately, the gradient
	// at the same weights (the initial point; bisection's accepted steps),
	// so the gradient reuses them instead of running the rows again.
	logits := make([]float64, n*k)
	lse := make([]float64, n)
	at := make([]float64, (d+1)*k) // the weights of logits and lse
	fresh := false
	forward := func(w []float64) {
		if fresh && sameBits(w, at) {
			return
		}
		bias := w[d*k : (d+1)*k]
		// The k logits of four rows accumulate side by side: each is still
		// its bias plus its row's terms in feature order, the same
		// operations as one logit at a time, on contiguous weights.
		i := 0
		for ; i+4 <= n; i += 4 {
			r0, r1, r2, r3 := z[i*d:(i+1)*d], z[(i+1)*d:(i+2)*d], z[(i+2)*d:(i+3)*d], z[(i+3)*d:(i+4)*d]
			l0, l1, l2, l3 := logits[i*k:(i+1)*k], logits[(i+1)*k:(i+2)*k], logits[(i+2)*k:(i+3)*k], logits[(i+3)*k:(i+4)*k]
			copy(l0, bias)
			copy(l1, bias)
			copy(l2, bias)
			copy(l3, bias)
			for j := range d {
				v0, v1, v2, v3 := r0[j], r1[j], r2[j], r3[j]
				wj := w[j*k : (j+1)*k]
				l0, l1, l2, l3 := l0[:len(wj)], l1[:len(wj)], l2[:len(wj)], l3[:len(wj)]
				for c, wc := range wj {
					l0[c] += v0 * wc
					l1[c] += v1 * wc
					l2[c] += v2 * wc
					l3[c] += v3 * wc
				}
			}
			lse[i], lse[i+1], lse[i+2], lse[i+3] = lse64(l0), lse64(l1), lse64(l2), lse64(l3)
		}
		for ; i < n; i++ {
			row := z[i*d : (i+1)*d]
			lg := logits[i*k : (i+1)*k]
			copy(lg, bias)
			for j, v := range row {
				wj := w[j*k : (j+1)*k]
				lg := lg[:len(wj)]
				for c, wc := range wj {
					lg[c] += v * wc
				}
			}
			lse[i] = lse64(lg)
		}
		copy(at, w)
		fresh = true
	}
	g := make([]float64, 4*k)
	eval := func(w, grad []float64) float64 {
		forward(w)
		var loss float64
		for i := range n {
			loss += lse[i] - logits[i*k+y[i]]
		}
		loss /= float64(n)
		if grad != nil {
			clear(grad)
			// g holds, for four rows, ∂loss/∂logit: exp(logit − lse)/n,
			// less 1/n at the label.
			for i := 0; i < n; i += 4 {
				m := min(4, n-i)
				for r := range m {
					lg, gr := logits[(i+r)*k:(i+r+1)*k], g[r*k:(r+1)*k]
					for c := range gr {
						gr[c] = math.Exp(lg[c]-lse[i+r]) / float64(n)
					}
					gr[y[i+r]] -= 1 / float64(n)
				}
				// Each gradient element still receives one term per row,
				// rows in order.
				if m == 4 {
					r0, r1, r2, r3 := z[i*d:(i+1)*d], z[(i+1)*d:(i+2)*d], z[(i+2)*d:(i+3)*d], z[(i+3)*d:(i+4)*d]
					g0, g1, g2, g3 := g[:k], g[k:2*k], g[2*k:3*k], g[3*k:4*k]
					for j := range d {
						v0, v1, v2, v3 := r0[j], r1[j], r2[j], r3[j]
						gj := grad[j*k : (j+1)*k]
						g0, g1, g2, g3 := g0[:len(gj)], g1[:len(gj)], g2[:len(gj)], g3[:len(gj)]
						for c := range gj {
							s := gj[c]
							s += g0[c] * v0
							s += g1[c] * v1
							s += g2[c] * v2
							s += g3[c] * v3
							gj[c] = s
						}
					}
				} else {
					for r := range m {
						row, gr := z[(i+r)*d:(i+r+1)*d], g[r*k:(r+1)*k]
						for j, v := range row {
							gj := grad[j*k : (j+1)*k]
							gr := gr[:len(gj)]
							for c := range gj {
								gj[c] += gr[c] * v
							}
						}
					}
				}
				gb := grad[d*k : (d+1)*k]
				for r := range m {
					gr := g[r*k : (r+1)*k]
					for c := range gb {
						gb[c] += gr[c]
					}
				}
			}
		}
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
		return nil, fmt.Errorf("logistic regression: %w", err)
	}
	// Stopping at the iteration cap is fine for a probe: the weights are
	// still the best found, deterministically.
	m.W = res.X
	return m, nil
}

// lse64 is log Σ exp(v). The builtin max treats NaN, infinities and
// signed zeros as math.Max does, without its call.
func lse64(v []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = max(mx, x)
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}

// sameBits reports whether a and b hold the same float64 bit patterns.
func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// Predict returns the most probable class of each of the n rows of x (n, D)
// (lowest class on ties).
func (m *LogReg) Predict(x []float64, n int) []int {
	out := make([]int, n)
	for i := range n {
		best, arg := math.Inf(-1), 0
		for c := range m.K {
			s := m.W[m.D*m.K+c]
			for j := range m.D {
				s += (x[i*m.D+j] - m.Mean[j]) / m.Std[j] * m.W[j*m.K+c]
			}
			if s > best {
				best, arg = s, c
			}
		}
		out[i] = arg
	}
	return out
}

// ProbeResult is a linear probe's held-out accuracy, the accuracy of
// always guessing the training set's most common class (on the held-out
// rows), and its accuracy on its own training rows.
type ProbeResult struct {
	Accuracy, Majority float64
	TrainAccuracy      float64
	NTrain, NTest      int
}

// LinearProbe fits a LogReg (λ = 1e-3) on the first nTrain rows of x (n, d)
// and scores it on the rest. Labels are remapped to 0…k−1 in order of
// first appearance; a test label never seen in training counts as wrong.
func LinearProbe(x []float64, y []int, n, d, nTrain int) (ProbeResult, error) {
	if nTrain < 2 || nTrain >= n {
		return ProbeResult{}, fmt.Errorf("linear probe: %d training rows of %d, need 2 ≤ nTrain < n", nTrain, n)
	}
	ids := map[int]int{}
	yy := make([]int, n)
	for i, v := range y[:nTrain] {
		if _, ok := ids[v]; !ok {
			ids[v] = len(ids)
		}
		yy[i] = ids[v]
	}
	counts := make([]int, len(ids))
	for _, c := range yy[:nTrain] {
		counts[c]++
	}
	major := 0
	for c, k := range counts {
		if k > counts[major] {
			major = c
		}
	}
	res := ProbeResult{NTrain: nTrain, NTest: n - nTrain}
	var pred []int
	if len(ids) == 1 {
		pred = make([]int, n-nTrain) // one class seen: predict it
		res.TrainAccuracy = 1
	} else {
		m, err := FitLogReg(x[:nTrain*d], yy[:nTrain], nTrain, d, len(ids), 1e-3)
		if err != nil {
			return res, err
		}
		pred = m.Predict(x[nTrain*d:], n-nTrain)
		hit := 0
		for i, p := range m.Predict(x[:nTrain*d], nTrain) {
			if p == yy[i] {
				hit++
			}
		}
		res.TrainAccuracy = float64(hit) / float64(nTrain)
	}
	var hit, maj int
	for i, p := range pred {
		c, ok := ids[y[nTrain+i]]
		if ok && p == c {
			hit++
		}
		if ok && c == major {
			maj++
		}
	}
	res.Accuracy = float64(hit) / float64(n-nTrain)
	res.Majority = float64(maj) / float64(n-nTrain)
	return res, nil
}
