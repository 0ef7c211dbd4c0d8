package rundir

// vocab.go: the names the writers put in the files and the judgements the
// readers make on them, each in one place.

import "strings"

// Metric names the evaluation harness writes in evals.jsonl.
const (
	ExactMatch      = "exact_match"       // greedy generation (after the task's Extract) equals the target
	MCGrade         = "mc_grade"          // the correct choice has the highest log-probability
	TokenAccuracy   = "token_accuracy"    // teacher-forced: fraction of answer tokens that are the argmax
	LogProb         = "logprob"           // mean log-probability of the answer tokens, nats per token
	LogProbTotal    = "logprob_total"     // total log-probability of the answer, nats
	EditDistance    = "edit_distance"     // Levenshtein distance in tokens, greedy continuation to answer
	Brier           = "brier"             // Brier score of the softmax over the choices
	PerPositionLoss = "per_position_loss" // loss at each answer position, one line per position
	BayesKL         = "bayes_kl"          // KL(Bayes-optimal in-context predictor ‖ model)
	Bits            = "bits"              // log2 K + log2 P(correct choice) of K choices: knowledge per item
	AnswerProb      = "answer_prob"       // P(the whole reference answer | prompt): the product of its token probabilities
)

// Kind is what the analysis may assume about a metric.
type Kind struct {
	Name string
	// Sharp metrics judge a whole answer right or wrong; their jump with
	// scale is what counts as an ability emerging. The others are smooth:
	// partial credit from the same outputs (Schaeffer et al. 2023).
	Sharp          bool
	HigherIsBetter bool
	// Chance: the task variant's chance rate, written on every line of
	// evals.jsonl, is the expected value of this metric for a model that
	// guesses. It is the chance of a whole answer, so it applies to the
	// sharp fractions only, never to a per-token or log-probability score.
	Chance bool
	// Fraction: every value lies in [0, 1].
	Fraction bool
	// PerPosition: written one line per answer position (Eval.Position),
	// a breakdown with no aggregate line.
	PerPosition bool
	// Aggregation over items: always the mean here (per-token metrics are
	// first averaged within an item), with the standard error of the mean.
	Aggregation string
	About       string
}

// kinds lists the metrics in the order analyses prefer them: the first
// sharp metric a task has is its ability curve, the first smooth one its
// smooth counterpart.
var kinds = []Kind{
	{Name: ExactMatch, Sharp: true, HigherIsBetter: true, Chance: true, Fraction: true, Aggregation: "mean",
		About: "greedy generation, after the task's Extract, equals the target (1/0)"},
	{Name: MCGrade, Sharp: true, HigherIsBetter: true, Chance: true, Fraction: true, Aggregation: "mean",
		About: "1 when the correct choice has the highest log-probability"},
	{Name: TokenAccuracy, HigherIsBetter: true, Fraction: true, Aggregation: "mean",
		About: "teacher-forced: fraction of answer tokens that are the argmax"},
	{Name: LogProb, HigherIsBetter: true, Aggregation: "mean",
		About: "mean log-probability of the answer tokens, nats per token"},
	{Name: Brier, Aggregation: "mean",
		About: "Brier score of the softmax over the choices' total log-probabilities (0 to 2)"},
	{Name: EditDistance, Aggregation: "mean",
		About: "Levenshtein distance in tokens between the greedy continuation and the answer"},
	{Name: LogProbTotal, HigherIsBetter: true, Aggregation: "mean",
		About: "total log-probability of the answer, nats"},
	{Name: AnswerProb, HigherIsBetter: true, Fraction: true, Aggregation: "mean",
		About: "probability of the whole reference answer given the prompt, the product of its token probabilities (teacher-forced; a choice item's right choice): exact, so it resolves an ability long before exact match moves (Hu et al. 2023's PassUntil without sampling); written beside logprob for variants with a right answer"},
	{Name: BayesKL, Aggregation: "mean",
		About: "KL(Bayes-optimal in-context predictor ‖ model) over the task's symbols, nats per position"},
	{Name: Bits, HigherIsBetter: true, Aggregation: "mean",
		About: "knowledge per item: log2 K + log2 P(correct choice), P renormalised over the K choices (Allen-Zhu & Li 2024); 0 for uniform guessing, log2 K when certain and right"},
	{Name: PerPositionLoss, PerPosition: true, Aggregation: "mean",
		About: "loss (nats) at each answer position, one line per position"},
}

// Kinds lists every metric the harness writes, in preference order.
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// KindOf returns the kind of a metric; ok is false for a name emlab does
// not write.
func KindOf(metric string) (k Kind, ok bool) {
	for _, k := range kinds {
		if k.Name == metric {
			return k, true
		}
	}
	return Kind{}, false
}

// SharpMetrics lists the sharp metrics, in preference order.
func SharpMetrics() []string { return names(func(k Kind) bool { return k.Sharp }) }

// SmoothMetrics lists the smooth metrics that give one value per item, in
// preference order (per-position breakdowns excluded).
func SmoothMetrics() []string {
	return names(func(k Kind) bool { return !k.Sharp && !k.PerPosition })
}

func names(keep func(Kind) bool) []string {
	var out []string
	for _, k := range kinds {
		if keep(k) {
			out = append(out, k.Name)
		}
	}
	return out
}

// IsSharp reports whether metric is a sharp metric.
func IsSharp(metric string) bool {
	k, ok := KindOf(metric)
	return ok && k.Sharp
}

// IsFraction reports whether metric's values lie in [0, 1].
func IsFraction(metric string) bool {
	k, ok := KindOf(metric)
	return ok && k.Fraction
}

// Axes: what the x of a curve read from run directories measures. Every
// axis is positive and analysed in log10; eval_loss is the one where a
// larger model sits at a smaller x.
const (
	AxisParams       = "params"               // config.json params
	AxisNonEmbedding = "non_embedding_params" // config.json non_embedding_params
	AxisTokens       = "tokens"               // metrics.jsonl tokens at the evaluated step
	AxisFLOPs        = "flops"                // metrics.jsonl flops at the evaluated step
	AxisStep         = "step"                 // the evaluated step
	AxisEvalLoss     = "eval_loss"            // metrics.jsonl eval_loss at the evaluated step
)

// Axes lists the axis names.
var Axes = []string{AxisParams, AxisNonEmbedding, AxisTokens, AxisFLOPs, AxisStep, AxisEvalLoss}

// PerStepAxis reports whether every evaluated step of a run is a point on
// the axis (step, tokens, FLOPs, eval loss), or only its final evaluated
// step (the parameter axes, where a run is one model).
func PerStepAxis(axis string) bool {
	switch axis {
	case AxisStep, AxisTokens, AxisFLOPs, AxisEvalLoss:
		return true
	}
	return false
}

// Probe names: the "probe" of probes.jsonl lines.
const (
	ProbePrevToken      = "previous_token"  // attn[t, t−1] per head
	ProbePrefixMatching = "prefix_matching" // induction score per head on repeated random sequences
	ProbeDuplicateToken = "duplicate_token"
	ProbeAttnEntropy    = "attn_entropy"
	ProbeAttnDistance   = "attn_distance"
	ProbeCopying        = "copying"
	ProbeAblationZero   = "ablation_zero"
	ProbeAblationMean   = "ablation_mean"
	ProbeICLScore       = "icl_score" // loss at a late position minus loss at an early one (Olsson et al. 2022)
	ProbeICLLoss        = "icl_loss"  // loss per position (Index)
	ProbeEffectiveRank  = "effective_rank"
	ProbeEmbedPCA       = "embed_pca"
	ProbeEmbedPCAVar    = "embed_pca_var"
	ProbeWeightNorm     = "weight_norm"
	ProbeWeightNormDec  = "weight_norm_decayed"

	ProbeFourierEnergy     = "fourier_energy"
	ProbeFourierKey        = "fourier_key"
	ProbeFourierGini       = "fourier_gini"
	ProbeFourierFullLoss   = "fourier_full_loss"
	ProbeFourierRestricted = "fourier_restricted_loss"
	ProbeFourierExcluded   = "fourier_excluded_loss"
	ProbeLinear            = "linear_probe"
	ProbeTrainAcc          = "train_acc"   // accuracy on training items (per variant in Task)
	ProbeHeldoutAcc        = "heldout_acc" // accuracy on held-out items of the same variant
	ProbeKnowledgeBits     = "knowledge_bits"
	ProbeKnowledgeBitsMax  = "knowledge_bits_max"
	ProbeBitsPerParam      = "bits_per_param"
	ProbeParityFourier     = "parity_fourier"
	ProbeParitySaliency    = "parity_saliency_ratio"

	// Distributed representations: the best single MLP neuron against the
	// whole MLP layer as a linear probe of one variable, and the ability
	// with the k most selective neurons ablated against k random
	// directions of the same layers (Index = k).
	ProbeNeuronBest      = "neuron_best"      // held-out accuracy of the best single neuron (Index = the neuron)
	ProbeNeuronLayer     = "neuron_layer"     // held-out accuracy of the whole MLP layer
	ProbeAblateSelective = "ablate_selective" // ability with the k most selective neurons mean-ablated (Ref = intact)
	ProbeAblateRandom    = "ablate_random"    // ability with k random directions mean-ablated, mean over draws (Ref = intact)
)

// Levels of the task variables the linear probes read (the var of a
// linear_probe line without its "/k" element): a low-level variable is
// written in the prompt (an operand digit, the digit at the position read,
// the entity asked about), a high-level one is computed from it (a carry,
// an answer digit, the intermediate entity of a multi-hop question).
const (
	VarLow  = "low"
	VarHigh = "high"
)

var varLevels = map[string]string{
	"a": VarLow, "b": VarLow, "current": VarLow, "entity": VarLow,
	"carry": VarHigh, "digits": VarHigh, "bridge": VarHigh,
}

// VarLevel returns the level of a probed variable ("carry/1" → high), or
// "" for a variable without one.
func VarLevel(v string) string {
	if i := strings.IndexByte(v, '/'); i >= 0 {
		v = v[:i]
	}
	return varLevels[v]
}

// ProbeSense says which of a probe's rows is its headline: +1 when a larger
// value means more of what the probe detects (a head's induction score, a
// probe's accuracy), −1 when a smaller one does (a loss, the in-context
// score, late minus early loss), 0 for descriptive measures with no better
// direction (entropy, distance, rank, norms, coordinates).
func ProbeSense(probe string) int {
	switch probe {
	case ProbePrevToken, ProbePrefixMatching, ProbeDuplicateToken, ProbeCopying, ProbeAblationZero, ProbeAblationMean,
		ProbeFourierGini, ProbeLinear, ProbeTrainAcc, ProbeHeldoutAcc, ProbeKnowledgeBits, ProbeBitsPerParam,
		ProbeParityFourier, ProbeParitySaliency, ProbeNeuronBest, ProbeNeuronLayer:
		return +1
	case ProbeICLScore, ProbeICLLoss, ProbeFourierFullLoss, ProbeFourierRestricted:
		return -1
	}
	// The ablations (ablate_selective, ablate_random) are the ability left
	// at each k: their range, not one end, is the reading.
	return 0
}

// Thresholds of the judgements the report and the demo's findings make.
// Each is used by one function (package report/assemble) that both call.
const (
	// InductionHead is the prefix-matching score at which a head counts
	// as an induction head, NoInductionHead the score below which none has
	// formed: a phase change crosses from below one to above the other
	// (a random head scores about 1/T, a perfect one 1).
	InductionHead   = 0.5
	NoInductionHead = 0.3
	// Grokking: train accuracy at TrainSolved (memorised) first, then
	// held-out accuracy from below HeldoutLow to at least HeldoutSolved.
	TrainSolved   = 0.99
	HeldoutSolved = 0.9
	HeldoutLow    = 0.2
	// SubtaskSolved is the sharp score at which a subtask of a task made
	// of subtasks (the quanta study) counts as solved.
	SubtaskSolved = 0.95
)
