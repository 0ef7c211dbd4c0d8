package assemble

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// AnalysisFile is where emlab report and emlab demo keep the analysis of
// the runs under a directory, so that the report can be rebuilt from the
// same numbers and the dashboard shows them. It holds one JSON document
// (AnalysisDocument), so any JSON reader loads it whole.
const AnalysisFile = "analysis.json"

// The format name and version AnalysisDocument carries.
const (
	AnalysisFormat  = "emlab analysis"
	AnalysisVersion = 1
)

// AnalysisDocument is the content of analysis.json: the format's name and
// version and the results, one object per (task, metric, axis) in the
// schema of emlab analyze --json's lines (stats.Result.MarshalJSON).
type AnalysisDocument struct {
	Format  string            `json:"format"`
	Version int               `json:"version"`
	Results []json.RawMessage `json:"results"`
}

// Float is a JSON number where null reads as NaN (the analysis writes
// undefined values and open interval ends as null).
type Float = stats.NullFloat

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
		X, Mean, SD     Float
		Seeds, N, Items int
		// SE is the standard error of Mean (null or absent: unknown).
		SE Float `json:"se"`
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
		LStar      Float  `json:"L_star"`
		LStarLo    Float  `json:"L_star_lo"`
		LStarHi    Float  `json:"L_star_hi"`
		R2All      Float  `json:"r2_all"`
		R2PerGroup Float  `json:"r2_per_group"`
		BoundNote  string `json:"bound_note"`
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
		BoundNote  string                                         `json:"bound_note"`
	} `json:"forecast"`
	// Judgement is the analysis' judgement of the curve (verdict, reason,
	// whether anything is drawn, items, x*, its task's mirage verdict), read
	// by stats.ReadJudgements: the report and the demo's findings show it
	// and never re-decide it.
	Judgement stats.Judgement `json:"-"`
}

// ParseAnalysis reads an analysis: analysis.json (AnalysisDocument), JSON
// lines as emlab analyze --json writes them, or one JSON array of the same
// objects. Each result carries its judgement (stats.ReadJudgements).
func ParseAnalysis(r io.Reader) ([]Line, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read analysis: %w", err)
	}
	b = bytes.TrimSpace(b)
	var raws []json.RawMessage
	switch {
	case len(b) > 0 && b[0] == '[':
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, fmt.Errorf("parse analysis: %w", err)
		}
	case isDocument(b):
		var doc AnalysisDocument
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("parse analysis: %w", err)
		}
		if doc.Format != AnalysisFormat || doc.Version < 1 || doc.Version > AnalysisVersion {
			return nil, fmt.Errorf("parse analysis: format %q version %d, want %q version %d", doc.Format, doc.Version, AnalysisFormat, AnalysisVersion)
		}
		raws = doc.Results
	default:
		dec := json.NewDecoder(bytes.NewReader(b))
		for i := 1; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("parse analysis object %d: %w", i, err)
			}
			raws = append(raws, raw)
		}
	}
	out := make([]Line, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("parse analysis object %d: %w", i+1, err)
		}
	}
	js, err := stats.ReadJudgements(raws)
	if err != nil {
		return nil, fmt.Errorf("parse analysis: %w", err)
	}
	for i := range out {
		out[i].Judgement = js[i]
	}
	return out, nil
}

// isDocument reports whether b's first JSON object has a "format" key (an
// AnalysisDocument; a result line has none).
func isDocument(b []byte) bool {
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	var probe struct {
		Format *string `json:"format"`
	}
	return json.NewDecoder(bytes.NewReader(b)).Decode(&probe) == nil && probe.Format != nil
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

// Curves builds the (task, metric) curves of a ladder on an axis by the
// rule emlab analyze --runs uses (stats.RunCurves), valid curves only;
// notes say what was left out and why.
func Curves(ladder []*rundir.Run, axis string) ([]*stats.Curve, []string, error) {
	curves, rep, err := stats.RunCurves(ladder, axis)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	if rep.DroppedNoEvalLoss > 0 {
		notes = append(notes, fmt.Sprintf("Against %s: %d evaluations at steps without an eval loss left out.", axis, rep.DroppedNoEvalLoss))
	}
	var kept []*stats.Curve
	for _, c := range curves {
		if err := c.Validate(); err != nil {
			notes = append(notes, fmt.Sprintf("%s against %s left out: %v", c.Key(), axis, err))
			continue
		}
		kept = append(kept, c)
	}
	return kept, notes, nil
}

// Analyze runs the emergence analysis on a ladder: every (task, metric)
// against parameters (with the forecast), and against eval loss (with the
// loss threshold). It returns analysis.json's bytes (AnalysisDocument,
// one result a line inside it, each as emlab analyze --json writes it) and
// notes on what it had to leave out.
func Analyze(ctx context.Context, ladder []*rundir.Run, o AnalyzeOptions) ([]byte, []string, error) {
	var buf bytes.Buffer
	var notes []string
	fmt.Fprintf(&buf, "{\"format\": %q, \"version\": %d, \"results\": [\n", AnalysisFormat, AnalysisVersion)
	first := true
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, axis := range []string{stats.AxisParams, stats.AxisEvalLoss} {
		curves, n, err := Curves(ladder, axis)
		if err != nil {
			return nil, notes, fmt.Errorf("analyse against %s: %w", axis, err)
		}
		notes = append(notes, n...)
		var kept []*stats.Curve
		for _, c := range curves {
			if len(o.Metrics) == 0 || slices.Contains(o.Metrics, c.Metric) {
				kept = append(kept, c)
			}
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
			if !first {
				// The separator goes before the next result, after the
				// previous one's newline: each result keeps a line of its
				// own, byte for byte an emlab analyze --json line.
				buf.Truncate(buf.Len() - 1)
				buf.WriteString(",\n")
			}
			first = false
			if err := enc.Encode(r); err != nil {
				return nil, notes, fmt.Errorf("encode analysis: %w", err)
			}
		}
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), notes, nil
}
