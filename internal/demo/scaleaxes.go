package demo

// scaleaxes.go: scale is three axes. The founding text names parameters,
// data and compute together as the scale past whose critical point
// abilities appear. The study varies them apart on the demo ladder's task
// mixture — the size ladder (parameters and tokens grow together), a data
// ladder (one size, tokens over 1.5 decades) and an iso-FLOP design (three
// budgets, four sizes each) — fits L(N, D) (Hoffmann et al. 2022,
// approach 3) to every run's final eval loss, and asks on which axis
// addition's emergence puts the designs on one curve.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

const (
	scaleDataSweep    = "scale-data"
	scaleISOFLOPSweep = "scale-isoflop"
	// scaleTask is the ability whose emergence the study places on an axis.
	scaleTask = "add/plain/2"
	// scaleMinDrop: an axis counts when its term of L(N, D) lowers the
	// loss across the sampled range by at least this fraction of the range
	// of the runs' losses.
	scaleMinDrop = 0.1
	// scaleMinR2 and scaleNoR2: one curve on the best axis must explain
	// at least scaleMinR2 of the variance for the axis to count; below
	// scaleNoR2 on every axis, no axis orders the runs.
	scaleMinR2 = 0.8
	scaleNoR2  = 0.5
)

func init() {
	register(&Study{Name: "scale-axes",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 5.53, QuickMinutes: 1.47,
		Claim:      "Scale is three axes — parameters, data and compute — and an ability appears once scale passes a critical point.",
		Experiment: "the demo's size ladder, a data ladder (one size, tokens over 1.5 decades) and an iso-FLOP design (3 budgets × 4 sizes) on the arithmetic mixture; L(N, D) fitted to the final eval losses; 2-digit addition's exact match against parameters, tokens and FLOPs",
		Sweeps:     []string{ladderSweep, scaleDataSweep, scaleISOFLOPSweep},
		Judge:      judgeScaleAxes,
	})
}

// scaleRun is one run's final point: N, D, C, its eval loss and addition's
// exact match there.
type scaleRun struct {
	Design     string // the sweep: ladder, scale-data, scale-isoflop
	Run        *rundir.Run
	N, D, C, L float64
	Add        float64 // NaN without an evaluation of scaleTask at the last step
	AddChance  float64
}

// scaleRuns reads each run's last step with an eval loss and addition's
// exact match at its last evaluated step.
func scaleRuns(in *Input) []scaleRun {
	var out []scaleRun
	for _, design := range []string{ladderSweep, scaleDataSweep, scaleISOFLOPSweep} {
		first := len(out)
		for _, r := range in.Runs(design) {
			if r.Config == nil || r.Config.Params <= 0 {
				continue
			}
			var last *rundir.Metrics
			for i := len(r.Metrics) - 1; i >= 0; i-- {
				if !math.IsNaN(r.Metrics[i].EvalLoss) && r.Metrics[i].Tokens > 0 {
					last = &r.Metrics[i]
					break
				}
			}
			if last == nil {
				continue
			}
			s := scaleRun{Design: design, Run: r, N: float64(r.Config.Params), D: float64(last.Tokens), C: last.FLOPs, L: last.EvalLoss, Add: math.NaN()}
			step := -1
			for _, e := range r.Evals {
				if e.Task == scaleTask && e.Metric == rundir.ExactMatch && !e.Breakdown() && e.Step > step {
					step, s.Add = e.Step, e.Value
					if c, ok := e.ChanceOf(); ok {
						s.AddChance = c
					}
				}
			}
			// Addition at the last evaluated step counts only if that
			// step is the one whose N, D and C the point has.
			if step != last.Step {
				s.Add = math.NaN()
			}
			out = append(out, s)
		}
		d := out[first:]
		sort.Slice(d, func(i, j int) bool { return d[i].N < d[j].N || d[i].N == d[j].N && d[i].D < d[j].D })
	}
	return out
}

var designLabel = map[string]string{ladderSweep: "size ladder", scaleDataSweep: "data ladder", scaleISOFLOPSweep: "iso-FLOP"}

func judgeScaleAxes(ctx context.Context, in *Input) (*Judged, error) {
	runs := scaleRuns(in)
	sec := &report.StudySection{Title: "Scale is three axes: parameters, data and compute",
		Intro: "Every run's final eval loss and 2-digit addition exact match, from three designs: the demo's size ladder (parameters and tokens grow together), " +
			"a data ladder (one size, tokens varied) and iso-FLOP groups (one compute budget, four sizes). L(N, D) = E + A/N^α + B/D^β is fitted to all of them " +
			"(Hoffmann et al. 2022, approach 3: Huber loss on log loss, L-BFGS, bootstrap over runs)."}

	// 1. Loss falls with parameters and with data, each on its own.
	f1 := Finding{Claim: "Loss falls with parameters and with training data separately: each term of L(N, D) = E + A/N^α + B/D^β accounts for a real part of the runs' losses."}
	var pts []stats.ScalingPoint
	lmin, lmax := math.Inf(1), math.Inf(-1)
	for _, r := range runs {
		pts = append(pts, stats.ScalingPoint{N: r.N, D: r.D, L: r.L, Line: r.Run.ID})
		lmin, lmax = math.Min(lmin, r.L), math.Max(lmax, r.L)
	}
	so := stats.DefaultScalingOptions()
	so.Boot, so.Seed, so.Level = in.Stats.Boot, in.Stats.Seed, in.Stats.Level
	var fit *stats.ChinchillaFit
	if len(pts) < 6 {
		f1.verdict(VerdictInconclusive)
		f1.Detail = fmt.Sprintf("%d runs with a final eval loss; the fit needs at least 6", len(pts))
	} else {
		var err error
		fit, err = stats.FitChinchilla(ctx, pts, so)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err != nil:
			f1.verdict(VerdictInconclusive)
			f1.Detail = "no fit: " + err.Error()
		default:
			need := scaleMinDrop * (lmax - lmin)
			dn, dd := fit.DropN, fit.DropD
			drops := fmt.Sprintf("over the runs, the N term lowers the loss by %.3g %s nats and the D term by %.3g %s (the losses span %.3g; an axis counts from %.3g)",
				dn.Value, report.Interval(dn.Lo, dn.Hi), dd.Value, report.Interval(dd.Lo, dd.Hi), lmax-lmin, need)
			switch {
			case dn.Lo >= need && dd.Lo >= need:
				f1.verdict(VerdictSupported)
			case dn.Hi < need || dd.Hi < need:
				f1.verdict(VerdictNotSupported)
			default:
				f1.verdict(VerdictInconclusive)
			}
			f1.Detail = drops
			iv := func(name string, v stats.Interval) string {
				return fmt.Sprintf("%s = %s %s", name, report.Num(v.Value), report.Interval(v.Lo, v.Hi))
			}
			f1.Items = append(f1.Items, fmt.Sprintf("L(N, D) fitted to %d runs: %s, %s, %s, %s, %s; the profile of the fit's objective in E keeps E from %s to %s (95 %% likelihood-ratio range)", fit.Points,
				iv("E", fit.E), iv("A", fit.A), iv("α", fit.Alpha), iv("B", fit.B), iv("β", fit.Beta), report.Num(fit.EProfile.Lo), report.Num(fit.EProfile.Hi)),
				fmt.Sprintf("compute-optimal at C = %s FLOPs (the largest run's 6ND): %s, %s, %s tokens per parameter",
					report.Num(fit.Compute), iv("N*", fit.NOpt), iv("D*", fit.DOpt), iv("D*/N*", fit.TokensPerParam)))
			// The verdict rests on the drops alone, which do not depend on
			// E, identified or not (stats.ChinchillaFit.BoundNote); what
			// does is said beside the numbers.
			if note := fit.BoundNote(); note != "" {
				f1.Items = append(f1.Items, note)
			}
		}
	}
	count := map[string]int{}
	for _, r := range runs {
		count[r.Design]++
	}
	f1.Items = append(f1.Items, fmt.Sprintf("runs: %d size ladder, %d data ladder, %d iso-FLOP", count[ladderSweep], count[scaleDataSweep], count[scaleISOFLOPSweep]))

	// 2. Addition's emergence tracks one axis.
	f2 := Finding{Claim: fmt.Sprintf("An ability (%s) appears past a critical point of one axis of scale: runs from all three designs fall on one curve against it.", scaleTask)}
	axes := []string{rundir.AxisParams, rundir.AxisTokens, rundir.AxisFLOPs}
	xs := make([][]float64, len(axes))
	var ys []float64
	var withAdd []scaleRun
	chance := 0.0
	for _, r := range runs {
		if math.IsNaN(r.Add) || !(r.C > 0) {
			continue
		}
		withAdd = append(withAdd, r)
		xs[0], xs[1], xs[2] = append(xs[0], r.N), append(xs[1], r.D), append(xs[2], r.C)
		ys = append(ys, r.Add)
		chance = r.AddChance
	}
	var col *stats.Collapse
	designs := map[string]bool{}
	for _, r := range withAdd {
		designs[r.Design] = true
	}
	if len(designs) < 2 {
		f2.verdict(VerdictInconclusive)
		f2.Detail = fmt.Sprintf("%s evaluated in runs of %d design(s); collapsing needs at least 2", scaleTask, len(designs))
	} else {
		var err error
		col, err = stats.CollapseAxes(ctx, scaleTask, axes, xs, ys, chance, 1, in.Stats)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err != nil:
			f2.verdict(VerdictInconclusive)
			f2.Detail = "no fit: " + err.Error()
		default:
			best := col.Axes[slices.Index(axes, col.Best)]
			switch {
			case best.R2.Value >= scaleMinR2 && col.Margin.Lo > 0:
				f2.verdict(VerdictSupported)
				f2.Detail = fmt.Sprintf("against %s one curve explains R² = %.2f of the runs (x* = %s %s), %.2f %s more than against %s",
					col.Best, best.R2.Value, report.Num(best.XMid.Value), report.Interval(best.XMid.Lo, best.XMid.Hi),
					col.Margin.Value, report.Interval(col.Margin.Lo, col.Margin.Hi), col.Second)
			case best.R2.Value < scaleNoR2:
				f2.verdict(VerdictNotSupported)
				f2.Detail = fmt.Sprintf("no axis puts the designs on one curve: the best, %s, explains R² = %.2f", col.Best, best.R2.Value)
			default:
				f2.verdict(VerdictInconclusive)
				f2.Detail = fmt.Sprintf("best axis %s (R² = %.2f), %.2f %s more than %s: not clearly one axis", col.Best, best.R2.Value,
					col.Margin.Value, report.Interval(col.Margin.Lo, col.Margin.Hi), col.Second)
			}
			// The verdict rests on R² and its margin; what of a fit sits at
			// a limit of the grid or on the imposed ceiling
			// (stats.CollapseAxis.BoundNote) qualifies its x* and rise,
			// and is said beside them.
			if note := best.BoundNote(); note != "" && f2.Verdict == VerdictSupported {
				f2.Detail += "; " + strings.TrimSuffix(note, ".")
			}
			for _, a := range col.Axes {
				item := fmt.Sprintf("against %s: x* = %s %s, 10–90%% rise %.2f decades, R² = %.2f %s", a.Axis,
					report.Num(a.XMid.Value), report.Interval(a.XMid.Lo, a.XMid.Hi), a.RiseDecades, a.R2.Value, report.Interval(a.R2.Lo, a.R2.Hi))
				if note := a.BoundNote(); note != "" {
					item += ". " + note
				}
				f2.Items = append(f2.Items, item)
			}
		}
	}
	for _, d := range []string{ladderSweep, scaleDataSweep, scaleISOFLOPSweep} {
		var parts []string
		for _, r := range withAdd {
			if r.Design == d {
				parts = append(parts, fmt.Sprintf("%s/%s: %.2f", report.Num(r.N), report.Num(r.D), r.Add))
			}
		}
		if len(parts) > 0 {
			f2.Items = append(f2.Items, fmt.Sprintf("%s (params/tokens: exact match): %s", designLabel[d], strings.Join(parts, ", ")))
		}
	}

	if len(runs) == 0 {
		sec.Note = "No runs of the ladder, scale-data or scale-isoflop sweeps in this directory."
		return &Judged{Findings: []Finding{f1, f2}, Section: sec}, nil
	}
	sec.Figures = append(sec.Figures, lossFigure(runs, fit, f1), isoFLOPFigure(runs, fit))
	if len(withAdd) > 0 {
		sec.Figures = append(sec.Figures, collapseFigure(withAdd, col, f2))
	}
	return &Judged{Findings: []Finding{f1, f2}, Section: sec}, nil
}

// byDesign splits runs into one series per design, x and y chosen.
func byDesign(runs []scaleRun, x, y func(scaleRun) float64) []report.Series {
	var out []report.Series
	for _, d := range []string{ladderSweep, scaleDataSweep, scaleISOFLOPSweep} {
		var sub []scaleRun
		for _, r := range runs {
			if r.Design == d {
				sub = append(sub, r)
			}
		}
		sort.Slice(sub, func(i, j int) bool { return x(sub[i]) < x(sub[j]) })
		s := report.Series{Label: designLabel[d], Style: report.Points}
		for _, r := range sub {
			s.X, s.Y = append(s.X, x(r)), append(s.Y, y(r))
		}
		if len(s.X) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// lossFigure: final eval loss against N and against D, per design.
func lossFigure(runs []scaleRun, fit *stats.ChinchillaFit, f Finding) report.StudyFigure {
	n := &report.Plot{Title: "final eval loss against parameters", XLabel: "parameters (log scale)", YLabel: "eval loss (nats/token)", XLog: true,
		Series: byDesign(runs, func(r scaleRun) float64 { return r.N }, func(r scaleRun) float64 { return r.L })}
	d := &report.Plot{Title: "final eval loss against tokens", XLabel: "training tokens (log scale)", YLabel: "eval loss (nats/token)", XLog: true,
		Series: byDesign(runs, func(r scaleRun) float64 { return r.D }, func(r scaleRun) float64 { return r.L })}
	fig := report.StudyFigure{Caption: "L(N, D)", Plots: []*report.Plot{n, d}, Lines: append([]string{f.Detail + "."}, f.Items...)}
	if fit == nil {
		return fig
	}
	tab := &report.Table{Head: []string{"parameter", "value", "95% interval"}}
	// With E not identified, the quantities computed from A, α, B, β
	// depend on the E taken; the drops do not (stats.ChinchillaFit.BoundNote).
	eLabel, onELabel := fit.ELabels()
	for _, p := range []struct {
		name string
		v    stats.Interval
		onE  bool // depends on E when E is not identified
	}{{"E", fit.E, false}, {"A", fit.A, true}, {"α", fit.Alpha, true}, {"B", fit.B, true}, {"β", fit.Beta, true}, {"loss drop over the N range", fit.DropN, false},
		{"loss drop over the D range", fit.DropD, false}, {"N* at C", fit.NOpt, true}, {"D* at C", fit.DOpt, true}, {"D*/N*", fit.TokensPerParam, true}} {
		name := p.name
		switch {
		case eLabel != "" && p.name == "E":
			name += " (" + eLabel + ")"
		case onELabel != "" && p.onE:
			name += " (" + onELabel + ")"
		}
		tab.Rows = append(tab.Rows, []string{name, report.Num(p.v.Value), report.Interval(p.v.Lo, p.v.Hi)})
	}
	fig.Table = tab
	return fig
}

// isoFLOPFigure: loss against size within each compute budget, with the
// fitted law along each budget (D = C/6N).
func isoFLOPFigure(runs []scaleRun, fit *stats.ChinchillaFit) report.StudyFigure {
	p := &report.Plot{Title: "iso-FLOP: final eval loss against parameters at fixed compute", XLabel: "parameters (log scale)", YLabel: "eval loss (nats/token)", XLog: true}
	groups := isoGroups(runs)
	for _, g := range groups {
		s := report.Series{Label: "C = " + report.Num(g[0].C) + " FLOPs", Style: report.LinePoints}
		for _, r := range g {
			s.X, s.Y = append(s.X, r.N), append(s.Y, r.L)
		}
		p.Series = append(p.Series, s)
		if fit != nil {
			c := g[0].C
			fs := report.Series{Label: "fit at " + report.Num(c), Style: report.Line, SameColour: true}
			lo, hi := g[0].N, g[len(g)-1].N
			for i := range 40 {
				nn := math.Pow(10, math.Log10(lo)+(math.Log10(hi)-math.Log10(lo))*float64(i)/39)
				dd := g[0].D * g[0].N / nn // the same compute: D·N constant within the group
				fs.X = append(fs.X, nn)
				fs.Y = append(fs.Y, fit.E.Value+fit.A.Value*math.Pow(nn, -fit.Alpha.Value)+fit.B.Value*math.Pow(dd, -fit.Beta.Value))
			}
			p.Series = append(p.Series, fs)
		}
	}
	fig := report.StudyFigure{Caption: "iso-FLOP groups", Plots: []*report.Plot{p}}
	if len(groups) == 0 {
		fig.Note = "No iso-FLOP runs."
	}
	return fig
}

// isoGroups groups the iso-FLOP design's runs by compute (within 10 %),
// each sorted by size, groups by compute.
func isoGroups(runs []scaleRun) [][]scaleRun {
	var iso []scaleRun
	for _, r := range runs {
		if r.Design == scaleISOFLOPSweep && r.C > 0 {
			iso = append(iso, r)
		}
	}
	sort.Slice(iso, func(i, j int) bool { return iso[i].C < iso[j].C })
	var out [][]scaleRun
	for _, r := range iso {
		if n := len(out); n > 0 && r.C <= out[n-1][0].C*1.1 {
			out[n-1] = append(out[n-1], r)
			continue
		}
		out = append(out, []scaleRun{r})
	}
	for _, g := range out {
		sort.Slice(g, func(i, j int) bool { return g[i].N < g[j].N })
	}
	return out
}

// collapseFigure: addition against each axis, per design, with the one
// curve fitted on that axis.
func collapseFigure(runs []scaleRun, col *stats.Collapse, f Finding) report.StudyFigure {
	get := []func(scaleRun) float64{func(r scaleRun) float64 { return r.N }, func(r scaleRun) float64 { return r.D }, func(r scaleRun) float64 { return r.C }}
	labels := []string{"parameters", "training tokens", "training FLOPs"}
	fig := report.StudyFigure{Caption: scaleTask + " exact match against each axis", Lines: append([]string{f.Detail + "."}, f.Items...)}
	for i := range get {
		p := &report.Plot{Title: scaleTask + " against " + labels[i], XLabel: labels[i] + " (log scale)", YLabel: "exact match", XLog: true,
			YFixed: true, YMin: 0, YMax: 1, Series: byDesign(runs, get[i], func(r scaleRun) float64 { return r.Add })}
		if col != nil {
			a := col.Axes[i]
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, r := range runs {
				lo, hi = math.Min(lo, get[i](r)), math.Max(hi, get[i](r))
			}
			s := report.Series{Label: fmt.Sprintf("one curve (R² %.2f)", a.R2.Value), Style: report.Line}
			w := a.RiseDecades / (2 * math.Log(9))
			for k := range 60 {
				t := math.Log10(lo) + (math.Log10(hi)-math.Log10(lo))*float64(k)/59
				s.X = append(s.X, math.Pow(10, t))
				s.Y = append(s.Y, a.Floor+(a.Ceiling-a.Floor)/(1+math.Exp(-(t-math.Log10(a.XMid.Value))/w)))
			}
			p.Series = append(p.Series, s)
			p.VLines = append(p.VLines, report.Marker{At: a.XMid.Value, Label: "x* " + report.Num(a.XMid.Value)})
			if !math.IsNaN(a.XMid.Lo) {
				p.XBands = append(p.XBands, report.Band{Lo: a.XMid.Lo, Hi: a.XMid.Hi, Label: "x* interval"})
			}
		}
		fig.Plots = append(fig.Plots, p)
	}
	return fig
}
