package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"emlab/internal/jsonl"
)

// The run-directory contract (see DESIGN.md): this file reads only the
// plain JSON files, so stats stays independent of the packages that write
// them.
//
//	DIR/config.json    object with at least "params" and "non_embedding_params"
//	                   (numbers) and optionally "seed"
//	DIR/metrics.jsonl  per logged step: step, tokens, flops, loss, eval_loss, …
//	DIR/evals.jsonl    per (step, task, metric): value, stderr, n, optional chance

type evalLine struct {
	Step   *float64 `json:"step"`
	Task   string   `json:"task"`
	Metric string   `json:"metric"`
	Value  *float64 `json:"value"`
	Stderr float64  `json:"stderr"`
	N      float64  `json:"n"`
	Chance *float64 `json:"chance"`
	// Breakdown lines (one per answer position, one per subtask) sit beside
	// the aggregate line of the same task and metric.
	Position *int `json:"position"`
	Subtask  *int `json:"subtask"`
}

// ChanceMetrics are the metrics whose scores are fractions for which the
// chance rate in evals.jsonl means something. emlab eval writes the task's
// chance on every line, but a chance rate for a log-probability or an edit
// distance is meaningless, so ReadRuns keeps it only for these.
var ChanceMetrics = map[string]bool{
	"exact_match": true, "mc_grade": true, "token_accuracy": true,
	"accuracy": true, "acc": true, "em": true, "token_acc": true,
}

type metricsLine struct {
	Step     *float64 `json:"step"`
	Tokens   float64  `json:"tokens"`
	FLOPs    float64  `json:"flops"`
	EvalLoss *float64 `json:"eval_loss"`
}

// RunsReport says what ReadRuns left out, so the caller can tell the user.
type RunsReport struct {
	// DroppedNonPositive counts evaluations at x ≤ 0 (the step-0
	// evaluation on the step, tokens and FLOPs axes), which a log axis
	// cannot hold.
	DroppedNonPositive int
	// SkippedBreakdown counts per-position and per-subtask lines; curves are
	// built from the aggregate lines only.
	SkippedBreakdown int
}

// ReadRuns reads the evaluation curves of run directories on the given axis
// (one of Axes). On the params and non_embedding_params axes each run
// contributes its final evaluated step; on the step, tokens, flops and
// eval_loss axes every evaluated step contributes, joined to metrics.jsonl
// by step. Points are labelled with the run's seed (config "seed", else the
// directory) and grouped by the run's parameter count. Per-position and
// per-subtask lines are skipped (counted in the report), and a chance rate
// is kept only for the ChanceMetrics. Errors name the file and line.
func ReadRuns(dirs []string, axis string) ([]*Curve, *RunsReport, error) {
	if !ValidAxis(axis) || axis == "" {
		return nil, nil, fmt.Errorf("unknown axis %q (want one of %v)", axis, Axes)
	}
	if len(dirs) == 0 {
		return nil, nil, fmt.Errorf("no run directories given")
	}
	rep := &RunsReport{}
	byKey := map[[2]string]*Curve{}
	var curves []*Curve
	for _, dir := range dirs {
		cfg, err := readConfig(dir)
		if err != nil {
			return nil, nil, err
		}
		evals, err := readEvals(dir)
		if err != nil {
			return nil, nil, err
		}
		var metrics map[float64]metricsLine
		perStep := axis == AxisStep || axis == AxisTokens || axis == AxisFLOPs || axis == AxisEvalLoss
		if axis == AxisTokens || axis == AxisFLOPs || axis == AxisEvalLoss {
			if metrics, err = readMetrics(dir); err != nil {
				return nil, nil, err
			}
		}
		finalStep := math.Inf(-1)
		for _, e := range evals {
			finalStep = math.Max(finalStep, *e.line.Step)
		}
		group := strconv.FormatFloat(cfg.params, 'g', -1, 64)
		for _, e := range evals {
			step := *e.line.Step
			if !perStep && step != finalStep {
				continue
			}
			if e.line.Position != nil || e.line.Subtask != nil {
				rep.SkippedBreakdown++
				continue
			}
			var x float64
			switch axis {
			case AxisParams:
				x = cfg.params
			case AxisNonEmbedding:
				x = cfg.nonEmb
			case AxisStep:
				x = step
			default:
				m, ok := metrics[step]
				if !ok {
					return nil, nil, fmt.Errorf("%s: step %v has evaluations but no line in metrics.jsonl", e.where, step)
				}
				switch axis {
				case AxisTokens:
					x = m.Tokens
				case AxisFLOPs:
					x = m.FLOPs
				case AxisEvalLoss:
					if m.EvalLoss == nil {
						return nil, nil, fmt.Errorf("%s: metrics.jsonl has no eval_loss at step %v", e.where, step)
					}
					x = *m.EvalLoss
				}
			}
			if x <= 0 && axis != AxisEvalLoss {
				rep.DroppedNonPositive++
				continue
			}
			key := [2]string{e.line.Task, e.line.Metric}
			c := byKey[key]
			if c == nil {
				c = &Curve{Task: e.line.Task, Metric: e.line.Metric, Axis: axis}
				byKey[key] = c
				curves = append(curves, c)
			}
			if e.line.Chance != nil && ChanceMetrics[e.line.Metric] {
				if c.HasChance && c.Chance != *e.line.Chance {
					return nil, nil, fmt.Errorf("%s: chance %v for %s differs from %v seen earlier", e.where, *e.line.Chance, c.Key(), c.Chance)
				}
				c.Chance, c.HasChance = *e.line.Chance, true
			}
			seed := cfg.seed
			if axis == AxisEvalLoss {
				// Two checkpoints of one run may log the same (rounded) loss;
				// they are distinct observations, not one repeated.
				seed += "@step" + strconv.FormatFloat(step, 'g', -1, 64)
			}
			c.Points = append(c.Points, Point{X: x, Value: *e.line.Value, Seed: seed, N: int(e.line.N),
				Stderr: e.line.Stderr, Group: group, Line: e.where})
		}
	}
	if len(curves) == 0 {
		return nil, nil, fmt.Errorf("no evaluations found in %d run directories", len(dirs))
	}
	sort.SliceStable(curves, func(i, j int) bool {
		if curves[i].Task != curves[j].Task {
			return curves[i].Task < curves[j].Task
		}
		return curves[i].Metric < curves[j].Metric
	})
	for _, c := range curves {
		if err := c.Validate(); err != nil {
			return nil, nil, err
		}
	}
	return curves, rep, nil
}

type runConfig struct {
	params, nonEmb float64
	seed           string
}

func readConfig(dir string) (runConfig, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return runConfig{}, fmt.Errorf("read run config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return runConfig{}, fmt.Errorf("parse %s: %w", path, err)
	}
	num := func(k string) (float64, error) {
		v, ok := m[k]
		if !ok {
			return 0, fmt.Errorf("%s: missing %q", path, k)
		}
		f, ok := v.(float64)
		if !ok || !(f > 0) {
			return 0, fmt.Errorf("%s: %q must be a positive number, got %v", path, k, v)
		}
		return f, nil
	}
	var cfg runConfig
	if cfg.params, err = num("params"); err != nil {
		return cfg, err
	}
	if cfg.nonEmb, err = num("non_embedding_params"); err != nil {
		return cfg, err
	}
	switch s := m["seed"].(type) {
	case nil:
		cfg.seed = filepath.Clean(dir)
	case float64:
		cfg.seed = strconv.FormatFloat(s, 'g', -1, 64)
	case string:
		cfg.seed = s
	default:
		return cfg, fmt.Errorf("%s: \"seed\" must be a number or a string, got %v", path, s)
	}
	return cfg, nil
}

type evalRec struct {
	line  evalLine
	where string
}

// scanJSONL calls fn for every non-blank line of path with "path:line".
func scanJSONL(path string, fn func(b []byte, where string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err // os.Open names the operation and the file
	}
	defer f.Close()
	// A line longer than any emlab writes is skipped, not fatal: one bad
	// line must not fail the analysis of every run.
	var fnErr error
	err = jsonl.Scan(f, func(ln int, b []byte) error {
		fnErr = fn(b, fmt.Sprintf("%s:%d", path, ln))
		return fnErr
	}, nil)
	if err != nil && err != fnErr {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return err
}

func readEvals(dir string) ([]evalRec, error) {
	path := filepath.Join(dir, "evals.jsonl")
	var out []evalRec
	err := scanJSONL(path, func(b []byte, where string) error {
		var e evalLine
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		switch {
		case e.Step == nil:
			return fmt.Errorf("%s: missing \"step\"", where)
		case e.Value == nil:
			return fmt.Errorf("%s: missing \"value\"", where)
		case e.Task == "" || e.Metric == "":
			return fmt.Errorf("%s: missing \"task\" or \"metric\"", where)
		case e.N < 0 || e.N != math.Trunc(e.N):
			return fmt.Errorf("%s: \"n\" must be a whole number ≥ 0, got %v", where, e.N)
		}
		out = append(out, evalRec{e, where})
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("run %s has no evals.jsonl (run emlab eval first): %w", dir, err)
	}
	return out, err
}

func readMetrics(dir string) (map[float64]metricsLine, error) {
	path := filepath.Join(dir, "metrics.jsonl")
	out := map[float64]metricsLine{}
	err := scanJSONL(path, func(b []byte, where string) error {
		var m metricsLine
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if m.Step == nil {
			return fmt.Errorf("%s: missing \"step\"", where)
		}
		out[*m.Step] = m // a resumed run may log a step twice; the last line wins
		return nil
	})
	return out, err
}
