package demo

// inside.go: what the studies that look inside the models share to read
// their run directories — the evaluation of a variant at a step, probe rows
// by step, runs in order of size, and the rule for "linearly readable".

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// evalLine returns the aggregate line (no position, no subtask) of a task
// variant and metric at step.
func evalLine(r *rundir.Run, step int, variant, metric string) (rundir.Eval, bool) {
	for _, e := range r.Evals {
		if e.Step == step && e.Task == variant && e.Metric == metric && e.Position == nil && e.Subtask == nil {
			return e, true
		}
	}
	return rundir.Eval{}, false
}

// evalSteps returns the steps with an aggregate line of variant and
// metric, ascending.
func evalSteps(r *rundir.Run, variant, metric string) []int {
	var out []int
	for _, e := range r.Evals {
		if e.Task == variant && e.Metric == metric && e.Position == nil && e.Subtask == nil {
			out = append(out, e.Step)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lastEvalStep is the largest evaluated step of a run, −1 when none.
func lastEvalStep(r *rundir.Run) int {
	last := -1
	for _, e := range r.Evals {
		last = max(last, e.Step)
	}
	return last
}

// probeSteps returns the steps with rows of probe, ascending.
func probeSteps(r *rundir.Run, probe string) []int {
	var out []int
	for _, p := range r.Probes {
		if p.Probe == probe {
			out = append(out, p.Step)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// probeRows returns the rows of probe at step, in file order.
func probeRows(r *rundir.Run, step int, probe string) []rundir.Probe {
	var out []rundir.Probe
	for _, p := range r.Probes {
		if p.Step == step && p.Probe == probe {
			out = append(out, p)
		}
	}
	return out
}

// bySize returns the runs with a configuration, smallest first (ties by
// ID).
func bySize(runs []*rundir.Run) []*rundir.Run {
	var out []*rundir.Run
	for _, r := range runs {
		if r.Config != nil {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *rundir.Run) int {
		if c := cmp.Compare(a.Config.Params, b.Config.Params); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// runLabel names a run in findings: its sweep axis labels, or its ID.
func runLabel(r *rundir.Run) string {
	if r.Spec != nil && len(r.Spec.Run.Axes) > 0 {
		var s string
		for _, k := range sortedKeys(r.Spec.Run.Axes) {
			if s != "" {
				s += ","
			}
			s += r.Spec.Run.Axes[k]
		}
		return s
	}
	return r.ID
}

// paramsText is a run's parameter count for sentences ("28.1k params").
func paramsText(r *rundir.Run) string {
	if r.Config == nil {
		return "? params"
	}
	return report.Num(float64(r.Config.Params)) + " params"
}

// Readability of a variable by a linear probe: a probe's accuracy acc
// against the majority rate ref counts as reading the variable when it is
// at least halfway from ref to 1 (a third of the way would be > 3 standard
// errors on ≈ 100 test rows for every ref ≤ 0.9), and a variable is worth
// asking about when its majority rate is at most readableMaxRef (a
// variable that one class fills cannot be read better than by guessing).
const (
	readableFrac   = 0.5
	readableMaxRef = 0.9
	// readableOverControl is how far a trained model's probe must beat
	// the same probe on the untrained model (step 0): a random network's
	// averaging already exposes sums and thresholds of its inputs (a
	// carry) to a linear probe (docs/probes.md).
	readableOverControl = 0.1
)

// readable applies the rule to one probe accuracy; control is the same
// probe's accuracy on the untrained model (NaN when there is none, which
// skips that condition).
func readable(acc, ref, control float64) bool {
	if acc < ref+readableFrac*(1-ref) {
		return false
	}
	return math.IsNaN(control) || acc >= control+readableOverControl
}

// withCI writes a proportion measured on n items with its 95% Wilson
// interval ("0.83 [0.75, 0.89], n = 104"); n ≤ 0 writes the value alone.
func withCI(p float64, n int) string {
	if n <= 0 || math.IsNaN(p) {
		return fmt.Sprintf("%.2f", p)
	}
	lo, hi, err := stats.Wilson(int(math.Round(p*float64(n))), n, 0.95)
	if err != nil {
		return fmt.Sprintf("%.2f", p)
	}
	return fmt.Sprintf("%.2f [%.2f, %.2f], n = %d", p, lo, hi, n)
}
