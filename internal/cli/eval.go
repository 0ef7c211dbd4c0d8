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
)

func init() {
	register("eval", "score a run's checkpoints on the task battery → DIR/"+rundir.EvalsFile+" (+ "+rundir.SamplesFile+")", runEvalCmd)
}

type evalOptions struct {
	run   string
	out   string
	step  int
	all   bool
	tasks string
	n     int
	batch int
	quiet bool
	// noMemCheck skips the up-front memory estimate.
	noMemCheck bool
	// samples also writes every item's outputs and scores to samples.jsonl.
	samples bool

	tokensPerStep int64
	command       []string
	batchSet      bool // --batch given (else a model trained elsewhere gets externalBatch)
}

func runEvalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	var o evalOptions
	fs.StringVar(&o.run, "run", "", "run directory, Hugging Face model directory, folder of step<N>/ model directories, or folder of those (required)")
	fs.StringVar(&o.out, "out", "", "models trained elsewhere: write the results here instead of beside the model (a ladder: one subdirectory per rung)")
	fs.Int64Var(&o.tokensPerStep, "tokens-per-step", 0, "models trained elsewhere: tokens per training step (Pythia: 2097152), for the tokens and FLOPs axes")
	fs.IntVar(&o.step, "step", -1, "evaluate this checkpoint step (default: the newest)")
	fs.BoolVar(&o.all, "all", false, "evaluate every checkpoint")
	fs.StringVar(&o.tasks, "tasks", "", "tasks to score, comma-separated specs (default: the run's training mixture)")
	fs.IntVar(&o.n, "n", 200, "items per task variant")
	fs.IntVar(&o.batch, "batch", 64, fmt.Sprintf("sequences per forward pass (models trained elsewhere: %d unless given)", externalBatch))
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	fs.BoolVar(&o.noMemCheck, "no-memory-check", false, "skip the up-front check that the model and --batch fit in memory")
	fs.BoolVar(&o.samples, "samples", false, "also write each item's prompt, target, generated answer, scores and answer log-prob to DIR/"+rundir.SamplesFile)
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
	if o.tokensPerStep < 0 {
		return errors.New("--tokens-per-step must be positive")
	}
	o.command = append([]string{"emlab", "eval"}, args...)
	o.batchSet = flagGiven(fs, "batch")
	var log io.Writer = stderr
	if o.quiet {
		log = io.Discard
	}
	return runEval(ctx, o, stdout, log)
}

// evalTasks builds the tasks to score: an explicit list (a mixture spec;
// weights are ignored), or the run's mixture (for a model trained
// elsewhere, the tasks scored on it before).
func evalTasks(spec string, tg target) (tasks.Mixture, error) {
	if spec == "" {
		m := tg.mixture()
		switch {
		case !m.IsZero():
			return m, nil
		case tg.external():
			return m, fmt.Errorf("%s is a model trained elsewhere, without a training mixture: give --tasks (e.g. --tasks stories,file:examples/tasks/compare.toml)", tg.dir())
		}
		return m, fmt.Errorf("run %s was not trained on a task mixture: give --tasks", tg.dir())
	}
	m, err := tasks.ParseMixture(spec)
	if err != nil {
		return m, fmt.Errorf("--tasks: %w", err)
	}
	if err := m.CheckFilesAgainst(tg.mixture()); err != nil {
		return m, fmt.Errorf("--tasks: %w", err)
	}
	return m, nil
}

func runEval(ctx context.Context, o evalOptions, stdout, log io.Writer) error {
	targets, err := openTargets(o.run, o.out, o.command)
	if err != nil {
		return err
	}
	if o.tokensPerStep > 0 && !targets[0].external() {
		return errors.New("--tokens-per-step is for models trained elsewhere: an emlab run records its own")
	}
	return eachTarget(targets, stdout, func(tg target) error { return evalTarget(ctx, o, tg, stdout, log) })
}

// evalTarget scores one run's checkpoints and merges the results into its
// evals.jsonl after each step.
func evalTarget(ctx context.Context, o evalOptions, tg target, stdout, log io.Writer) error {
	if tg.tokenizer() == nil {
		return fmt.Errorf("run %s has no %s: only task-mixture runs can be evaluated on the battery", tg.dir(), rundir.TokenizerFile)
	}
	mix, err := evalTasks(o.tasks, tg)
	if err != nil {
		return err
	}
	steps, err := selectSteps(tg, o.step, o.all)
	if err != nil {
		return err
	}
	if o.n > eval.MaxItems {
		return fmt.Errorf("--n: at most %d items per variant, got %d", eval.MaxItems, o.n)
	}
	bat, err := eval.NewBatteryContext(ctx, mix.Tasks(), o.n)
	if err != nil {
		return err
	}
	// Checked before any weights are read, from the shape: the model at
	// this batch, over the longest sequence the items make (a model
	// trained elsewhere has a context far longer), one layer's
	// activations (evaluation keeps none; emlab's models keep all), and
	// the decoder generation uses.
	batch := batchFor(tg, o.batch, o.batchSet)
	T := bat.SeqLen(tg.nctx())
	if err := checkMemory(tg.memory(batch, T, false, T), o.noMemCheck); err != nil {
		return fmt.Errorf("run %s with --batch %d: %w", tg.dir(), batch, err)
	}
	if tg.external() {
		if err := checkWritable(tg.dir()); err != nil {
			return err
		}
	}
	m, err := tg.load(steps[0])
	if err != nil {
		return err
	}
	if x, ok := tg.(*externalRun); ok {
		if err := x.record(mix, o.tokensPerStep); err != nil {
			return err
		}
	}
	// Evaluation reads logits only: one layer's activation buffers serve
	// them all (a loaded model's option; logits are bit-identical).
	if k, ok := m.(interface{ SetKeepActivations(bool) }); ok {
		k.SetKeepActivations(false)
	}
	h := &eval.Harness{Model: m, Tok: tg.tokenizer(), BatchSize: batch, Ctx: ctx}
	var all []rundir.Eval
	for i, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		began := time.Now()
		if i > 0 {
			if _, err := tg.load(step); err != nil {
				return err
			}
		}
		var rs []rundir.Eval
		var ss []rundir.Sample
		if o.samples {
			rs, ss, err = bat.RunSamples(h, step)
		} else {
			rs, err = bat.Run(h, step)
		}
		if err != nil {
			if ctx.Err() != nil && len(rs) > 0 {
				// Keep the tasks scored before the signal (and their
				// samples, which a later --samples run would merge).
				if merr := rundir.MergeEvals(tg.dir(), rs); merr != nil {
					return errors.Join(err, merr)
				}
				if len(ss) > 0 {
					if merr := rundir.MergeSamples(tg.dir(), ss); merr != nil {
						return errors.Join(err, merr)
					}
				}
				fmt.Fprintf(log, "eval step %d: interrupted; kept %d results of the tasks finished\n", step, len(rs))
			}
			return fmt.Errorf("step %d: %w", step, err)
		}
		// Write after every step so an interrupted --all keeps what it did.
		if err := rundir.MergeEvals(tg.dir(), rs); err != nil {
			return err
		}
		if o.samples {
			if err := rundir.MergeSamples(tg.dir(), ss); err != nil {
				return err
			}
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
func selectSteps(tg target, step int, all bool) ([]int, error) {
	steps, err := tg.steps()
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("run %s has no checkpoints", tg.dir())
	}
	switch {
	case all:
		return steps, nil
	case step >= 0:
		if !slices.Contains(steps, step) {
			return nil, fmt.Errorf("run %s has no checkpoint at step %d (it has %s)", tg.dir(), step, joinInts(steps))
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
