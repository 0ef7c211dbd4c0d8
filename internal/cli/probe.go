package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/probe"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

func init() {
	register("probe", "measure mechanisms inside a run's checkpoints (induction heads, geometry, linear probes...) → DIR/"+rundir.ProbesFile, runProbeCmd)
}

type probeOptions struct {
	run    string
	out    string
	step   int
	all    bool
	probes string
	tasks  string
	length int
	batch  int
	items  int
	list   bool
	quiet  bool
	// noMemCheck skips the up-front memory estimate.
	noMemCheck bool

	command  []string
	batchSet bool // --batch given (else a model trained elsewhere gets externalBatch)
}

func runProbeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", stderr)
	var o probeOptions
	fs.StringVar(&o.run, "run", "", "run directory, Hugging Face model directory, folder of step<N>/ model directories, or folder of those (required unless --list)")
	fs.StringVar(&o.out, "out", "", "models trained elsewhere: write the results here instead of beside the model (a ladder: one subdirectory per rung)")
	fs.StringVar(&o.tasks, "tasks", "", "models trained elsewhere: tasks whose documents are the held-out text and whose items the item probes read (default: the tasks eval recorded, else stories)")
	fs.IntVar(&o.length, "len", 0, fmt.Sprintf("models trained elsewhere: probe sequence length (default: min(n_ctx, %d))", defaultProbeLen))
	fs.IntVar(&o.step, "step", -1, "probe this checkpoint step (default: the newest)")
	fs.BoolVar(&o.all, "all", false, "probe every checkpoint")
	fs.StringVar(&o.probes, "probes", "", "probes to run, comma-separated (default: every probe that applies; see --list)")
	fs.IntVar(&o.batch, "batch", 64, fmt.Sprintf("sequences per probe batch (64 repeated sequences for prefix matching; models trained elsewhere: %d unless given)", externalBatch))
	fs.IntVar(&o.items, "items", 256, "task items per variant for item-based probes")
	fs.BoolVar(&o.list, "list", false, "list the probes and exit")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	fs.BoolVar(&o.noMemCheck, "no-memory-check", false, "skip the up-front check that the model and --batch fit in memory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"step": 0, "batch": 1, "items": 1}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if o.list {
		for _, p := range probe.Probes() {
			fmt.Fprintf(stdout, "%-16s %s\n", p.Name, p.About)
		}
		return nil
	}
	if o.run == "" {
		return errors.New("--run DIR is required")
	}
	if o.all && o.step >= 0 {
		return errors.New("give --step N or --all, not both")
	}
	if o.batch < 1 || o.items < 1 || o.length < 0 {
		return errors.New("--batch, --items and --len must be positive")
	}
	if o.items > eval.MaxItems {
		return fmt.Errorf("--items: at most %d items per variant, got %d", eval.MaxItems, o.items)
	}
	o.command = append([]string{"emlab", "probe"}, args...)
	o.batchSet = flagGiven(fs, "batch")
	var log io.Writer = stderr
	if o.quiet {
		log = io.Discard
	}
	return runProbe(ctx, o, stdout, log)
}

func runProbe(ctx context.Context, o probeOptions, stdout, log io.Writer) error {
	targets, err := openTargets(o.run, o.out, o.command)
	if err != nil {
		return err
	}
	if !targets[0].external() && (o.tasks != "" || o.length > 0) {
		return errors.New("--tasks and --len are for models trained elsewhere: an emlab run is probed on its own mixture and window")
	}
	return eachTarget(targets, stdout, func(tg target) error { return probeTarget(ctx, o, tg, stdout, log) })
}

// probeEnv is what the probes of tg may use besides the model: an emlab
// run's held-out stream, window and mixture; for a model trained
// elsewhere, the documents of --tasks (or of the tasks eval recorded, else
// stories) in its own tokenizer, in windows of --len tokens.
func probeEnv(ctx context.Context, o probeOptions, tg target, m nn.Model) (*probe.Env, error) {
	env := &probe.Env{Model: m, Tok: tg.tokenizer(), Batch: batchFor(tg, o.batch, o.batchSet), Items: o.items, Ctx: ctx}
	if r, ok := tg.(*emlabRun); ok {
		ev, err := r.rd.Heldout()
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.rd.Dir, err)
		}
		env.Eval, env.T, env.Tasks = ev, r.rd.Config.T(), r.rd.Config.Data.Tasks.Tasks()
		return env, nil
	}
	mix := tg.mixture()
	var err error
	switch {
	case o.tasks != "":
		if mix, err = tasks.ParseMixture(o.tasks); err != nil {
			return nil, fmt.Errorf("--tasks: %w", err)
		}
		if err := mix.CheckFilesAgainst(tg.mixture()); err != nil {
			return nil, fmt.Errorf("--tasks: %w", err)
		}
	case mix.IsZero():
		if mix, err = tasks.ParseMixture("stories"); err != nil {
			return nil, err
		}
	}
	T, err := probeLen(o, tg)
	if err != nil {
		return nil, err
	}
	ev, err := mix.StreamWith(tg.tokenizer(), data.MixtureConfig{Label: "eval", NCtx: T})
	if err != nil {
		return nil, fmt.Errorf("held-out text for the probes: %w", err)
	}
	env.Eval, env.T, env.Tasks = ev, T, mix.Tasks()
	return env, nil
}

// probeLen is the probes' window on tg: an emlab run's training window;
// for a model trained elsewhere --len, or min(n_ctx, defaultProbeLen).
func probeLen(o probeOptions, tg target) (int, error) {
	if r, ok := tg.(*emlabRun); ok {
		return r.rd.Config.T(), nil
	}
	if o.length > tg.nctx() {
		return 0, fmt.Errorf("--len %d is above the model's context n_ctx=%d", o.length, tg.nctx())
	}
	if o.length > 0 {
		return o.length, nil
	}
	return min(tg.nctx(), defaultProbeLen), nil
}

// probeTarget probes one run's checkpoints and merges the rows into its
// probes.jsonl after each step.
func probeTarget(ctx context.Context, o probeOptions, tg target, stdout, log io.Writer) error {
	steps, err := selectSteps(tg, o.step, o.all)
	if err != nil {
		return err
	}
	// Checked before any weights are read, from the shape: the probes keep
	// every layer's activations, over windows of probeLen tokens.
	T, err := probeLen(o, tg)
	if err != nil {
		return err
	}
	batch := batchFor(tg, o.batch, o.batchSet)
	if err := checkMemory(tg.memory(batch, T, true, 0), o.noMemCheck); err != nil {
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
	env, err := probeEnv(ctx, o, tg, m)
	if err != nil {
		return err
	}
	sel, err := probe.Select(o.probes, env)
	if err != nil {
		return err
	}
	if x, ok := tg.(*externalRun); ok {
		// Record the run; the tasks only given as probe text are not
		// scored, so they are not added to the record.
		if err := x.record(tasks.Mixture{}, 0); err != nil {
			return err
		}
	}
	var last []rundir.Probe
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
		var rows []rundir.Probe
		// interrupted keeps the rows of the probes finished before a signal.
		interrupted := func(err error) error {
			if len(rows) > 0 {
				if merr := rundir.MergeProbes(tg.dir(), rows); merr != nil {
					return errors.Join(err, merr)
				}
				fmt.Fprintf(log, "probe step %d: interrupted; kept %d rows of the probes finished\n", step, len(rows))
			}
			return fmt.Errorf("step %d: %w", step, err)
		}
		for _, p := range sel {
			rs, err := p.Run(env, step)
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(fmt.Errorf("probe %s: %w", p.Name, err))
				}
				return fmt.Errorf("step %d: probe %s: %w", step, p.Name, err)
			}
			rows = append(rows, rs...)
			if err := ctx.Err(); err != nil {
				return interrupted(err)
			}
		}
		// Write after every step so an interrupted --all keeps what it did.
		if err := rundir.MergeProbes(tg.dir(), rows); err != nil {
			return err
		}
		last = rows
		fmt.Fprintf(log, "probe step %d: %d rows in %.1fs\n", step, len(rows), time.Since(began).Seconds())
	}
	printProbeSummary(stdout, last, steps[len(steps)-1])
	return nil
}

// printProbeSummary prints, per probe of the last step, its headline row:
// the largest value where larger means more of what it detects, the
// smallest where smaller does (a loss), the value or the range of values
// of a descriptive measure (rundir.ProbeSense). A layer or head that does
// not apply (a whole-model or whole-layer measure) reads "n/a".
func printProbeSummary(w io.Writer, rows []rundir.Probe, step int) {
	type agg struct {
		best, lo, hi rundir.Probe
		count        int
	}
	var order []string
	by := map[string]*agg{}
	for _, r := range rows {
		a, ok := by[r.Probe]
		if !ok {
			a = &agg{best: r, lo: r, hi: r}
			by[r.Probe] = a
			order = append(order, r.Probe)
		}
		a.count++
		if r.Value < a.lo.Value {
			a.lo = r
		}
		if r.Value > a.hi.Value {
			a.hi = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "step %d\n", step)
	fmt.Fprintln(tw, "probe\tshown\tvalue\tlayer\thead\trows")
	na := false
	for _, name := range order {
		a := by[name]
		shown, r, value := "", a.hi, ""
		switch sense := rundir.ProbeSense(name); {
		case sense > 0:
			shown, value = "max", fmt.Sprintf("%.4f", r.Value)
		case sense < 0:
			r = a.lo
			shown, value = "min", fmt.Sprintf("%.4f", r.Value)
		case a.count == 1:
			shown, value = "value", fmt.Sprintf("%.4f", r.Value)
		default:
			shown, value = "range", fmt.Sprintf("%.4g–%.4g", a.lo.Value, a.hi.Value)
		}
		layer, head := "", ""
		if shown != "range" {
			layer, head = probeCoord(r.Layer), probeCoord(r.Head)
			na = na || r.Layer < 0 || r.Head < 0
		}
		extra := ""
		if shown != "range" && r.Var != "" {
			extra = " " + r.Var
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%s\n", strings.TrimSpace(name), shown, value, layer, head, a.count, extra)
	}
	tw.Flush()
	fmt.Fprintln(w, "max/min: the row with the most of what the probe detects (min for losses); range: a descriptive measure's smallest and largest row.")
	if na {
		fmt.Fprintln(w, "n/a: the row measures the whole model (layer) or a whole layer (head), not one layer or head.")
	}
}

// probeCoord is a layer or head index, or "n/a" for −1 (does not apply).
func probeCoord(i int) string {
	if i < 0 {
		return "n/a"
	}
	return strconv.Itoa(i)
}
