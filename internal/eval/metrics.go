// Package eval scores models on the task battery. The model side offers two
// batch requests only (after lm-evaluation-harness): the log-probability of
// a continuation given a prompt (one forward pass per batch of items), and
// greedy generation until the separator. Every item is scored with sharp
// metrics (exact match) and smooth ones (log-prob, token accuracy, edit
// distance, Brier) from the same outputs, which is what lets the statistics
// tell real emergence from a metric artifact (Schaeffer et al. 2023).
//
// Results are deterministic: items are scored in fixed batches, and
// aggregation runs in item order. They are lines of evals.jsonl
// (rundir.Eval); the metrics and their kinds are rundir's.
package eval

import (
	"math"

	"emlab/internal/suggest"
)

// Stat is an aggregated metric: mean, standard error of the mean, count.
type Stat struct {
	Value, Stderr float64
	N             int
}

// meanStderr aggregates xs: the mean and s/√n with the sample standard
// deviation s (0 for a single item). NaN entries are a programming error.
func meanStderr(xs []float64) Stat {
	n := len(xs)
	if n == 0 {
		return Stat{Value: math.NaN(), Stderr: math.NaN()}
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	mean := s / float64(n)
	if n == 1 {
		return Stat{Value: mean, N: 1}
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return Stat{Value: mean, Stderr: math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n)), N: n}
}

// Levenshtein is the edit distance between token sequences a and b.
func Levenshtein(a, b []int32) int { return suggest.EditDistance(a, b) }
