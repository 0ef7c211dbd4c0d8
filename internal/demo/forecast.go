package demo

// forecast.go: can emergence be predicted? The founding text calls
// emergent abilities unpredictable. The study forecasts each emergent
// curve of the lab's ladders from the rungs below its transition and
// compares the forecast with the larger rungs (stats.ForecastCurve); and it
// takes the loss view (Du et al. 2024, "Understanding Emergent Abilities
// of Language Models from the Loss Perspective"): if an ability follows
// the pre-training loss whatever the model's size, the loss that smaller
// models reach foretells it.

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

const (
	// forecastMinFit is the fewest rungs a forecast is fitted on (a
	// sigmoid has four parameters).
	forecastMinFit = 4
	// forecastDelta is the mean absolute error that separates a hit from
	// a miss (the lab's Delta): a forecast hits when its error is below it
	// and every held-out rung lies within its forecast interval, and misses
	// when its error is at least this and some held-out rung lies outside
	// its interval.
	forecastDelta = 0.1
	// forecastShare of the decided forecasts must agree for a verdict.
	forecastShare = 2.0 / 3
	// The loss view collapses when one hinge for all sizes explains at
	// least lossMinR2 of the variance and at most lossGap less than one
	// hinge per size; it does not when it explains less than lossNoR2, or
	// lossNoGap less than per size.
	// (One hinge per size always fits better — three parameters per size
	// — and a sigmoid-shaped rise costs a hinge some R² whatever the
	// grouping, so the gap allowed is 0.1.)
	lossMinR2 = 0.8
	lossGap   = 0.1
	lossNoR2  = 0.5
	lossNoGap = 0.2
)

// forecastLadders are the ladders the study forecasts: a sweep and the
// axis its runs climb (the data ladder has one size, so it climbs in
// tokens). A ladder with too few rungs for a forecast is passed over with
// a note.
var forecastLadders = []struct{ sweep, axis string }{
	{ladderSweep, rundir.AxisParams}, {cotAddSweep, rundir.AxisParams}, {cotMultihopSweep, rundir.AxisParams}, {scaleDataSweep, rundir.AxisTokens},
}

func init() {
	register(&Study{Name: "forecast",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 7.14, QuickMinutes: 1.23,
		Claim:      "Emergent abilities are unpredictable: the smaller models do not foretell the larger ones.",
		Experiment: "each emergent curve of the demo ladder, the chain-of-thought ladders and the data ladder fitted on the rungs below its transition and extrapolated to the rest (values and x*); the demo ladder's abilities against eval loss across sizes and checkpoints",
		Sweeps:     []string{ladderSweep, cotAddSweep, cotMultihopSweep, scaleDataSweep},
		// The quick form reads the quick demo ladder and data ladder: the
		// quick chain-of-thought ladders have four rungs, too few to
		// forecast.
		QuickSweeps: []string{ladderSweep, scaleDataSweep},
		Judge:       judgeForecast,
	})
}

// holdoutFor is how many of the largest rungs a forecast of the curve
// holds out: every rung at or past the transition (x ≥ x* of the sigmoid
// fitted to all rungs), keeping at least forecastMinFit rungs to fit and
// holding out at least one.
func holdoutFor(levels []stats.Level, xStar float64) int {
	h := 0
	for _, l := range levels {
		if l.X >= xStar {
			h++
		}
	}
	return max(1, min(h, len(levels)-forecastMinFit))
}

// forecastOne is one curve's forecast and how it fared.
type forecastOne struct {
	Ladder string
	Result *stats.Result
	FC     *stats.Forecast
	Call   string // hit, miss or unclear
}

func (f forecastOne) String() string {
	fc := f.FC
	s := fmt.Sprintf("%s %s: fitted on %d rungs (up to %s %s, %s), %d held out:", f.Ladder, f.Result.Task, fc.FitLevels,
		report.Num(f.Result.Levels[fc.FitLevels-1].X), f.Result.Axis, fc.Model, fc.Holdout)
	for _, r := range fc.Rungs {
		s += fmt.Sprintf(" at %s predicted %.2f %s, measured %.2f;", report.Num(r.X), r.Predicted, report.Interval(r.Lo, r.Hi), r.Actual)
	}
	s += fmt.Sprintf(" MAE %.2f %s → %s; x* from the small rungs %s %s, from all %s", fc.MAE, report.Interval(fc.MAELo, fc.MAEHi), f.Call,
		report.Num(fc.XStarSmall), report.Interval(fc.XStarSmallLo, fc.XStarSmallHi), report.Num(fc.XStarFull))
	if fc.BoundNote != "" {
		s += ". " + strings.TrimSuffix(fc.BoundNote, ".")
	}
	return s
}

func judgeForecast(ctx context.Context, in *Input) (*Judged, error) {
	sec := &report.StudySection{Title: "Can emergence be predicted?",
		Intro: "Each emergent exact-match curve (stats' verdict on the whole ladder) is fitted on the rungs below its transition — every rung at or past the sigmoid midpoint x* is held out, keeping at least four to fit — " +
			"and extrapolated to the held-out rungs with bootstrap intervals. A forecast hits when its mean absolute error is below 0.1 and every held-out rung lies within its interval, " +
			"and misses when the error is at least 0.1 and some held-out rung lies outside. " +
			"The loss view plots each ability against eval loss for every size and checkpoint of the demo ladder."}
	var fcs []forecastOne
	var notes []string
	for _, fl := range forecastLadders {
		ladder := fl.sweep
		runs := evaluated(in.Runs(ladder))
		if len(runs) == 0 {
			continue
		}
		curves, err := curvesByTask(finalOnly(runs), fl.axis, rundir.ExactMatch)
		if err != nil {
			return nil, err
		}
		for _, task := range sortedKeys(curves) {
			c := curves[task]
			res, err := stats.Analyze(ctx, c, in.Stats)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				notes = append(notes, fmt.Sprintf("%s %s: %v", ladder, task, err))
				continue
			}
			if !stats.Judgements([]*stats.Result{res})[0].Emergent {
				continue
			}
			if len(res.Levels) < forecastMinFit+1 {
				notes = append(notes, fmt.Sprintf("%s %s: emergent, but %d rungs are too few to forecast (need %d)", ladder, task, len(res.Levels), forecastMinFit+1))
				continue
			}
			fc, err := stats.ForecastAnalyzed(ctx, c, res, holdoutFor(res.Levels, res.XStar), in.Stats)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				notes = append(notes, fmt.Sprintf("%s %s: no forecast: %v", ladder, task, err))
				continue
			}
			inside := true
			for _, r := range fc.Rungs {
				inside = inside && r.Actual >= r.Lo && r.Actual <= r.Hi
			}
			call := "unclear"
			switch {
			case fc.MAE < forecastDelta && inside:
				call = "hit"
			case fc.MAE >= forecastDelta && !inside:
				call = "miss"
			}
			fcs = append(fcs, forecastOne{Ladder: ladder, Result: res, FC: fc, Call: call})
		}
	}

	f1 := Finding{Claim: "Emergence is unpredictable: an emergent curve fitted on the rungs below its transition does not foretell the larger rungs."}
	hits, misses := 0, 0
	for _, f := range fcs {
		f1.Items = append(f1.Items, f.String())
		switch f.Call {
		case "hit":
			hits++
		case "miss":
			misses++
		}
	}
	f1.Items = append(f1.Items, notes...)
	decided := hits + misses
	switch {
	case len(fcs) == 0:
		f1.verdict(VerdictInconclusive)
		f1.Detail = "no emergent curve with enough rungs to forecast"
	case decided >= 2 && float64(misses) >= forecastShare*float64(decided):
		f1.verdict(VerdictSupported)
		f1.Detail = fmt.Sprintf("%d of %d forecasts missed (MAE ≥ %.1f), %d hit, %d unclear", misses, len(fcs), forecastDelta, hits, len(fcs)-decided)
	case decided >= 2 && float64(hits) >= forecastShare*float64(decided):
		f1.verdict(VerdictNotSupported)
		f1.Detail = fmt.Sprintf("%d of %d forecasts hit (MAE < %.1f), %d missed, %d unclear", hits, len(fcs), forecastDelta, misses, len(fcs)-decided)
	default:
		f1.verdict(VerdictInconclusive)
		f1.Detail = fmt.Sprintf("%d forecasts hit, %d missed, %d unclear", hits, misses, len(fcs)-decided)
	}
	for _, f := range fcs {
		sec.Figures = append(sec.Figures, forecastFigure(f))
	}

	f2, lossFigs, err := lossView(ctx, in, fcs)
	if err != nil {
		return nil, err
	}
	sec.Figures = append(sec.Figures, lossFigs...)
	if len(sec.Figures) == 0 {
		sec.Note = "No emergent curve to forecast and no ladder checkpoints against eval loss in this directory."
	}
	return &Judged{Findings: []Finding{f1, f2}, Section: sec}, nil
}

func forecastFigure(f forecastOne) report.StudyFigure {
	fc := f.FC
	obs := levelSeries("measured", f.Result.Levels)
	obs.Style = report.Points
	pred := report.Series{Label: "forecast (" + fc.Model + ")", Style: report.LinePoints, Dashed: true}
	for _, r := range fc.Rungs {
		pred.X, pred.Y = append(pred.X, r.X), append(pred.Y, r.Predicted)
		pred.Lo, pred.Hi = append(pred.Lo, r.Lo), append(pred.Hi, r.Hi)
	}
	p := &report.Plot{Title: fmt.Sprintf("%s %s: forecast of the %d largest rungs", f.Ladder, f.Result.Task, fc.Holdout),
		XLabel: f.Result.Axis + " (log scale)", YLabel: "exact match", XLog: true, YFixed: true, YMin: 0, YMax: 1, Series: []report.Series{obs, pred},
		VLines: []report.Marker{{At: f.Result.Levels[fc.FitLevels-1].X, Label: "last rung fitted"}}}
	return report.StudyFigure{Caption: f.Ladder + " " + f.Result.Task, Plots: []*report.Plot{p}, Lines: []string{f.String() + "."}}
}

// lossView judges the loss view on the demo ladder's emergent abilities
// (those forecast above): the rule is lossMinR2 … lossNoGap, per ability;
// supported when every ability collapses, not supported when one clearly
// does not, inconclusive otherwise.
func lossView(ctx context.Context, in *Input, fcs []forecastOne) (Finding, []report.StudyFigure, error) {
	f := Finding{Claim: "An ability appears once the pre-training loss falls below a threshold, whatever the model's size: its accuracy against eval loss is one curve across sizes."}
	emergent := map[string]bool{}
	for _, fc := range fcs {
		if fc.Ladder == ladderSweep {
			emergent[fc.Result.Task] = true
		}
	}
	runs := evaluated(in.Runs(ladderSweep))
	var figs []report.StudyFigure
	if len(runs) == 0 || len(emergent) == 0 {
		f.verdict(VerdictInconclusive)
		f.Detail = "no emergent ability on the demo ladder to place against eval loss"
		return f, nil, nil
	}
	curves, err := curvesByTask(runs, rundir.AxisEvalLoss, rundir.ExactMatch)
	if err != nil {
		return f, nil, err
	}
	ok, bad, other := 0, 0, 0
	for _, task := range sortedKeys(emergent) {
		c := curves[task]
		if c == nil {
			continue
		}
		lt, err := stats.FitLossThreshold(ctx, c.Key(), c.Points, in.Stats)
		if err != nil {
			if ctx.Err() != nil {
				return f, nil, err
			}
			f.Items = append(f.Items, fmt.Sprintf("%s: no fit: %v", task, err))
			other++
			continue
		}
		gap := lt.R2PerGroup - lt.R2All
		call := "unclear"
		switch {
		case lt.R2All >= lossMinR2 && gap <= lossGap && !math.IsNaN(gap) && !math.IsInf(lt.LStarLo, 0) && !math.IsNaN(lt.LStarLo):
			call, ok = "one curve", ok+1
		case lt.R2All < lossNoR2 || gap > lossNoGap:
			call, bad = "not one curve", bad+1
		default:
			other++
		}
		item := fmt.Sprintf("%s: L* = %.3g %s nats; R² one hinge for all %d sizes %.2f, one per size %.2f → %s",
			task, lt.LStar, report.Interval(lt.LStarLo, lt.LStarHi), lt.Groups, lt.R2All, lt.R2PerGroup, call)
		if lt.BoundNote != "" {
			item += ". " + strings.TrimSuffix(lt.BoundNote, ".")
		}
		f.Items = append(f.Items, item)
		figs = append(figs, lossFigure2(task, c, lt, call))
	}
	switch {
	case ok+bad+other == 0:
		f.verdict(VerdictInconclusive)
		f.Detail = "no emergent ability of the demo ladder has evaluations joined to an eval loss"
	case bad > 0:
		f.verdict(VerdictNotSupported)
		f.Detail = fmt.Sprintf("%d of %d emergent abilities do not fall on one curve of eval loss across sizes", bad, ok+bad+other)
	case ok == ok+bad+other:
		f.verdict(VerdictSupported)
		f.Detail = fmt.Sprintf("all %d emergent abilities fall on one curve of eval loss across sizes", ok)
	default:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("%d of %d emergent abilities fall on one curve of eval loss; the others are unclear", ok, ok+bad+other)
	}
	return f, figs, nil
}

// lossFigure2 plots an ability against eval loss, one series per size.
func lossFigure2(task string, c *stats.Curve, lt *stats.LossThreshold, call string) report.StudyFigure {
	p := &report.Plot{Title: task + " against eval loss", XLabel: "eval loss (nats/token; lower is better)", YLabel: "exact match", YFixed: true, YMin: 0, YMax: 1}
	groups := map[string]*report.Series{}
	var order []string
	for _, pt := range c.Points {
		s := groups[pt.Group]
		if s == nil {
			s = &report.Series{Label: report.Num(parseNum(pt.Group)) + " params", Style: report.Points}
			groups[pt.Group] = s
			order = append(order, pt.Group)
		}
		s.X, s.Y = append(s.X, pt.X), append(s.Y, pt.Value)
	}
	// Sizes in the legend largest first (the points come in order of eval
	// loss, which would list the sizes in no order): the largest models,
	// the ones that rise, get the palette's strongest colours, and the
	// smallest, flat at zero, its pale yellow.
	sort.SliceStable(order, func(i, j int) bool { return parseNum(order[i]) > parseNum(order[j]) })
	for _, g := range order {
		p.Series = append(p.Series, *groups[g])
	}
	p.VLines = []report.Marker{{At: lt.LStar, Label: "L* " + fmt.Sprintf("%.3g", lt.LStar)}}
	if !math.IsNaN(lt.LStarLo) {
		p.XBands = []report.Band{{Lo: lt.LStarLo, Hi: lt.LStarHi, Label: "L* interval"}}
	}
	fig := report.StudyFigure{Caption: "loss view: " + task, Plots: []*report.Plot{p},
		Lines: []string{fmt.Sprintf("L* = %.3g %s; R² one hinge for all sizes %.2f, one per size %.2f: %s.", lt.LStar, report.Interval(lt.LStarLo, lt.LStarHi), lt.R2All, lt.R2PerGroup, call)}}
	if lt.BoundNote != "" {
		fig.Lines = append(fig.Lines, lt.BoundNote)
	}
	return fig
}

func parseNum(s string) float64 {
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return math.NaN()
	}
	return v
}
