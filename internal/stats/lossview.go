package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// LossThreshold is the loss view of emergence (Du et al. 2024): the score
// plotted against eval loss over all model sizes and checkpoints, fitted by
// a flat-then-linear hinge
//
//	y = c + k·max(0, L* − L)
//
// so the score stays at c until the loss falls below the threshold L* and
// then improves linearly with further loss reduction. R2All is the R² of one
// hinge for all groups (model sizes) together and R2PerGroup that of one
// hinge per group; if R2All is close to R2PerGroup, the ability depends on
// the loss and not on which model reached it — Du et al.'s claim.
type LossThreshold struct {
	LStar      float64 `json:"L_star"`
	LStarLo    float64 `json:"L_star_lo"`
	LStarHi    float64 `json:"L_star_hi"`
	Floor      float64 `json:"floor"`
	Slope      float64 `json:"slope"` // score per unit of loss below L*
	R2All      float64 `json:"r2_all"`
	R2PerGroup float64 `json:"r2_per_group"` // NaN with fewer than 2 groups of ≥ 4 points
	Groups     int     `json:"groups"`
	Points     int     `json:"points"`
	// AtBound is ["L_star"] when L* sits at an end of the losses sampled,
	// where the grid it is profiled over ends and every L* beyond fits as
	// well (lossThresholdAtBound), and [] otherwise; BoundNote says which
	// end and what it leaves of L*, "" when none.
	AtBound   []string `json:"at_bound"`
	BoundNote string   `json:"bound_note,omitempty"`
}

// hingeGrid is how many steps the grid of L* has from the lowest loss
// observed to the highest.
const hingeGrid = 400

// hinge fits y = c + k·max(0, L* − L) by profiling L* over a grid of
// hingeGrid + 1 values spanning the observed losses (for fixed L* the model is linear in
// c and k). It returns L*, c, k and the residual sum of squares.
func hinge(loss, y []float64) (lstar, c, k, rss float64) {
	h := newHingeData(loss, y)
	return h.fit(nil)
}

// poissonBootAbove is the number of points above which the loss view's
// bootstrap draws Poisson(1) counts per point instead of a multinomial
// resample (see FitLossThreshold).
const poissonBootAbove = 100000

// poisson1 draws from the Poisson distribution with mean 1 by inversion.
func poisson1(rng *rand.Rand) int {
	u := rng.Float64()
	p := math.Exp(-1)
	cdf := p
	k := 0
	for u > cdf && k < 30 {
		k++
		p /= float64(k)
		cdf += p
	}
	return k
}

// hingeData holds points sorted by loss, so that for any threshold the
// points below it are a prefix and the regression sums come from running
// totals: a fit costs O(n + grid) instead of O(n · grid), which is what lets
// the loss view and its bootstrap run on a million checkpoints.
type hingeData struct {
	loss, y []float64 // sorted by loss
	pos     []int     // pos[i]: where original point i went
	lo, hi  float64
}

func newHingeData(loss, y []float64) *hingeData {
	n := len(loss)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return loss[idx[a]] < loss[idx[b]] })
	h := &hingeData{loss: make([]float64, n), y: make([]float64, n), pos: make([]int, n)}
	for j, i := range idx {
		h.loss[j], h.y[j], h.pos[i] = loss[i], y[i], j
	}
	h.lo, h.hi = rangeOf(loss)
	return h
}

// fit profiles L* over the grid with each point weighted by w (nil: 1; a
// bootstrap passes how often each sorted point was drawn). The threshold's
// grid and the tie rule (the first of equal residual sums) are the same for
// every weighting.
func (h *hingeData) fit(w []float64) (lstar, c, k, rss float64) {
	n := len(h.loss)
	wt := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	// Centre losses and scores for conditioning; h = max(0, L* − L) is
	// shift-invariant when L* and L move together.
	var W, my, ml float64
	for i := 0; i < n; i++ {
		W += wt(i)
		my += wt(i) * h.y[i]
		ml += wt(i) * h.loss[i]
	}
	my /= W
	ml /= W
	var syy float64
	for i := 0; i < n; i++ {
		d := h.y[i] - my
		syy += wt(i) * d * d
	}
	rss = math.Inf(1)
	const grid = hingeGrid
	var cw, cl, cl2, cy, cly float64 // running sums over points with L < L*
	j := 0
	for g := 0; g <= grid; g++ {
		ls := h.lo + (h.hi-h.lo)*float64(g)/grid
		for j < n && h.loss[j] < ls {
			wj, l, yc := wt(j), h.loss[j]-ml, h.y[j]-my
			cw += wj
			cl += wj * l
			cl2 += wj * l * l
			cy += wj * yc
			cly += wj * l * yc
			j++
		}
		lc := ls - ml
		sh := cw*lc - cl                // Σ w h
		shh := cw*lc*lc - 2*lc*cl + cl2 // Σ w h²
		shy := lc*cy - cly              // Σ w h (y − ȳ)
		shhc := shh - sh*sh/W           // Σ w (h − h̄)²
		kk, r := 0.0, syy
		if shhc > 1e-12*shh && shh > 0 {
			kk = shy / shhc
			r = math.Max(syy-shy*shy/shhc, 0)
		}
		if r < rss-1e-15*math.Max(1, syy) {
			lstar, k, rss = ls, kk, r
			c = my - kk*sh/W
		}
	}
	return lstar, c, k, rss
}

// FitLossThreshold fits the loss view to points whose X is the eval loss.
// The interval on L* is a percentile bootstrap over points (o.Boot
// replicates at o.Level). It needs at least 4 points with distinct losses.
func FitLossThreshold(ctx context.Context, key string, pts []Point, o Options) (*LossThreshold, error) {
	distinct := map[float64]bool{}
	loss, y := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		if !(p.X > 0) || math.IsInf(p.X, 0) || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			return nil, fmt.Errorf("loss view %s: invalid point loss=%g value=%g (%s)", key, p.X, p.Value, p.Line)
		}
		loss[i], y[i] = p.X, p.Value
		distinct[p.X] = true
	}
	if len(distinct) < 4 {
		return nil, fmt.Errorf("loss view %s: %w: %d distinct losses, need at least 4", key, ErrTooFewLevels, len(distinct))
	}
	lt := &LossThreshold{Points: len(pts), R2PerGroup: math.NaN(), LStarLo: math.NaN(), LStarHi: math.NaN()}
	var rss float64
	lt.LStar, lt.Floor, lt.Slope, rss = hinge(loss, y)
	lt.AtBound, lt.BoundNote = lossThresholdAtBound(loss, lt.LStar)
	tss := totalSS(y)
	lt.R2All = 1 - rss/tss

	groups := map[string][]int{}
	for i, p := range pts {
		groups[p.Group] = append(groups[p.Group], i)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	lt.Groups = len(names)
	if len(names) >= 2 {
		// Each size's hinge can end at an end of its own losses; only its
		// residual sum is used, which a hinge there (a constant or a line,
		// both hinges) reports as truly as any other.
		var rssG float64
		ok := true
		for _, g := range names {
			idx := groups[g]
			if len(idx) < 4 {
				ok = false
				break
			}
			gl, gy := make([]float64, len(idx)), make([]float64, len(idx))
			for j, i := range idx {
				gl[j], gy[j] = loss[i], y[i]
			}
			_, _, _, r := hinge(gl, gy)
			rssG += r
		}
		if ok {
			lt.R2PerGroup = 1 - rssG/tss
		}
	}
	if o.Boot > 0 {
		stars := make([]float64, o.Boot)
		hd := newHingeData(loss, y)
		err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "loss/"+key, func(rng *rand.Rand, b int) {
			// Resample points with replacement, as counts on the sorted
			// points (the same draws as copying them, without a sort per
			// replicate); above poissonBootAbove points, as independent
			// Poisson(1) counts (the Poisson bootstrap, Hanley & MacGibbon
			// 2006: the same resampling to O(1/n), drawn in memory order).
			// The grid spans the losses drawn, as a fit to the copied points
			// would.
			counts := make([]float64, len(loss))
			if len(loss) > poissonBootAbove {
				for j := range counts {
					counts[j] = float64(poisson1(rng))
				}
			} else {
				for range loss {
					counts[hd.pos[rng.IntN(len(loss))]]++
				}
			}
			first, last := 0, len(counts)-1
			for first < last && counts[first] == 0 {
				first++
			}
			for last > first && counts[last] == 0 {
				last--
			}
			// A replicate's L* can sit at an end of its draw's losses;
			// the interval is of L* as the replicates place it, and the
			// point fit's judgement (AtBound) says whether the data place
			// it at all.
			rep := *hd
			rep.lo, rep.hi = hd.loss[first], hd.loss[last]
			stars[b], _, _, _ = rep.fit(counts)
		})
		if err != nil {
			return nil, fmt.Errorf("loss view %s: bootstrap: %w", key, err)
		}
		a := (1 - o.Level) / 2
		lt.LStarLo, lt.LStarHi = quantile(stars, a), quantile(stars, 1-a)
	}
	return lt, nil
}

func totalSS(y []float64) float64 {
	var m float64
	for _, v := range y {
		m += v
	}
	m /= float64(len(y))
	var s float64
	for _, v := range y {
		s += (v - m) * (v - m)
	}
	if s == 0 {
		return math.SmallestNonzeroFloat64
	}
	return s
}
