package stats

import (
	"fmt"
	"math"
)

// MirageResult is Schaeffer et al. 2023's test of whether a task's
// emergence is a metric artifact: the same outputs scored with a sharp
// metric (exact match) and with smooth ones (per-position accuracy, log
// probability, edit distance).
type MirageResult struct {
	SharpMetric   string `json:"sharp_metric"`
	SharpVerdict  string `json:"sharp_verdict"`
	SmoothMetric  string `json:"smooth_metric,omitempty"`
	SmoothVerdict string `json:"smooth_verdict,omitempty"`
	SmoothFit     string `json:"smooth_fit,omitempty"`
	// Mirage is true when the sharp metric is emergent while a smooth metric
	// of the same outputs is best described by a smooth curve.
	Mirage bool   `json:"mirage"`
	Detail string `json:"detail"`
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
}

// Mirage compares a sharp metric's result with the results of other metrics
// of the same task. perPosition (may be nil) is the per-position accuracy
// result for the p^L check; answerLen ≤ 0 fits L.
func Mirage(sharp *Result, others []*Result, perPosition *Result, answerLen float64) *MirageResult {
	m := &MirageResult{SharpMetric: sharp.Metric, SharpVerdict: sharp.Verdict}
	for _, o := range others {
		if o == sharp || o.Task != sharp.Task {
			continue
		}
		if o.Verdict == VerdictSmooth && (o.Fit == ModelLinear || o.Fit == ModelPower) {
			m.SmoothMetric, m.SmoothVerdict, m.SmoothFit = o.Metric, o.Verdict, o.Fit
			break
		}
		if m.SmoothMetric == "" {
			m.SmoothMetric, m.SmoothVerdict, m.SmoothFit = o.Metric, o.Verdict, o.Fit
		}
	}
	smoothOK := m.SmoothVerdict == VerdictSmooth && (m.SmoothFit == ModelLinear || m.SmoothFit == ModelPower)
	m.Mirage = sharp.Verdict == VerdictEmergent && smoothOK
	switch {
	case m.SmoothMetric == "":
		m.Detail = "no other metric of this task to compare with"
	case m.Mirage:
		m.Detail = fmt.Sprintf("%s is emergent while %s of the same outputs is smooth (%s): the sharpness may be a metric artifact", sharp.Metric, m.SmoothMetric, m.SmoothFit)
	case sharp.Verdict == VerdictEmergent:
		m.Detail = fmt.Sprintf("%s is emergent and %s is %s (fit %s): no smooth metric explains it away", sharp.Metric, m.SmoothMetric, m.SmoothVerdict, m.SmoothFit)
	default:
		m.Detail = fmt.Sprintf("%s is %s, not emergent: nothing to explain away", sharp.Metric, sharp.Verdict)
	}
	if perPosition != nil {
		m.PowerL = powerL(sharp, perPosition, answerLen)
	}
	return m
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
	c := &PowerLCheck{PerPositionMetric: pp.Metric, Levels: len(em), L: answerLen}
	if len(em) == 0 {
		c.RMSE, c.MaxAbsErr, c.L = math.NaN(), math.NaN(), math.NaN()
		return c
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
		for lg := math.Log(0.5); lg <= math.Log(64); lg += 0.002 {
			if s := sse(math.Exp(lg)); s < best {
				best, c.L = s, math.Exp(lg)
			}
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
