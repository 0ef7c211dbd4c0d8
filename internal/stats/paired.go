package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Paired comparisons of two runs scored on the same items. The usual
// unpaired z test treats the two accuracies as independent; on the same
// items they are not (an easy item is easy for both), and the paired tests
// below use only what differs item by item.

// McNemarExactBelow is the number of discordant pairs below which McNemar's
// test uses the exact binomial distribution instead of the χ² approximation
// (the usual rule: the approximation needs b + c ≥ 25).
const McNemarExactBelow = 25

// McNemarResult is McNemar's test (McNemar 1947) of two classifiers' paired
// right/wrong outcomes on the same items.
type McNemarResult struct {
	// N is the number of items; B counts those A got right and B wrong, C
	// those A got wrong and B right (the discordant pairs).
	N    int     `json:"n"`
	B    int     `json:"b"`
	C    int     `json:"c"`
	Diff float64 `json:"diff"` // accuracy of B minus accuracy of A: (C − B)/N
	// Method is "exact" (two-sided binomial test of B against
	// Binomial(B + C, ½)) when B + C < McNemarExactBelow, else "chi2_cc"
	// (χ² = (|B − C| − 1)²/(B + C) on one degree of freedom, Edwards'
	// continuity correction).
	Method    string  `json:"method"`
	Statistic float64 `json:"statistic"` // the χ²; NaN for the exact test
	P         float64 `json:"p"`         // two-sided
}

// MarshalJSON writes the result with an undefined statistic as null.
func (r McNemarResult) MarshalJSON() ([]byte, error) { return json.Marshal(jsonValue(r)) }

// McNemar compares paired outcomes: a[i] and b[i] say whether runs A and B
// got item i right. It is an error for the slices to differ in length or be
// empty.
func McNemar(a, b []bool) (McNemarResult, error) {
	if len(a) != len(b) {
		return McNemarResult{}, fmt.Errorf("mcnemar: %d outcomes for A and %d for B: paired tests need the same items", len(a), len(b))
	}
	if len(a) == 0 {
		return McNemarResult{}, fmt.Errorf("mcnemar: no items")
	}
	var nb, nc int
	for i := range a {
		switch {
		case a[i] && !b[i]:
			nb++
		case !a[i] && b[i]:
			nc++
		}
	}
	return McNemarCounts(nb, nc, len(a)), nil
}

// McNemarCounts is McNemar's test from the discordant counts b (A right, B
// wrong) and c (A wrong, B right) out of n paired items.
func McNemarCounts(b, c, n int) McNemarResult {
	r := McNemarResult{N: n, B: b, C: c, Statistic: math.NaN()}
	if n > 0 {
		r.Diff = float64(c-b) / float64(n)
	}
	d := b + c
	switch {
	case d == 0:
		r.Method, r.P = "exact", 1
	case d < McNemarExactBelow:
		r.Method = "exact"
		k := float64(min(b, c))
		r.P = math.Min(1, 2*distuv.Binomial{N: float64(d), P: 0.5}.CDF(k))
	default:
		r.Method = "chi2_cc"
		x := math.Abs(float64(b-c)) - 1
		r.Statistic = math.Max(x, 0) * math.Max(x, 0) / float64(d)
		r.P = distuv.ChiSquared{K: 1}.Survival(r.Statistic)
	}
	return r
}

// PairedDiff is the mean paired difference of a score (B minus A over the
// same items) with its bootstrap interval.
type PairedDiff struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"` // mean over items of b[i] − a[i]
	// Lo and Hi are the percentile interval at the requested level, SE the
	// standard deviation of the bootstrap replicates.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	SE float64 `json:"se"`
	// P is the two-sided bootstrap p-value of "no difference": twice the
	// smaller share of replicates on either side of 0 (each count + 1 over
	// Boot + 1, so it is never 0).
	P    float64 `json:"p"`
	Boot int     `json:"boot"`
}

// MarshalJSON writes the difference with lo, hi and se (null when
// undefined).
func (d PairedDiff) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"n": d.N, "mean": jsonNum(d.Mean), "lo": jsonNum(d.Lo), "hi": jsonNum(d.Hi),
		"se": jsonNum(d.SE), "p": jsonNum(d.P), "boot": d.Boot})
}

// PairedBootstrap resamples items with replacement — the same items for
// both runs, which is what makes it paired — and returns the mean
// difference b − a with a percentile interval (o.Boot replicates at
// o.Level; Efron & Tibshirani 1993, §16.4). Replicates are drawn in fixed
// chunks seeded by (o.Seed, label, chunk index), so the result does not
// depend on o.Workers. a and b must have the same, non-zero length and
// finite values.
func PairedBootstrap(ctx context.Context, label string, a, b []float64, o Options) (PairedDiff, error) {
	if len(a) != len(b) {
		return PairedDiff{}, fmt.Errorf("paired bootstrap %s: %d scores for A and %d for B: paired tests need the same items", label, len(a), len(b))
	}
	n := len(a)
	if n == 0 {
		return PairedDiff{}, fmt.Errorf("paired bootstrap %s: no items", label)
	}
	if o.Boot < 1 || !(o.Level > 0 && o.Level < 1) {
		return PairedDiff{}, fmt.Errorf("paired bootstrap %s: need ≥ 1 replicate and a level in (0, 1), got %d and %g", label, o.Boot, o.Level)
	}
	d := make([]float64, n)
	var sum float64
	for i := range a {
		d[i] = b[i] - a[i]
		if math.IsNaN(d[i]) || math.IsInf(d[i], 0) {
			return PairedDiff{}, fmt.Errorf("paired bootstrap %s: item %d: scores %v and %v are not finite", label, i, a[i], b[i])
		}
		sum += d[i]
	}
	out := PairedDiff{N: n, Mean: sum / float64(n), Boot: o.Boot}
	reps := make([]float64, o.Boot)
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "paired/"+label, func(rng *rand.Rand, r int) {
		var s float64
		for i := 0; i < n; i++ {
			s += d[rng.IntN(n)]
		}
		reps[r] = s / float64(n)
	})
	if err != nil {
		return PairedDiff{}, fmt.Errorf("paired bootstrap %s: %w", label, err)
	}
	q := (1 - o.Level) / 2
	out.Lo, out.Hi = quantile(reps, q), quantile(reps, 1-q)
	var m, below, above float64
	for _, v := range reps {
		m += v
		if v <= 0 {
			below++
		}
		if v >= 0 {
			above++
		}
	}
	m /= float64(o.Boot)
	var ss float64
	for _, v := range reps {
		ss += (v - m) * (v - m)
	}
	if o.Boot > 1 {
		out.SE = math.Sqrt(ss / float64(o.Boot-1))
	}
	out.P = math.Min(1, 2*math.Min(below+1, above+1)/float64(o.Boot+1))
	return out, nil
}

// Comparison is a paired comparison of one metric of two runs scored on the
// same items (CompareItems).
type Comparison struct {
	Task   string `json:"task"`
	Metric string `json:"metric"`
	// Test is "mcnemar" for a sharp metric (a whole answer right or wrong)
	// and "paired_bootstrap" for a smooth one.
	Test  string  `json:"test"`
	N     int     `json:"n"`
	MeanA float64 `json:"mean_a"`
	MeanB float64 `json:"mean_b"`
	// Diff is the mean over items of B − A, with the paired bootstrap's
	// percentile interval [Lo, Hi] at the options' level.
	Diff float64 `json:"diff"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	// P is the two-sided p-value of "no difference": McNemar's for a sharp
	// metric, the paired bootstrap's for a smooth one.
	P float64 `json:"p"`
	// McNemar is the test's detail for a sharp metric (nil otherwise).
	McNemar *McNemarResult `json:"mcnemar,omitempty"`
	// LowerIsBetter: B is better when Diff < 0.
	LowerIsBetter bool `json:"lower_is_better"`
}

// MarshalJSON writes the comparison with undefined numbers as null.
func (c Comparison) MarshalJSON() ([]byte, error) { return json.Marshal(jsonValue(c)) }

// ItemMismatchError says that two runs were not scored on the same items,
// which a paired test needs.
type ItemMismatchError struct {
	Task, Metric   string
	OnlyA, OnlyB   []string // item ids (sorted; at most a few are named)
	NOnlyA, NOnlyB int
}

func (e *ItemMismatchError) Error() string {
	name := func(ids []string, n int) string {
		if n == 0 {
			return "none"
		}
		return fmt.Sprintf("%d, e.g. %q", n, ids[0])
	}
	return fmt.Sprintf("%s %s: the runs were not scored on the same items (only in A: %s; only in B: %s): a paired test needs the same items in both (evaluate both runs with the same tasks and --n)",
		e.Task, e.Metric, name(e.OnlyA, e.NOnlyA), name(e.OnlyB, e.NOnlyB))
}

// CompareItems compares one metric of runs A and B item by item: a and b
// map item ids to the item's score. The item sets must be equal (else an
// *ItemMismatchError). A sharp metric (its kind in rundir's vocabulary,
// aliases resolved; a score ≥ 0.5 is right) gets McNemar's test, any other
// the paired bootstrap's p-value; both get the paired bootstrap's interval
// of the mean difference B − A (o.Boot replicates at o.Level, seeded by
// o.Seed and the task and metric, over the items in sorted order).
func CompareItems(ctx context.Context, task, metric string, a, b map[string]float64, o Options) (*Comparison, error) {
	var onlyA, onlyB []string
	for id := range a {
		if _, ok := b[id]; !ok {
			onlyA = append(onlyA, id)
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			onlyB = append(onlyB, id)
		}
	}
	if len(onlyA) > 0 || len(onlyB) > 0 {
		sort.Strings(onlyA)
		sort.Strings(onlyB)
		return nil, &ItemMismatchError{Task: task, Metric: metric, OnlyA: onlyA[:min(3, len(onlyA))], OnlyB: onlyB[:min(3, len(onlyB))],
			NOnlyA: len(onlyA), NOnlyB: len(onlyB)}
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("%s %s: no items to compare", task, metric)
	}
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	xa, xb := make([]float64, len(ids)), make([]float64, len(ids))
	for i, id := range ids {
		xa[i], xb[i] = a[id], b[id]
	}
	d, err := PairedBootstrap(ctx, task+"/"+metric, xa, xb, o)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", task, metric, err)
	}
	c := &Comparison{Task: task, Metric: metric, Test: "paired_bootstrap", N: len(ids), Diff: d.Mean, Lo: d.Lo, Hi: d.Hi, P: d.P,
		LowerIsBetter: MetricLowerIsBetter(metric)}
	for i := range ids {
		c.MeanA += xa[i] / float64(len(ids))
		c.MeanB += xb[i] / float64(len(ids))
	}
	if isSharpMetric(metric) {
		ra, rb := make([]bool, len(ids)), make([]bool, len(ids))
		for i := range ids {
			ra[i], rb[i] = xa[i] >= 0.5, xb[i] >= 0.5
		}
		m, err := McNemar(ra, rb)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", task, metric, err)
		}
		c.Test, c.P, c.McNemar = "mcnemar", m.P, &m
	}
	return c, nil
}
