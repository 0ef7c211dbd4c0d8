package assemble

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"emlab/internal/report"
	"emlab/internal/stats"
)

// Input is what Build turns into a report.
type Input struct {
	Title, Subtitle string
	// Runs are all runs the report covers (provenance, induction, grokking
	// and quanta take what they find in them).
	Runs []*Run
	// Ladder are the runs analysed as a scale ladder (abilities, loss view,
	// scaling law, forecasts); usually a subset of Runs.
	Ladder []*Run
	// Analysis is the analysis of the ladder (emlab analyze --json lines);
	// Analyze computes it.
	Analysis []Line
	// Roles optionally names each run's role by ID (ladder, induction…).
	Roles map[string]string
	// Notes are added to the report's notes first.
	Notes []string
	// Now and Fresh decide the runs' status (see Run.Status); a zero Now
	// reports runs without a DONE file as not finished.
	Now   time.Time
	Fresh time.Duration
	// Scaling configures the scaling-law fit (Boot 0: no intervals).
	Scaling stats.ScalingOptions
}

// Probe names read from probes.jsonl.
const PrefixMatchingProbe = "prefix_matching"

// ICLProbes are the names accepted for the in-context-learning score
// (Olsson et al. 2022: loss at a late position minus loss at an early one).
var ICLProbes = []string{"icl_score", "icl", "in_context_score"}

// GrokkingProbes maps each grokking quantity to the probe names accepted
// for it, first match wins (docs/probes.md names them: train_heldout →
// train_acc, heldout_acc; fourier → fourier_*_loss; weight_norm).
var GrokkingProbes = []struct {
	Kind, Label string
	Names       []string
}{
	{"accuracy", "train accuracy", []string{"train_acc", "train_accuracy"}},
	{"accuracy", "held-out accuracy", []string{"heldout_acc", "heldout_accuracy", "test_acc", "test_accuracy", "held_out_acc"}},
	{"loss", "train loss", []string{"train_loss"}},
	{"loss", "held-out loss", []string{"heldout_loss", "test_loss"}},
	{"loss", "full loss", []string{"fourier_full_loss"}},
	{"loss", "restricted loss", []string{"fourier_restricted_loss", "restricted_loss"}},
	{"loss", "excluded loss", []string{"fourier_excluded_loss", "excluded_loss"}},
	{"weight_norm", "weight norm", []string{"weight_norm"}},
}

// sharpNames and smoothNames choose an ability's two panels.
var (
	sharpNames  = append(append([]string{}, stats.SharpMetricNames...), "mc_grade")
	smoothNames = []string{"token_accuracy", "logprob", "choice_logprob", "brier", "edit_distance", "logprob_total"}
	// fractionMetrics are scores in [0, 1]: their plots pin y to [0, 1].
	fractionMetrics = map[string]bool{"exact_match": true, "em": true, "accuracy": true, "acc": true, "token_accuracy": true, "mc_grade": true}
)

// Build assembles the report. It never fails for missing data: each
// section without data carries a note saying why.
func Build(ctx context.Context, in Input) (*report.Report, error) {
	r := &report.Report{Title: in.Title, Subtitle: in.Subtitle, SectionNotes: map[string]string{}}
	if r.Title == "" {
		r.Title = "emlab report"
	}
	r.Notes = append(r.Notes, in.Notes...)
	for _, ru := range in.Runs {
		r.Runs = append(r.Runs, runRow(ru, in))
		for _, p := range ru.Problems {
			r.Notes = append(r.Notes, "skipped an unreadable line: "+p)
		}
	}
	byAxis := map[string][]Line{}
	for _, l := range in.Analysis {
		byAxis[l.Axis] = append(byAxis[l.Axis], l)
	}
	chance := chances(in.Ladder)
	abilities(r, byAxis[stats.AxisParams], chance)
	fillObserved(r.Abilities, in.Ladder)
	lossView(r, in.Ladder, byAxis[stats.AxisEvalLoss])
	induction(r, in.Runs)
	grokking(r, in.Runs)
	quanta(r, in.Runs)
	if err := scaling(ctx, r, in.Ladder, in.Scaling); err != nil {
		return nil, err
	}
	forecasts(r, byAxis[stats.AxisParams])
	var s []string
	var em, mir []string
	for _, a := range r.Abilities {
		if a.Sharp != nil && a.Sharp.Verdict == stats.VerdictEmergent {
			em = append(em, a.Task)
		}
		if a.Mirage != nil && a.Mirage.IsMirage {
			mir = append(mir, a.Task)
		}
	}
	s = append(s, fmt.Sprintf("%d runs; %d on the scale ladder; %d abilities analysed.", len(in.Runs), len(in.Ladder), len(r.Abilities)))
	if len(em) > 0 {
		s = append(s, "Emergent (sharp metric): "+strings.Join(em, ", ")+".")
	}
	if len(mir) > 0 {
		s = append(s, "Metric artifacts (smooth metric is smooth): "+strings.Join(mir, ", ")+".")
	}
	r.Summary = s
	return r, nil
}

func runRow(ru *Run, in Input) report.Run {
	row := report.Run{ID: ru.ID, Role: in.Roles[ru.ID], Params: ru.Params, NonEmb: ru.NonEmb, Seed: ru.Seed, CodeVersion: ru.CodeVersion,
		Command: ru.CommandLine(), Config: ru.ConfigJSON, ConfigParseProblem: ru.ConfigErr, FinalLoss: math.NaN(), FinalEvalLoss: math.NaN(),
		Tokens: math.NaN(), FLOPs: math.NaN()}
	if in.Now.IsZero() {
		row.Status = "not finished"
		if ru.Done {
			row.Status = StatusDone
		}
	} else {
		row.Status = ru.Status(in.Now, in.Fresh)
	}
	if last, ok := ru.Last(); ok {
		row.Steps, row.Tokens, row.FLOPs, row.FinalLoss = last.Step, last.Tokens, last.FLOPs, last.Loss
		for i := len(ru.Metrics) - 1; i >= 0; i-- {
			if !math.IsNaN(ru.Metrics[i].EvalLoss) {
				row.FinalEvalLoss = ru.Metrics[i].EvalLoss
				break
			}
		}
	}
	return row
}

// chances collects each task's chance rate from the evaluations.
func chances(runs []*Run) map[string]float64 {
	out := map[string]float64{}
	for _, r := range runs {
		for _, e := range r.Evals {
			if !math.IsNaN(e.Chance) && e.Chance > 0 {
				out[e.Task] = e.Chance
			}
		}
	}
	return out
}

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

func abilities(r *report.Report, lines []Line, chance map[string]float64) {
	byTask := map[string][]*Line{}
	var tasks []string
	for i := range lines {
		l := &lines[i]
		if _, ok := byTask[l.Task]; !ok {
			tasks = append(tasks, l.Task)
		}
		byTask[l.Task] = append(byTask[l.Task], l)
	}
	sort.Strings(tasks)
	for _, task := range tasks {
		ls := byTask[task]
		sharp := pick(ls, sharpNames)
		if sharp == nil {
			continue // a task without a sharp metric (e.g. only bayes_kl) is not an ability curve
		}
		a := report.Ability{Task: task, Sharp: panel(sharp, chance[task])}
		var smooth *Line
		if sharp.Mirage != nil && sharp.Mirage.SmoothMetric != "" {
			smooth = pick(ls, []string{sharp.Mirage.SmoothMetric})
		}
		if smooth == nil {
			smooth = pick(ls, smoothNames)
		}
		if smooth != nil {
			ch := math.NaN()
			if smooth.Metric == "token_accuracy" {
				ch = math.NaN() // chance of a whole answer is not the chance of a token
			}
			a.Smooth = panel(smooth, ch)
			if a.Smooth.Verdict != stats.VerdictEmergent {
				// A smooth curve's sigmoid midpoint is not a transition;
				// marking it would suggest one.
				a.Smooth.XStar, a.Smooth.XStarLo, a.Smooth.XStarHi = math.NaN(), math.NaN(), math.NaN()
			}
		}
		if m := sharp.Mirage; m != nil {
			a.Mirage = &report.Mirage{SharpMetric: m.SharpMetric, SharpVerdict: m.SharpVerdict, SmoothMetric: m.SmoothMetric,
				SmoothVerdict: m.SmoothVerdict, IsMirage: m.Mirage, Detail: m.Detail}
			if p := m.PowerL; p != nil {
				word := "does not match"
				if p.Consistent {
					word = "matches"
				}
				a.Mirage.PowerL = fmt.Sprintf("p^L check: exact match %s %s^L with L = %s over %d levels (RMSE %s).",
					word, p.PerPositionMetric, report.Num(float64(p.L)), p.Levels, report.Num(float64(p.RMSE)))
			}
		}
		if sharp.Verdict == stats.VerdictInsufficient {
			a.Note = "Insufficient data: " + evidenceText(sharp)
			r.Notes = append(r.Notes, task+": "+a.Note)
		}
		r.Abilities = append(r.Abilities, a)
	}
	if len(lines) == 0 {
		r.SectionNotes[report.SecAbilities] = "No analysis against parameters: the ladder needs evaluations from at least four model sizes (give an analysis file or run emlab eval on the ladder's runs)."
	}
}

func evidenceText(l *Line) string {
	var parts []string
	for _, e := range l.Evidence {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, "; ")
}

func panel(l *Line, chance float64) *report.Panel {
	p := &report.Panel{Metric: l.Metric, Axis: l.Axis, XLog: l.Axis != stats.AxisEvalLoss, FitModel: l.Fit, Verdict: l.Verdict,
		XStar: float64(l.XStar), XStarLo: float64(l.XStarLo), XStarHi: float64(l.XStarHi),
		Breakthroughness: float64(l.Breakthroughness), Linearity: float64(l.Linearity), Chance: chance, Fraction: fractionMetrics[l.Metric]}
	if p.Axis == "" {
		p.Axis = stats.AxisParams
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
	var xs []float64
	for _, lv := range l.Levels {
		x, m, sd := float64(lv.X), float64(lv.Mean), float64(lv.SD)
		p.Observed.X = append(p.Observed.X, x)
		p.Observed.Y = append(p.Observed.Y, m)
		if lv.Seeds > 1 && finite(sd) {
			p.Observed.Lo = append(p.Observed.Lo, m-sd)
			p.Observed.Hi = append(p.Observed.Hi, m+sd)
		} else {
			p.Observed.Lo = append(p.Observed.Lo, math.NaN())
			p.Observed.Hi = append(p.Observed.Hi, math.NaN())
		}
		xs = append(xs, x)
	}
	p.Observed.Label = "observed (mean"
	if len(l.Levels) > 0 && l.Levels[0].Seeds > 1 {
		p.Observed.Label += " ± SD over seeds"
	}
	p.Observed.Label += ")"
	if fx, fy := FitCurve(l.Fit, l.Params, l.Axis, xs, 80); len(fx) > 0 {
		p.Fitted = report.Series{Label: "fit: " + l.Fit, X: fx, Y: fy}
	}
	for _, e := range l.Evidence {
		p.Evidence = append(p.Evidence, report.Evidence{Test: e.Test, Pass: e.Pass, Detail: e.Detail})
	}
	return p
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// FitCurve evaluates a fitted model of the analysis at n points spread
// evenly in log x over the range of xs, from the parameters the analysis
// reports (see stats' model definitions: t = dir·log10 x with dir = −1 on
// the eval_loss axis, t0 the smallest-scale level). It returns nothing for
// an unknown model or missing parameters.
func FitCurve(model string, params map[string]Float, axis string, xs []float64, n int) (x, y []float64) {
	if len(xs) == 0 || n < 2 {
		return nil, nil
	}
	dir := 1.0
	if axis == stats.AxisEvalLoss {
		dir = -1
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range xs {
		if v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if !(hi > lo) {
		return nil, nil
	}
	t0 := dir * math.Log10(lo)
	if dir < 0 {
		t0 = dir * math.Log10(hi) // the smallest scale is the largest loss
	}
	get := func(k string) (float64, bool) {
		v, ok := params[k]
		return float64(v), ok && finite(float64(v))
	}
	var f func(t float64) float64
	switch model {
	case stats.ModelConstant:
		c, ok := get("c")
		if !ok {
			return nil, nil
		}
		f = func(float64) float64 { return c }
	case stats.ModelLinear:
		a, ok1 := get("intercept_at_smallest")
		b, ok2 := get("slope_per_decade")
		if !ok1 || !ok2 {
			return nil, nil
		}
		f = func(t float64) float64 { return a + b*(t-t0) }
	case stats.ModelPower:
		c, ok1 := get("asymptote")
		g, ok2 := get("gap_at_smallest")
		al, ok3 := get("alpha_per_decade")
		if !ok1 || !ok2 || !ok3 {
			return nil, nil
		}
		f = func(t float64) float64 { return c + g*math.Pow(10, -al*(t-t0)) }
	case stats.ModelSigmoid:
		fl, ok1 := get("floor")
		ce, ok2 := get("ceiling")
		lm, ok3 := get("log10_x_mid")
		w, ok4 := get("width_decades")
		if !ok1 || !ok2 || !ok3 || !ok4 || !(w > 0) {
			return nil, nil
		}
		m := dir * lm
		f = func(t float64) float64 { return fl + (ce-fl)/(1+math.Exp(-(t-m)/w)) }
	case stats.ModelBNSL:
		c, ok1 := get("asymptote")
		g, ok2 := get("gap_at_smallest")
		a0, ok3 := get("alpha0_per_decade")
		lb, ok4 := get("log10_x_break")
		s, ok5 := get("sharpness_decades")
		a1, ok6 := get("alpha1_per_decade")
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !(s > 0) {
			return nil, nil
		}
		d := dir * lb
		f = func(t float64) float64 {
			z := (t - d) / s * math.Ln10
			sp := z
			if z < 30 {
				sp = math.Log1p(math.Exp(z))
			}
			return c + g*math.Exp(-a0*(t-t0)*math.Ln10-a1*s*sp)
		}
	default:
		return nil, nil
	}
	l0, l1 := math.Log10(lo), math.Log10(hi)
	for i := range n {
		lx := l0 + (l1-l0)*float64(i)/float64(n-1)
		xv := math.Pow(10, lx)
		x = append(x, xv)
		y = append(y, f(dir*lx))
	}
	return x, y
}

// sizeLabel names a run by its size for legends: "62k params" (with the
// seed when several runs share a size).
func sizeLabel(r *Run) string {
	if finite(r.Params) {
		return report.Num(r.Params) + " params"
	}
	return r.ID
}

// uniqueLabels labels runs by size, adding the seed or ID where sizes
// repeat.
func uniqueLabels(runs []*Run) []string {
	count := map[string]int{}
	for _, r := range runs {
		count[sizeLabel(r)]++
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		l := sizeLabel(r)
		if count[l] > 1 {
			if r.Seed != "" {
				l += " seed " + r.Seed
			} else {
				l += " " + r.ID
			}
		}
		out[i] = l
	}
	return out
}

func sortBySize(runs []*Run) []*Run {
	out := append([]*Run(nil), runs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Params, out[j].Params
		if a != b && finite(a) && finite(b) {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func lossView(r *report.Report, ladder []*Run, lines []Line) {
	// Which (task, metric) pairs: the sharp metric of every ability.
	fits := map[[2]string]*Line{}
	for i := range lines {
		fits[[2]string{lines[i].Task, lines[i].Metric}] = &lines[i]
	}
	runs := sortBySize(ladder)
	labels := uniqueLabels(runs)
	lv := &report.LossView{}
	for _, a := range r.Abilities {
		if a.Sharp == nil {
			continue
		}
		lp := report.LossPanel{Task: a.Task, Metric: a.Sharp.Metric, Fraction: a.Sharp.Fraction, LStar: math.NaN(), LStarLo: math.NaN(), LStarHi: math.NaN(),
			R2All: math.NaN(), R2PerGroup: math.NaN()}
		points := 0
		for i, ru := range runs {
			el := map[int]float64{}
			for _, m := range ru.Metrics {
				if !math.IsNaN(m.EvalLoss) {
					el[m.Step] = m.EvalLoss
				}
			}
			s := report.Series{Label: labels[i]}
			for _, e := range ru.Evals {
				if e.Task != a.Task || e.Metric != a.Sharp.Metric || e.Position >= 0 || e.Subtask >= 0 {
					continue
				}
				if l, ok := el[e.Step]; ok {
					s.X = append(s.X, l)
					s.Y = append(s.Y, e.Value)
					points++
				}
			}
			if len(s.X) > 0 {
				lp.Series = append(lp.Series, s)
			}
		}
		if points == 0 {
			continue
		}
		if l := fits[[2]string{a.Task, a.Sharp.Metric}]; l != nil && l.LossThreshold != nil {
			lt := l.LossThreshold
			lp.LStar, lp.LStarLo, lp.LStarHi = float64(lt.LStar), float64(lt.LStarLo), float64(lt.LStarHi)
			lp.R2All, lp.R2PerGroup = float64(lt.R2All), float64(lt.R2PerGroup)
		} else {
			lp.Note = "No loss threshold fitted (the analysis has no eval_loss line for this metric)."
		}
		lv.Panels = append(lv.Panels, lp)
	}
	if len(lv.Panels) > 0 {
		r.LossView = lv
	}
}

// probeSeries returns, per step, the aggregate of a probe's values over
// layers and heads (max for a head score, mean otherwise).
func probeSeries(ru *Run, names []string, useMax bool) (report.Series, string) {
	for _, name := range names {
		agg := map[int][]float64{}
		for _, p := range ru.Probes {
			if p.Probe == name && finite(p.Value) {
				agg[p.Step] = append(agg[p.Step], p.Value)
			}
		}
		if len(agg) == 0 {
			continue
		}
		steps := make([]int, 0, len(agg))
		for s := range agg {
			steps = append(steps, s)
		}
		sort.Ints(steps)
		var s report.Series
		for _, st := range steps {
			vs := agg[st]
			v := vs[0]
			if useMax {
				for _, x := range vs {
					v = math.Max(v, x)
				}
			} else {
				v = 0
				for _, x := range vs {
					v += x
				}
				v /= float64(len(vs))
			}
			s.X = append(s.X, float64(st))
			s.Y = append(s.Y, v)
		}
		return s, name
	}
	return report.Series{}, ""
}

func induction(r *report.Report, runs []*Run) {
	in := &report.Induction{}
	var with []*Run
	for _, ru := range sortBySize(runs) {
		for _, p := range ru.Probes {
			if p.Probe == PrefixMatchingProbe || contains(ICLProbes, p.Probe) {
				with = append(with, ru)
				break
			}
		}
	}
	labels := uniqueLabels(with)
	for i, ru := range with {
		pm, _ := probeSeries(ru, []string{PrefixMatchingProbe}, true)
		if len(pm.X) > 0 {
			pm.Label = labels[i]
			in.PrefixMatching = append(in.PrefixMatching, pm)
			first := -1.0
			for j := range pm.X {
				if pm.Y[j] >= 0.5 {
					first = pm.X[j]
					break
				}
			}
			if first >= 0 {
				in.PhaseChange = append(in.PhaseChange, fmt.Sprintf("%s: the best head's prefix-matching score first reaches 0.5 at step %s (peak %s).", labels[i], strconv.FormatFloat(first, 'f', -1, 64), report.Num(maxOf(pm.Y))))
			} else {
				in.PhaseChange = append(in.PhaseChange, fmt.Sprintf("%s: no head reaches prefix-matching 0.5 (peak %s) — no induction head formed.", labels[i], report.Num(maxOf(pm.Y))))
			}
		}
		icl, name := probeSeries(ru, ICLProbes, false)
		if len(icl.X) > 0 {
			icl.Label = labels[i]
			in.ICL = append(in.ICL, icl)
			in.ICLLabel = name + " (late − early loss, nats)"
		}
	}
	if len(in.PrefixMatching) == 0 && len(in.ICL) == 0 {
		return
	}
	if len(in.ICL) == 0 {
		in.Note = "No ICL score in probes.jsonl (looked for " + strings.Join(ICLProbes, ", ") + ")."
	}
	r.Induction = in
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func grokking(r *report.Report, runs []*Run) {
	for _, ru := range runs {
		g := &report.Grokking{Title: ru.ID}
		var train, held report.Series
		for _, q := range GrokkingProbes {
			s, name := probeSeries(ru, q.Names, false)
			if name == "" {
				continue
			}
			s.Label = q.Label
			switch q.Kind {
			case "accuracy":
				g.Accuracy = append(g.Accuracy, s)
				if q.Label == "train accuracy" {
					train = s
				} else {
					held = s
				}
			case "loss":
				g.Loss = append(g.Loss, s)
			default:
				g.WeightNorm = append(g.WeightNorm, s)
			}
		}
		if len(train.X) == 0 || len(held.X) == 0 {
			continue // grokking needs both accuracies; other runs may log a weight norm
		}
		tr := firstAt(train, 0.99)
		ho := firstAt(held, 0.9)
		line := fmt.Sprintf("Train accuracy first ≥ 99%% at step %s; held-out accuracy first ≥ 90%% at step %s (it was %s at the first step where train passed 99%%).",
			stepText(tr), stepText(ho), report.Num(valueAt(held, tr)))
		g.Summary = append(g.Summary, line)
		var missing []string
		for _, want := range []string{"restricted loss", "excluded loss"} {
			found := false
			for _, s := range g.Loss {
				found = found || s.Label == want
			}
			if !found {
				missing = append(missing, want)
			}
		}
		if len(g.WeightNorm) == 0 {
			missing = append(missing, "weight norm")
		}
		if len(missing) > 0 {
			g.Note = "Not in probes.jsonl: " + strings.Join(missing, ", ") + "."
		}
		r.Grokking = g
		return // one grokking study per report: the first run with both accuracies
	}
}

func firstAt(s report.Series, thr float64) float64 {
	for i := range s.X {
		if s.Y[i] >= thr {
			return s.X[i]
		}
	}
	return math.NaN()
}

func valueAt(s report.Series, x float64) float64 {
	for i := range s.X {
		if s.X[i] >= x {
			return s.Y[i]
		}
	}
	return math.NaN()
}

func stepText(v float64) string {
	if math.IsNaN(v) {
		return "never"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// quanta builds the per-subtask heat map: rows are subtasks, columns the
// runs by size, cells the final step's loss (−logprob, nats per answer
// token) or, without log-probabilities, the error rate 1 − exact match.
func quanta(r *report.Report, runs []*Run) {
	var task string
	for _, ru := range runs {
		for _, e := range ru.Evals {
			if e.Subtask >= 0 {
				task = family(e.Task)
				break
			}
		}
		if task != "" {
			break
		}
	}
	if task == "" {
		return
	}
	var with []*Run
	for _, ru := range sortBySize(runs) {
		for _, e := range ru.Evals {
			if family(e.Task) == task && e.Subtask >= 0 {
				with = append(with, ru)
				break
			}
		}
	}
	metric, label, sign, offset := "logprob", "loss (−log p, nats/token)", -1.0, 0.0
	has := false
	for _, e := range with[0].Evals {
		has = has || (family(e.Task) == task && e.Subtask >= 0 && e.Metric == "logprob")
	}
	if !has {
		metric, label, sign, offset = "exact_match", "error rate (1 − exact match)", -1, 1
	}
	subs := map[int]bool{}
	vals := map[[2]int]float64{} // (subtask, column) → value
	solved := map[[2]int]bool{}
	for c, ru := range with {
		final := -1
		for _, e := range ru.Evals {
			if family(e.Task) == task && e.Subtask >= 0 {
				final = max(final, e.Step)
			}
		}
		for _, e := range ru.Evals {
			if family(e.Task) != task || e.Subtask < 0 || e.Step != final {
				continue
			}
			if e.Metric == metric {
				subs[e.Subtask] = true
				vals[[2]int{e.Subtask, c}] = offset + sign*e.Value
			}
			if e.Metric == "exact_match" && e.Value > 0.95 {
				solved[[2]int{e.Subtask, c}] = true
			}
		}
	}
	var ids []int
	for s := range subs {
		ids = append(ids, s)
	}
	sort.Ints(ids)
	q := &report.Quanta{Map: report.Heatmap{Title: "Per-subtask " + strings.SplitN(label, " (", 2)[0] + " by model size — " + task,
		XLabel: "model size (parameters)", YLabel: "subtask (0 = most frequent)", ValueLabel: label, LowIsGood: true}}
	for _, ru := range with {
		q.Map.Cols = append(q.Map.Cols, report.Num(ru.Params))
	}
	for _, s := range ids {
		q.Map.Rows = append(q.Map.Rows, strconv.Itoa(s))
		row := make([]float64, len(with))
		for c := range with {
			v, ok := vals[[2]int{s, c}]
			if !ok {
				v = math.NaN()
			}
			row[c] = v
		}
		q.Map.Values = append(q.Map.Values, row)
	}
	// The order in which subtasks are solved (exact match > 0.95).
	var order []string
	for c, ru := range with {
		var now []string
		for _, s := range ids {
			if solved[[2]int{s, c}] && (c == 0 || !solved[[2]int{s, c - 1}]) {
				now = append(now, strconv.Itoa(s))
			}
		}
		if len(now) > 0 {
			order = append(order, fmt.Sprintf("solved (exact match > 0.95) from %s params: subtasks %s", report.Num(ru.Params), strings.Join(now, ", ")))
		}
	}
	if len(order) > 0 {
		q.Order = append([]string{"Order in which subtasks are solved as size grows:"}, order...)
	}
	r.Quanta = q
}

// family is a task name without its variant ("parity/t=03" → "parity"):
// per-subtask lines of one task may be spread over its variants.
func family(task string) string {
	if i := strings.IndexByte(task, '/'); i >= 0 {
		return task[:i]
	}
	return task
}

// scaling fits L = E + A·N^−α to the ladder's final eval losses against
// parameters. A ladder whose tokens grow with its parameters cannot
// separate the two (the Chinchilla form needs them varied independently),
// so the single-axis law is what it supports.
func scaling(ctx context.Context, r *report.Report, ladder []*Run, o stats.ScalingOptions) error {
	var xs, ls []float64
	for _, ru := range sortBySize(ladder) {
		el := math.NaN()
		for i := len(ru.Metrics) - 1; i >= 0; i-- {
			if !math.IsNaN(ru.Metrics[i].EvalLoss) {
				el = ru.Metrics[i].EvalLoss
				break
			}
		}
		if finite(ru.Params) && el > 0 && finite(el) {
			xs = append(xs, ru.Params)
			ls = append(ls, el)
		}
	}
	distinct := map[float64]bool{}
	for _, x := range xs {
		distinct[x] = true
	}
	if len(distinct) < 4 {
		if len(ladder) > 0 {
			r.SectionNotes[report.SecScaling] = fmt.Sprintf("No scaling-law fit: final eval losses from %d model sizes; the fit needs at least 4.", len(distinct))
		}
		return nil
	}
	if o.Delta == 0 {
		o = stats.DefaultScalingOptions()
	}
	fit, err := stats.FitPowerLaw(ctx, xs, ls, o)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		r.SectionNotes[report.SecScaling] = "No scaling-law fit: " + err.Error()
		return nil
	}
	s := &report.Scaling{Form: "single_axis", Formula: fmt.Sprintf("L(N) = E + A·N^(−α) with E = %s, A = %s, α = %s (Kaplan et al. 2020 form with an irreducible loss; fitted as Hoffmann et al. 2022 approach 3).",
		report.Num(fit.E.Value), report.Num(fit.A.Value), report.Num(fit.Alpha.Value)),
		XLabel: "parameters (log scale)", Observed: report.Series{Label: "final eval loss", X: xs, Y: ls}}
	lo, hi := xs[0], xs[len(xs)-1]
	for i := range 60 {
		x := math.Pow(10, math.Log10(lo)+(math.Log10(hi)-math.Log10(lo))*float64(i)/59)
		s.Fitted.X = append(s.Fitted.X, x)
		s.Fitted.Y = append(s.Fitted.Y, fit.E.Value+fit.A.Value*math.Pow(x, -fit.Alpha.Value))
	}
	s.Fitted.Label = "fit"
	for _, p := range []struct {
		n  string
		iv stats.Interval
	}{{"E", fit.E}, {"A", fit.A}, {"α", fit.Alpha}} {
		s.Params = append(s.Params, report.Param{Name: p.n, Value: p.iv.Value, Lo: p.iv.Lo, Hi: p.iv.Hi})
	}
	r.Scaling = s
	return nil
}

func forecasts(r *report.Report, lines []Line) {
	byTask := map[string][]*Line{}
	var tasks []string
	for i := range lines {
		l := &lines[i]
		if _, ok := byTask[l.Task]; !ok {
			tasks = append(tasks, l.Task)
		}
		byTask[l.Task] = append(byTask[l.Task], l)
	}
	sort.Strings(tasks)
	for _, task := range tasks {
		l := pick(byTask[task], sharpNames)
		if l == nil || l.Forecast == nil || len(l.Forecast.Rungs) == 0 {
			continue
		}
		fc := l.Forecast
		f := report.Forecast{Task: task, Metric: l.Metric, Axis: l.Axis, Model: fc.Model, FitLevels: fc.FitLevels, Holdout: fc.Holdout,
			MAE: float64(fc.MAE), MAELo: float64(fc.MAELo), MAEHi: float64(fc.MAEHi), XStarSmall: float64(fc.XStarSmall), XStarFull: float64(fc.XStarFull),
			Fraction: fractionMetrics[l.Metric]}
		if f.Axis == "" {
			f.Axis = stats.AxisParams
		}
		for _, lv := range l.Levels {
			f.Observed.X = append(f.Observed.X, float64(lv.X))
			f.Observed.Y = append(f.Observed.Y, float64(lv.Mean))
		}
		for _, rg := range fc.Rungs {
			f.Predicted.X = append(f.Predicted.X, float64(rg.X))
			f.Predicted.Y = append(f.Predicted.Y, float64(rg.Predicted))
			f.Predicted.Lo = append(f.Predicted.Lo, float64(rg.Lo))
			f.Predicted.Hi = append(f.Predicted.Hi, float64(rg.Hi))
		}
		r.Forecasts = append(r.Forecasts, f)
	}
}

// Abilities turns analysis lines on the params axis into ability panels
// (the report's first section), with chance rates read from the runs'
// evaluations. The dashboard uses it for its per-ability plots.
func Abilities(lines []Line, runs []*Run) []report.Ability {
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
func fillObserved(abilities []report.Ability, ladder []*Run) {
	var curves []*stats.Curve
	for i := range abilities {
		for _, p := range []*report.Panel{abilities[i].Sharp, abilities[i].Smooth} {
			if p == nil || len(p.Observed.X) > 0 || p.Axis != stats.AxisParams {
				continue
			}
			if curves == nil {
				curves = Curves(ladder, stats.AxisParams)
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
func Observed(runs []*Run) []report.Ability {
	curves := Curves(runs, stats.AxisParams)
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
		for _, n := range sharpNames {
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
		p := &report.Panel{Metric: sharp.Metric, Axis: stats.AxisParams, XLog: true, Verdict: "not analysed", Fraction: fractionMetrics[sharp.Metric],
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
