package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"emlab/internal/rundir"
)

// The per-item view of emergence (Schaeffer et al. 2024, "Why Has
// Predicting Downstream Capabilities of Frontier AI Models with Scale
// Remained Elusive?", arXiv 2406.04391): a mean score that jumps with scale
// can be many items each switching sharply from wrong to right, or items
// each improving smoothly. Given every item's score at each rung of a
// ladder, ItemViewOf counts the items that flip between consecutive rungs
// and correlates each item's score with log scale.

// ItemRung is one rung of a ladder: its scale and the score of every item
// evaluated there, by item id.
type ItemRung struct {
	X      float64
	Scores map[string]float64
}

// ItemFlip counts, between two consecutive rungs, the items evaluated at
// both (Items) that went from wrong to right and from right to wrong (an
// item is right when its score is at least the threshold).
type ItemFlip struct {
	FromX            float64 `json:"from_x"`
	ToX              float64 `json:"to_x"`
	Items            int     `json:"items"`
	WrongToRight     int     `json:"wrong_to_right"`
	RightToWrong     int     `json:"right_to_wrong"`
	FracWrongToRight float64 `json:"frac_wrong_to_right"`
	FracRightToWrong float64 `json:"frac_right_to_wrong"`
}

// ItemCorrelation is one item's Pearson correlation between its score and
// log10 of the scale over the rungs where it was evaluated.
type ItemCorrelation struct {
	ID string  `json:"id"`
	R  float64 `json:"r"`
}

// ItemView is the per-item view of one task's ladder.
type ItemView struct {
	Threshold float64    `json:"threshold"`
	Rungs     int        `json:"rungs"`
	Flips     []ItemFlip `json:"flips"`
	// Correlations lists the items evaluated at three rungs or more whose
	// score varies, sorted by id; Constant counts those whose score never
	// changes (no correlation) and Sparse those seen at fewer than three.
	Correlations []ItemCorrelation `json:"correlations"`
	Constant     int               `json:"constant"`
	Sparse       int               `json:"sparse"`
	// MeanR and MedianR summarise Correlations (NaN when empty); FracPositive
	// is the share with r > 0.
	MeanR        float64 `json:"mean_r"`
	MedianR      float64 `json:"median_r"`
	FracPositive float64 `json:"frac_positive"`
}

// ItemViewOf computes the per-item view of rungs (in any order; sorted by
// scale here). threshold decides "right" for the flips (0.5 for 0/1 exact
// match). Scales must be positive, finite and distinct, scores finite; at
// least two rungs are needed.
func ItemViewOf(rungs []ItemRung, threshold float64) (*ItemView, error) {
	if len(rungs) < 2 {
		return nil, fmt.Errorf("item view: %w: %d rungs, need at least 2", ErrTooFewLevels, len(rungs))
	}
	if math.IsNaN(threshold) || math.IsInf(threshold, 0) {
		return nil, fmt.Errorf("item view: threshold %v is not a number", threshold)
	}
	rs := append([]ItemRung(nil), rungs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].X < rs[j].X })
	for i, r := range rs {
		if !(r.X > 0) || math.IsInf(r.X, 0) {
			return nil, fmt.Errorf("item view: rung scale %v must be positive and finite", r.X)
		}
		if i > 0 && r.X == rs[i-1].X {
			return nil, fmt.Errorf("item view: two rungs at scale %g", r.X)
		}
		for id, v := range r.Scores {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("item view: item %q at scale %g: score %v is not finite", id, r.X, v)
			}
		}
	}
	v := &ItemView{Threshold: threshold, Rungs: len(rs), MeanR: math.NaN(), MedianR: math.NaN(), FracPositive: math.NaN()}
	for i := 1; i < len(rs); i++ {
		f := ItemFlip{FromX: rs[i-1].X, ToX: rs[i].X}
		for id, before := range rs[i-1].Scores {
			after, ok := rs[i].Scores[id]
			if !ok {
				continue
			}
			f.Items++
			was, is := before >= threshold, after >= threshold
			switch {
			case !was && is:
				f.WrongToRight++
			case was && !is:
				f.RightToWrong++
			}
		}
		if f.Items > 0 {
			f.FracWrongToRight = float64(f.WrongToRight) / float64(f.Items)
			f.FracRightToWrong = float64(f.RightToWrong) / float64(f.Items)
		} else {
			f.FracWrongToRight, f.FracRightToWrong = math.NaN(), math.NaN()
		}
		v.Flips = append(v.Flips, f)
	}
	ids := map[string]bool{}
	for _, r := range rs {
		for id := range r.Scores {
			ids[id] = true
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var rsAll []float64
	for _, id := range sorted {
		var t, y []float64
		for _, r := range rs {
			if s, ok := r.Scores[id]; ok {
				t, y = append(t, math.Log10(r.X)), append(y, s)
			}
		}
		if len(t) < 3 {
			v.Sparse++
			continue
		}
		r := pearson(t, y)
		if math.IsNaN(r) {
			v.Constant++
			continue
		}
		v.Correlations = append(v.Correlations, ItemCorrelation{ID: id, R: r})
		rsAll = append(rsAll, r)
	}
	if len(rsAll) > 0 {
		var sum, pos float64
		for _, r := range rsAll {
			sum += r
			if r > 0 {
				pos++
			}
		}
		v.MeanR = sum / float64(len(rsAll))
		v.FracPositive = pos / float64(len(rsAll))
		v.MedianR = quantile(rsAll, 0.5)
	}
	return v, nil
}

// pearson is the correlation of x and y; NaN if either is constant.
func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx <= 0 || syy <= 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// MarshalJSON writes the view with undefined numbers as null.
func (v *ItemView) MarshalJSON() ([]byte, error) { return json.Marshal(jsonValue(*v)) }

// TaskItemView is the per-item view of one (task, metric) of a ladder.
type TaskItemView struct {
	Task, Metric string
	View         *ItemView
}

// RunItemViews is the per-item view of a ladder read from its runs'
// samples.jsonl (samples[i] are runs[i]'s lines), on a parameter axis
// (params or non_embedding_params: one model per run), by the rule of
// RunCurves: each run contributes the last step at which it sampled the
// task. Every (task, metric) with per-item scores is viewed for its sharp
// metric (the first of rundir.SharpMetrics the samples have: right when
// ≥ ½) and for answer_prob, the probability of the whole answer (right
// when ≥ ½). Runs at the same scale (seeds) are pooled: an item's score
// at a rung is its mean over them. A task sampled at fewer than two scales
// is left out. Views come sorted by task and metric.
func RunItemViews(runs []*rundir.Run, samples [][]rundir.Sample, axis string) ([]TaskItemView, error) {
	if axis != AxisParams && axis != AxisNonEmbedding {
		return nil, fmt.Errorf("per-item view against %s: it needs one model per run (params or non_embedding_params)", axis)
	}
	if len(samples) != len(runs) {
		return nil, fmt.Errorf("per-item view: %d runs but %d sample sets", len(runs), len(samples))
	}
	type key struct{ task, metric string }
	type acc struct{ sum, n float64 }
	byKey := map[key]map[float64]map[string]*acc{} // (task, metric) → x → item → mean
	sharpOf := map[string]string{}
	for i, r := range runs {
		if len(samples[i]) == 0 {
			continue
		}
		if r.Config == nil {
			return nil, fmt.Errorf("run %s has no %s", r.ID, rundir.ConfigFile)
		}
		x := float64(r.Config.Params)
		if axis == AxisNonEmbedding {
			x = float64(r.Config.NonEmbeddingParams)
		}
		if !(x > 0) {
			return nil, fmt.Errorf("%s: no positive %s for the per-item view", rundir.Path(r.Dir, rundir.ConfigFile), axis)
		}
		final := map[string]int{}
		for _, s := range samples[i] {
			if f, ok := final[s.Task]; !ok || s.Step > f {
				final[s.Task] = s.Step
			}
		}
		for _, s := range samples[i] {
			if s.Step != final[s.Task] {
				continue
			}
			if _, ok := sharpOf[s.Task]; !ok {
				sharpOf[s.Task] = ""
			}
			for m, v := range s.Scores {
				if m != rundir.AnswerProb && !rundir.IsSharp(m) {
					continue
				}
				k := key{s.Task, m}
				if byKey[k] == nil {
					byKey[k] = map[float64]map[string]*acc{}
				}
				if byKey[k][x] == nil {
					byKey[k][x] = map[string]*acc{}
				}
				a := byKey[k][x][s.Item]
				if a == nil {
					a = &acc{}
					byKey[k][x][s.Item] = a
				}
				a.sum += v
				a.n++
			}
		}
	}
	for task := range sharpOf {
		for _, m := range rundir.SharpMetrics() {
			if _, ok := byKey[key{task, m}]; ok {
				sharpOf[task] = m
				break
			}
		}
	}
	var keys []key
	for k := range byKey {
		if (k.metric == rundir.AnswerProb || k.metric == sharpOf[k.task]) && len(byKey[k]) >= 2 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].task != keys[j].task {
			return keys[i].task < keys[j].task
		}
		return keys[i].metric < keys[j].metric
	})
	var out []TaskItemView
	for _, k := range keys {
		var rungs []ItemRung
		for x, items := range byKey[k] {
			sc := make(map[string]float64, len(items))
			for id, a := range items {
				sc[id] = a.sum / a.n
			}
			rungs = append(rungs, ItemRung{X: x, Scores: sc})
		}
		v, err := ItemViewOf(rungs, 0.5)
		if err != nil {
			return nil, fmt.Errorf("per-item view of %s %s: %w", k.task, k.metric, err)
		}
		out = append(out, TaskItemView{Task: k.task, Metric: k.metric, View: v})
	}
	return out, nil
}
