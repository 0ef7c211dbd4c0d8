package stats

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"emlab/internal/rundir"
)

// Axis names: what x measures (package rundir names them). All axes are
// positive and analysed in log10; eval_loss is the one axis where a larger
// model sits at a smaller x.
const (
	AxisParams       = rundir.AxisParams
	AxisNonEmbedding = rundir.AxisNonEmbedding
	AxisTokens       = rundir.AxisTokens
	AxisFLOPs        = rundir.AxisFLOPs
	AxisStep         = rundir.AxisStep
	AxisEvalLoss     = rundir.AxisEvalLoss
)

// Axes lists the axis names accepted by ReadRuns and the analysis.
var Axes = rundir.Axes

// ValidAxis reports whether name is one of Axes. An empty name means "x as
// given" (CSV input) and is also accepted.
func ValidAxis(name string) bool {
	if name == "" {
		return true
	}
	for _, a := range Axes {
		if a == name {
			return true
		}
	}
	return false
}

// scaleDir is +1 when a larger x means a larger model or more training and
// −1 for eval_loss, where scale grows as x shrinks. Internally every curve
// is analysed on t = scaleDir·log10(x), so "small scale" is always small t.
func scaleDir(axis string) float64 {
	if axis == AxisEvalLoss {
		return -1
	}
	return 1
}

// Point is one observation of a (task, metric) curve.
type Point struct {
	X     float64 // the scale, > 0, in the units of the curve's axis
	Value float64 // the score (for accuracy-type metrics a fraction in [0, 1])
	// Seed identifies the replicate; points with the same X and different
	// seeds are pooled. Empty when unknown.
	Seed string
	// N is the number of evaluation items behind Value; 0 when unknown.
	N int
	// Stderr is the standard error of Value; 0 when unknown.
	Stderr float64
	// Group names the model the point comes from (for the loss view, where
	// one curve per model size is compared with one curve for all); empty
	// when unknown.
	Group string
	// Line is where the point was read (CSV line, or "dir:step"), for errors.
	Line string
}

// Curve is one (task, metric) series.
type Curve struct {
	Task, Metric string
	Axis         string // one of Axes, or "" when x is whatever the CSV said
	// Chance is the score of random guessing; meaningful only if HasChance.
	Chance    float64
	HasChance bool
	Points    []Point
}

// Key is "task/metric", the curve's name in errors and output.
func (c *Curve) Key() string { return c.Task + "/" + c.Metric }

// Level is all the points of a curve at one x, pooled over seeds.
type Level struct {
	X     float64
	T     float64 // scaleDir·log10(X)
	Mean  float64 // mean over seeds
	SD    float64 // standard deviation across seeds; 0 with one seed
	Seeds int     // number of points pooled
	N     int     // items summed over the pooled points; 0 when unknown
	// Items is the fewest items behind any one pooled evaluation (0 when
	// some point has no item count): seeds scored on the same items do not
	// add items, so this is what a claim at this level rests on.
	Items int
	// Var is the variance of Mean used to weight fits: the larger of the
	// between-seed variance SD²/Seeds and the item (sampling) variance,
	// or 0 when neither is known (then fits are unweighted).
	Var    float64
	points []Point
}

// ErrTooFewLevels is wrapped by Pool-based analyses when a curve has fewer
// distinct x values than the analysis needs.
var ErrTooFewLevels = fmt.Errorf("too few distinct x values")

// maxAbsValue bounds scores so that squared residuals stay finite.
const maxAbsValue = 1e100

// Validate checks a curve's points: finite values, positive finite x, no
// duplicate (x, seed, group). Errors name the curve, the point and the line.
func (c *Curve) Validate() error {
	if len(c.Points) == 0 {
		return fmt.Errorf("curve %s: no points", c.Key())
	}
	type key struct {
		x           float64
		seed, group string
	}
	seen := make(map[key]string, len(c.Points))
	for _, p := range c.Points {
		where := ""
		if p.Line != "" {
			where = " (" + p.Line + ")"
		}
		if math.IsNaN(p.X) || math.IsInf(p.X, 0) {
			return fmt.Errorf("curve %s: x is %v%s: x must be a finite number", c.Key(), p.X, where)
		}
		if p.X <= 0 {
			return fmt.Errorf("curve %s: non-positive x=%g%s: scale axes are analysed in log10 and must be > 0", c.Key(), p.X, where)
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			return fmt.Errorf("curve %s: value is %v at x=%g%s", c.Key(), p.Value, p.X, where)
		}
		if math.Abs(p.Value) > maxAbsValue {
			return fmt.Errorf("curve %s: value %g at x=%g%s is out of range (|value| ≤ %g; rescale the metric)", c.Key(), p.Value, p.X, where, maxAbsValue)
		}
		if p.N < 0 {
			return fmt.Errorf("curve %s: negative item count n=%d at x=%g%s", c.Key(), p.N, p.X, where)
		}
		if p.Stderr < 0 || math.IsNaN(p.Stderr) || math.IsInf(p.Stderr, 0) {
			return fmt.Errorf("curve %s: invalid stderr %v at x=%g%s", c.Key(), p.Stderr, p.X, where)
		}
		k := key{p.X, p.Seed, p.Group}
		if prev, dup := seen[k]; dup {
			seed := ""
			if p.Seed != "" {
				seed = " seed " + strconv.Quote(p.Seed)
			}
			return fmt.Errorf("curve %s: duplicate x=%g%s (%s and %s): give each replicate its own seed", c.Key(), p.X, seed, prev, p.Line)
		}
		seen[k] = p.Line
	}
	if c.HasChance && !(c.Chance >= 0 && c.Chance <= 1) {
		return fmt.Errorf("curve %s: chance %v is not a probability in [0, 1]", c.Key(), c.Chance)
	}
	if !utf8.ValidString(c.Task) || !utf8.ValidString(c.Metric) {
		return fmt.Errorf("curve %q/%q: task and metric names must be valid UTF-8", c.Task, c.Metric)
	}
	return nil
}

// Pool validates the curve and groups its points by x, sorted by increasing
// scale (increasing t). Several seeds at one x are pooled into their mean
// and spread.
func Pool(c *Curve) ([]Level, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	byX := map[float64][]Point{}
	for _, p := range c.Points {
		byX[p.X] = append(byX[p.X], p)
	}
	dir := scaleDir(c.Axis)
	levels := make([]Level, 0, len(byX))
	for x, ps := range byX {
		levels = append(levels, makeLevel(x, dir, ps))
	}
	sort.Slice(levels, func(i, j int) bool { return levels[i].T < levels[j].T })
	poolSeedVariance(levels)
	return levels, nil
}

// poolSeedVariance gives every level a variance when some level has none
// but the curve has replicate seeds: the pooled within-level variance
// s² = Σ_levels Σ_seeds (v − mean)² / Σ_levels (k − 1), divided by each
// level's k (the pure-error estimate of a one-way layout, assuming equal
// spread at every scale). It needs at least 3 replicate degrees of freedom.
func poolSeedVariance(levels []Level) {
	for _, l := range levels {
		if l.Var <= 0 {
			goto pool
		}
	}
	return
pool:
	var ss float64
	dof := 0
	for _, l := range levels {
		dof += l.Seeds - 1
		ss += l.SD * l.SD * float64(l.Seeds-1)
	}
	if dof < 3 || ss <= 0 {
		return
	}
	s2 := ss / float64(dof)
	for i := range levels {
		levels[i].Var = s2 / float64(levels[i].Seeds)
	}
}

// makeLevel pools points at one x. The item variance of an accuracy with n
// items uses p̃ = (p·n + 0.5)/(n + 1) in place of p, so a score of exactly
// 0 or 1 still has a non-zero variance (the Jeffreys-prior mean; without it a
// 0/100 point would get an infinite weight).
func makeLevel(x, dir float64, ps []Point) Level {
	l := Level{X: x, T: dir * math.Log10(x), Seeds: len(ps), points: ps}
	var sum float64
	for _, p := range ps {
		sum += p.Value
	}
	l.Mean = sum / float64(len(ps))
	if len(ps) > 1 {
		var ss float64
		for _, p := range ps {
			ss += (p.Value - l.Mean) * (p.Value - l.Mean)
		}
		l.SD = math.Sqrt(ss / float64(len(ps)-1))
	}
	// Item variance of the mean: average per-point variance / k.
	var itemVar float64
	known := true
	for i, p := range ps {
		l.N += p.N
		if i == 0 || p.N < l.Items {
			l.Items = p.N
		}
		v := pointVar(p)
		if v <= 0 {
			known = false
		}
		itemVar += v
	}
	k := float64(len(ps))
	itemVar /= k * k
	between := 0.0
	if len(ps) > 1 {
		between = l.SD * l.SD / k
	}
	if !known {
		itemVar = 0
	}
	l.Var = math.Max(itemVar, between)
	if !known && len(ps) < 3 {
		// Two seeds give a between-seed variance too noisy to weight by
		// (a chance agreement would give that level a huge weight).
		l.Var = 0
	}
	return l
}

// pointVar is the sampling variance of one point's value, 0 if unknown.
func pointVar(p Point) float64 {
	if p.Stderr > 0 {
		return p.Stderr * p.Stderr
	}
	if p.N > 0 && p.Value >= 0 && p.Value <= 1 {
		n := float64(p.N)
		pt := (p.Value*n + 0.5) / (n + 1)
		return pt * (1 - pt) / n
	}
	return 0
}

// levelsXY returns the t, mean and sampling-variance vectors of levels;
// known reports whether every level has a variance (else v is all 0 and
// fits estimate one residual variance instead).
func levelsXY(levels []Level) (t, y, v []float64, known bool) {
	n := len(levels)
	t, y, v = make([]float64, n), make([]float64, n), make([]float64, n)
	known = true
	for i, l := range levels {
		t[i], y[i] = l.T, l.Mean
		if l.Var <= 0 {
			known = false
		}
	}
	if known {
		for i, l := range levels {
			v[i] = l.Var
		}
	}
	return t, y, v, known
}
