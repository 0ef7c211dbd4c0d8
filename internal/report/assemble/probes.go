package assemble

import (
	"math"
	"sort"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

// ProbeSeries is a probe's value per checkpoint step (X the step): the
// mean over the probe's lines at each step (layers, heads, task variants).
// It is empty when the run has no such probe.
func ProbeSeries(r *rundir.Run, probe string) report.Series {
	return stepSeries(r, func(p *rundir.Probe) bool { return p.Probe == probe }, false)
}

// BestHead is, per checkpoint step, the largest score of a per-head probe
// (e.g. rundir.ProbePrefixMatching) over the heads of one layer (layer ≥
// 0) or of every layer (layer < 0).
func BestHead(r *rundir.Run, probe string, layer int) report.Series {
	return stepSeries(r, func(p *rundir.Probe) bool {
		return p.Probe == probe && p.Head >= 0 && (layer < 0 || p.Layer == layer)
	}, true)
}

func stepSeries(r *rundir.Run, keep func(*rundir.Probe) bool, useMax bool) report.Series {
	agg := map[int][]float64{}
	for i := range r.Probes {
		if p := &r.Probes[i]; keep(p) && finite(p.Value) {
			agg[p.Step] = append(agg[p.Step], p.Value)
		}
	}
	steps := make([]int, 0, len(agg))
	for s := range agg {
		steps = append(steps, s)
	}
	sort.Ints(steps)
	var s report.Series
	for _, st := range steps {
		vs := agg[st]
		v := vs[0]
		if useMax {
			for _, x := range vs {
				v = math.Max(v, x)
			}
		} else {
			v = 0
			for _, x := range vs {
				v += x
			}
			v /= float64(len(vs))
		}
		s.X = append(s.X, float64(st))
		s.Y = append(s.Y, v)
	}
	return s
}

// firstAt is the first X where the series reaches thr (NaN when never).
func firstAt(s report.Series, thr float64) float64 {
	for i := range s.X {
		if s.Y[i] >= thr {
			return s.X[i]
		}
	}
	return math.NaN()
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}
