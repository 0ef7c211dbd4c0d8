package assemble

// scaling.go: the scaling-law section, the ladder's final eval losses
// against parameters with L = E + A·N^−α fitted.

import (
	"context"
	"fmt"
	"math"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// scaling fits L = E + A·N^−α to the ladder's final eval losses against
// parameters. A ladder whose tokens grow with its parameters cannot
// separate the two (the Chinchilla form needs them varied independently),
// so the single-axis law is what it supports.
func scaling(ctx context.Context, r *report.Report, ladder []*rundir.Run, o stats.ScalingOptions) error {
	var xs, ls []float64
	for _, ru := range sortBySize(ladder) {
		el := rundir.LastEvalLoss(ru.Metrics)
		if finite(params(ru)) && el > 0 && finite(el) {
			xs = append(xs, params(ru))
			ls = append(ls, el)
		}
	}
	distinct := map[float64]bool{}
	for _, x := range xs {
		distinct[x] = true
	}
	if len(distinct) < 4 {
		if len(ladder) > 0 {
			r.SectionNotes[report.SecScaling] = fmt.Sprintf("No scaling-law fit: final eval losses from %d model sizes; the fit needs at least 4.", len(distinct))
		}
		return nil
	}
	if o.Delta == 0 {
		o = stats.DefaultScalingOptions()
	}
	fit, err := stats.FitPowerLaw(ctx, xs, ls, o)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		r.SectionNotes[report.SecScaling] = "No scaling-law fit: " + err.Error()
		return nil
	}
	var note string
	if tlo, thi := tokenRange(ladder); thi > 1.5*tlo {
		note = fmt.Sprintf("The ladder's training tokens D grow with its parameters N (%s to %s tokens), so this L(N) is not a law at fixed data: α mixes the effect of size with that of data (the scale-axes study varies them apart).",
			report.Num(tlo), report.Num(thi))
	}
	if why := fit.Degenerate(); why != "" {
		// Not a result: show the observed losses and say why no law is.
		r.Scaling = &report.Scaling{Form: "single_axis", XLabel: "parameters (log scale)", Observed: report.Series{Label: "final eval loss", X: xs, Y: ls},
			Note: strings.TrimSpace("Degenerate fit, not shown: " + why + " — the losses do not pin L(N) = E + A·N^(−α) down. " + note)}
		return nil
	}
	if bn := fit.BoundNote(); bn != "" {
		note = strings.TrimSpace(bn + ". " + note)
	}
	s := &report.Scaling{Form: "single_axis", Note: note, Formula: fmt.Sprintf("L(N) = E + A·N^(−α) with E = %s, A = %s, α = %s (Kaplan et al. 2020 form with an irreducible loss; fitted as Hoffmann et al. 2022 approach 3).",
		report.Num(fit.E.Value), report.Num(fit.A.Value), report.Num(fit.Alpha.Value)),
		XLabel: "parameters (log scale)", Observed: report.Series{Label: "final eval loss", X: xs, Y: ls}}
	lo, hi := xs[0], xs[len(xs)-1]
	for i := range 60 {
		x := math.Pow(10, math.Log10(lo)+(math.Log10(hi)-math.Log10(lo))*float64(i)/59)
		s.Fitted.X = append(s.Fitted.X, x)
		s.Fitted.Y = append(s.Fitted.Y, fit.E.Value+fit.A.Value*math.Pow(x, -fit.Alpha.Value))
	}
	s.Fitted.Label = "fit"
	eName := "E"
	if l := fit.ELabel(); l != "" {
		eName = "E (" + l + ")"
	}
	for _, p := range []struct {
		n  string
		iv stats.Interval
	}{{eName, fit.E}, {"A", fit.A}, {"α", fit.Alpha}} {
		s.Params = append(s.Params, report.Param{Name: p.n, Value: p.iv.Value, Lo: p.iv.Lo, Hi: p.iv.Hi})
	}
	r.Scaling = s
	return nil
}

// tokenRange is the smallest and largest final token count of the runs
// (NaN, NaN when none is known).
func tokenRange(runs []*rundir.Run) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, ru := range runs {
		if last, ok := ru.Last(); ok && last.Tokens > 0 {
			lo, hi = math.Min(lo, last.Tokens), math.Max(hi, last.Tokens)
		}
	}
	if hi < lo {
		return math.NaN(), math.NaN()
	}
	return lo, hi
}
