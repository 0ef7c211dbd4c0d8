package cli

import (
	"context"
	"emlab/internal/report"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"emlab/internal/store"
	"emlab/internal/sweep"
)

func init() {
	register("sweep", "plan, run and watch experiments: sweep plan|run|status FILE [--out DIR] [--executor local|slurm]", runSweepCmd)
}

// sweepOptions are the flags of emlab sweep.
type sweepOptions struct {
	out, executor   string
	jobs            int
	retry, asJSON   bool
	noWait, noIndex bool
	quiet           bool
	manifest        string
	task            int
}

func runSweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: emlab sweep plan|run|status FILE [--out DIR] [--executor local|slurm] [--jobs N] [--retry]")
		if len(args) > 0 {
			fmt.Fprintf(stderr, "Run 'emlab sweep SUBCOMMAND -h' for its flags.\n")
			return flag.ErrHelp
		}
		return errUsage
	}
	if strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("give the sweep command first: emlab sweep plan|run|status FILE [flags] (got %q)", args[0])
	}
	sub := args[0]
	fs := newFlagSet("sweep "+sub, stderr)
	var o sweepOptions
	fs.StringVar(&o.out, "out", "", "output directory (default runs/<experiment name>)")
	fs.BoolVar(&o.asJSON, "json", false, "plan/status: print JSON")
	if sub == "run" {
		fs.StringVar(&o.executor, "executor", "local", "where runs execute: local or slurm")
		fs.IntVar(&o.jobs, "jobs", 0, "local: runs at once (default: cores / resources.threads)")
		fs.BoolVar(&o.retry, "retry", false, "rerun failed runs too (local), resubmit failed or lost runs (slurm)")
		fs.BoolVar(&o.noWait, "no-wait", false, "slurm: return after submitting instead of watching the jobs")
		fs.BoolVar(&o.noIndex, "no-index", false, "do not update DIR/index.db as runs finish")
		fs.BoolVar(&o.quiet, "quiet", false, "no progress view")
	}
	if sub == "worker" {
		fs.StringVar(&o.manifest, "manifest", "", "the submission manifest written by the Slurm executor")
		fs.IntVar(&o.task, "task", -1, "array task index (default $SLURM_ARRAY_TASK_ID)")
		fs.BoolVar(&o.noIndex, "no-index", false, "do not update the index")
	}
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int64{"jobs": 0}); err != nil {
		return err
	}
	if sub == "worker" {
		return runSweepWorker(ctx, o, stderr)
	}
	if len(pos) != 1 {
		return fmt.Errorf("give one experiment file, e.g. emlab sweep %s examples/sweeps/tiny.toml (got %d arguments)", sub, len(pos))
	}
	switch sub {
	case "plan", "run", "status":
	default:
		return fmt.Errorf("unknown sweep command %q%s", sub, didYouMean(sub, []string{"plan", "run", "status"}))
	}
	exp, err := sweep.Load(pos[0])
	if err != nil {
		return err
	}
	plan, err := sweep.NewPlan(exp)
	if err != nil {
		return fmt.Errorf("plan %s:\n%w", pos[0], err)
	}
	if o.out == "" {
		o.out = filepath.Join("runs", exp.Name)
	}
	switch sub {
	case "plan":
		return printPlan(stdout, plan, o)
	case "status":
		return sweepStatus(ctx, stdout, plan, o)
	}
	return sweepRun(ctx, stdout, stderr, plan, pos[0], o)
}

func printPlan(w io.Writer, p *sweep.Plan, o sweepOptions) error {
	if o.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	e := p.Experiment
	fmt.Fprintf(w, "experiment %s: %d runs → %s\n", p.Name, len(p.Runs), o.out)
	if e.Description != "" {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(e.Description))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tparams\tnon-emb\tsteps\ttokens\tFLOPs\t")
	for _, r := range p.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", r.ID, report.Num(float64(r.Params)), report.Num(float64(r.NonEmbeddingParams)),
			r.Steps, report.Num(float64(r.Tokens)), report.Num(r.FLOPs))
	}
	fmt.Fprintf(tw, "total\t%s\t\t\t%s\t%s\t\n", report.Num(float64(p.Params)), report.Num(float64(p.Tokens)), report.Num(p.FLOPs))
	tw.Flush()
	post := "none"
	if len(p.PostSteps) > 0 {
		post = strings.Join(p.PostSteps, ", ")
	}
	fmt.Fprintf(w, "post-steps: %s; threads per run: %d\n", post, e.Resources.Threads)
	return nil
}

func sweepStatus(ctx context.Context, w io.Writer, p *sweep.Plan, o sweepOptions) error {
	views, err := sweep.States(ctx, o.out, p)
	if err != nil {
		if views == nil {
			return err
		}
		fmt.Fprintf(w, "warning: states from the run directories only: %v\n", err)
	}
	if o.asJSON {
		type row struct {
			ID      string   `json:"id"`
			State   string   `json:"state"`
			Error   string   `json:"error,omitempty"`
			Step    int      `json:"step"`
			Steps   int      `json:"steps"`
			Skipped []string `json:"skipped,omitempty"`
			Slurm   string   `json:"slurm,omitempty"`
		}
		var rows []row
		for _, v := range views {
			rows = append(rows, row{v.Run.ID, v.State, v.Error, v.Step, v.Run.Steps, v.Skipped, v.Slurm})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	counts := map[string]int{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tstate\tstep\tloss\tnote")
	for _, v := range views {
		counts[v.State]++
		note := v.Error
		if len(v.Skipped) > 0 {
			note = strings.TrimSpace(note + " skipped: " + strings.Join(v.Skipped, ","))
		}
		if v.Slurm != "" {
			note = strings.TrimSpace("slurm " + v.Slurm + " " + note)
		}
		loss := "-"
		if v.Loss == v.Loss {
			loss = fmt.Sprintf("%.4f", v.Loss)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", v.Run.ID, v.State, v.Step, v.Run.Steps, loss, note)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d runs: %d done, %d running, %d queued, %d failed, %d interrupted, %d pending\n", len(views),
		counts[sweep.StateDone], counts[sweep.StateRunning], counts[sweep.StateQueued], counts[sweep.StateFailed],
		counts[sweep.StateInterrupted], counts[sweep.StatePending])
	return nil
}

// indexer indexes finished runs into OUT/index.db; one handle per process,
// opened on first use.
type indexer struct {
	out string
	mu  sync.Mutex
	db  *store.DB
}

func (ix *indexer) index(ctx context.Context, id string) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.db == nil {
		db, err := store.Open(filepath.Join(ix.out, store.IndexFile))
		if err != nil {
			return err
		}
		ix.db = db
	}
	dir := sweep.RunDir(ix.out, id)
	if !store.IsRunDir(dir) {
		return nil // failed before emlab train wrote config.json
	}
	return ix.db.IndexRun(ctx, ix.out, dir)
}

func (ix *indexer) close() {
	if ix.db != nil {
		ix.db.Close()
	}
}

func sweepRun(ctx context.Context, stdout, stderr io.Writer, p *sweep.Plan, file string, o sweepOptions) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the emlab binary: %w", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	eo := sweep.ExecOptions{Bin: bin, Out: o.out, Experiment: p.Name, Eval: p.Experiment.Eval, Probe: p.Experiment.Probe,
		PostSteps: p.PostSteps}
	var report func(sweep.Progress)
	if !o.quiet {
		report = newPoolView(stderr, "sweep").report
	}
	switch o.executor {
	case "local":
		ix := &indexer{out: o.out}
		defer ix.close()
		lo := sweep.LocalOptions{ExecOptions: eo, PoolOptions: sweep.PoolOptions{Jobs: o.jobs, Retry: o.retry, Progress: report}}
		if !o.noIndex {
			lo.AfterRun = func(j sweep.Job, _ sweep.Outcome) error { return ix.index(ctx, j.Run.ID) }
		}
		sum, err := sweep.RunLocal(ctx, p, lo)
		for _, e := range sum.AfterRunErrors {
			fmt.Fprintf(stderr, "sweep: index: %s\n", e)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sweep %s: %d runs worked on, %d done, %d failed, %d not finished (held by another process) → %s\n",
			p.Name, sum.Ran, sum.Done, sum.Failed, len(sum.Unfinished), o.out)
		return sum.Err()
	case "slurm":
		abs, err := filepath.Abs(o.out)
		if err != nil {
			return err
		}
		eo.Out = abs
		so := sweep.SlurmOptions{ExecOptions: eo, Retry: o.retry, Wait: !o.noWait, Progress: report, Log: stderr}
		if !o.noIndex {
			so.WorkerArgs = nil
		} else {
			so.WorkerArgs = []string{"--no-index"}
		}
		sum, err := sweep.RunSlurm(ctx, p, so)
		if err != nil {
			return err
		}
		if sum.JobID != "" {
			fmt.Fprintf(stdout, "sweep %s: submitted %d runs as Slurm job %s (%s)\n", p.Name, sum.Submitted, sum.JobID, sum.Script)
		} else {
			fmt.Fprintf(stdout, "sweep %s: nothing to submit\n", p.Name)
		}
		if o.noWait {
			return nil
		}
		fmt.Fprintf(stdout, "sweep %s: %d done, %d failed → %s\n", p.Name, sum.Done, sum.Failed, o.out)
		return sum.Err()
	}
	return fmt.Errorf("--executor: unknown executor %q (want local or slurm)", o.executor)
}

// runSweepWorker executes one Slurm array task: the runs of its pack.
func runSweepWorker(ctx context.Context, o sweepOptions, stderr io.Writer) error {
	if o.manifest == "" {
		return errors.New("sweep worker: --manifest is required")
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the emlab binary: %w", err)
	}
	task := o.task
	if task < 0 {
		if _, err := fmt.Sscan(os.Getenv("SLURM_ARRAY_TASK_ID"), &task); err != nil {
			return errors.New("sweep worker: give --task or run under a Slurm array ($SLURM_ARRAY_TASK_ID)")
		}
	}
	m, err := sweep.ReadManifest(o.manifest)
	if err != nil {
		return err
	}
	ix := &indexer{out: m.Exec.Out}
	defer ix.close()
	after := func(r sweep.Run, _ sweep.Outcome) error { return ix.index(ctx, r.ID) }
	if o.noIndex {
		after = nil
	}
	return sweep.RunWorker(ctx, m, task, bin, after, stderr)
}
