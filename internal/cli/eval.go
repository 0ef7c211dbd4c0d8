package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"emlab/internal/eval"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
	"emlab/internal/train"
)

func init() {
	register("eval", "score a run's checkpoints on the task battery → DIR/"+rundir.EvalsFile, runEvalCmd)
}

type evalOptions struct {
	run   string
	step  int
	all   bool
	tasks string
	n     int
	batch int
	quiet bool
	// noMemCheck skips the up-front memory estimate.
	noMemCheck bool
}

func runEvalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	var o evalOptions
	fs.StringVar(&o.run, "run", "", "run directory (required)")
	fs.IntVar(&o.step, "step", -1, "evaluate this checkpoint step (default: the newest)")
	fs.BoolVar(&o.all, "all", false, "evaluate every checkpoint")
	fs.StringVar(&o.tasks, "tasks", "", "tasks to score, comma-separated specs (default: the run's training mixture)")
	fs.IntVar(&o.n, "n", 200, "items per task variant")
	fs.IntVar(&o.batch, "batch", 64, "sequences per forward pass")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	fs.BoolVar(&o.noMemCheck, "no-memory-check", false, "skip the up-front check that the model and --batch fit in memory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"step": 0, "n": 1, "batch": 1}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if o.run == "" {
		return errors.New("--run DIR is required")
	}
	if o.all && o.step >= 0 {
		return errors.New("give --step N or --all, not both")
	}
	var log io.Writer = stderr
	if o.quiet {
		log = io.Discard
	}
	return runEval(ctx, o, stdout, log)
}

// evalTasks builds the tasks to score: an explicit list (a mixture spec;
// weights are ignored), or the run's mixture.
func evalTasks(spec string, rd *train.RunDir) ([]tasks.Task, error) {
	if spec == "" {
		if rd.Config.Data.Source != "tasks" {
			return nil, fmt.Errorf("run %s was trained on the %s stream: give --tasks", rd.Dir, rd.Config.Data.Source)
		}
		return rd.Config.Data.Tasks.Tasks(), nil
	}
	m, err := tasks.ParseMixture(spec)
	if err != nil {
		return nil, fmt.Errorf("--tasks: %w", err)
	}
	return m.Tasks(), nil
}

func runEval(ctx context.Context, o evalOptions, stdout, log io.Writer) error {
	rd, err := train.OpenRun(o.run)
	if err != nil {
		return err
	}
	if rd.Tok == nil {
		return fmt.Errorf("run %s has no %s: only task-mixture runs can be evaluated on the battery", o.run, rundir.TokenizerFile)
	}
	ts, err := evalTasks(o.tasks, rd)
	if err != nil {
		return err
	}
	steps, err := selectSteps(rd, o.step, o.all)
	if err != nil {
		return err
	}
	if o.n > eval.MaxItems {
		return fmt.Errorf("--n: at most %d items per variant, got %d", eval.MaxItems, o.n)
	}
	if err := checkMemory(train.InferenceMemory(rd.Config.Model, o.batch, rd.Config.Model.NCtx, true), o.noMemCheck); err != nil {
		return fmt.Errorf("run %s with --batch %d: %w", o.run, o.batch, err)
	}
	bat, err := eval.NewBatteryContext(ctx, ts, o.n)
	if err != nil {
		return err
	}
	m, err := rd.Model(steps[0])
	if err != nil {
		return err
	}
	h := &eval.Harness{Model: m, Tok: rd.Tok, BatchSize: o.batch, Ctx: ctx}
	var all []rundir.Eval
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		began := time.Now()
		if err := rd.Load(m, step); err != nil {
			return err
		}
		rs, err := bat.Run(h, step)
		if err != nil {
			if ctx.Err() != nil && len(rs) > 0 {
				// Keep the tasks scored before the signal.
				if merr := rundir.MergeEvals(o.run, rs); merr != nil {
					return errors.Join(err, merr)
				}
				fmt.Fprintf(log, "eval step %d: interrupted; kept %d results of the tasks finished\n", step, len(rs))
			}
			return fmt.Errorf("step %d: %w", step, err)
		}
		// Write after every step so an interrupted --all keeps what it did.
		if err := rundir.MergeEvals(o.run, rs); err != nil {
			return err
		}
		all = append(all, rs...)
		fmt.Fprintf(log, "eval step %d: %d results in %.1fs\n", step, len(rs), time.Since(began).Seconds())
	}
	printEvalSummary(stdout, all, steps[len(steps)-1])
	return nil
}

// printEvalSummary prints the headline metrics of the last step.
func printEvalSummary(w io.Writer, rs []rundir.Eval, step int) {
	fmt.Fprintf(w, "step %d\n%-28s %-16s %9s %9s %6s\n", step, "task", "metric", "value", "stderr", "n")
	for _, r := range rs {
		if r.Step != step || r.Breakdown() {
			continue
		}
		fmt.Fprintf(w, "%-28s %-16s %9.4f %9.4f %6d\n", r.Task, r.Metric, r.Value, r.Stderr, r.N)
	}
}

// selectSteps picks the checkpoints a command works on: every one (all),
// the one at step (step ≥ 0, which must exist), or the newest.
func selectSteps(rd *train.RunDir, step int, all bool) ([]int, error) {
	steps, err := rd.Steps()
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("run %s has no checkpoints", rd.Dir)
	}
	switch {
	case all:
		return steps, nil
	case step >= 0:
		if !slices.Contains(steps, step) {
			return nil, fmt.Errorf("run %s has no checkpoint at step %d (it has %s)", rd.Dir, step, joinInts(steps))
		}
		return []int{step}, nil
	}
	return steps[len(steps)-1:], nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
