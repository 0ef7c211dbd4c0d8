// Package demo is `emlab demo`: the laboratory's main job on embedded
// defaults, and the claims study. Each study (study.go) tests one claim of
// the founding text: it names the sweeps it trains, and its Judge
// re-derives findings from the run directories. Plain `emlab demo` runs
// the demo's studies (a scale ladder on the task battery, induction
// heads, grokking, quanta); `--study NAME` one study, `--all` every one.
// Train packs all their runs onto the cores longest first (one
// sweep.RunPool) and evaluates and probes every checkpoint; Finish
// analyses the ladder (DIR/analysis.json), judges the studies into
// DIR/findings.json and writes DIR/report.html, which opens with the
// claims table.
//
// The sweeps are TOML experiment files embedded from studies/ (the same
// format as `emlab sweep`), so every run can be reproduced or extended with
// the sweep command. A run already finished in DIR is not trained again,
// and an interrupted demo resumes where it stopped.
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"emlab/internal/sweep"
)

//go:embed studies/*.toml
var studiesFS embed.FS

// Options configure Train.
type Options struct {
	Out   string // output directory (each sweep in Out/<sweep name>)
	Quick bool
	Bin   string // the emlab binary that runs each step (os.Executable by default)
	Jobs  int    // runs at once; 0 = one per core
	// Progress is called about once a second with the state of the runs,
	// and once at the end.
	Progress func(sweep.Progress)
}

// Train trains, evaluates and probes every run of the studies' sweeps
// in one pool (sweep.RunPool: largest first, one run per core; a sweep
// two studies share is trained once), and returns any run failures
// (failed runs do not stop the others; a rerun tries them again and
// resumes interrupted ones).
func Train(ctx context.Context, studies []*Study, o Options) ([]string, error) {
	if o.Out == "" {
		return nil, errors.New("no output directory")
	}
	bin := o.Bin
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the emlab binary: %w", err)
		}
	}
	var jobs []sweep.Job
	for _, name := range Sweeps(studies, o.Quick) {
		p, err := LoadPlan(name, o.Quick)
		if err != nil {
			return nil, err
		}
		exec := sweep.ExecOptions{Bin: bin, Out: filepath.Join(o.Out, p.Name), Experiment: p.Name,
			Eval: p.Experiment.Eval, Probe: p.Experiment.Probe, PostSteps: p.PostSteps}
		for _, j := range sweep.Jobs(p, exec) {
			j.Label = p.Name + "/" + j.Run.ID
			jobs = append(jobs, j)
		}
	}
	sum, err := sweep.RunPool(ctx, jobs, sweep.PoolOptions{Jobs: o.Jobs, Retry: true, Progress: o.Progress})
	if err != nil {
		return sum.Failures, fmt.Errorf("demo %w", err)
	}
	return sum.Failures, nil
}
