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
			lse := lse64(logits)
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
		return nil, fmt.Errorf("logistic regression: %w", err)
	}
	// Stopping at the iteration cap is fine for a probe: the weights are
	// still the best found, deterministically.
	m.W = res.X
	return m, nil
}

func lse64(v []float64) float64 {
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

// ProbeResult is a linear probe's held-out accuracy and the accuracy of
// always guessing the training set's most common class.
type ProbeResult struct {
	Accuracy, Majority float64
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
	} else {
		m, err := FitLogReg(x[:nTrain*d], yy[:nTrain], nTrain, d, len(ids), 1e-3)
		if err != nil {
			return res, err
		}
		pred = m.Predict(x[nTrain*d:], n-nTrain)
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
