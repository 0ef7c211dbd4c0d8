package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"emlab/internal/rundir"
	"emlab/internal/stats"
)

func init() {
	register("analyze", "emergence statistics: did an ability emerge, where, and is it real", runAnalyzeCmd)
}

// analyzeOptions configures emlab analyze.
type analyzeOptions struct {
	csv      string   // CSV input (task,metric,x,value[,seed,n,chance,low,high,group])
	runs     []string // run directories
	axis     string   // x axis (one of stats.Axes; "" for a CSV's x as given)
	json     bool
	tasks    []string // only these tasks (empty: all)
	forecast int      // held-out largest rungs for the forecast (0: none)
	// sharpMetric and tokenMetric name the metrics of the mirage test; empty
	// picks the first present of the usual names.
	sharpMetric, tokenMetric string
	answerLen                float64 // L for the p^L check; 0 fits it
	stats                    stats.Options
	notes                    io.Writer // where to say what was left out (nil: nowhere)
}

func runAnalyzeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", stderr)
	o := analyzeOptions{stats: stats.DefaultOptions(), notes: stderr}
	fs.StringVar(&o.csv, "csv", "", "read curves from this CSV (columns task,metric,x,value; optional seed,n,chance,low,high,group)")
	runs := fs.String("runs", "", "read curves from run directories, or the runs under a directory (this one and any further arguments)")
	fs.StringVar(&o.axis, "x", "", "x axis: "+strings.Join(stats.Axes, ", ")+" (default params for --runs; for --csv the x column as given)")
	fs.BoolVar(&o.json, "json", false, "one JSON object per (task, metric) per line")
	tasks := fs.String("tasks", "", "comma-separated tasks to analyse (default all)")
	fs.IntVar(&o.forecast, "forecast", 0, "also fit on all but the N largest rungs and forecast them")
	fs.StringVar(&o.sharpMetric, "sharp-metric", "", "sharp metric for the mirage test (default: the first of "+strings.Join(stats.SharpMetricNames, ", ")+")")
	fs.StringVar(&o.tokenMetric, "token-metric", "", "per-position accuracy metric for the p^L check (default: the first of "+strings.Join(stats.TokenMetricNames, ", ")+")")
	fs.Float64Var(&o.answerLen, "answer-len", 0, "answer length L for the p^L check (0: fit it)")
	fs.IntVar(&o.stats.Boot, "boot", o.stats.Boot, "bootstrap replicates for intervals (0: none)")
	fs.Uint64Var(&o.stats.Seed, "seed", o.stats.Seed, "bootstrap seed")
	fs.IntVar(&o.stats.Workers, "workers", 0, "bootstrap workers (default: all CPUs; results do not depend on it)")
	fs.Float64Var(&o.stats.Delta, "delta", o.stats.Delta, "margin above chance that counts as clearly above (score units)")
	fs.Float64Var(&o.stats.Alpha, "alpha", o.stats.Alpha, "significance level of the trend and above-chance tests")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"forecast": 0, "boot": 0, "workers": 0}); err != nil {
		return err
	}
	if *runs != "" {
		o.runs = append([]string{*runs}, pos...)
	} else if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q (run directories go after --runs)", pos)
	}
	if *tasks != "" {
		for _, t := range strings.Split(*tasks, ",") {
			if t = strings.TrimSpace(t); t != "" {
				o.tasks = append(o.tasks, t)
			}
		}
	}
	return runAnalyze(ctx, o, stdout)
}

// runAnalyze reads the curves, analyses each and writes the results.
func runAnalyze(ctx context.Context, o analyzeOptions, w io.Writer) error {
	if (o.csv == "") == (len(o.runs) == 0) {
		return errors.New("give exactly one of --csv FILE or --runs DIR...")
	}
	if o.axis != "" && !stats.ValidAxis(o.axis) {
		return fmt.Errorf("unknown axis %q%s (want one of %s)", o.axis, didYouMean(o.axis, stats.Axes), strings.Join(stats.Axes, ", "))
	}
	if err := o.stats.Validate(); err != nil {
		return err
	}
	var curves []*stats.Curve
	var dirs []string // the run directories, expanded
	if o.csv != "" {
		f, err := os.Open(o.csv)
		if err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
		curves, err = stats.ReadCurvesCSV(ctxReader{ctx, f}, o.axis)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", o.csv, withColumnHint(err))
		}
	} else {
		if o.axis == "" {
			o.axis = stats.AxisParams
		}
		var err error
		if dirs, err = expandRuns(o.runs); err != nil {
			return err
		}
		var rep *stats.RunsReport
		if curves, rep, err = stats.ReadRuns(dirs, o.axis); err != nil {
			return err
		}
		if rep.DroppedNonPositive > 0 && o.notes != nil {
			fmt.Fprintf(o.notes, "emlab analyze: left out %d evaluations at %s = 0 (the step-0 checkpoint cannot sit on a log axis)\n", rep.DroppedNonPositive, o.axis)
		}
		if rep.DroppedNoEvalLoss > 0 && o.notes != nil {
			fmt.Fprintf(o.notes, "emlab analyze: left out %d evaluations at steps without an eval loss in %s\n", rep.DroppedNoEvalLoss, rundir.MetricsFile)
		}
	}
	if len(o.tasks) > 0 {
		known := map[string]bool{}
		var names []string
		for _, c := range curves {
			if !known[c.Task] {
				known[c.Task] = true
				names = append(names, c.Task)
			}
		}
		want := map[string]bool{}
		for _, t := range o.tasks {
			if !known[t] {
				return fmt.Errorf("unknown task %q%s", t, didYouMean(t, names))
			}
			want[t] = true
		}
		kept := curves[:0]
		for _, c := range curves {
			if want[c.Task] {
				kept = append(kept, c)
			}
		}
		curves = kept
	}

	results, err := stats.AnalyzeCurves(ctx, curves, stats.AnalyzeConfig{
		Options: o.stats, Forecast: o.forecast, LossView: o.axis == stats.AxisEvalLoss,
		SharpMetric: o.sharpMetric, TokenMetric: o.tokenMetric, AnswerLen: o.answerLen,
	})
	if err != nil {
		return err
	}
	if len(dirs) > 0 {
		if err := attachItemViews(results, dirs, o); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write result: %w", err)
			}
		}
		return nil
	}
	return writeAnalyzeTable(w, results)
}

// attachItemViews gives each result its per-item view (stats.RunItemViews)
// when the runs wrote samples.jsonl (emlab eval --samples).
func attachItemViews(results []*stats.Result, dirs []string, o analyzeOptions) error {
	var runs []*rundir.Run
	var samples [][]rundir.Sample
	found := false
	for _, dir := range dirs {
		ss, err := rundir.ReadSamples(dir)
		if err != nil {
			return err
		}
		r, err := rundir.ReadRun(dir, "")
		if err != nil {
			return err
		}
		runs, samples = append(runs, r), append(samples, ss)
		found = found || len(ss) > 0
	}
	if !found {
		return nil
	}
	if rundir.PerStepAxis(o.axis) {
		if o.notes != nil {
			fmt.Fprintf(o.notes, "emlab analyze: per-item view left out: it compares one model per run, so it needs --x %s or %s\n", stats.AxisParams, stats.AxisNonEmbedding)
		}
		return nil
	}
	views, err := stats.RunItemViews(runs, samples, o.axis)
	if err != nil {
		return err
	}
	for _, v := range views {
		for _, r := range results {
			if r.Task == v.Task && r.Metric == v.Metric {
				r.ItemView = v.View
			}
		}
	}
	return nil
}

// expandRuns replaces each directory that is not a run itself by the runs
// under it (a sweep's output, a ladder of models trained elsewhere, one
// run per size), so --runs takes either.
func expandRuns(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		ids, err := rundir.FindRuns(d)
		if err != nil {
			return nil, err
		}
		switch {
		case len(ids) == 0:
			return nil, noRunsError(d)
		case slices.Contains(ids, "."):
			out = append(out, d)
		default:
			for _, id := range ids {
				out = append(out, filepath.Join(d, filepath.FromSlash(id)))
			}
		}
	}
	return out, nil
}

// withColumnHint adds "did you mean" to a missing-column error.
func withColumnHint(err error) error {
	var mc *stats.MissingColumnError
	if errors.As(err, &mc) {
		if hint := didYouMean(mc.Column, mc.Have); hint != "" {
			return fmt.Errorf("%w%s", err, hint)
		}
	}
	return err
}

func writeAnalyzeTable(w io.Writer, results []*stats.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tmetric\tverdict\tfit\tx_star [95% CI]\tx_cross\tn_min\tbreakthrough\tlinearity\twhy")
	js := stats.Judgements(results)
	censored, bounded := false, false
	for i, r := range results {
		j := js[i]
		nmin := "-"
		if j.NMin > 0 {
			nmin = strconv.Itoa(j.NMin)
			if j.FewItems {
				nmin += "!"
			}
		}
		fit := r.Fit
		if !j.Drawable {
			fit = "n/a"
		}
		xstar := fnum(j.XStar)
		if len(j.FitAtBound) > 0 {
			fit, bounded = fit+"*", true
		}
		if j.XStarAtBound {
			xstar, bounded = xstar+"*", true
		}
		cross := fnum(r.XCross)
		if len(r.Levels) > 0 && stats.AtSmallest(r.Levels[0].X, r.XCross) {
			cross, censored = "<="+cross, true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s [%s, %s]\t%s\t%s\t%s\t%s\t%s\n", r.Task, r.Metric, j.Verdict, fit,
			xstar, fnum(j.XStarLo), fnum(j.XStarHi), cross, nmin, fnum(r.Breakthroughness), fnum(r.Linearity), j.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	few := false
	for i, r := range results {
		few = few || r.FewItems
		if js[i].BoundNote != "" {
			fmt.Fprintf(w, "\n* %s/%s: %s\n", r.Task, r.Metric, js[i].BoundNote)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "\n%s/%s: %s\n", r.Task, r.Metric, r.Note)
		}
		if r.Mirage != nil {
			fmt.Fprintf(w, "\nmirage %s: %s — %s", r.Task, r.Mirage.Verdict, r.Mirage.Reason)
			if pl := r.Mirage.PowerL; pl != nil {
				if pl.Applicable {
					fmt.Fprintf(w, "; p^L check with %s: L=%.3g, RMSE %.3g (%s)", pl.PerPositionMetric, pl.L, pl.RMSE, map[bool]string{true: "consistent", false: "inconsistent"}[pl.Consistent])
				} else {
					fmt.Fprintf(w, "; p^L check not applicable: %s", pl.Reason)
				}
			}
			fmt.Fprintln(w)
		}
		if lt := r.Loss; lt != nil {
			fmt.Fprintf(w, "\nloss view %s/%s: L* = %s [%s, %s], R² one curve %s vs per size %s\n", r.Task, r.Metric,
				fnum(lt.LStar), fnum(lt.LStarLo), fnum(lt.LStarHi), fnum(lt.R2All), fnum(lt.R2PerGroup))
			if lt.BoundNote != "" {
				fmt.Fprintf(w, "  %s\n", lt.BoundNote)
			}
		}
		if v := r.ItemView; v != nil {
			var flips []string
			for _, f := range v.Flips {
				flips = append(flips, fmt.Sprintf("%s→%s %s", fnum(f.FromX), fnum(f.ToX), fnum(f.FracWrongToRight)))
			}
			fmt.Fprintf(w, "\nitems %s/%s over %d rungs: wrong→right (score ≥ %g) between consecutive rungs: %s; per-item correlation of score with log scale over %d items: median %s, mean %s, %s positive (%d constant, %d seen at fewer than 3 rungs)\n",
				r.Task, r.Metric, v.Rungs, v.Threshold, strings.Join(flips, ", "), len(v.Correlations), fnum(v.MedianR), fnum(v.MeanR), fnum(v.FracPositive), v.Constant, v.Sparse)
		}
		if fc := r.Forecast; fc != nil {
			// The table's * marks the forecast's model and x* alike.
			mark := func(s string, atBound []string) string {
				if len(atBound) == 0 {
					return s
				}
				bounded = true
				return s + "*"
			}
			fmt.Fprintf(w, "\nforecast %s/%s from %d rungs (%s): MAE %s [%s, %s] on %d held out; x_star %s from the small rungs vs %s from all\n",
				r.Task, r.Metric, fc.FitLevels, mark(fc.Model, fc.ModelAtBound), fnum(fc.MAE), fnum(fc.MAELo), fnum(fc.MAEHi), fc.Holdout,
				mark(fnum(fc.XStarSmall), fc.XStarSmallAtBound), mark(fnum(fc.XStarFull), fc.XStarFullAtBound))
			if fc.BoundNote != "" {
				fmt.Fprintf(w, "  %s\n", fc.BoundNote)
			}
		}
	}
	if few {
		fmt.Fprintf(w, "\n! fewer than %d items per evaluation at some level: treat that verdict with caution\n", stats.MinItems)
	}
	if bounded {
		fmt.Fprintln(w, "\n* in fit or x_star: a parameter of that fit (of the sigmoid, for x_star) sits at a limit the fit imposes (at_bound in --json): it reports the limit, not a measurement")
	}
	if censored {
		fmt.Fprintln(w, "\n<= in x_cross: the curve is already past the level at the smallest scale sampled, so it crosses at or below that scale")
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fnum(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if math.IsInf(v, 1) {
		return "inf"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// noRunsError says that dir is no run directory and holds none.
func noRunsError(dir string) error {
	return fmt.Errorf("no run directories under %s (a run directory holds %s or %s)", dir, rundir.ConfigFile, rundir.MetricsFile)
}

// ctxReader reads r until ctx is done, then fails with ctx's error, so
// that a signal stops the reading of a large file (10⁶ rows of CSV take
// seconds) at its next chunk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
