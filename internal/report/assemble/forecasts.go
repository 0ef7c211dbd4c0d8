package assemble

// forecasts.go: the forecasts section: each ability's sharp curve fitted
// on the smaller rungs and extrapolated to the held-out larger ones.

import (
	"sort"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

func forecasts(r *report.Report, lines []Line) {
	byTask := map[string][]*Line{}
	var tasks []string
	for i := range lines {
		l := &lines[i]
		if _, ok := byTask[l.Task]; !ok {
			tasks = append(tasks, l.Task)
		}
		byTask[l.Task] = append(byTask[l.Task], l)
	}
	sort.Strings(tasks)
	for _, task := range tasks {
		l := pick(byTask[task], rundir.SharpMetrics())
		if l == nil || l.Forecast == nil || len(l.Forecast.Rungs) == 0 {
			continue
		}
		fc := l.Forecast
		f := report.Forecast{Task: task, Metric: l.Metric, Axis: l.Axis, Model: fc.Model, FitLevels: fc.FitLevels, Holdout: fc.Holdout,
			MAE: float64(fc.MAE), MAELo: float64(fc.MAELo), MAEHi: float64(fc.MAEHi), XStarSmall: float64(fc.XStarSmall), XStarFull: float64(fc.XStarFull),
			Fraction: rundir.IsFraction(l.Metric), BoundNote: fc.BoundNote}
		if f.Axis == "" {
			f.Axis = stats.AxisParams
		}
		for _, lv := range l.Levels {
			f.Observed.X = append(f.Observed.X, float64(lv.X))
			f.Observed.Y = append(f.Observed.Y, float64(lv.Mean))
		}
		for _, rg := range fc.Rungs {
			f.Predicted.X = append(f.Predicted.X, float64(rg.X))
			f.Predicted.Y = append(f.Predicted.Y, float64(rg.Predicted))
			f.Predicted.Lo = append(f.Predicted.Lo, float64(rg.Lo))
			f.Predicted.Hi = append(f.Predicted.Hi, float64(rg.Hi))
		}
		r.Forecasts = append(r.Forecasts, f)
	}
}
