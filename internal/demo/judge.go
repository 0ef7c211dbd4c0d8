package demo

// judge.go: what the claims studies share to turn run directories into
// evidence — curves by variant, the scale at which a curve reaches a
// level (stats' crossing), rules comparing two such scales, and plots.

import (
	"context"
	"fmt"
	"math"
	"sort"

	"emlab/internal/report"
	"emlab/internal/report/assemble"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// reachLevel is the exact match at which the claims studies place an
// ability's critical scale: the scale where its curve first reaches one
// half. Unlike the sigmoid midpoint x* it is defined for every curve — one
// that never gets there has it beyond the largest model — so two variants
// can always be compared.
const reachLevel = 0.5

// withAxis keeps the runs whose sweep axis `axis` has the label `label`
// (sweep.json names each run's axis values).
func withAxis(runs []*rundir.Run, axis, label string) []*rundir.Run {
	var out []*rundir.Run
	for _, r := range runs {
		if r.Spec != nil && r.Spec.Run.Axes[axis] == label {
			out = append(out, r)
		}
	}
	return out
}

// evaluated keeps the runs that have evaluations (a run still training,
// or failed before its evaluation, has none).
func evaluated(runs []*rundir.Run) []*rundir.Run {
	var out []*rundir.Run
	for _, r := range runs {
		if r.Config != nil && len(r.Evals) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// finalOnly copies the runs keeping each run's evaluations at its last
// evaluated step, so that on a per-step axis (tokens, FLOPs) a run is one
// point, as it is on the parameters axis.
func finalOnly(runs []*rundir.Run) []*rundir.Run {
	out := make([]*rundir.Run, 0, len(runs))
	for _, r := range runs {
		last := -1
		for _, e := range r.Evals {
			last = max(last, e.Step)
		}
		c := *r
		c.Evals = nil
		for _, e := range r.Evals {
			if e.Step == last {
				c.Evals = append(c.Evals, e)
			}
		}
		out = append(out, &c)
	}
	return out
}

// curvesByTask returns the runs' valid curves of one metric on an axis,
// keyed by task variant (assemble.Curves: the rule emlab analyze uses).
func curvesByTask(runs []*rundir.Run, axis, metric string) (map[string]*stats.Curve, error) {
	out := map[string]*stats.Curve{}
	if len(runs) == 0 {
		return out, nil
	}
	cs, _, err := assemble.Curves(runs, axis)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Metric == metric {
			out[c.Task] = c
		}
	}
	return out, nil
}

// reach is where one curve reaches reachLevel, and stats' own reading of
// the curve.
type reach struct {
	Task string
	// X is the first scale at which the pooled curve reaches the level
	// (interpolated in log x); NaN when it never does. [Lo, Hi] is its
	// bootstrap interval over seeds and items; +Inf for replicates that
	// never reach it.
	X, Lo, Hi float64
	// Smallest and Largest are the smallest and largest scales sampled,
	// Top the mean at the largest.
	Smallest, Largest, Top float64
	// Verdict, XStar and its interval are stats' judgement of the curve
	// with the lab's default settings (XStar NaN unless emergent).
	Verdict                 string
	XStar, XStarLo, XStarHi float64
	Levels                  []stats.Level
}

func (r *reach) reached() bool { return !math.IsNaN(r.X) }

// never is true when no bootstrap replicate reaches the level either.
func (r *reach) never() bool { return !r.reached() && math.IsInf(r.Lo, 1) }

// atSmallest reports whether scale x is the smallest sampled one, where
// a reach is an upper bound, not a measured crossing (stats.AtSmallest).
func (r *reach) atSmallest(x float64) bool { return stats.AtSmallest(r.Smallest, x) }

// at says where the curve reaches the level: "at 20k params", or, when
// that is the smallest model, "at or below the smallest model, 16.8k
// params" — the ladder does not go low enough to place it.
func (r *reach) at() string {
	if r.reached() && r.atSmallest(r.X) {
		return fmt.Sprintf("at or below the smallest model, %s params", report.Num(r.X))
	}
	return "at " + report.Num(r.X) + " params"
}

// crossingInterval formats a reach's bootstrap interval [lo, hi] with its
// censored ends said as such: an end at the smallest model is "≤ 16.8k"
// (replicates already past the level there), an end at +∞ (replicates
// that never reach it) is "> 106k", beyond the largest model. When both
// ends sit at the smallest model there is no interval to print: every
// replicate is at or below it.
func (r *reach) crossingInterval(lo, hi float64) string {
	if math.IsNaN(lo) && math.IsNaN(hi) {
		return "no interval"
	}
	if r.atSmallest(lo) && r.atSmallest(hi) {
		return "(so does every bootstrap replicate)"
	}
	end := func(v float64) string {
		switch {
		case r.atSmallest(v):
			return "≤ " + report.Num(r.Smallest)
		case math.IsInf(v, 1) && r.Largest > 0:
			return "> " + report.Num(r.Largest)
		}
		return report.Num(v)
	}
	return "[" + end(lo) + ", " + end(hi) + "]"
}

// interval is the reach's own bootstrap interval (crossingInterval).
func (r *reach) interval() string { return r.crossingInterval(r.Lo, r.Hi) }

// String states the reach with its interval, then stats' verdict.
func (r *reach) String() string {
	s := fmt.Sprintf("%s reaches %.1f %s %s", r.Task, reachLevel, r.at(), r.interval())
	switch {
	case r.never():
		s = fmt.Sprintf("%s never reaches %.1f up to %s params (%.2f there), nor does any bootstrap replicate", r.Task, reachLevel, report.Num(r.Largest), r.Top)
	case !r.reached():
		s = fmt.Sprintf("%s never reaches %.1f up to %s params (%.2f there; interval %s)", r.Task, reachLevel, report.Num(r.Largest), r.Top, r.interval())
	}
	s += "; stats: " + r.Verdict
	if !math.IsNaN(r.XStar) {
		s += fmt.Sprintf(", x* %s %s", report.Num(r.XStar), report.Interval(r.XStarLo, r.XStarHi))
	}
	return s
}

// reachOf analyses a curve twice with stats.Analyze: with the lab's
// settings (verdict, x*) and with Delta set so that chance + Delta is
// reachLevel, whose crossing x_cross is the reach.
func reachOf(ctx context.Context, c *stats.Curve, o stats.Options) (*reach, error) {
	res, err := stats.Analyze(ctx, c, o)
	if err != nil {
		return nil, err
	}
	// The verdict and x* as stats judges them for every reader (x* only
	// on an emergent curve).
	j := stats.Judgements([]*stats.Result{res})[0]
	r := &reach{Task: c.Task, Verdict: j.Verdict, XStar: j.XStar, XStarLo: j.XStarLo, XStarHi: j.XStarHi, Levels: res.Levels}
	last := res.Levels[len(res.Levels)-1]
	r.Smallest, r.Largest, r.Top = res.Levels[0].X, last.X, last.Mean
	oc := o
	chance := 0.0
	if c.HasChance {
		chance = c.Chance
	}
	oc.Delta = reachLevel - chance
	cr, err := stats.Analyze(ctx, c, oc)
	if err != nil {
		return nil, err
	}
	r.X, r.Lo, r.Hi = cr.XCross, cr.XCrossLo, cr.XCrossHi
	if math.IsNaN(r.X) && cr.NotApplicable != "" && (allZero(res.Levels) || constantBelow(res.Levels, reachLevel)) {
		// stats does not resample a constant curve. Every level at 0 on a
		// score in [0, 1] means every item scored 0, so every bootstrap
		// replicate is 0 too; a constant fraction whose Wilson interval
		// lies below the level at every size stands in for replicates that
		// would not reach it either.
		r.Lo, r.Hi = math.Inf(1), math.Inf(1)
	}
	return r, nil
}

// allZero is true when every level's mean and spread are 0.
func allZero(levels []stats.Level) bool {
	for _, l := range levels {
		if l.Mean != 0 || l.SD != 0 {
			return false
		}
	}
	return len(levels) > 0
}

// constantBelow reports whether every level is the same fraction, measured
// on a known number of items (the fewest behind any pooled evaluation:
// seeds scored on the same items add none), with its 95% Wilson interval
// wholly below level.
func constantBelow(levels []stats.Level, level float64) bool {
	for _, l := range levels {
		if l.Mean != levels[0].Mean || l.Items <= 0 || l.Mean < 0 || l.Mean > 1 {
			return false
		}
		_, hi, err := stats.Wilson(int(math.Round(l.Mean*float64(l.Items))), l.Items, 0.95)
		if err != nil || hi >= level {
			return false
		}
	}
	return len(levels) > 0
}

// earlier is the rule "variant a emerges at a smaller scale than b",
// decided on their reaches:
//
//   - supported: a reaches the level, and its interval lies wholly below
//     b's (b's is [largest, ∞) or beyond when b never reaches it);
//   - not supported here: a never reaches it while b does, or a reaches it
//     no earlier than b;
//   - inconclusive: neither reaches it, or the intervals overlap.
func earlier(a, b *reach) (verdict, why string) {
	switch {
	case !a.reached() && b.reached():
		return VerdictNotSupported, fmt.Sprintf("%s never reaches %.1f while %s does %s", a.Task, reachLevel, b.Task, b.at())
	case !a.reached():
		return VerdictInconclusive, fmt.Sprintf("neither %s nor %s reaches %.1f up to %s params", a.Task, b.Task, reachLevel, report.Num(a.Largest))
	case a.Hi < b.Lo && b.never():
		return VerdictSupported, fmt.Sprintf("%s reaches %.1f %s %s; %s never does up to %s params, nor does any bootstrap replicate", a.Task, reachLevel,
			a.at(), a.interval(), b.Task, report.Num(b.Largest))
	case a.Hi < b.Lo:
		return VerdictSupported, fmt.Sprintf("%s reaches %.1f %s %s, below %s's interval %s", a.Task, reachLevel,
			a.at(), a.interval(), b.Task, b.interval())
	case b.reached() && a.X >= b.X:
		return VerdictNotSupported, fmt.Sprintf("%s reaches %.1f %s, no earlier than %s %s", a.Task, reachLevel, a.at(), b.Task, b.at())
	}
	return VerdictInconclusive, fmt.Sprintf("%s reaches %.1f %s %s, but the interval overlaps %s's %s", a.Task, reachLevel,
		a.at(), a.interval(), b.Task, b.interval())
}

// levelSeries is a curve's pooled levels as a plot series (mean, ±1 SD
// over seeds as error bars when there are several).
func levelSeries(label string, levels []stats.Level) report.Series {
	s := report.Series{Label: label}
	spread := false
	for _, l := range levels {
		spread = spread || l.Seeds > 1
	}
	for _, l := range levels {
		s.X, s.Y = append(s.X, l.X), append(s.Y, l.Mean)
		if spread {
			s.Lo, s.Hi = append(s.Lo, l.Mean-l.SD), append(s.Hi, l.Mean+l.SD)
		}
	}
	return s
}

// reachPlot draws curves against parameters with their reach marked.
func reachPlot(title string, rs []*reach, labels []string) *report.Plot {
	p := &report.Plot{Title: title, XLabel: "parameters (log scale)", YLabel: "exact match", XLog: true, YFixed: true, YMin: 0, YMax: 1,
		HLines: []report.Marker{{At: reachLevel, Label: fmt.Sprintf("%.1f", reachLevel)}}}
	for i, r := range rs {
		if r == nil {
			continue
		}
		p.Series = append(p.Series, levelSeries(labels[i], r.Levels))
		if r.reached() {
			p.VLines = append(p.VLines, report.Marker{At: r.X, Label: labels[i] + " " + report.Num(r.X)})
		}
	}
	return p
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
