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
}

// hinge fits y = c + k·max(0, L* − L) by profiling L* over a grid of 400
// values spanning the observed losses (for fixed L* the model is linear in
// c and k). It returns L*, c, k and the residual sum of squares.
func hinge(loss, y []float64) (lstar, c, k, rss float64) {
	lo, hi := rangeOf(loss)
	rss = math.Inf(1)
	const grid = 400
	for g := 0; g <= grid; g++ {
		ls := lo + (hi-lo)*float64(g)/grid
		// Simple regression of y on h = max(0, ls − L).
		var sh, sy, shh, shy float64
		n := float64(len(y))
		for i := range y {
			h := math.Max(0, ls-loss[i])
			sh += h
			sy += y[i]
			shh += h * h
			shy += h * y[i]
		}
		den := n*shh - sh*sh
		kk, cc := 0.0, sy/n
		if den > 1e-12*n*shh && shh > 0 {
			kk = (n*shy - sh*sy) / den
			cc = (sy - kk*sh) / n
		}
		var r float64
		for i := range y {
			d := y[i] - cc - kk*math.Max(0, ls-loss[i])
			r += d * d
		}
		if r < rss-1e-15 {
			lstar, c, k, rss = ls, cc, kk, r
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
		err := runBootstrap(ctx, o.Boot, o.Workers, o.Seed, "loss/"+key, func(rng *rand.Rand, b int) {
			bl, by := make([]float64, len(loss)), make([]float64, len(y))
			for i := range bl {
				j := rng.IntN(len(loss))
				bl[i], by[i] = loss[j], y[j]
			}
			stars[b], _, _, _ = hinge(bl, by)
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
