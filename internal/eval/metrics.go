// Package eval scores models on the task battery. The model side offers two
// batch requests only (after lm-evaluation-harness): the log-probability of
// a continuation given a prompt (one forward pass per batch of items), and
// greedy generation until the separator. Every item is scored with sharp
// metrics (exact match) and smooth ones (log-prob, token accuracy, edit
// distance, Brier) from the same outputs, which is what lets the statistics
// tell real emergence from a metric artifact (Schaeffer et al. 2023).
//
// Results are deterministic: items are scored in fixed batches, and
// aggregation runs in item order.
package eval

import (
	"fmt"
	"math"
	"sort"

	"emlab/internal/suggest"
)

// Metric describes one metric: its direction and how it aggregates.
type Metric struct {
	Name           string
	HigherIsBetter bool
	// Aggregation is always the mean over items here (per-token metrics
	// are first averaged within an item); the standard error is the sample
	// standard deviation over items divided by √n.
	Aggregation string
	About       string
}

// Metrics is the registry of metrics the harness reports.
var Metrics = map[string]Metric{
	"exact_match":       {"exact_match", true, "mean", "greedy generation, after the task's Extract, equals the target (1/0)"},
	"token_accuracy":    {"token_accuracy", true, "mean", "teacher-forced: fraction of answer tokens that are the argmax"},
	"edit_distance":     {"edit_distance", false, "mean", "Levenshtein distance in tokens between the greedy continuation and the answer"},
	"logprob":           {"logprob", true, "mean", "mean log-probability of the answer tokens, nats per token"},
	"logprob_total":     {"logprob_total", true, "mean", "total log-probability of the answer, nats"},
	"brier":             {"brier", false, "mean", "Brier score of the softmax over the choices' total log-probabilities"},
	"mc_grade":          {"mc_grade", true, "mean", "1 when the correct choice has the highest log-probability"},
	"per_position_loss": {"per_position_loss", false, "mean", "loss (nats) at each answer position, one line per position"},
	"bayes_kl":          {"bayes_kl", false, "mean", "KL(Bayes-optimal in-context predictor ‖ model) over the task's symbols, nats per position"},
	"choice_logprob":    {"choice_logprob", true, "mean", "log-probability of the correct choice, nats"},
	"bits":              {"bits", true, "mean", "knowledge per item: log2 K + log2 P(correct choice), P renormalised over the K choices (Allen-Zhu & Li 2024); 0 for uniform guessing, log2 K when certain and right"},
}

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

// Result is one aggregated line of evals.jsonl.
type Result struct {
	Step     int     `json:"step"`
	Task     string  `json:"task"` // the variant, e.g. "add/plain/2"
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Stderr   float64 `json:"stderr"`
	N        int     `json:"n"`
	Chance   float64 `json:"chance"`             // the variant's chance level (for exact_match/mc_grade)
	Position *int    `json:"position,omitempty"` // per_position_loss only
	Subtask  *int    `json:"subtask,omitempty"`  // per-subtask lines (parity)
}

// sortResults orders results by task, metric, subtask and position so files
// are stable.
func sortResults(rs []Result) {
	key := func(r Result) string {
		p, s := -1, -1
		if r.Position != nil {
			p = *r.Position
		}
		if r.Subtask != nil {
			s = *r.Subtask
		}
		return fmt.Sprintf("%s\x00%s\x00%08d\x00%08d", r.Task, r.Metric, s+1, p+1)
	}
	sort.SliceStable(rs, func(i, j int) bool { return key(rs[i]) < key(rs[j]) })
}
