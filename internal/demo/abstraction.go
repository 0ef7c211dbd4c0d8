package demo

// abstraction.go: layer-by-layer abstraction. Linear probes (Alain &
// Bengio 2016) on every layer of a 4-layer GPT trained on 2-digit
// addition, at every checkpoint: where each task variable becomes
// linearly readable by depth, and whether a computed variable becomes
// readable with or before the ability.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

const (
	abstractionSweep = "abstraction"
	// abstractionAbility is the ability the study times: exact match on
	// held-out 2-digit sums (the trained length).
	abstractionAbility = "add/plain/2"
)

func init() {
	register(&Study{Name: "abstraction",
		// measured alone from an empty directory on 2 cores (docs/demo.md)
		Minutes: 0.58, QuickMinutes: 0.53,
		Claim:      "Deep networks build abstractions layer by layer: what is written in the input is readable early, what must be computed from it only deeper, and it becomes readable as the ability forms.",
		Experiment: "a 4-layer GPT (d = 48, 115k parameters) trained for 3000 steps on 2-digit addition; at every 250 steps, a linear probe on each layer at the '=' token for the operand digits, carries and answer digits, and at each operand digit for the digit itself, against the untrained model's probes",
		Sweeps:     []string{abstractionSweep},
		Judge:      judgeAbstraction,
	})
}

// lpKey is one linear-probe row's variable and layer.
type lpKey struct {
	v     string
	layer int
}

// linearAt returns the linear_probe rows of one step by variable and
// layer.
func linearAt(r *rundir.Run, step int) map[lpKey]rundir.Probe {
	out := map[lpKey]rundir.Probe{}
	for _, p := range probeRows(r, step, rundir.ProbeLinear) {
		if p.Ref != nil {
			out[lpKey{p.Var, p.Layer}] = p
		}
	}
	return out
}

// absVar is what the study derives for one variable.
type absVar struct {
	name, level string
	ref         float64         // majority rate at the last step
	acc         map[int]float64 // layer → accuracy at the last step
	n           map[int]int     // layer → held-out rows of that probe
	depth       int             // first readable layer at the last step; math.MinInt when none
	from        int             // first probed step from which it stays readable at some layer; −1 when never
	byStep      []float64       // best readable fraction over layers, per probed step
}

func (v *absVar) readableAtEnd() bool { return v.depth != math.MinInt }

func judgeAbstraction(_ context.Context, in *Input) (*Judged, error) {
	f := Finding{Claim: "Variables written in the prompt are linearly readable from the first layers, variables computed from them (carries, answer digits) only deeper, and the computed ones become readable no later than the ability itself."}
	sec := &report.StudySection{Title: "Layer-by-layer abstraction: linear probes by depth and step",
		Intro: fmt.Sprintf("A linear probe per layer (layer −1 = the embeddings) and checkpoint; a variable counts as readable where the probe's held-out accuracy is at least "+
			"halfway from the majority rate to 1 and, for a computed variable, %.1f above the same probe on the untrained model (step 0). Low-level: the digit at the position read "+
			"(current) and the operand digits at '='; high-level: carries and answer digits at '='.", readableOverControl)}
	var run *rundir.Run
	for _, r := range bySize(in.Runs(abstractionSweep)) {
		if len(probeSteps(r, rundir.ProbeLinear)) > 0 && len(r.Evals) > 0 {
			run = r // the largest probed and evaluated run
		}
	}
	if run == nil {
		f.verdict(VerdictInconclusive)
		f.Detail = "no probed and evaluated run of the abstraction sweep"
		sec.Note = f.Detail + "."
		return &Judged{Findings: []Finding{f}, Section: sec}, nil
	}
	steps := probeSteps(run, rundir.ProbeLinear)
	last := steps[len(steps)-1]
	control := map[lpKey]rundir.Probe{}
	if steps[0] == 0 {
		control = linearAt(run, 0)
	}
	// The control applies to the computed variables: what is written in
	// the prompt is readable from an untrained model's embeddings too.
	ctl := func(k lpKey) float64 {
		if p, ok := control[k]; ok && rundir.VarLevel(k.v) == rundir.VarHigh {
			return p.Value
		}
		return math.NaN()
	}
	final := linearAt(run, last)
	byVar := map[string]*absVar{}
	var layers []int
	for k, p := range final {
		v := byVar[k.v]
		if v == nil {
			v = &absVar{name: k.v, level: rundir.VarLevel(k.v), ref: *p.Ref, acc: map[int]float64{}, n: map[int]int{}, depth: math.MinInt, from: -1}
			byVar[k.v] = v
		}
		v.acc[k.layer] = p.Value
		v.n[k.layer] = p.N
		if !slices.Contains(layers, k.layer) {
			layers = append(layers, k.layer)
		}
	}
	slices.Sort(layers)
	var vars []*absVar
	for _, name := range sortedKeys(byVar) {
		v := byVar[name]
		if v.ref > readableMaxRef || v.level == "" {
			continue // one class fills it: nothing to read
		}
		for _, l := range layers {
			if readable(v.acc[l], v.ref, ctl(lpKey{v.name, l})) {
				v.depth = l
				break
			}
		}
		// By step: the best fraction of the way from majority to 1 over
		// layers, and the first step from which some layer stays readable.
		for _, s := range steps {
			rows := linearAt(run, s)
			best, ok := math.Inf(-1), false
			for _, l := range layers {
				p, has := rows[lpKey{v.name, l}]
				if !has {
					continue
				}
				best = math.Max(best, (p.Value-*p.Ref)/math.Max(1-*p.Ref, 1e-9))
				ok = ok || readable(p.Value, *p.Ref, ctl(lpKey{v.name, l}))
			}
			v.byStep = append(v.byStep, best)
			switch {
			case ok && v.from < 0:
				v.from = s
			case !ok:
				v.from = -1
			}
		}
		vars = append(vars, v)
	}
	slices.SortStableFunc(vars, func(a, b *absVar) int { return strings.Compare(a.level+a.name, b.level+b.name) })

	// The ability: the first evaluated step from which exact match stays ≥ reachLevel.
	abSteps := evalSteps(run, abstractionAbility, rundir.ExactMatch)
	abFrom, abFinal, abN := -1, math.NaN(), 0
	var abX, abY []float64
	for _, s := range abSteps {
		e, _ := evalLine(run, s, abstractionAbility, rundir.ExactMatch)
		abX, abY = append(abX, float64(s)), append(abY, e.Value)
		abFinal, abN = e.Value, e.N
		switch {
		case e.Value >= reachLevel && abFrom < 0:
			abFrom = s
		case e.Value < reachLevel:
			abFrom = -1
		}
	}

	// Part 1: depth. Part 2: timing.
	var low, high []*absVar
	var current *absVar
	for _, v := range vars {
		switch v.level {
		case rundir.VarLow:
			low = append(low, v)
			if v.name == "current" {
				current = v
			}
		case rundir.VarHigh:
			high = append(high, v)
		}
	}
	meanDepth := func(vs []*absVar) (float64, int) {
		var s float64
		n := 0
		for _, v := range vs {
			if v.readableAtEnd() {
				s += float64(v.depth)
				n++
			}
		}
		return s / float64(n), n
	}
	lowDepth, nLow := meanDepth(low)
	highDepth, nHigh := meanDepth(high)
	for _, v := range vars {
		f.Items = append(f.Items, absItem(v, layers))
	}
	f.Items = append(f.Items, fmt.Sprintf("ability %s exact match %s at step %s; at or above %.1f from step %s on", abstractionAbility, withCI(abFinal, abN), stepText(lastEvalStep(run)), reachLevel, stepText(abFrom)))
	if len(control) == 0 {
		f.Items = append(f.Items, "no probes of the untrained model (step 0): the control condition was skipped")
	}
	switch {
	case math.IsNaN(abFinal) || abFrom < 0:
		f.verdict(VerdictInconclusive)
		f.Detail = fmt.Sprintf("the ability %s did not form (exact match %.2f at the last step): nothing to time the variables against", abstractionAbility, abFinal)
	case current == nil || nHigh == 0:
		f.verdict(VerdictInconclusive)
		f.Detail = "no readable high-level variable, or no probe of the current digit"
	default:
		depthOK := current.depth == -1 && nLow > 0 && highDepth > lowDepth
		var late []string
		for _, v := range high {
			if v.readableAtEnd() && (v.from < 0 || v.from > abFrom) {
				late = append(late, fmt.Sprintf("%s from step %s", v.name, stepText(v.from)))
			}
		}
		timingOK := len(late) == 0
		f.Detail = fmt.Sprintf("mean first readable layer: low-level %.2f (%d variables; the current digit at %d), high-level %.2f (%d variables); ", lowDepth, nLow, current.depth, highDepth, nHigh)
		if timingOK {
			f.Detail += fmt.Sprintf("every readable high-level variable is readable by step %d, when %s reaches %.1f", abFrom, abstractionAbility, reachLevel)
		} else {
			f.Detail += fmt.Sprintf("readable only after %s reaches %.1f at step %d: %s", abstractionAbility, reachLevel, abFrom, strings.Join(late, ", "))
		}
		if depthOK && timingOK {
			f.verdict(VerdictSupported)
		} else {
			f.verdict(VerdictNotSupported)
		}
	}

	// The section: readability by depth at the last step, by step at the
	// best layer, and the table of numbers.
	depthPlot := func(title string, vs []*absVar) *report.Plot {
		p := &report.Plot{Title: title, XLabel: "layer (−1 = embeddings)", YLabel: "(accuracy − majority) / (1 − majority)", YFixed: true, YMin: -0.2, YMax: 1,
			HLines: []report.Marker{{At: readableFrac, Label: "readable"}}}
		for _, v := range vs {
			s := report.Series{Label: v.name}
			for _, l := range layers {
				s.X, s.Y = append(s.X, float64(l)), append(s.Y, (v.acc[l]-v.ref)/(1-v.ref))
			}
			p.Series = append(p.Series, s)
		}
		return p
	}
	stepPlot := &report.Plot{Title: "readability (best layer) and the ability, by step", XLabel: "step", YLabel: "fraction", YFixed: true, YMin: -0.2, YMax: 1}
	stepPlot.Series = append(stepPlot.Series, report.Series{Label: abstractionAbility + " exact match", X: abX, Y: abY})
	for _, v := range high {
		s := report.Series{Label: v.name}
		for i, st := range steps {
			s.X, s.Y = append(s.X, float64(st)), append(s.Y, v.byStep[i])
		}
		stepPlot.Series = append(stepPlot.Series, s)
	}
	if abFrom >= 0 {
		stepPlot.VLines = []report.Marker{{At: float64(abFrom), Label: fmt.Sprintf("ability ≥ %.1f", reachLevel)}}
	}
	tab := &report.Table{Head: []string{"variable", "level", "majority"}}
	for _, l := range layers {
		tab.Head = append(tab.Head, fmt.Sprintf("layer %d", l))
	}
	tab.Head = append(tab.Head, "first readable layer", "readable from step")
	for _, v := range vars {
		row := []string{v.name, v.level, fmt.Sprintf("%.2f", v.ref)}
		for _, l := range layers {
			row = append(row, fmt.Sprintf("%.2f", v.acc[l]))
		}
		row = append(row, depthText(v.depth), stepText(v.from))
		tab.Rows = append(tab.Rows, row)
	}
	sec.Figures = []report.StudyFigure{
		{Caption: fmt.Sprintf("By depth at step %d (%s, %s)", last, runLabel(run), paramsText(run)),
			Plots: []*report.Plot{depthPlot("low-level variables", low), depthPlot("high-level variables", high)}, Table: tab},
		{Caption: "By step", Plots: []*report.Plot{stepPlot}, Lines: []string{
			"Lines: the ability, and each computed variable's best layer as (accuracy − majority) / (1 − majority). The untrained model (step 0) already reads " +
				"a carry this way (a random network's averaging exposes thresholds of sums), so the table's 'readable from step' also asks for 0.1 above step 0.",
			f.Detail + "."}},
	}
	return &Judged{Findings: []Finding{f}, Section: sec}, nil
}

func absItem(v *absVar, layers []int) string {
	var accs []string
	for _, l := range layers {
		accs = append(accs, fmt.Sprintf("%.2f", v.acc[l]))
	}
	best := layers[0]
	for _, l := range layers {
		if v.acc[l] > v.acc[best] {
			best = l
		}
	}
	return fmt.Sprintf("%s (%s, majority %.2f): accuracy by layer %s (best, layer %d: %s); first readable layer %s; readable from step %s",
		v.name, v.level, v.ref, strings.Join(accs, " / "), best, withCI(v.acc[best], v.n[best]), depthText(v.depth), stepText(v.from))
}

func depthText(d int) string {
	if d == math.MinInt {
		return "none"
	}
	return fmt.Sprint(d)
}

func stepText(s int) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprint(s)
}
