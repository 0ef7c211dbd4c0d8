package assemble

// grokking.go: the grokking section: train against held-out accuracy of
// one run per checkpoint, with the Fourier losses and the weight norm
// that explain the delay (Nanda et al. 2023).

import (
	"fmt"
	"math"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

// Grok is the judgement made on a run's train and held-out accuracy
// series: TrainAt is the first step where train accuracy reaches
// rundir.TrainSolved, HeldoutAt the first where held-out accuracy reaches
// rundir.HeldoutSolved (NaN when never), HeldoutThen the held-out
// accuracy at TrainAt, and LowFirst whether held-out accuracy was below
// rundir.HeldoutLow before HeldoutAt. Grokked: memorised first, then
// generalised from near nothing (TrainAt < HeldoutAt and LowFirst).
type Grok struct {
	TrainAt, HeldoutAt, HeldoutThen float64
	LowFirst, Grokked               bool
}

// Grokking judges a train and a held-out accuracy series (ProbeSeries of
// rundir.ProbeTrainAcc and rundir.ProbeHeldoutAcc).
func Grokking(train, held report.Series) Grok {
	g := Grok{TrainAt: firstAt(train, rundir.TrainSolved), HeldoutAt: firstAt(held, rundir.HeldoutSolved), HeldoutThen: math.NaN()}
	for i := range held.X {
		if !math.IsNaN(g.TrainAt) && math.IsNaN(g.HeldoutThen) && held.X[i] >= g.TrainAt {
			g.HeldoutThen = held.Y[i]
		}
		if (math.IsNaN(g.HeldoutAt) || held.X[i] < g.HeldoutAt) && held.Y[i] < rundir.HeldoutLow {
			g.LowFirst = true
		}
	}
	g.Grokked = g.TrainAt < g.HeldoutAt && g.LowFirst // false when either is NaN
	return g
}

// grokking fills the section from the first run with both accuracies.
func grokking(r *report.Report, runs []*rundir.Run) {
	for _, ru := range runs {
		train, held := ProbeSeries(ru, rundir.ProbeTrainAcc), ProbeSeries(ru, rundir.ProbeHeldoutAcc)
		if len(train.X) == 0 || len(held.X) == 0 {
			continue // grokking needs both accuracies; other runs may log a weight norm
		}
		g := &report.Grokking{Title: ru.ID}
		train.Label, held.Label = "train accuracy", "held-out accuracy"
		g.Accuracy = []report.Series{train, held}
		var missing []string
		for _, q := range []struct{ probe, label string }{
			{rundir.ProbeFourierFullLoss, "full loss"},
			{rundir.ProbeFourierRestricted, "restricted loss"},
			{rundir.ProbeFourierExcluded, "excluded loss"},
		} {
			if s := ProbeSeries(ru, q.probe); len(s.X) > 0 {
				s.Label = q.label
				g.Loss = append(g.Loss, s)
			} else if q.probe != rundir.ProbeFourierFullLoss {
				missing = append(missing, q.label)
			}
		}
		if s := ProbeSeries(ru, rundir.ProbeWeightNorm); len(s.X) > 0 {
			s.Label = "weight norm"
			g.WeightNorm = append(g.WeightNorm, s)
		} else {
			missing = append(missing, "weight norm")
		}
		j := Grokking(train, held)
		g.Summary = append(g.Summary, fmt.Sprintf("Train accuracy first ≥ %s%% at step %s; held-out accuracy first ≥ %s%% at step %s (it was %s at the first step where train passed %s%%).",
			pct(rundir.TrainSolved), stepText(j.TrainAt), pct(rundir.HeldoutSolved), stepText(j.HeldoutAt), report.Num(j.HeldoutThen), pct(rundir.TrainSolved)))
		if len(missing) > 0 {
			g.Note = "Not in " + rundir.ProbesFile + ": " + strings.Join(missing, ", ") + "."
		}
		r.Grokking = g
		return // one grokking study per report: the first run with both accuracies
	}
}

// pct writes a fraction as a percentage (0.99 → "99").
func pct(f float64) string { return report.Num(100 * f) }
