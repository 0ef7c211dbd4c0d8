package assemble

// induction.go: the induction-head section: per run with the probes, the
// best head's prefix-matching score per checkpoint and the in-context
// learning score, and whether and where an induction head formed.

import (
	"fmt"
	"math"
	"strconv"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

// InductionPhase is the judgement made on a best-head prefix-matching
// series (BestHead): Formed when some step reaches rundir.InductionHead;
// After the first such step and Before the last step before it below
// rundir.NoInductionHead (NaN when none). Crossed is a phase change seen
// between checkpoints: formed, from below NoInductionHead. Peak is the
// largest score.
type InductionPhase struct {
	Formed, Crossed bool
	Before, After   float64
	Peak            float64
}

// Induction judges a best-head prefix-matching series.
func Induction(s report.Series) InductionPhase {
	ph := InductionPhase{Before: math.NaN(), After: firstAt(s, rundir.InductionHead), Peak: maxOf(s.Y)}
	ph.Formed = !math.IsNaN(ph.After)
	for i := range s.X {
		if ph.Formed && s.X[i] >= ph.After {
			break
		}
		if s.Y[i] < rundir.NoInductionHead {
			ph.Before = s.X[i]
		}
	}
	ph.Crossed = ph.Formed && !math.IsNaN(ph.Before)
	return ph
}

func stepText(v float64) string {
	if math.IsNaN(v) {
		return "never"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func induction(r *report.Report, runs []*rundir.Run) {
	in := &report.Induction{}
	var with []*rundir.Run
	for _, ru := range sortBySize(runs) {
		if hasProbe(ru, rundir.ProbePrefixMatching) || hasProbe(ru, rundir.ProbeICLScore) {
			with = append(with, ru)
		}
	}
	labels := inductionLabels(with)
	for i, ru := range with {
		pm := BestHead(ru, rundir.ProbePrefixMatching, -1)
		if len(pm.X) > 0 {
			pm.Label = labels[i]
			in.PrefixMatching = append(in.PrefixMatching, pm)
			ph := Induction(pm)
			switch {
			case ph.Crossed:
				in.PhaseChange = append(in.PhaseChange, fmt.Sprintf("%s: the best head's prefix-matching score first reaches %s at step %s, up from below %s at step %s (peak %s).",
					labels[i], report.Num(rundir.InductionHead), stepText(ph.After), report.Num(rundir.NoInductionHead), stepText(ph.Before), report.Num(ph.Peak)))
			case ph.Formed:
				in.PhaseChange = append(in.PhaseChange, fmt.Sprintf("%s: the best head's prefix-matching score first reaches %s at step %s (peak %s).",
					labels[i], report.Num(rundir.InductionHead), stepText(ph.After), report.Num(ph.Peak)))
			default:
				in.PhaseChange = append(in.PhaseChange, fmt.Sprintf("%s: no head reaches prefix-matching %s (peak %s) — no induction head formed.",
					labels[i], report.Num(rundir.InductionHead), report.Num(ph.Peak)))
			}
		}
		if icl := ProbeSeries(ru, rundir.ProbeICLScore); len(icl.X) > 0 {
			icl.Label = labels[i]
			in.ICL = append(in.ICL, icl)
			in.ICLLabel = rundir.ProbeICLScore + " (nats; lower is better)"
		}
	}
	if len(in.PrefixMatching) == 0 && len(in.ICL) == 0 {
		return
	}
	if len(in.ICL) == 0 {
		in.Note = "No " + rundir.ProbeICLScore + " in " + rundir.ProbesFile + " (emlab probe --probes icl writes it)."
	}
	r.Induction = in
}

// inductionLabels name each run by size and depth; where deeper runs sit
// beside them, a one-layer run is the one-layer control (a single layer
// cannot compose a previous-token head with an induction head), so its
// label says so rather than leaving its size to look like the cause.
func inductionLabels(runs []*rundir.Run) []string {
	labels := uniqueLabels(runs)
	deeper := false
	for _, r := range runs {
		if r.Config != nil && r.Config.Model.NLayers > 1 {
			deeper = true
		}
	}
	for i, r := range runs {
		if r.Config == nil || r.Config.Model.NLayers == 0 {
			continue
		}
		n := r.Config.Model.NLayers
		switch {
		case n == 1 && deeper:
			labels[i] += ", 1 layer (the one-layer control)"
		case n == 1:
			labels[i] += ", 1 layer"
		default:
			labels[i] += ", " + strconv.Itoa(n) + " layers"
		}
	}
	return labels
}
