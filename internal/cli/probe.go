package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"emlab/internal/eval"
	"emlab/internal/probe"
	"emlab/internal/rundir"
	"emlab/internal/train"
)

func init() {
	register("probe", "measure mechanisms inside a run's checkpoints (induction heads, geometry, linear probes...) → DIR/"+rundir.ProbesFile, runProbeCmd)
}

type probeOptions struct {
	run    string
	step   int
	all    bool
	probes string
	batch  int
	items  int
	list   bool
	quiet  bool
	// noMemCheck skips the up-front memory estimate.
	noMemCheck bool
}

func runProbeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", stderr)
	var o probeOptions
	fs.StringVar(&o.run, "run", "", "run directory (required unless --list)")
	fs.IntVar(&o.step, "step", -1, "probe this checkpoint step (default: the newest)")
	fs.BoolVar(&o.all, "all", false, "probe every checkpoint")
	fs.StringVar(&o.probes, "probes", "", "probes to run, comma-separated (default: every probe that applies; see --list)")
	fs.IntVar(&o.batch, "batch", 64, "sequences per probe batch (64 repeated sequences for prefix matching)")
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
	if o.batch < 1 || o.items < 1 {
		return errors.New("--batch and --items must be positive")
	}
	if o.items > eval.MaxItems {
		return fmt.Errorf("--items: at most %d items per variant, got %d", eval.MaxItems, o.items)
	}
	var log io.Writer = stderr
	if o.quiet {
		log = io.Discard
	}
	return runProbe(ctx, o, stdout, log)
}

func runProbe(ctx context.Context, o probeOptions, stdout, log io.Writer) error {
	rd, err := train.OpenRun(o.run)
	if err != nil {
		return err
	}
	steps, err := selectSteps(rd, o.step, o.all)
	if err != nil {
		return err
	}
	if err := checkMemory(train.InferenceMemory(rd.Config.Model, o.batch, rd.Config.T(), false), o.noMemCheck); err != nil {
		return fmt.Errorf("run %s with --batch %d: %w", o.run, o.batch, err)
	}
	m, err := rd.Model(steps[0])
	if err != nil {
		return err
	}
	ev, err := rd.Heldout()
	if err != nil {
		return fmt.Errorf("run %s: %w", o.run, err)
	}
	env := &probe.Env{Model: m, Tok: rd.Tok, Eval: ev, T: rd.Config.T(), Batch: o.batch, Items: o.items,
		Tasks: rd.Config.Data.Tasks.Tasks(), Ctx: ctx}
	sel, err := probe.Select(o.probes, env)
	if err != nil {
		return err
	}
	var last []rundir.Probe
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		began := time.Now()
		if err := rd.Load(m, step); err != nil {
			return err
		}
		var rows []rundir.Probe
		// interrupted keeps the rows of the probes finished before a signal.
		interrupted := func(err error) error {
			if len(rows) > 0 {
				if merr := rundir.MergeProbes(o.run, rows); merr != nil {
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
		if err := rundir.MergeProbes(o.run, rows); err != nil {
			return err
		}
		last = rows
		fmt.Fprintf(log, "probe step %d: %d rows in %.1fs\n", step, len(rows), time.Since(began).Seconds())
	}
	printProbeSummary(stdout, last, steps[len(steps)-1])
	return nil
}

// printProbeSummary prints, per probe of the last step, its largest value
// and where (series probes: their row count).
func printProbeSummary(w io.Writer, rows []rundir.Probe, step int) {
	fmt.Fprintf(w, "step %d\n%-24s %10s %6s %5s  %s\n", step, "probe", "max", "layer", "head", "rows")
	type agg struct {
		best  rundir.Probe
		count int
	}
	var order []string
	by := map[string]*agg{}
	for _, r := range rows {
		a, ok := by[r.Probe]
		if !ok {
			a = &agg{best: r}
			by[r.Probe] = a
			order = append(order, r.Probe)
		}
		a.count++
		if r.Value > a.best.Value {
			a.best = r
		}
	}
	for _, name := range order {
		a := by[name]
		extra := ""
		if a.best.Var != "" {
			extra = " " + a.best.Var
		}
		fmt.Fprintf(w, "%-24s %10.4f %6d %5d  %d%s\n", strings.TrimSpace(name), a.best.Value, a.best.Layer, a.best.Head, a.count, extra)
	}
}
