package stats

import (
	"sort"
	"strings"

	"emlab/internal/rundir"
)

// A metric's kind (sharp or smooth, which direction is better, whether a
// chance rate applies) is decided by package rundir, the one owner of the
// metric vocabulary. Published score tables spell the same metrics their
// own way; aliases maps those spellings onto the rundir name whose kind
// they share, so a user's table is judged as emlab's own runs are. A name
// that is neither is a metric of unknown kind: higher is better, smooth.
var aliases = map[string]string{
	// A whole answer right or wrong.
	"em": rundir.ExactMatch, "accuracy": rundir.ExactMatch, "acc": rundir.ExactMatch,
	"acc_norm": rundir.ExactMatch, "multiple_choice_grade": rundir.MCGrade,
	// The fraction of answer tokens (digits, characters, positions) right.
	"token_acc": rundir.TokenAccuracy, "per_token_acc": rundir.TokenAccuracy, "digit_acc": rundir.TokenAccuracy,
	"char_acc": rundir.TokenAccuracy, "position_acc": rundir.TokenAccuracy, "per_position_acc": rundir.TokenAccuracy,
	// Log-probabilities of the answer.
	"log_prob": rundir.LogProb, "choice_logprob": rundir.LogProb,
	// Distances, scores and losses: lower is better.
	"brier_score": rundir.Brier, "wer": rundir.EditDistance, "cer": rundir.EditDistance, "ter": rundir.EditDistance,
	"kl":   rundir.BayesKL,
	"loss": rundir.PerPositionLoss, "eval_loss": rundir.PerPositionLoss, "nll": rundir.PerPositionLoss,
	"cross_entropy": rundir.PerPositionLoss, "bits_per_byte": rundir.PerPositionLoss, "bpb": rundir.PerPositionLoss,
	"ppl": rundir.PerPositionLoss, "perplexity": rundir.PerPositionLoss, "word_perplexity": rundir.PerPositionLoss,
	"byte_perplexity": rundir.PerPositionLoss, "token_perplexity": rundir.PerPositionLoss,
}

// canonicalMetric is the rundir name a metric name stands for (compared in
// lower case, aliases resolved), or the name itself in lower case.
func canonicalMetric(metric string) string {
	m := strings.ToLower(strings.TrimSpace(metric))
	if a, ok := aliases[m]; ok {
		return a
	}
	return m
}

// MetricKind is rundir's kind of a metric, aliases resolved; ok is false
// for a metric of unknown kind.
func MetricKind(metric string) (rundir.Kind, bool) {
	return rundir.KindOf(canonicalMetric(metric))
}

// MetricLowerIsBetter reports whether a smaller value of metric is better
// (edit distance, Brier score, loss, perplexity), by the metric's kind.
// Analyze orients such curves before judging them: "improves with scale"
// then means "falls".
func MetricLowerIsBetter(metric string) bool {
	k, ok := MetricKind(metric)
	return ok && !k.HigherIsBetter
}

// Orientation is +1 for a metric where higher is better and −1 where lower
// is; multiplying a change by it gives the improvement.
func Orientation(metric string) float64 {
	if MetricLowerIsBetter(metric) {
		return -1
	}
	return 1
}

// isSharpMetric reports whether metric judges a whole answer right or wrong.
func isSharpMetric(metric string) bool {
	k, ok := MetricKind(metric)
	return ok && k.Sharp
}

// namesOf lists the rundir names in order, each followed by its aliases
// (sorted, so the list is the same every run).
func namesOf(canonical []string) []string {
	var out []string
	for _, c := range canonical {
		out = append(out, c)
		var as []string
		for a, to := range aliases {
			if to == c {
				as = append(as, a)
			}
		}
		sort.Strings(as)
		out = append(out, as...)
	}
	return out
}
