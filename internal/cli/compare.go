package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"emlab/internal/rundir"
	"emlab/internal/stats"
)

func init() {
	register("compare", "paired tests of two runs on the same items (McNemar, paired bootstrap) from their "+rundir.SamplesFile, runCompareCmd)
}

type compareOptions struct {
	runs []string // exactly two: A and B
	task string   // a variant (add/plain/2) or a task family (add); "" = all in common
	step int      // the step to compare in both runs; < 0 = each run's last sampled step
	json bool
	// stats sets the bootstrap (Boot, Level, Seed, Workers).
	stats stats.Options
}

func runCompareCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stderr)
	o := compareOptions{stats: stats.DefaultOptions()}
	o.stats.Boot = 2000
	var runs multiFlag
	fs.Var(&runs, "run", "a run directory with "+rundir.SamplesFile+" (give two: --run A --run B)")
	fs.StringVar(&o.task, "task", "", "compare only this task variant (add/plain/2) or task family (add)")
	fs.IntVar(&o.step, "step", -1, "compare the samples of this step in both runs (default: each run's last sampled step)")
	fs.BoolVar(&o.json, "json", false, "one JSON object per (task, metric) per line")
	fs.IntVar(&o.stats.Boot, "boot", o.stats.Boot, "bootstrap replicates for the intervals")
	fs.Float64Var(&o.stats.Level, "level", o.stats.Level, "confidence level of the intervals")
	fs.Uint64Var(&o.stats.Seed, "seed", o.stats.Seed, "bootstrap seed")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (runs go after --run)", pos[0])
	}
	o.runs = runs
	return runCompare(ctx, o, stdout)
}

// runCompare pairs the two runs' samples item by item, per task variant
// and metric, and tests the differences (stats.CompareItems).
func runCompare(ctx context.Context, o compareOptions, w io.Writer) error {
	if len(o.runs) != 2 {
		return fmt.Errorf("give two runs: --run A --run B (got %d)", len(o.runs))
	}
	if o.stats.Boot < 1 || !(o.stats.Level > 0 && o.stats.Level < 1) {
		return fmt.Errorf("--boot must be ≥ 1 and --level in (0, 1), got %d and %g", o.stats.Boot, o.stats.Level)
	}
	var sides [2]map[string]map[string]map[string]float64 // task → metric → item → score
	var steps [2]map[string]int
	for i, dir := range o.runs {
		ss, err := rundir.ReadSamples(dir)
		if err != nil {
			return err
		}
		if len(ss) == 0 {
			return fmt.Errorf("run %s has no %s: score it with emlab eval --run %s --samples", dir, rundir.SamplesFile, dir)
		}
		if sides[i], steps[i], err = sampleScores(ss, o.step); err != nil {
			return fmt.Errorf("run %s: %w", dir, err)
		}
	}
	var tasks, all []string
	for task := range sides[0] {
		all = append(all, task)
		if _, ok := sides[1][task]; ok && matchesTask(task, o.task) {
			tasks = append(tasks, task)
		}
	}
	sort.Strings(tasks)
	if len(tasks) == 0 {
		if o.task != "" {
			sort.Strings(all)
			return fmt.Errorf("no task %q sampled in both runs%s", o.task, didYouMean(o.task, all))
		}
		return errors.New("the runs have no task sampled in both: nothing to pair")
	}
	var out []*stats.Comparison
	for _, task := range tasks {
		var metrics []string
		for m := range sides[0][task] {
			if _, ok := sides[1][task][m]; ok {
				metrics = append(metrics, m)
			}
		}
		sort.Strings(metrics)
		for _, m := range metrics {
			c, err := stats.CompareItems(ctx, task, m, sides[0][task][m], sides[1][task][m], o.stats)
			if err != nil {
				return fmt.Errorf("compare %s with %s: %w", o.runs[0], o.runs[1], err)
			}
			out = append(out, c)
		}
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, c := range out {
			// The comparison's own fields, and the step compared in each run.
			b, err := json.Marshal(c)
			if err != nil {
				return fmt.Errorf("write comparison of %s %s: %w", c.Task, c.Metric, err)
			}
			var line map[string]any
			if err := json.Unmarshal(b, &line); err != nil {
				return fmt.Errorf("write comparison of %s %s: %w", c.Task, c.Metric, err)
			}
			line["step_a"], line["step_b"] = steps[0][c.Task], steps[1][c.Task]
			if err := enc.Encode(line); err != nil {
				return fmt.Errorf("write comparison of %s %s: %w", c.Task, c.Metric, err)
			}
		}
		return nil
	}
	fmt.Fprintf(w, "A = %s\nB = %s\n", o.runs[0], o.runs[1])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "task\tstep A\tstep B\tmetric\ttest\tn\tA\tB\tB − A [%g%% CI]\tp\tbetter\n", 100*o.stats.Level)
	for _, c := range out {
		better := "-"
		if c.Lo > 0 || c.Hi < 0 {
			better = "B"
			if (c.Lo > 0) == c.LowerIsBetter {
				better = "A"
			}
		}
		test := c.Test
		if m := c.McNemar; m != nil {
			test += fmt.Sprintf(" (%d vs %d, %s)", m.B, m.C, m.Method)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%s [%s, %s]\t%s\t%s\n", c.Task, steps[0][c.Task], steps[1][c.Task], c.Metric, test, c.N,
			fnum(c.MeanA), fnum(c.MeanB), fnum(c.Diff), fnum(c.Lo), fnum(c.Hi), fnum(c.P), better)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	fmt.Fprintln(w, "\nbetter: the run whose score is better where the interval of B − A excludes 0 (for edit distance, Brier and losses lower is better); "+
		"exact-match metrics are tested with McNemar's test on the discordant items (A right B wrong vs A wrong B right), smooth ones with the paired bootstrap.")
	return nil
}

// sampleScores groups a run's samples by task variant and metric: the
// score of every item at step (or, when step < 0, at each task's last
// sampled step), and the step used per task.
func sampleScores(ss []rundir.Sample, step int) (map[string]map[string]map[string]float64, map[string]int, error) {
	use := map[string]int{}
	for _, s := range ss {
		if f, ok := use[s.Task]; step < 0 && (!ok || s.Step > f) {
			use[s.Task] = s.Step
		}
	}
	if step >= 0 {
		have := map[int]bool{}
		for _, s := range ss {
			have[s.Step] = true
			if s.Step == step {
				use[s.Task] = step
			}
		}
		if len(use) == 0 {
			var steps []int
			for st := range have {
				steps = append(steps, st)
			}
			sort.Ints(steps)
			return nil, nil, fmt.Errorf("no samples at step %d (it has %s)", step, joinInts(steps))
		}
	}
	out := map[string]map[string]map[string]float64{}
	for _, s := range ss {
		if st, ok := use[s.Task]; !ok || s.Step != st {
			continue
		}
		if out[s.Task] == nil {
			out[s.Task] = map[string]map[string]float64{}
		}
		for m, v := range s.Scores {
			if out[s.Task][m] == nil {
				out[s.Task][m] = map[string]float64{}
			}
			out[s.Task][m][s.Item] = v
		}
	}
	return out, use, nil
}

// matchesTask reports whether a variant (add/plain/2) is selected by want:
// empty, the variant itself, or a prefix of it ending at a "/" (add,
// add/plain).
func matchesTask(variant, want string) bool {
	return want == "" || variant == want || strings.HasPrefix(variant, want+"/")
}
