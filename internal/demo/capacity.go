package demo

// capacity.go: knowledge capacity. Allen-Zhu & Li 2024 ("Physics of
// Language Models: Part 3.3, Knowledge Capacity Scaling Laws") measure
// that language models store about 2 bits of knowledge per parameter once
// each fact has been seen about 1000 times (about 1 bit at 100 exposures).
// The study stores random facts (`facts`) in a ladder and counts the bits
// each model holds (the knowledge probe: the eval's bits metric over every
// fact).

import (
	"context"
	"fmt"
	"math"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

const (
	capacitySweep = "capacity"
	// capacityBits is the density that counts as reproducing Allen-Zhu &
	// Li: half their 2 bits per parameter, which they reach with 1000
	// exposures (about 1 bit with 100; the study's models see each fact
	// 480–600 times).
	capacityBits = 1.0
	// capacityFull is the share of a world's bits at which a model has
	// stored the world (the ladder saturates).
	capacityFull = 0.95
)

func init() {
	register(&Study{Name: "capacity",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 0.55, QuickMinutes: 0.52,
		Claim:      "A language model stores knowledge up to a fixed capacity, about 2 bits per parameter (Allen-Zhu & Li 2024), and a ladder of models saturates once the world fits.",
		Experiment: "GPTs of 5k–107k parameters trained on random entity → attribute facts (a 200-entity world of 2657 bits for 3000 steps, and a 1000-entity world of 13.3k bits — more than twice the small model's parameters — for 12000 steps); bits stored counted over every fact",
		Sweeps:     []string{capacitySweep},
		Judge:      judgeCapacity,
	})
}

// knowledge is one run's stored bits at its last probed step.
type knowledge struct {
	run               *rundir.Run
	task              string
	bits, max, params float64
}

func (k knowledge) perParam() float64 { return k.bits / k.params }

// bound reports whether the world holds more than 2 bits per parameter:
// only then is the model's density limited by its capacity rather than by
// the world's size.
func (k knowledge) bound() bool { return k.max > 2*k.params }

func (k knowledge) String() string {
	s := fmt.Sprintf("%s (%s) on %s: %.0f of %.0f bits (%.0f%%), %s bits/param", runLabel(k.run), paramsText(k.run), k.task, k.bits, k.max, 100*k.bits/k.max, report.Num(k.perParam()))
	if k.bound() {
		s += "; the world exceeds 2 bits/param"
	}
	return s
}

func judgeCapacity(_ context.Context, in *Input) (*Judged, error) {
	f := Finding{Claim: fmt.Sprintf("A model whose world holds more than 2 bits per parameter stores at least %.1f bit per parameter (Allen-Zhu & Li: ≈ 2 at 1000 exposures, ≈ 1 at 100).", capacityBits)}
	sec := &report.StudySection{Title: "Knowledge capacity: bits per parameter",
		Intro: "Bits stored = Σ over every fact of log2 K + log2 P(right value), P renormalised over the K values: what the model saves against guessing. A world fits a model when it holds at most 2 bits per parameter."}
	var ks []knowledge
	for _, r := range bySize(in.Runs(capacitySweep)) {
		steps := probeSteps(r, rundir.ProbeKnowledgeBits)
		if len(steps) == 0 {
			continue
		}
		last := steps[len(steps)-1]
		byTask := map[string]*knowledge{}
		for _, p := range probeRows(r, last, rundir.ProbeKnowledgeBits) {
			byTask[p.Task] = &knowledge{run: r, task: p.Task, bits: p.Value, params: float64(r.Config.Params)}
		}
		for _, p := range probeRows(r, last, rundir.ProbeKnowledgeBitsMax) {
			if k := byTask[p.Task]; k != nil {
				k.max = p.Value
			}
		}
		for _, t := range sortedKeys(byTask) {
			if k := byTask[t]; k.max > 0 {
				ks = append(ks, *k)
			}
		}
	}
	best, learnable := math.Inf(-1), false
	var bestK *knowledge
	worlds := map[string][]knowledge{}
	var worldOrder []string
	for i, k := range ks {
		f.Items = append(f.Items, k.String())
		if k.bits >= capacityFull*k.max {
			learnable = true
		}
		if k.bound() && k.perParam() > best {
			best, bestK = k.perParam(), &ks[i]
		}
		if _, ok := worlds[k.task]; !ok {
			worldOrder = append(worldOrder, k.task)
		}
		worlds[k.task] = append(worlds[k.task], k)
	}
	// Where each world's ladder saturates: the smallest model storing it.
	for _, w := range worldOrder {
		sat := "no model stores it"
		for _, k := range worlds[w] {
			if k.bits >= capacityFull*k.max {
				sat = fmt.Sprintf("saturates at %s (%s)", runLabel(k.run), paramsText(k.run))
				break
			}
		}
		f.Items = append(f.Items, fmt.Sprintf("%s (%.0f bits): %s", w, worlds[w][0].max, sat))
	}
	switch {
	case bestK == nil:
		f.verdict(VerdictInconclusive)
		f.Detail = "no probed run whose world holds more than 2 bits per parameter"
	case best >= capacityBits:
		f.verdict(VerdictSupported)
		f.Detail = fmt.Sprintf("%s stores %s bits/param (≥ %s)", runLabel(bestK.run), report.Num(best), report.Num(capacityBits))
	case learnable:
		f.verdict(VerdictNotSupported)
		f.Detail = fmt.Sprintf("at most %s bits/param (%s) where the world exceeds 2 bits/param, although the facts are learnable (a model stores ≥ %.0f%% of its world)", report.Num(best), runLabel(bestK.run), 100*capacityFull)
	default:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("at most %s bits/param, and no model stores its world: the facts were not learned at this budget", report.Num(best))
	}
	if len(ks) == 0 {
		sec.Note = "No probed runs of the capacity sweep in this directory."
		return &Judged{Findings: []Finding{f}, Section: sec}, nil
	}
	bitsPlot := &report.Plot{Title: "bits stored", XLabel: "parameters (log scale)", YLabel: "bits", XLog: true, YLog: true}
	densPlot := &report.Plot{Title: "bits per parameter", XLabel: "parameters (log scale)", YLabel: "bits / parameter", XLog: true,
		HLines: []report.Marker{{At: 2, Label: "Allen-Zhu & Li"}, {At: capacityBits, Label: "rule"}}}
	tab := &report.Table{Head: []string{"run", "params", "world", "bits stored", "of", "bits/param"}}
	var whole []report.Series // after the stored bits, so that each world keeps its colour in both plots
	for _, w := range worldOrder {
		name := fmt.Sprintf("%.0f-bit world", worlds[w][0].max)
		s := report.Series{Label: name}
		d := report.Series{Label: name}
		mx := report.Series{Label: name + ": all of it"}
		for _, k := range worlds[w] {
			s.X, s.Y = append(s.X, k.params), append(s.Y, math.Max(k.bits, 1))
			mx.X, mx.Y = append(mx.X, k.params), append(mx.Y, k.max)
			d.X, d.Y = append(d.X, k.params), append(d.Y, k.perParam())
			tab.Rows = append(tab.Rows, []string{runLabel(k.run), report.Num(k.params), name + " (" + w + ")", fmt.Sprintf("%.0f", k.bits), fmt.Sprintf("%.0f", k.max), report.Num(k.perParam())})
		}
		bitsPlot.Series = append(bitsPlot.Series, s)
		whole = append(whole, mx)
		densPlot.Series = append(densPlot.Series, d)
	}
	bitsPlot.Series = append(bitsPlot.Series, whole...)
	sec.Figures = []report.StudyFigure{{Caption: "Knowledge stored against size", Plots: []*report.Plot{bitsPlot, densPlot}, Table: tab,
		Lines: []string{f.Detail + ".", strings.Join(f.Items[len(ks):], "; ") + "."}}}
	return &Judged{Findings: []Finding{f}, Section: sec}, nil
}
