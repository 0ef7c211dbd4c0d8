package stats

import (
	"context"
	"math"
)

// Metric names the mirage test looks for when AnalyzeConfig does not name
// them: the first present is used.
var (
	SharpMetricNames = []string{"exact_match", "em", "mc_grade", "accuracy", "acc"}
	TokenMetricNames = []string{"token_accuracy", "token_acc", "per_token_acc", "digit_acc", "char_acc", "position_acc", "per_position_acc"}
)

// AnalyzeConfig selects the analyses AnalyzeCurves runs besides Analyze.
type AnalyzeConfig struct {
	Options
	// Forecast > 0 holds out that many largest rungs and forecasts them.
	Forecast int
	// LossView fits the loss threshold (x must be eval loss).
	LossView bool
	// SharpMetric and TokenMetric name the mirage test's metrics; empty
	// picks from SharpMetricNames and TokenMetricNames.
	SharpMetric, TokenMetric string
	// AnswerLen is L for the p^L check; 0 fits it.
	AnswerLen float64
}

// AnalyzeCurves analyses every curve in order. A curve with too few levels
// yields an "insufficient" result whose evidence says why, rather than an
// error; other errors (invalid data, cancellation) stop the run. Tasks
// scored with several metrics get the mirage test on their sharp metric.
func AnalyzeCurves(ctx context.Context, curves []*Curve, cfg AnalyzeConfig) ([]*Result, error) {
	results := make([]*Result, 0, len(curves))
	for _, c := range curves {
		r, err := analyzeOne(ctx, c, cfg)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	attachMirage(results, cfg)
	return results, nil
}

func analyzeOne(ctx context.Context, c *Curve, cfg AnalyzeConfig) (*Result, error) {
	r, err := Analyze(ctx, c, cfg.Options)
	if IsTooFew(err) {
		nan := math.NaN()
		return &Result{Task: c.Task, Metric: c.Metric, Axis: c.Axis, Verdict: VerdictInsufficient,
			XStar: nan, XStarLo: nan, XStarHi: nan, XCross: nan, XCrossLo: nan, XCrossHi: nan,
			Evidence: []Evidence{{Test: "levels", Pass: false, Detail: err.Error()}}}, nil
	}
	if err != nil {
		return nil, err
	}
	if cfg.LossView {
		lt, err := FitLossThreshold(ctx, c.Key(), c.Points, cfg.Options)
		switch {
		case IsTooFew(err):
			r.add(Evidence{Test: "loss_threshold", Pass: false, Detail: err.Error()})
		case err != nil:
			return nil, err
		default:
			r.Loss = lt
		}
	}
	if cfg.Forecast > 0 {
		fc, err := ForecastCurve(ctx, c, cfg.Forecast, cfg.Options)
		switch {
		case IsTooFew(err):
			r.add(Evidence{Test: "forecast", Pass: false, Detail: err.Error()})
		case err != nil:
			return nil, err
		default:
			r.Forecast = fc
		}
	}
	return r, nil
}

// attachMirage runs Mirage for every task scored with more than one metric
// and attaches it to the task's sharp metric.
func attachMirage(results []*Result, cfg AnalyzeConfig) {
	byTask := map[string][]*Result{}
	var order []string
	for _, r := range results {
		if _, ok := byTask[r.Task]; !ok {
			order = append(order, r.Task)
		}
		byTask[r.Task] = append(byTask[r.Task], r)
	}
	pick := func(rs []*Result, name string, defaults []string) *Result {
		names := defaults
		if name != "" {
			names = []string{name}
		}
		for _, n := range names {
			for _, r := range rs {
				if r.Metric == n {
					return r
				}
			}
		}
		return nil
	}
	for _, task := range order {
		rs := byTask[task]
		if len(rs) < 2 {
			continue
		}
		sharp := pick(rs, cfg.SharpMetric, SharpMetricNames)
		if sharp == nil || sharp.Verdict == VerdictInsufficient {
			continue
		}
		var others []*Result
		for _, r := range rs {
			if r != sharp && r.Verdict != VerdictInsufficient {
				others = append(others, r)
			}
		}
		pp := pick(others, cfg.TokenMetric, TokenMetricNames)
		sharp.Mirage = Mirage(sharp, others, pp, cfg.AnswerLen)
	}
}
