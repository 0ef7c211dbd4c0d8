package stats

import "math"

// Judgement is everything a reader of the analysis shows about one curve:
// the verdict and why, the direction of its change, whether something can
// be drawn for it, whether it rests on few items, the transition's
// location, and its task's mirage verdict. The report, analysis.json and
// findings.json take these from here rather than re-deciding them.
type Judgement struct {
	Task, Metric string
	Verdict      string
	Reason       string
	Emergent     bool
	// Direction of the change in terms of improvement (Direction*
	// constants); LowerIsBetter the metric's orientation.
	Direction     string
	LowerIsBetter bool
	// Drawable is false when nothing was fitted (NotApplicable says why).
	Drawable      bool
	NotApplicable string
	// NMin is the fewest items behind one evaluation; FewItems flags fewer
	// than MinItems.
	NMin     int
	FewItems bool
	// XStar and its interval, NaN unless the curve is emergent (a smooth,
	// flat, inverse or non-monotone curve has no transition to locate).
	XStar, XStarLo, XStarHi float64
	// Mirage is the mirage verdict of the curve's task (nil when the task
	// has one metric); Artifact is Mirage.Verdict == MirageArtifact.
	Mirage   *MirageResult
	Artifact bool
}

// Judgements returns the judgement of every result, in order; each metric
// of a task carries the task's mirage verdict (attached by AnalyzeCurves
// to the sharp metric).
func Judgements(results []*Result) []Judgement {
	mirage := map[string]*MirageResult{}
	for _, r := range results {
		if r.Mirage != nil {
			mirage[r.Task] = r.Mirage
		}
	}
	out := make([]Judgement, len(results))
	for i, r := range results {
		j := Judgement{Task: r.Task, Metric: r.Metric, Verdict: r.Verdict, Reason: r.Reason, Emergent: r.Emergent,
			Direction: r.Direction, LowerIsBetter: r.LowerIsBetter, Drawable: r.Drawable(), NotApplicable: r.NotApplicable,
			NMin: r.NMin, FewItems: r.FewItems, XStar: math.NaN(), XStarLo: math.NaN(), XStarHi: math.NaN(), Mirage: mirage[r.Task]}
		if r.Emergent {
			j.XStar, j.XStarLo, j.XStarHi = r.XStar, r.XStarLo, r.XStarHi
		}
		j.Artifact = j.Mirage != nil && j.Mirage.Verdict == MirageArtifact
		out[i] = j
	}
	return out
}
