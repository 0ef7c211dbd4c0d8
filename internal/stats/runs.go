package stats

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"emlab/internal/rundir"
)

// RunsReport says what RunCurves left out, so the caller can tell the user.
type RunsReport struct {
	// DroppedNonPositive counts evaluations at x ≤ 0 (the step-0
	// evaluation on the step, tokens and FLOPs axes), which a log axis
	// cannot hold.
	DroppedNonPositive int
	// DroppedNoEvalLoss counts evaluations on the eval_loss axis at steps
	// whose metrics line has no eval loss (a run trained without held-out
	// batches, or a step that was not a checkpoint).
	DroppedNoEvalLoss int
	// SkippedBreakdown counts per-position and per-subtask lines; curves are
	// built from the aggregate lines only.
	SkippedBreakdown int
}

// ReadRuns reads the run directories dirs (each named by its path) and
// builds their curves with RunCurves.
func ReadRuns(dirs []string, axis string) ([]*Curve, *RunsReport, error) {
	if len(dirs) == 0 {
		return nil, nil, errors.New("no run directories given")
	}
	runs := make([]*rundir.Run, 0, len(dirs))
	for _, dir := range dirs {
		r, err := rundir.ReadRun(dir, "")
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, r)
	}
	curves, rep, err := RunCurves(runs, axis)
	if err != nil {
		return nil, nil, err
	}
	if len(curves) == 0 {
		return nil, nil, fmt.Errorf("no evaluations found on the %s axis in %d run directories", axis, len(runs))
	}
	for _, c := range curves {
		if err := c.Validate(); err != nil {
			return nil, nil, err
		}
	}
	return curves, rep, nil
}

// RunCurves builds the (task, metric) curves of runs on an axis (one of
// Axes), the one rule by which both `emlab analyze --runs` and the report
// turn run directories into curves:
//
//   - On the params and non_embedding_params axes each run contributes the
//     last step at which it evaluated the (task, metric); on the step, tokens, flops and eval_loss axes
//     every evaluated step contributes, joined to metrics.jsonl by step (a
//     step with evaluations but no metrics line is an error on the tokens
//     and FLOPs axes; one without an eval loss is left out of the eval_loss
//     axis and counted).
//   - Per-position and per-subtask lines are breakdowns, not curves: left
//     out and counted. So are points at x ≤ 0.
//   - A curve keeps the chance rate of its lines only where the metric's
//     kind says it applies (rundir.Eval.ChanceOf); runs that disagree on it
//     are an error.
//   - Points are labelled with the run's seed (its directory when
//     config.json has none; on the eval_loss axis with the step too, since two checkpoints
//     of one run are distinct observations) and grouped by the run's
//     parameter count; Line is "file:line".
//
// Curves are sorted by task and metric and not validated (see
// Curve.Validate); none at all is not an error. A run without config.json
// or without evaluations is an error.
func RunCurves(runs []*rundir.Run, axis string) ([]*Curve, *RunsReport, error) {
	if axis == "" || !ValidAxis(axis) {
		return nil, nil, fmt.Errorf("unknown axis %q (want one of %v)", axis, Axes)
	}
	rep := &RunsReport{}
	byKey := map[[2]string]*Curve{}
	var curves []*Curve
	for _, r := range runs {
		if r.Config == nil {
			return nil, nil, fmt.Errorf("run %s has no %s", r.ID, rundir.ConfigFile)
		}
		if len(r.Evals) == 0 {
			return nil, nil, fmt.Errorf("run %s has no %s (run emlab eval first)", r.ID, rundir.EvalsFile)
		}
		metrics := make(map[int]rundir.Metrics, len(r.Metrics))
		for _, m := range r.Metrics {
			metrics[m.Step] = m
		}
		final := map[[2]string]int{} // (task, metric) → its last evaluated step
		for _, e := range r.Evals {
			k := [2]string{e.Task, e.Metric}
			if s, ok := final[k]; !ok || e.Step > s {
				final[k] = e.Step
			}
		}
		params := float64(r.Config.Params)
		// Points are grouped by the parameter count on every axis.
		if r.Config.Params <= 0 || axis == AxisNonEmbedding && r.Config.NonEmbeddingParams <= 0 {
			key := "params"
			if r.Config.Params > 0 {
				key = "non_embedding_params"
			}
			return nil, nil, fmt.Errorf("%s: missing %q", rundir.Path(r.Dir, rundir.ConfigFile), key)
		}
		group := strconv.FormatFloat(params, 'g', -1, 64)
		seed := r.Config.SeedLabel()
		if seed == "" {
			seed = filepath.Clean(r.Dir)
		}
		evalsFile := rundir.Path(r.Dir, rundir.EvalsFile)
		for _, e := range r.Evals {
			if !rundir.PerStepAxis(axis) && e.Step != final[[2]string{e.Task, e.Metric}] {
				continue
			}
			if e.Breakdown() {
				rep.SkippedBreakdown++
				continue
			}
			where := fmt.Sprintf("%s:%d", evalsFile, e.Line)
			var x float64
			switch axis {
			case AxisParams:
				x = params
			case AxisNonEmbedding:
				x = float64(r.Config.NonEmbeddingParams)
			case AxisStep:
				x = float64(e.Step)
			default:
				m, ok := metrics[e.Step]
				switch {
				case !ok && axis == AxisEvalLoss:
					rep.DroppedNoEvalLoss++
					continue
				case !ok:
					return nil, nil, fmt.Errorf("%s: step %d has evaluations but no line in %s", where, e.Step, rundir.MetricsFile)
				}
				switch axis {
				case AxisTokens:
					x = float64(m.Tokens)
				case AxisFLOPs:
					x = m.FLOPs
				case AxisEvalLoss:
					if math.IsNaN(m.EvalLoss) {
						rep.DroppedNoEvalLoss++
						continue
					}
					x = m.EvalLoss
				}
			}
			if !(x > 0) {
				rep.DroppedNonPositive++
				continue
			}
			key := [2]string{e.Task, e.Metric}
			c := byKey[key]
			if c == nil {
				c = &Curve{Task: e.Task, Metric: e.Metric, Axis: axis}
				byKey[key] = c
				curves = append(curves, c)
			}
			if ch, ok := e.ChanceOf(); ok {
				if c.HasChance && c.Chance != ch {
					return nil, nil, fmt.Errorf("%s: chance %v for %s differs from %v seen earlier", where, ch, c.Key(), c.Chance)
				}
				c.Chance, c.HasChance = ch, true
			}
			s := seed
			if axis == AxisEvalLoss {
				// Two checkpoints of one run may log the same (rounded) loss;
				// they are distinct observations, not one repeated.
				s += "@step" + strconv.Itoa(e.Step)
			}
			c.Points = append(c.Points, Point{X: x, Value: e.Value, Seed: s, N: e.N, Stderr: e.Stderr, Group: group, Line: where})
		}
	}
	sort.SliceStable(curves, func(i, j int) bool {
		if curves[i].Task != curves[j].Task {
			return curves[i].Task < curves[j].Task
		}
		return curves[i].Metric < curves[j].Metric
	})
	return curves, rep, nil
}
