package demo

// composition.go: composing separately trained skills. Chains of facts
// over a synthetic world (`chain`), trained with every relation pair but
// one (pal then boss) and with chains of one and two hops: is a chain that
// composes the held-out pair, or one hop longer than any trained, answered
// — and does that appear with scale?

import (
	"context"
	"fmt"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

const compositionSweep = "composition"

// The variants: the control (held-out chains of trained pairs and
// length), the held-out relation pair, and one hop longer.
const (
	compControl = "chain/cot/hops=2"
	compPair    = "chain/cot/hops=2/pairs"
	compLonger  = "chain/cot/hops=3"
)

func init() {
	register(&Study{Name: "composition",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 0.73, QuickMinutes: 0.62,
		Claim:      "Skills learned separately compose: a model answers combinations it never saw together in training, and does so once it is large enough.",
		Experiment: "GPTs of 17k–106k parameters (3000 steps) on two-hop chains of facts with chain of thought, where the relation pair pal→boss is never composed in training; exact match on held-out chains of trained pairs (the control), of the held-out pair, and three hops long (never trained)",
		Sweeps:     []string{compositionSweep},
		Judge:      judgeComposition,
	})
}

// composes is the rule for one composite: supported when it reaches
// reachLevel within the ladder; not supported here when no bootstrap
// replicate reaches it while the control does; inconclusive otherwise
// (the control never formed, or the composite is uncertain).
func composes(claim string, comp, control *reach) Finding {
	f := Finding{Claim: claim}
	switch {
	case comp == nil || control == nil:
		f.verdict(VerdictInconclusive)
		f.Detail = "no curve for the composite and the control (missing runs or evaluations, or fewer than 4 sizes)"
		return f
	case comp.reached():
		f.verdict(VerdictSupported)
		f.Detail = comp.String()
	case comp.never() && control.reached():
		f.verdict(VerdictNotSupported)
		f.Detail = fmt.Sprintf("%s stays below %.1f at every size up to %s params (%.2f there) and in every bootstrap replicate, while the control %s reaches it %s",
			comp.Task, reachLevel, report.Num(comp.Largest), comp.Top, control.Task, control.at())
	default:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("%s; control: %s", comp, control)
	}
	f.Items = []string{comp.String(), "control: " + control.String()}
	return f
}

func judgeComposition(ctx context.Context, in *Input) (*Judged, error) {
	cs, err := curvesByTask(evaluated(in.Runs(compositionSweep)), rundir.AxisParams, rundir.ExactMatch)
	if err != nil {
		return nil, err
	}
	reaches, notes, err := reachAll(ctx, cs, in.Stats)
	if err != nil {
		return nil, err
	}
	f1 := composes("Two relations trained separately, never one after the other, compose: held-out chains through the pair pal→boss are answered (chain of thought).",
		reaches[compPair], reaches[compControl])
	f2 := composes("Chains one hop longer than any trained are answered (chain of thought).", reaches[compLonger], reaches[compControl])
	sec := &report.StudySection{Title: "Composition of separately trained skills",
		Intro: fmt.Sprintf("Exact match on held-out chains against parameters. The control composes relation pairs seen composed in training; the held-out pair never was; "+
			"three hops were never trained. A dashed line marks where a curve first reaches %.1f.", reachLevel)}
	var rs []*reach
	var labels []string
	for _, v := range []struct{ task, label string }{{compControl, "control (trained pairs)"}, {compPair, "held-out pair pal→boss"}, {compLonger, "three hops (untrained)"}} {
		if r := reaches[v.task]; r != nil {
			rs, labels = append(rs, r), append(labels, v.label)
		}
	}
	if len(rs) > 0 {
		sec.Figures = append(sec.Figures, report.StudyFigure{Caption: "Composed chains against scale", Plots: []*report.Plot{reachPlot("chains", rs, labels)}, Lines: reachLines(rs...)})
	} else {
		sec.Note = "No evaluated runs of the composition sweep in this directory (or fewer than 4 sizes)."
	}
	for _, n := range notes {
		sec.Figures = append(sec.Figures, report.StudyFigure{Note: n})
	}
	return &Judged{Findings: []Finding{f1, f2}, Section: sec}, nil
}

// reachAll analyses every curve's reach; curves stats cannot analyse (too
// few sizes) become notes.
func reachAll(ctx context.Context, cs map[string]*stats.Curve, o stats.Options) (map[string]*reach, []string, error) {
	out := map[string]*reach{}
	var notes []string
	for _, task := range sortedKeys(cs) {
		r, err := reachOf(ctx, cs[task], o)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err
			}
			notes = append(notes, fmt.Sprintf("%s: %v", task, err))
			continue
		}
		out[task] = r
	}
	return out, notes, nil
}
