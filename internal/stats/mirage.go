package stats

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"emlab/internal/numfmt"
	"emlab/internal/rundir"
)

// Mirage verdicts: is a sharp metric's emergence an artifact of the metric
// (Schaeffer et al. 2023, "Are Emergent Abilities of Large Language Models
// a Mirage?")? See JudgeMirage for the rule.
const (
	// MirageArtifact: the sharp metric is emergent while a smooth metric of
	// the same outputs improves smoothly and is well described that way.
	MirageArtifact = "artifact"
	// MirageNotArtifact: the smooth metric shows the transition too.
	MirageNotArtifact = "not_artifact"
	// MirageInconclusive: the smooth metric cannot decide (it is not
	// clearly smooth, fits poorly, or lacks data); Reason says which.
	MirageInconclusive = "inconclusive"
	// MirageNotApplicable: nothing sharp to explain (the sharp metric is
	// not emergent), or no other metric of the same outputs.
	MirageNotApplicable = "not_applicable"
)

// GOFAlpha is the level of the goodness-of-fit test a smooth metric must
// pass to count as smooth in the mirage test.
const GOFAlpha = 0.01

// SmoothMetricNames is the order in which the mirage test picks the smooth
// metric it compares a sharp metric with: rundir's smooth metrics in its
// order of preference (the per-token accuracy first — exact match is its
// product over the answer, the relation Schaeffer et al. 2023 build on —
// then the answer's log-probability, then scores and distances of the whole
// answer), each followed by its aliases. The first present with enough data
// is used; metrics not listed come after, in their order of appearance.
var SmoothMetricNames = namesOf(rundir.SmoothMetrics())

// MirageResult is the mirage test of one task's sharp metric.
type MirageResult struct {
	SharpMetric   string `json:"sharp_metric"`
	SharpVerdict  string `json:"sharp_verdict"`
	SmoothMetric  string `json:"smooth_metric,omitempty"`
	SmoothVerdict string `json:"smooth_verdict,omitempty"`
	SmoothFit     string `json:"smooth_fit,omitempty"`
	// Verdict is one of MirageArtifact, MirageNotArtifact,
	// MirageInconclusive, MirageNotApplicable; Reason says why.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// Mirage is Verdict == MirageArtifact (kept for readers of the older
	// output).
	Mirage bool `json:"mirage"`
	// HiddenProgress: the sharp metric stays flat while the smooth metric
	// improves — progress exact match does not show, but nothing sharp to
	// explain, so not an artifact.
	HiddenProgress bool `json:"hidden_progress"`
	// SmoothGOFP is the goodness-of-fit p-value of the smooth metric's
	// smooth fit (NaN when not tested).
	SmoothGOFP float64 `json:"smooth_gof_p"`
	Detail     string  `json:"detail"`
	// PowerL checks the p^L prediction when a per-position metric exists.
	PowerL *PowerLCheck `json:"power_l,omitempty"`
}

// PowerLCheck compares exact match with p^L, p the per-position accuracy
// at the same scale and L the answer length: if positions were independent,
// exact match would be their product (Schaeffer et al. 2023, §2). L is the
// given length or, if 0 was given, the least-squares fit over L ∈ [0.5, 64].
type PowerLCheck struct {
	PerPositionMetric string  `json:"per_position_metric"`
	L                 float64 `json:"L"`
	LFitted           bool    `json:"L_fitted"`
	Levels            int     `json:"levels"`
	RMSE              float64 `json:"rmse"`
	MaxAbsErr         float64 `json:"max_abs_err"`
	// Consistent: RMSE ≤ max(0.05, 2 × the mean standard error of exact match).
	Consistent bool `json:"consistent"`
	// Applicable is false when the check cannot say anything (exact match
	// constant, per-position scores not fractions, a fitted L at the edge of
	// its range); Reason says why, and L, RMSE and MaxAbsErr are then NaN:
	// nothing should be drawn.
	Applicable bool   `json:"applicable"`
	Reason     string `json:"reason,omitempty"`
}

// JudgeMirage is the one rule that decides whether a task's sharp metric
// shows a metric artifact. sharp is the sharp metric's result, others the
// other metrics of the same task and outputs (may include sharp, which is
// skipped), perPosition the per-position accuracy for the p^L check (nil:
// none) and answerLen L for it (≤ 0: fitted). The rule:
//
//  1. Nothing sharp to explain: if the sharp metric is not emergent, the
//     verdict is not_applicable (with HiddenProgress when it is flat while
//     the smooth metric improves).
//  2. The smooth metric is the first of SmoothMetricNames present among
//     others whose verdict is not insufficient (then any other metric).
//     None: not_applicable without another metric, inconclusive when all
//     lack data.
//  3. If the smooth metric is emergent too, the transition is not the
//     metric's doing: not_artifact.
//  4. It counts as smooth — verdict artifact — only if all hold: its
//     verdict is smooth (it improves, without a transition); its chosen fit
//     is a line in log x or a power law in the error (a sigmoid or broken
//     power law does not describe it better by BIC), and not a power law
//     whose exponent is past what the levels resolve (bounds.go: the
//     error falls by over 99 % within the first step, a step drawn as a
//     power law); and that fit passes a
//     goodness-of-fit test: Pearson χ² with each level's sampling variance
//     plus the family variance the sigmoid leaves (scatter no monotone
//     curve removes), on n − k degrees of freedom, p ≥ GOFAlpha; and it
//     rests on at least MinItems items per evaluation (with fewer, passing
//     the test says little). Otherwise inconclusive, with the condition
//     that failed.
//
// The p^L check is reported beside the verdict, not used by it.
func JudgeMirage(sharp *Result, others []*Result, perPosition *Result, answerLen float64) *MirageResult {
	m := &MirageResult{SharpMetric: sharp.Metric, SharpVerdict: sharp.Verdict, SmoothGOFP: math.NaN()}
	if perPosition != nil {
		m.PowerL = powerL(sharp, perPosition, answerLen)
	}
	smooth, anyOther := pickSmooth(sharp, others)
	if smooth != nil {
		m.SmoothMetric, m.SmoothVerdict, m.SmoothFit = smooth.Metric, smooth.Verdict, smooth.Fit
		m.SmoothGOFP = smooth.smoothGOFP
	}
	improving := func(r *Result) bool {
		return r != nil && (r.Verdict == VerdictSmooth || r.Verdict == VerdictEmergent)
	}
	switch {
	case sharp.Verdict != VerdictEmergent:
		m.Verdict = MirageNotApplicable
		m.Reason = fmt.Sprintf("%s is %s, not emergent: nothing sharp to explain", sharp.Metric, sharp.Verdict)
		if sharp.Verdict == VerdictFlat && improving(smooth) {
			m.HiddenProgress = true
			m.Reason += fmt.Sprintf(" (%s improves while %s stays flat: progress the sharp metric does not show)", smooth.Metric, sharp.Metric)
		}
	case smooth == nil && !anyOther:
		m.Verdict = MirageNotApplicable
		m.Reason = "no other metric of this task's outputs to compare with"
	case smooth == nil:
		m.Verdict = MirageInconclusive
		m.Reason = "every other metric of this task has too little data for a verdict"
	case smooth.Verdict == VerdictEmergent:
		m.Verdict = MirageNotArtifact
		m.Reason = fmt.Sprintf("%s rises sharply too (emergent): the transition is not a product of the %s metric", smooth.Metric, sharp.Metric)
	case smooth.Verdict != VerdictSmooth:
		m.Verdict = MirageInconclusive
		m.Reason = fmt.Sprintf("%s is %s, not a smooth improvement, so it cannot explain %s's jump", smooth.Metric, smooth.Verdict, sharp.Metric)
	case smooth.Fit != ModelLinear && smooth.Fit != ModelPower:
		m.Verdict = MirageInconclusive
		m.Reason = fmt.Sprintf("%s is best described by a %s, not a line or a power law: not clearly smooth", smooth.Metric, smooth.Fit)
	case smoothFitSteps(smooth):
		m.Verdict = MirageInconclusive
		m.Reason = fmt.Sprintf("%s's power-law fit has its exponent past what the sampled steps resolve (its error falls by over 99 %% in the first step): a drop, not a smooth improvement, so it cannot explain %s's jump", smooth.Metric, sharp.Metric)
	case !(smooth.smoothGOFP >= GOFAlpha):
		m.Verdict = MirageInconclusive
		if math.IsNaN(smooth.smoothGOFP) {
			m.Reason = fmt.Sprintf("%s's %s fit cannot be tested for goodness of fit (no sampling variances)", smooth.Metric, smooth.Fit)
		} else {
			m.Reason = fmt.Sprintf("%s's %s fit fails the goodness-of-fit test (p = %s < %g): it is not smooth where it matters", smooth.Metric, smooth.Fit, numfmt.Num(smooth.smoothGOFP), GOFAlpha)
		}
	case smooth.FewItems:
		m.Verdict = MirageInconclusive
		m.Reason = fmt.Sprintf("%s rests on %d items per evaluation (fewer than %d): too few to tell a smooth rise from a jump", smooth.Metric, smooth.NMin, MinItems)
	default:
		m.Verdict, m.Mirage = MirageArtifact, true
		m.Reason = fmt.Sprintf("%s is emergent while %s of the same outputs improves smoothly (%s, goodness of fit p = %s): the sharpness may be a metric artifact",
			sharp.Metric, smooth.Metric, smooth.Fit, numfmt.Num(smooth.smoothGOFP))
	}
	m.Detail = m.Reason
	if pl := m.PowerL; pl != nil {
		if pl.Applicable {
			m.Detail += fmt.Sprintf("; p^L check with %s: L = %s, RMSE %s (%s)", pl.PerPositionMetric, numfmt.Num(pl.L), numfmt.Num(pl.RMSE), passWord(pl.Consistent, "consistent", "inconsistent"))
		} else {
			m.Detail += "; p^L check not applicable: " + pl.Reason
		}
	}
	return m
}

// Mirage is JudgeMirage (the name of the older API).
func Mirage(sharp *Result, others []*Result, perPosition *Result, answerLen float64) *MirageResult {
	return JudgeMirage(sharp, others, perPosition, answerLen)
}

// smoothFitSteps reports whether r's chosen fit is a power law whose
// exponent sits past the levels' resolution (Fit.ExponentLimit): the
// fitted error drops within the first step, which no smooth rate
// describes. An exponent at 0 is not such a case: that power law is a
// line in log x, smooth by the same rule as the line.
func smoothFitSteps(r *Result) bool {
	if r.Fit != ModelPower {
		return false
	}
	for i := range r.Fits {
		if f := &r.Fits[i]; f.Model == ModelPower {
			return f.ExponentLimit[paramAlpha] == exponentUnresolved
		}
	}
	return false
}

// pickSmooth applies step 2 of JudgeMirage; anyOther reports whether any
// other metric of the task exists at all.
func pickSmooth(sharp *Result, others []*Result) (smooth *Result, anyOther bool) {
	var cands []*Result
	for _, o := range others {
		if o == sharp || o.Task != sharp.Task || isSharpMetric(o.Metric) {
			continue
		}
		cands = append(cands, o)
	}
	if len(cands) == 0 {
		return nil, false
	}
	usable := func(r *Result) bool { return r.Verdict != VerdictInsufficient && r.Verdict != "" }
	for _, name := range SmoothMetricNames {
		for _, r := range cands {
			if strings.EqualFold(r.Metric, name) && usable(r) {
				return r, true
			}
		}
	}
	for _, r := range cands {
		if usable(r) {
			return r, true
		}
	}
	return nil, true
}

// smoothGOF is the goodness-of-fit p-value of a curve's smooth fit (the
// lower-BIC of the line and the power law): Pearson χ² = Σ r²/(v + τ²_sig)
// with each level's sampling variance v and the family variance the
// sigmoid leaves, on n − k degrees of freedom. The sigmoid's τ² stands for
// the model-to-model scatter, which no monotone curve removes; a jump the
// smooth fit misses while the sigmoid follows it shows up as misfit. NaN
// without sampling variances.
func smoothGOF(fs *fitSet) float64 {
	if !fs.known {
		return math.NaN()
	}
	var best *Fit
	for _, name := range []string{ModelLinear, ModelPower} {
		if f := fs.get(name); f != nil && (best == nil || f.BIC < best.BIC) {
			best = f
		}
	}
	sig := fs.get(ModelSigmoid)
	if best == nil || sig == nil || fs.n-best.K < 1 {
		return math.NaN()
	}
	var chi2 float64
	for i := range fs.t {
		r := fs.y[i] - best.model.f(best.theta, fs.t[i])
		chi2 += r * r / (fs.v[i] + sig.tau2)
	}
	return distuv.ChiSquared{K: float64(fs.n - best.K)}.Survival(chi2)
}

func powerL(sharp, pp *Result, answerLen float64) *PowerLCheck {
	byX := map[float64]Level{}
	for _, l := range pp.Levels {
		byX[l.X] = l
	}
	var em, p, se []float64
	for _, l := range sharp.Levels {
		if q, ok := byX[l.X]; ok {
			em, p = append(em, l.Mean), append(p, q.Mean)
			se = append(se, math.Sqrt(l.Var))
		}
	}
	c := &PowerLCheck{PerPositionMetric: pp.Metric, Levels: len(em), L: answerLen, Applicable: true}
	na := func(reason string) *PowerLCheck {
		c.Applicable, c.Reason, c.Consistent = false, reason, false
		c.L, c.RMSE, c.MaxAbsErr = math.NaN(), math.NaN(), math.NaN()
		return c
	}
	if len(em) < 3 {
		return na(fmt.Sprintf("%d scales where both metrics were measured (need 3)", len(em)))
	}
	if !allIn01(em) || !allIn01(p) {
		return na(fmt.Sprintf("%s and %s must both be fractions in [0, 1]", sharp.Metric, pp.Metric))
	}
	if lo, hi := rangeOf(em); hi-lo < 1e-9 {
		return na(fmt.Sprintf("%s is %s at every scale: p^L fits it with any large L", sharp.Metric, numfmt.Num(lo)))
	}
	sse := func(L float64) float64 {
		var s float64
		for i := range em {
			d := em[i] - math.Pow(math.Max(p[i], 0), L)
			s += d * d
		}
		return s
	}
	if answerLen <= 0 {
		// A fine grid in log L: the objective is one-dimensional and cheap,
		// and a grid cannot be trapped the way a local search can.
		c.LFitted = true
		best := math.Inf(1)
		for lg := math.Log(powerLMin); lg <= math.Log(powerLMax); lg += 0.002 {
			if s := sse(math.Exp(lg)); s < best {
				best, c.L = s, math.Exp(lg)
			}
		}
		if powerLAtBound(c.L) {
			return na(fmt.Sprintf("the best-fitting L is at the edge of its range [%g, %g] (%s): no answer length explains %s from %s", powerLMin, powerLMax, numfmt.Num(c.L), sharp.Metric, pp.Metric))
		}
	}
	var meanSE float64
	for i := range em {
		d := math.Abs(em[i] - math.Pow(math.Max(p[i], 0), c.L))
		c.MaxAbsErr = math.Max(c.MaxAbsErr, d)
		meanSE += se[i]
	}
	meanSE /= float64(len(em))
	c.RMSE = math.Sqrt(sse(c.L) / float64(len(em)))
	c.Consistent = c.RMSE <= math.Max(0.05, 2*meanSE)
	return c
}
