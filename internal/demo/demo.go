// Package demo is `emlab demo`: the laboratory's main job on embedded
// defaults. It trains a scale ladder on the task battery and the
// mechanism studies (induction heads, grokking, quanta) as sweeps, packs
// all their runs onto the cores longest first (one sweep.RunPool), evaluates and probes every
// checkpoint, analyses the ladder, writes DIR/analysis.json and
// DIR/report.html, and checks what the run must show (Check).
//
// The studies are TOML experiment files embedded from studies/ (the same
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

// Study is one embedded experiment and its role in the demo.
type Study struct {
	Role string // ladder, induction, grokking, quanta
	Plan *sweep.Plan
}

// Studies returns the demo's studies; quick picks the smaller variants
// (files named <role>-quick.toml replace <role>.toml when present).
func Studies(quick bool) ([]Study, error) {
	var out []Study
	for _, role := range []string{"ladder", "induction", "grokking", "quanta"} {
		name := "studies/" + role + ".toml"
		if quick {
			if _, err := studiesFS.Open("studies/" + role + "-quick.toml"); err == nil {
				name = "studies/" + role + "-quick.toml"
			}
		}
		b, err := studiesFS.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // a study this build does not ship
		}
		if err != nil {
			return nil, err
		}
		e, err := sweep.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", name, err)
		}
		p, err := sweep.NewPlan(e)
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", name, err)
		}
		out = append(out, Study{Role: role, Plan: p})
	}
	return out, nil
}

// Options configure Train.
type Options struct {
	Out   string // output directory (each study in Out/<study name>)
	Quick bool
	Bin   string // the emlab binary that runs each step (os.Executable by default)
	Jobs  int    // runs at once; 0 = one per core
	// Progress is called about once a second with the state of the runs,
	// and once at the end.
	Progress func(sweep.Progress)
}

// Train trains, evaluates and probes every run of every study in one pool
// (sweep.RunPool: largest first, one run per core), and returns the
// studies with any run failures (failed runs do not stop the others; a
// rerun tries them again and resumes interrupted ones).
func Train(ctx context.Context, o Options) ([]Study, []string, error) {
	studies, err := Studies(o.Quick)
	if err != nil {
		return nil, nil, err
	}
	if o.Out == "" {
		return nil, nil, errors.New("no output directory")
	}
	bin := o.Bin
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, nil, fmt.Errorf("find the emlab binary: %w", err)
		}
	}
	var jobs []sweep.Job
	for _, s := range studies {
		exec := sweep.ExecOptions{Bin: bin, Out: filepath.Join(o.Out, s.Plan.Name), Experiment: s.Plan.Name,
			Eval: s.Plan.Experiment.Eval, Probe: s.Plan.Experiment.Probe, PostSteps: s.Plan.PostSteps}
		for _, j := range sweep.Jobs(s.Plan, exec) {
			j.Label = s.Plan.Name + "/" + j.Run.ID
			jobs = append(jobs, j)
		}
	}
	sum, err := sweep.RunPool(ctx, jobs, sweep.PoolOptions{Jobs: o.Jobs, Retry: true, Progress: o.Progress})
	if err != nil {
		return studies, sum.Failures, fmt.Errorf("demo %w", err)
	}
	return studies, sum.Failures, nil
}
