package assemble

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"emlab/internal/stats"
)

// Float is a JSON number where null reads as NaN (the analysis writes
// undefined values and open interval ends as null).
type Float float64

// UnmarshalJSON reads a number or null.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Line is one line of emlab analyze --json (see stats.Result.MarshalJSON).
type Line struct {
	Task             string           `json:"task"`
	Metric           string           `json:"metric"`
	Axis             string           `json:"axis"`
	Verdict          string           `json:"verdict"`
	Emergent         bool             `json:"emergent"`
	Breakthroughness Float            `json:"breakthroughness"`
	Linearity        Float            `json:"linearity"`
	XStar            Float            `json:"x_star"`
	XStarLo          Float            `json:"x_star_lo"`
	XStarHi          Float            `json:"x_star_hi"`
	Fit              string           `json:"fit"`
	Params           map[string]Float `json:"params"`
	Levels           []struct {
		X, Mean, SD Float
		Seeds, N    int
	} `json:"levels"`
	Evidence []struct {
		Test   string `json:"test"`
		Pass   bool   `json:"pass"`
		Detail string `json:"detail"`
	} `json:"evidence"`
	Mirage *struct {
		SharpMetric   string `json:"sharp_metric"`
		SharpVerdict  string `json:"sharp_verdict"`
		SmoothMetric  string `json:"smooth_metric"`
		SmoothVerdict string `json:"smooth_verdict"`
		SmoothFit     string `json:"smooth_fit"`
		Mirage        bool   `json:"mirage"`
		Detail        string `json:"detail"`
		PowerL        *struct {
			PerPositionMetric string `json:"per_position_metric"`
			L                 Float  `json:"L"`
			RMSE              Float  `json:"rmse"`
			Consistent        bool   `json:"consistent"`
			Levels            int    `json:"levels"`
		} `json:"power_l"`
	} `json:"mirage"`
	LossThreshold *struct {
		LStar      Float `json:"L_star"`
		LStarLo    Float `json:"L_star_lo"`
		LStarHi    Float `json:"L_star_hi"`
		R2All      Float `json:"r2_all"`
		R2PerGroup Float `json:"r2_per_group"`
	} `json:"loss_threshold"`
	Forecast *struct {
		FitLevels  int                                            `json:"fit_levels"`
		Holdout    int                                            `json:"holdout"`
		Model      string                                         `json:"model"`
		Rungs      []struct{ X, Actual, Predicted, Lo, Hi Float } `json:"rungs"`
		MAE        Float                                          `json:"mae"`
		MAELo      Float                                          `json:"mae_lo"`
		MAEHi      Float                                          `json:"mae_hi"`
		XStarSmall Float                                          `json:"x_star_small"`
		XStarFull  Float                                          `json:"x_star_full"`
	} `json:"forecast"`
}

// ParseAnalysis reads the analysis: JSON lines as emlab analyze --json
// writes them, or one JSON array of the same objects.
func ParseAnalysis(r io.Reader) ([]Line, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read analysis: %w", err)
	}
	b = bytes.TrimSpace(b)
	var out []Line
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("parse analysis: %w", err)
		}
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for i := 1; dec.More(); i++ {
		var l Line
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("parse analysis object %d: %w", i, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// AnalyzeOptions configure Analyze.
type AnalyzeOptions struct {
	Stats stats.Options
	// Forecast holds out this many largest rungs (0: no forecast).
	Forecast int
	// Metrics, when not empty, limits the analysis to these metrics.
	Metrics []string
	// LossBoot, when > 0, is the number of bootstrap replicates on the
	// eval-loss axis, whose curves have one level per (run, checkpoint)
	// and so cost far more per replicate than the params axis.
	LossBoot int
}

// DefaultAnalyzeOptions are stats' defaults with a forecast of the two
// largest rungs.
func DefaultAnalyzeOptions() AnalyzeOptions {
	return AnalyzeOptions{Stats: stats.DefaultOptions(), Forecast: 2}
}

// Curves builds the (task, metric) curves of a ladder of runs on an axis:
// "params" takes each run's final evaluated step; "eval_loss" takes every
// evaluated step with an eval loss in metrics.jsonl. Per-position and
// per-subtask lines are not part of a task's curve and are left out.
// Points are labelled with the run's seed and grouped by parameter count.
func Curves(runs []*Run, axis string) []*stats.Curve {
	byKey := map[[2]string]*stats.Curve{}
	var out []*stats.Curve
	for _, r := range runs {
		if !(r.Params > 0) {
			continue
		}
		final := -1
		evalLoss := map[int]float64{}
		for _, m := range r.Metrics {
			if !math.IsNaN(m.EvalLoss) {
				evalLoss[m.Step] = m.EvalLoss
			}
		}
		for _, e := range r.Evals {
			final = max(final, e.Step)
		}
		group := strconv.FormatFloat(r.Params, 'g', -1, 64)
		seed := r.Seed
		if seed == "" {
			seed = r.ID
		}
		for _, e := range r.Evals {
			if e.Position >= 0 || e.Subtask >= 0 || math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
				continue
			}
			var x float64
			s := seed
			switch axis {
			case stats.AxisParams:
				if e.Step != final {
					continue
				}
				x = r.Params
			case stats.AxisEvalLoss:
				l, ok := evalLoss[e.Step]
				if !ok || !(l > 0) {
					continue
				}
				x = l
				s = seed + "@step" + strconv.Itoa(e.Step)
			default:
				continue
			}
			key := [2]string{e.Task, e.Metric}
			c := byKey[key]
			if c == nil {
				c = &stats.Curve{Task: e.Task, Metric: e.Metric, Axis: axis}
				byKey[key] = c
				out = append(out, c)
			}
			if !math.IsNaN(e.Chance) {
				c.Chance, c.HasChance = e.Chance, true
			}
			c.Points = append(c.Points, stats.Point{X: x, Value: e.Value, Seed: s, N: e.N, Stderr: e.Stderr, Group: group,
				Line: r.ID + ":" + strconv.Itoa(e.Step)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Task != out[j].Task {
			return out[i].Task < out[j].Task
		}
		return out[i].Metric < out[j].Metric
	})
	return out
}

// Analyze runs the emergence analysis on a ladder: every (task, metric)
// against parameters (with the forecast), and against eval loss (with the
// loss threshold). It returns the results as emlab analyze --json lines,
// the schema of analysis.json, and notes on what it had to leave out.
func Analyze(ctx context.Context, ladder []*Run, o AnalyzeOptions) ([]byte, []string, error) {
	var buf bytes.Buffer
	var notes []string
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, axis := range []string{stats.AxisParams, stats.AxisEvalLoss} {
		curves := Curves(ladder, axis)
		var kept []*stats.Curve
		for _, c := range curves {
			if len(o.Metrics) > 0 && !contains(o.Metrics, c.Metric) {
				continue
			}
			if err := c.Validate(); err != nil {
				notes = append(notes, fmt.Sprintf("%s against %s left out: %v", c.Key(), axis, err))
				continue
			}
			kept = append(kept, c)
		}
		cfg := stats.AnalyzeConfig{Options: o.Stats}
		if axis == stats.AxisParams {
			cfg.Forecast = o.Forecast
		} else {
			cfg.LossView = true
			if o.LossBoot > 0 {
				cfg.Boot = o.LossBoot
			}
		}
		results, err := stats.AnalyzeCurves(ctx, kept, cfg)
		if err != nil {
			return nil, notes, fmt.Errorf("analyse against %s: %w", axis, err)
		}
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return nil, notes, fmt.Errorf("encode analysis: %w", err)
			}
		}
	}
	return buf.Bytes(), notes, nil
}
