package assemble

// grokking.go: the grokking section: train against held-out accuracy of
// one run per checkpoint, with the Fourier losses and the weight norm
// that explain the delay (Nanda et al. 2023).

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
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

// grokking fills the section from every run with both accuracies (the
// grokking run and its controls), each series labelled by its run and
// weight decay, one line of judgement per run.
func grokking(r *report.Report, runs []*rundir.Run) {
	g := &report.Grokking{}
	var with []*rundir.Run
	for _, ru := range runs {
		if len(ProbeSeries(ru, rundir.ProbeTrainAcc).X) > 0 && len(ProbeSeries(ru, rundir.ProbeHeldoutAcc).X) > 0 {
			with = append(with, ru) // grokking needs both accuracies; other runs may log a weight norm
		}
	}
	if len(with) == 0 {
		return
	}
	// Weight decay first (the run that may grok), then its controls.
	sort.SliceStable(with, func(i, j int) bool { return weightDecay(with[i]) > weightDecay(with[j]) })
	var missing []string
	var ids []string
	for _, ru := range with {
		name := ru.ID
		if wd := weightDecay(ru); !math.IsNaN(wd) {
			name += " (weight decay " + report.Num(wd)
			if wd == 0 && len(with) > 1 {
				name += ", the control"
			}
			name += ")"
		}
		ids = append(ids, ru.ID)
		train, held := ProbeSeries(ru, rundir.ProbeTrainAcc), ProbeSeries(ru, rundir.ProbeHeldoutAcc)
		train.Label, held.Label = name+": train", name+": held-out"
		g.Accuracy = append(g.Accuracy, train, held)
		for _, q := range []struct{ probe, label string }{
			{rundir.ProbeFourierFullLoss, "full loss"},
			{rundir.ProbeFourierRestricted, "restricted loss"},
			{rundir.ProbeFourierExcluded, "excluded loss"},
		} {
			if s := ProbeSeries(ru, q.probe); len(s.X) > 0 {
				s.Label = name + ": " + q.label
				g.Loss = append(g.Loss, s)
			} else if q.probe != rundir.ProbeFourierFullLoss {
				missing = append(missing, ru.ID+" "+q.label)
			}
		}
		if s := ProbeSeries(ru, rundir.ProbeWeightNorm); len(s.X) > 0 {
			s.Label = name
			g.WeightNorm = append(g.WeightNorm, s)
		} else {
			missing = append(missing, ru.ID+" weight norm")
		}
		j := Grokking(train, held)
		last := math.NaN()
		if n := len(held.X); n > 0 {
			last = held.X[n-1]
		}
		g.Summary = append(g.Summary, fmt.Sprintf("%s, trained to step %s: train accuracy first ≥ %s%% %s; held-out accuracy first ≥ %s%% %s (it was %s at the first step where train passed %s%%)%s.",
			name, stepText(last), pct(rundir.TrainSolved), atStep(j.TrainAt), pct(rundir.HeldoutSolved), atStep(j.HeldoutAt), report.Num(j.HeldoutThen), pct(rundir.TrainSolved),
			map[bool]string{true: ": grokked", false: ": did not grok"}[j.Grokked]))
	}
	g.Title = strings.Join(ids, ", ")
	if len(missing) > 0 {
		g.Note = "Not in " + rundir.ProbesFile + ": " + strings.Join(missing, ", ") + "."
	}
	r.Grokking = g
}

// weightDecay is the run's optim.weight_decay from its config.json, NaN
// when unknown.
func weightDecay(ru *rundir.Run) float64 {
	var c struct {
		Optim struct {
			WeightDecay *float64 `json:"weight_decay"`
		} `json:"optim"`
	}
	if json.Unmarshal(ru.ConfigJSON, &c) != nil || c.Optim.WeightDecay == nil {
		return math.NaN()
	}
	return *c.Optim.WeightDecay
}

// atStep is "at step N", or "never" for a threshold never reached.
func atStep(v float64) string {
	if math.IsNaN(v) {
		return "never"
	}
	return "at step " + stepText(v)
}

// pct writes a fraction as a percentage (0.99 → "99").
func pct(f float64) string { return report.Num(100 * f) }
