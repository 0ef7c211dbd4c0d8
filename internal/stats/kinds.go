package stats

import "strings"

// This file is the package's one table of metric kinds: which metrics are
// better when lower. It stands in for the shared vocabulary of metric kinds
// the run-directory package will own; when that exists, metricLowerIsBetter
// is the one function to re-point (nothing else in the package decides a
// metric's direction).

// lowerIsBetter lists metrics for which a smaller value is a better model:
// the harness's own (edit_distance, brier, per_position_loss, bayes_kl) and
// the usual names in published score tables (perplexities, losses, error
// rates). Names are compared in lower case.
var lowerIsBetter = map[string]bool{
	"edit_distance": true, "brier": true, "brier_score": true, "per_position_loss": true, "bayes_kl": true,
	"loss": true, "eval_loss": true, "nll": true, "cross_entropy": true, "bits_per_byte": true, "bpb": true,
	"ppl": true, "perplexity": true, "word_perplexity": true, "byte_perplexity": true, "token_perplexity": true,
	"error": true, "error_rate": true, "wer": true, "cer": true, "ter": true, "kl": true,
}

// MetricLowerIsBetter reports whether a smaller value of metric is better
// (edit distance, Brier score, loss, perplexity, error rate). Analyze orients
// such curves before judging them: "improves with scale" then means "falls".
func MetricLowerIsBetter(metric string) bool {
	return lowerIsBetter[strings.ToLower(strings.TrimSpace(metric))]
}

// Orientation is +1 for a metric where higher is better and −1 where lower
// is; multiplying a change by it gives the improvement.
func Orientation(metric string) float64 {
	if MetricLowerIsBetter(metric) {
		return -1
	}
	return 1
}
