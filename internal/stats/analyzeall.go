package stats

import (
	"context"
	"math"
	"runtime"
	"strings"
	"sync"

	"emlab/internal/rundir"
)

// Metric names the mirage test looks for when AnalyzeConfig does not name
// them, the first present is used: the sharp metrics and the per-token
// accuracy in rundir's order of preference, each followed by the aliases
// user tables spell it with.
var (
	SharpMetricNames = namesOf(rundir.SharpMetrics())
	TokenMetricNames = namesOf([]string{rundir.TokenAccuracy})
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
//
// Curves are analysed in parallel (cfg.Workers, ≤ 0: all CPUs), each on its
// own, so the results do not depend on the number of workers; curves with
// the same levels share their model fits (fitMemo), which are the same.
func AnalyzeCurves(ctx context.Context, curves []*Curve, cfg AnalyzeConfig) ([]*Result, error) {
	results := make([]*Result, len(curves))
	errs := make([]error, len(curves))
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	memo := newFitMemo()
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(curves)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i], errs[i] = analyzeOne(ctx, curves[i], cfg, memo)
			}
		}()
	}
	for i := range curves {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	attachMirage(results, cfg)
	return results, nil
}

func analyzeOne(ctx context.Context, c *Curve, cfg AnalyzeConfig, memo *fitMemo) (*Result, error) {
	r, err := analyze(ctx, c, cfg.Options, memo)
	if IsTooFew(err) {
		return tooFewResult(c, err), nil
	}
	if err != nil {
		return nil, err
	}
	if r.NotApplicable != "" {
		if cfg.LossView {
			r.add(Evidence{Test: "loss_threshold", Pass: false, Detail: "not applicable: " + r.NotApplicable})
		}
		return r, nil
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
		fc, err := ForecastAnalyzed(ctx, c, r, cfg.Forecast, cfg.Options)
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

// tooFewResult is the insufficient result of a curve with fewer than four
// levels: the reason, and the descriptive numbers (pooled levels, items,
// BIG-bench scores) without fits.
func tooFewResult(c *Curve, err error) *Result {
	nan := math.NaN()
	r := &Result{Task: c.Task, Metric: c.Metric, Axis: c.Axis, Verdict: VerdictInsufficient, Direction: DirectionNone,
		Reason: err.Error(), LowerIsBetter: MetricLowerIsBetter(c.Metric), FamilySD: nan, smoothGOFP: nan,
		XStar: nan, XStarLo: nan, XStarHi: nan, XCross: nan, XCrossLo: nan, XCrossHi: nan,
		Evidence: []Evidence{{Test: "levels", Pass: false, Detail: err.Error()}}}
	levels, perr := Pool(c)
	if perr != nil {
		return r
	}
	r.Levels = levels
	r.NMin = levels[0].Items
	y := make([]float64, len(levels))
	for i, l := range levels {
		r.NMin = min(r.NMin, l.Items)
		y[i] = Orientation(c.Metric) * l.Mean
	}
	r.FewItems = r.NMin > 0 && r.NMin < MinItems
	ok, _ := chanceApplies(c, y)
	yn := normalise(y, c.Chance, ok)
	r.Breakthroughness, r.Linearity = Breakthroughness(yn, BigBenchEpsilon), Linearity(yn, BigBenchEpsilon)
	return r
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
				if strings.EqualFold(r.Metric, n) {
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
		if sharp == nil {
			continue
		}
		var others []*Result
		for _, r := range rs {
			if r != sharp {
				others = append(others, r)
			}
		}
		var pp *Result
		if q := pick(others, cfg.TokenMetric, TokenMetricNames); q != nil && q.Verdict != VerdictInsufficient {
			pp = q
		}
		sharp.Mirage = JudgeMirage(sharp, others, pp, cfg.AnswerLen)
	}
}
