package assemble

// lossview.go: each ability's sharp metric against the held-out loss of
// every checkpoint of every ladder run (one series per model size), with
// the loss threshold L* the analysis fitted: if the curves of all sizes
// fall on one, the ability tracks the loss, not the size.

import (
	"math"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

func lossView(r *report.Report, ladder []*rundir.Run, lines []Line) {
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
				if e.Task != a.Task || e.Metric != a.Sharp.Metric || e.Breakdown() {
					continue
				}
				if l, ok := el[e.Step]; ok {
					s.X = append(s.X, l)
					s.Y = append(s.Y, e.Value)
					// ±1 standard error over the items (0: not recorded).
					lo, hi := math.NaN(), math.NaN()
					if e.Stderr > 0 {
						lo, hi = e.Value-e.Stderr, e.Value+e.Stderr
					}
					s.Lo, s.Hi = append(s.Lo, lo), append(s.Hi, hi)
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
		l := fits[[2]string{a.Task, a.Sharp.Metric}]
		switch {
		case l != nil && l.Judgement.NotApplicable != "":
			// Nothing to fit (a constant curve): no L* is drawn.
			lp.Note = "Loss threshold not applicable: " + l.Judgement.NotApplicable + "."
		case l != nil && l.LossThreshold != nil:
			lt := l.LossThreshold
			lp.LStar, lp.LStarLo, lp.LStarHi = float64(lt.LStar), float64(lt.LStarLo), float64(lt.LStarHi)
			lp.R2All, lp.R2PerGroup = float64(lt.R2All), float64(lt.R2PerGroup)
			lp.BoundNote = lt.BoundNote
		case l != nil:
			lp.Note = "No loss threshold fitted: " + evidenceDetail(l, "loss_threshold", l.Judgement.Reason) + "."
		default:
			lp.Note = "No loss threshold fitted (the analysis has no eval_loss line for this metric)."
		}
		lv.Panels = append(lv.Panels, lp)
	}
	if len(lv.Panels) > 0 {
		r.LossView = lv
	}
}

// evidenceDetail is the detail of the line's evidence named test, or
// fallback when it has none.
func evidenceDetail(l *Line, test, fallback string) string {
	for _, e := range l.Evidence {
		if e.Test == test {
			return e.Detail
		}
	}
	return fallback
}
