package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Collapse asks which axis of scale an ability tracks. Runs from several
// designs (a size ladder, a data ladder at one size, iso-FLOP groups) are
// placed on each candidate axis — parameters, tokens, FLOPs — and one
// logistic in log x is fitted to all of them at once:
//
//	y = floor + (ceiling − floor)·σ((log10 x − m)/s)
//
// On the axis the ability tracks, the designs fall on that one curve (a
// high R²); on the others they scatter (a data ladder at one size is a
// vertical line against parameters). The bootstrap resamples runs — the
// same runs on every axis — so the difference of R² between two axes gets
// an interval.
type Collapse struct {
	Key  string
	Axes []CollapseAxis
	// Best is the axis with the highest R², Second the runner-up, and
	// Margin = R²(Best) − R²(Second) with its bootstrap interval.
	Best, Second string
	Margin       Interval
	Points       int
}

// CollapseAxis is the single-curve fit on one axis: the midpoint x* (in
// the axis's units) with its interval, the 10–90 % rise in decades, and R²
// with its interval.
type CollapseAxis struct {
	Axis           string
	XMid           Interval
	RiseDecades    float64
	R2             Interval
	Floor, Ceiling float64
	// AtBound names what of this fit sits at a limit the fit imposed
	// rather than where the runs put it (collapseAtBound): "x_mid" at the
	// edge of the midpoint grid, "rise_10_90_decades" at a limit of the
	// width grid or unresolved from a step, "ceiling" ("floor") imposed
	// and never approached. Empty, never nil, when none is; BoundNote
	// says what it means.
	AtBound []string
}

// The grid logisticGrid searches: midpoints collapseMidStep decades apart
// from collapseMidReach decades before the data to as far after, widths s
// from collapseMinWidth to collapseMaxWidth decades (collapseWidths
// log-spaced values). collapseAtBound reads the same limits.
const (
	collapseMidReach = 0.5
	collapseMidStep  = 0.05
	collapseMinWidth = 0.01
	collapseMaxWidth = 3.0
	collapseWidths   = 24
	collapseFineStep = 0.005
)

// collapseWidth is the j-th width of the coarse grid (fractional j for
// the fine one).
func collapseWidth(j float64) float64 {
	return collapseMinWidth * math.Pow(collapseMaxWidth/collapseMinWidth, j/(collapseWidths-1))
}

// logisticRSS is the residual sum of squares of y about lo + (hi −
// lo)·σ((t − m)/s), stopping once it reaches stop.
func logisticRSS(t, y []float64, lo, hi, m, s, stop float64) float64 {
	var rss float64
	for k := range t {
		d := y[k] - (lo + (hi-lo)*logistic((t[k]-m)/s))
		rss += d * d
		if rss >= stop {
			break
		}
	}
	return rss
}

// logisticGrid fits y = lo + (hi − lo)·σ((t − m)/s) by least squares on
// a grid, coarse then fine: the coarse grid above; then collapseFineStep
// decades apart within ±0.05 of the best midpoint and 20 widths between its
// neighbours on the coarse grid. It returns m, s and the R².
func logisticGrid(t, y []float64, lo, hi float64) (m, s, r2 float64) {
	tmin, tmax := rangeOf(t)
	best := math.Inf(1)
	try := func(mm, ss float64) {
		if rss := logisticRSS(t, y, lo, hi, mm, ss, best); rss < best {
			best, m, s = rss, mm, ss
		}
	}
	for i := 0; tmin-collapseMidReach+collapseMidStep*float64(i) <= tmax+collapseMidReach; i++ {
		for j := range collapseWidths {
			try(tmin-collapseMidReach+collapseMidStep*float64(i), collapseWidth(float64(j)))
		}
	}
	m0, j0 := m, math.Round(float64(collapseWidths-1)*math.Log(s/collapseMinWidth)/math.Log(collapseMaxWidth/collapseMinWidth))
	for i := -10; i <= 10; i++ {
		for j := range 21 {
			try(m0+collapseFineStep*float64(i), collapseWidth(j0-1+float64(j)/10))
		}
	}
	return m, s, 1 - best/totalSS(y)
}

// CollapseAxes fits the single curve on each axis: x[a][i] is point i's
// scale on axes[a] (> 0), y[i] its score, floor and ceiling the score's
// bounds (chance and 1 for an accuracy). Intervals come from o.Boot
// bootstrap replicates over points at o.Level. It needs at least 4
// points with a spread of scores.
func CollapseAxes(ctx context.Context, key string, axes []string, x [][]float64, y []float64, floor, ceiling float64, o Options) (*Collapse, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	n := len(y)
	if len(axes) < 2 || len(x) != len(axes) {
		return nil, fmt.Errorf("collapse %s: need at least 2 axes with their scales, got %d axes and %d scale lists", key, len(axes), len(x))
	}
	if !(ceiling > floor) {
		return nil, fmt.Errorf("collapse %s: ceiling %g must exceed floor %g", key, ceiling, floor)
	}
	ts := make([][]float64, len(axes))
	for a := range axes {
		if len(x[a]) != n {
			return nil, fmt.Errorf("collapse %s: axis %s has %d scales for %d scores", key, axes[a], len(x[a]), n)
		}
		ts[a] = make([]float64, n)
		for i, v := range x[a] {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("collapse %s: axis %s, point %d: scale %v must be positive and finite", key, axes[a], i, v)
			}
			ts[a][i] = math.Log10(v)
		}
	}
	if n < 4 {
		return nil, fmt.Errorf("collapse %s: %w: %d points, need at least 4", key, ErrTooFewLevels, n)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("collapse %s: point %d: score %v", key, i, v)
		}
	}
	if lo, hi := rangeOf(y); hi-lo < 1e-9 {
		return nil, fmt.Errorf("collapse %s: every score is %g: nothing to order", key, lo)
	}
	out := &Collapse{Key: key, Points: n}
	for a, name := range axes {
		m, s, r2 := logisticGrid(ts[a], y, floor, ceiling)
		out.Axes = append(out.Axes, CollapseAxis{Axis: name, XMid: Interval{math.Pow(10, m), math.NaN(), math.NaN()},
			RiseDecades: 2 * math.Log(9) * s, R2: Interval{r2, math.NaN(), math.NaN()}, Floor: floor, Ceiling: ceiling,
			AtBound: collapseAtBound(ts[a], y, floor, ceiling, m, s)})
	}
	bi, si := -1, -1
	for a := range out.Axes {
		switch {
		case bi < 0 || out.Axes[a].R2.Value > out.Axes[bi].R2.Value:
			bi, si = a, bi
		case si < 0 || out.Axes[a].R2.Value > out.Axes[si].R2.Value:
			si = a
		}
	}
	out.Best, out.Second = axes[bi], axes[si]
	out.Margin = Interval{out.Axes[bi].R2.Value - out.Axes[si].R2.Value, math.NaN(), math.NaN()}
	if o.Boot == 0 {
		return out, nil
	}
	mids := make([][]float64, len(axes))
	r2s := make([][]float64, len(axes))
	for a := range axes {
		mids[a], r2s[a] = make([]float64, o.Boot), make([]float64, o.Boot)
	}
	margins := make([]float64, o.Boot)
	err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "collapse/"+key, func(rng *rand.Rand, b int) {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		yb := make([]float64, n)
		for i, j := range idx {
			yb[i] = y[j]
		}
		for a := range axes {
			tb := make([]float64, n)
			for i, j := range idx {
				tb[i] = ts[a][j]
			}
			if lo, hi := rangeOf(yb); hi-lo < 1e-9 {
				mids[a][b], r2s[a][b] = math.NaN(), math.NaN()
				continue
			}
			m, _, r2 := logisticGrid(tb, yb, floor, ceiling)
			mids[a][b], r2s[a][b] = math.Pow(10, m), r2
		}
		margins[b] = r2s[bi][b] - r2s[si][b]
	})
	if err != nil {
		return nil, fmt.Errorf("collapse %s: bootstrap: %w", key, err)
	}
	q := (1 - o.Level) / 2
	finite := func(v []float64) []float64 {
		var out []float64
		for _, x := range v {
			if !math.IsNaN(x) {
				out = append(out, x)
			}
		}
		return out
	}
	for a := range axes {
		m, r := finite(mids[a]), finite(r2s[a])
		out.Axes[a].XMid.Lo, out.Axes[a].XMid.Hi = quantile(m, q), quantile(m, 1-q)
		out.Axes[a].R2.Lo, out.Axes[a].R2.Hi = quantile(r, q), quantile(r, 1-q)
	}
	mg := finite(margins)
	out.Margin.Lo, out.Margin.Hi = quantile(mg, q), quantile(mg, 1-q)
	return out, nil
}
