package assemble

// abilities.go: the report's first section, one panel pair per ability:
// the sharp metric's curve against parameters with its fit and verdict,
// beside a smooth metric of the same outputs, and the mirage test.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// chanceKey is (task, metric).
type chanceKey [2]string

// chances collects the chance rate of each (task, metric) the evaluations
// give one for (rundir.Eval.ChanceOf: the sharp metrics).
func chances(runs []*rundir.Run) map[chanceKey]float64 {
	out := map[chanceKey]float64{}
	for _, r := range runs {
		for _, e := range r.Evals {
			if c, ok := e.ChanceOf(); ok {
				out[chanceKey{e.Task, e.Metric}] = c
			}
		}
	}
	return out
}

func chanceOf(ch map[chanceKey]float64, task, metric string) float64 {
	if c, ok := ch[chanceKey{task, metric}]; ok {
		return c
	}
	return math.NaN()
}

// pick returns the line of the first metric in names that ls has.
func pick(ls []*Line, names []string) *Line {
	for _, n := range names {
		for _, l := range ls {
			if l.Metric == n {
				return l
			}
		}
	}
	return nil
}

// Verdict is the analysis' judgement of one ability (a task) against
// parameters: its sharp metric's line, whose Judgement holds the verdict,
// x* and the task's mirage verdict, and the line of the smooth metric the
// report shows beside it (the mirage test's, else rundir's first; nil when
// none).
type Verdict struct {
	Task          string
	Sharp, Smooth *Line
}

// Emergent reports whether the ability's sharp metric is emergent.
func (v Verdict) Emergent() bool { return v.Sharp.Judgement.Emergent }

// Artifact reports whether the mirage test calls the ability's emergence a
// metric artifact.
func (v Verdict) Artifact() bool { return v.Sharp.Judgement.Artifact }

// Verdicts lists the abilities of the analysis lines on the params axis,
// by task: every task with a sharp metric (the first of
// rundir.SharpMetrics it has). The report's abilities and header and the
// demo's findings all count from here.
func Verdicts(lines []Line) []Verdict {
	byTask := map[string][]*Line{}
	var tasks []string
	for i := range lines {
		l := &lines[i]
		if l.Axis != stats.AxisParams && l.Axis != "" {
			continue
		}
		if _, ok := byTask[l.Task]; !ok {
			tasks = append(tasks, l.Task)
		}
		byTask[l.Task] = append(byTask[l.Task], l)
	}
	sort.Strings(tasks)
	var out []Verdict
	for _, task := range tasks {
		ls := byTask[task]
		sharp := pick(ls, rundir.SharpMetrics())
		if sharp == nil {
			continue // a task without a sharp metric (e.g. only bayes_kl) is not an ability curve
		}
		v := Verdict{Task: task, Sharp: sharp}
		if m := sharp.Judgement.Mirage; m != nil && m.SmoothMetric != "" {
			v.Smooth = pick(ls, []string{m.SmoothMetric})
		}
		if v.Smooth == nil {
			v.Smooth = pick(ls, rundir.SmoothMetrics())
		}
		out = append(out, v)
	}
	return out
}

func abilities(r *report.Report, lines []Line, chance map[chanceKey]float64) {
	for _, v := range Verdicts(lines) {
		sharp, task := v.Sharp, v.Task
		a := report.Ability{Task: task, Sharp: panel(sharp, chanceOf(chance, task, sharp.Metric))}
		if v.Smooth != nil {
			a.Smooth = panel(v.Smooth, chanceOf(chance, task, v.Smooth.Metric))
		}
		if m := sharp.Judgement.Mirage; m != nil {
			a.Mirage = &report.Mirage{SharpMetric: m.SharpMetric, SharpVerdict: m.SharpVerdict, SmoothMetric: m.SmoothMetric,
				SmoothVerdict: m.SmoothVerdict, Verdict: m.Verdict, IsMirage: sharp.Judgement.Artifact, Detail: m.Reason}
			if p := m.PowerL; p != nil {
				if p.Applicable {
					word := "does not match"
					if p.Consistent {
						word = "matches"
					}
					a.Mirage.PowerL = fmt.Sprintf("p^L check: exact match %s %s^L with L = %s over %d levels (RMSE %s).",
						word, p.PerPositionMetric, report.Num(p.L), p.Levels, report.Num(p.RMSE))
				} else {
					a.Mirage.PowerL = "p^L check: not applicable — " + p.Reason + "."
				}
			}
		}
		if sharp.Judgement.Verdict == stats.VerdictInsufficient {
			a.Note = "Insufficient data: " + sharp.Judgement.Reason
			r.Notes = append(r.Notes, task+": "+a.Note)
		}
		r.Abilities = append(r.Abilities, a)
	}
	if len(lines) == 0 {
		r.SectionNotes[report.SecAbilities] = "No analysis against parameters: the ladder needs evaluations from at least four model sizes (give an analysis file or run emlab eval on the ladder's runs)."
	}
}

// panel is one metric's panel: what the analysis judged (package stats'
// Judgement: verdict, reason, x* only for an emergent curve, nothing fitted
// where not applicable) and the pooled levels with their seeds and items.
func panel(l *Line, chance float64) *report.Panel {
	j := l.Judgement
	p := &report.Panel{Metric: l.Metric, Axis: l.Axis, XLog: l.Axis != stats.AxisEvalLoss, FitModel: l.Fit, Verdict: j.Verdict, Reason: j.Reason,
		XStar: j.XStar, XStarLo: j.XStarLo, XStarHi: j.XStarHi, NotApplicable: j.NotApplicable, NMin: j.NMin, MinItems: stats.MinItems, FewItems: j.FewItems,
		Breakthroughness: float64(l.Breakthroughness), Linearity: float64(l.Linearity), Chance: chance, Fraction: rundir.IsFraction(l.Metric), LowerIsBetter: j.LowerIsBetter,
		BoundNote: j.BoundNote}
	if p.Axis == "" {
		p.Axis = stats.AxisParams
	}
	if !j.Drawable {
		p.FitModel = ""
		if p.NotApplicable == "" {
			p.NotApplicable = j.Reason
		}
	}
	// null interval ends beside a defined x* are open ends (the writer
	// encodes ±Inf as null).
	if finite(p.XStar) {
		if math.IsNaN(p.XStarLo) {
			p.XStarLo = math.Inf(-1)
		}
		if math.IsNaN(p.XStarHi) {
			p.XStarHi = math.Inf(1)
		}
	}
	for _, s := range j.XStarSeeds {
		p.XStarSeeds = append(p.XStarSeeds, report.SeedX{Seed: s.Seed, X: s.XStar})
	}
	for _, lv := range l.Levels {
		x, m, sd := float64(lv.X), float64(lv.Mean), float64(lv.SD)
		p.Observed.X = append(p.Observed.X, x)
		p.Observed.Y = append(p.Observed.Y, m)
		if se := float64(lv.SE); se > 0 && finite(se) {
			p.Observed.Lo = append(p.Observed.Lo, m-se)
			p.Observed.Hi = append(p.Observed.Hi, m+se)
		} else if lv.Seeds > 1 && finite(sd) {
			p.Observed.Lo = append(p.Observed.Lo, m-sd)
			p.Observed.Hi = append(p.Observed.Hi, m+sd)
		} else {
			p.Observed.Lo = append(p.Observed.Lo, math.NaN())
			p.Observed.Hi = append(p.Observed.Hi, math.NaN())
			sd = math.NaN()
		}
		if lv.Seeds <= 1 {
			sd = math.NaN()
		}
		p.Levels = append(p.Levels, report.Level{X: x, Mean: m, SD: sd, Seeds: lv.Seeds, Items: lv.Items})
	}
	p.Observed.Label = "observed (mean"
	switch {
	case len(l.Levels) > 0 && float64(l.Levels[0].SE) > 0:
		p.Observed.Label += " ± 1 SE"
	case len(l.Levels) > 0 && l.Levels[0].Seeds > 1:
		p.Observed.Label += " ± SD over seeds"
	}
	p.Observed.Label += ")"
	if j.Drawable {
		if fx, fy := fitted(l, 80); len(fx) > 0 {
			p.Fitted = report.Series{Label: "fit: " + l.Fit, X: fx, Y: fy}
		}
	}
	for _, e := range l.Evidence {
		p.Evidence = append(p.Evidence, report.Evidence{Test: e.Test, Pass: e.Pass, Detail: e.Detail})
	}
	return p
}

// fitted samples the line's fitted model (stats.Predict) at n points
// spread evenly in log x over its levels; nothing when the analysis chose
// no model or reports it incompletely.
func fitted(l *Line, n int) (x, y []float64) {
	if len(l.Levels) == 0 || n < 2 {
		return nil, nil
	}
	ps := make(map[string]float64, len(l.Params))
	for k, v := range l.Params {
		ps[k] = float64(v)
	}
	f, ok := stats.Predict(l.Fit, ps, l.Axis, float64(l.Levels[0].X))
	if !ok {
		return nil, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, lv := range l.Levels {
		if v := float64(lv.X); v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if !(hi > lo) {
		return nil, nil
	}
	l0, l1 := math.Log10(lo), math.Log10(hi)
	for i := range n {
		xv := math.Pow(10, l0+(l1-l0)*float64(i)/float64(n-1))
		x = append(x, xv)
		y = append(y, f(xv))
	}
	return x, y
}

// Abilities turns analysis lines on the params axis into ability panels
// (the report's first section), with chance rates read from the runs'
// evaluations. The dashboard uses it for its per-ability plots.
func Abilities(lines []Line, runs []*rundir.Run) []report.Ability {
	r := &report.Report{SectionNotes: map[string]string{}}
	var ps []Line
	for _, l := range lines {
		if l.Axis == stats.AxisParams || l.Axis == "" {
			ps = append(ps, l)
		}
	}
	abilities(r, ps, chances(runs))
	return r.Abilities
}

// fillObserved gives panels whose analysis has no levels (an
// insufficient curve is written without them) the ladder's observed
// final-step means, so the plot shows what little data there is.
func fillObserved(abilities []report.Ability, ladder []*rundir.Run) {
	var curves []*stats.Curve
	for i := range abilities {
		for _, p := range []*report.Panel{abilities[i].Sharp, abilities[i].Smooth} {
			if p == nil || len(p.Observed.X) > 0 || p.Axis != stats.AxisParams {
				continue
			}
			if curves == nil {
				curves, _, _ = stats.RunCurves(ladder, stats.AxisParams)
			}
			for _, c := range curves {
				if c.Task != abilities[i].Task || c.Metric != p.Metric {
					continue
				}
				xs, ys := meanByX(c.Points)
				p.Observed = report.Series{Label: "observed (final step, mean over seeds)", X: xs, Y: ys}
			}
		}
	}
}

func meanByX(pts []stats.Point) (xs, ys []float64) {
	sum, cnt := map[float64]float64{}, map[float64]int{}
	for _, p := range pts {
		if cnt[p.X] == 0 {
			xs = append(xs, p.X)
		}
		sum[p.X] += p.Value
		cnt[p.X]++
	}
	sort.Float64s(xs)
	for _, x := range xs {
		ys = append(ys, sum[x]/float64(cnt[x]))
	}
	return xs, ys
}

// Observed is the fallback when no analysis exists: per task, the sharp
// metric's final-step mean over seeds against parameters, without fits or
// verdicts.
func Observed(runs []*rundir.Run) []report.Ability {
	curves, _, err := stats.RunCurves(runs, stats.AxisParams)
	if err != nil {
		return nil
	}
	byTask := map[string][]*stats.Curve{}
	var tasks []string
	for _, c := range curves {
		if _, ok := byTask[c.Task]; !ok {
			tasks = append(tasks, c.Task)
		}
		byTask[c.Task] = append(byTask[c.Task], c)
	}
	var out []report.Ability
	for _, task := range tasks {
		var sharp *stats.Curve
		for _, n := range rundir.SharpMetrics() {
			for _, c := range byTask[task] {
				if sharp == nil && c.Metric == n {
					sharp = c
				}
			}
		}
		if sharp == nil {
			continue
		}
		xs, ys := meanByX(sharp.Points)
		p := &report.Panel{Metric: sharp.Metric, Axis: stats.AxisParams, XLog: true, Verdict: "not analysed", Fraction: rundir.IsFraction(sharp.Metric),
			XStar: math.NaN(), XStarLo: math.NaN(), XStarHi: math.NaN(), Chance: math.NaN(), Breakthroughness: math.NaN(), Linearity: math.NaN()}
		if sharp.HasChance {
			p.Chance = sharp.Chance
		}
		p.Observed.Label = "final step, mean over seeds"
		p.Observed.X, p.Observed.Y = xs, ys
		out = append(out, report.Ability{Task: task, Sharp: p})
	}
	return out
}

// prettyJSON indents a JSON document ("" when it is not one).
func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return ""
	}
	return out.String()
}
