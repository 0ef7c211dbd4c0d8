package stats

import (
	"fmt"
	"math"
)

// MaxLevels is the most distinct scales a curve is fitted at. The fits are
// linear in the number of levels, but leave-one-out (or K-fold) refits,
// several starts per model and the bootstrap multiply it; a curve with more
// distinct x (the step or eval-loss axis of a long run, 10⁶ checkpoints) is
// binned first, so the analysis runs in bounded time whatever the input.
const MaxLevels = 400

// analysisLevels pools a curve (Pool) and bins it if it has more than
// MaxLevels levels; note says what binning did ("" if nothing).
func analysisLevels(c *Curve) ([]Level, string, error) {
	levels, err := Pool(c)
	if err != nil {
		return nil, "", err
	}
	if len(levels) <= MaxLevels {
		return levels, "", nil
	}
	binned := binLevels(levels, scaleDir(c.Axis), MaxLevels)
	per := (len(levels) + len(binned) - 1) / len(binned)
	return binned, fmt.Sprintf("%d distinct x binned into %d levels of %d consecutive scales each (pooled like seeds: mean, spread and the larger of item and between-point variance)", len(levels), len(binned), per), nil
}

// binLevels merges consecutive levels (sorted by scale) into groups of
// ⌈n/maxLevels⌉, so at most maxLevels remain. A group becomes one level at
// the mean of its log scales, pooling all its points as if they were seeds
// of one scale (makeLevel): its variance is the larger of the item variance
// and the spread of its points over their number, which holds the
// model-to-model scatter within the group. Narrow groups (a fraction of a
// percent of the curve each) make the within-group trend negligible.
func binLevels(levels []Level, dir float64, maxLevels int) []Level {
	per := (len(levels) + maxLevels - 1) / maxLevels
	out := make([]Level, 0, (len(levels)+per-1)/per)
	for a := 0; a < len(levels); a += per {
		b := min(a+per, len(levels))
		var ts float64
		var pts []Point
		for _, l := range levels[a:b] {
			ts += l.T
			pts = append(pts, l.points...)
		}
		tm := ts / float64(b-a)
		out = append(out, makeLevel(math.Pow(10, dir*tm), dir, pts))
	}
	poolSeedVariance(out)
	return out
}
