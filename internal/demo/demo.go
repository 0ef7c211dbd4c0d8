// Package demo is `emlab demo`: the laboratory's main job on embedded
// defaults. It trains a scale ladder on the task battery and the
// mechanism studies (induction heads, grokking, quanta) as sweeps, packs
// all their runs onto the cores longest first, evaluates and probes every
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
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

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

// Options configure Run.
type Options struct {
	Out   string // output directory (each study in Out/<study name>)
	Quick bool
	Bin   string // the emlab binary that runs each step (os.Executable by default)
	Jobs  int    // runs at once; 0 = one per core
	// Progress is called about once a second with the state of every run,
	// and once at the end.
	Progress func(Progress)
}

// RunState is one run's progress.
type RunState struct {
	Study, ID   string
	State       string // pending, running, done, failed, interrupted
	Step, Steps int
	Loss        float64
	Error       string
}

// Progress is the whole demo's progress.
type Progress struct {
	Runs      []RunState
	Done      int     // runs finished (done or failed)
	FLOPsDone float64 // training FLOPs done, of FLOPsAll
	FLOPsAll  float64
	Elapsed   time.Duration
	ETA       time.Duration // from the FLOPs rate so far; 0 when unknown
}

type job struct {
	study Study
	run   sweep.Run
	exec  sweep.ExecOptions
}

// Train trains, evaluates and probes every run of every study, longest
// first on Jobs workers, and returns the studies with any run failures
// (failed runs do not stop the others).
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
	var jobs []job
	var flopsAll float64
	available := sweep.Available(ctx, bin, []string{"eval", "probe"})
	for _, s := range studies {
		exec := sweep.ExecOptions{Bin: bin, Out: filepath.Join(o.Out, s.Plan.Name), Experiment: s.Plan.Name,
			Eval: s.Plan.Experiment.Eval, Probe: s.Plan.Experiment.Probe, PostSteps: s.Plan.PostSteps, Available: available}
		for _, r := range s.Plan.Runs {
			jobs = append(jobs, job{s, r, exec})
			flopsAll += r.FLOPs
		}
	}
	// Longest processing time first: the biggest rung starts at once, the
	// small runs fill the other cores around it.
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].run.FLOPs > jobs[j].run.FLOPs })
	n := o.Jobs
	if n <= 0 {
		n = runtime.NumCPU()
	}

	began := time.Now()
	report := func() {
		if o.Progress != nil {
			o.Progress(progress(jobs, flopsAll, time.Since(began)))
		}
	}
	stop := make(chan struct{})
	var tick sync.WaitGroup
	tick.Add(1)
	go func() {
		defer tick.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				report()
			}
		}
	}()

	var mu sync.Mutex
	var failures []string
	next := 0
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(jobs) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				out, err := sweep.ExecRun(ctx, j.run, j.exec)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s/%s: %v", j.study.Plan.Name, j.run.ID, err))
				case out.State == sweep.StateFailed:
					failures = append(failures, fmt.Sprintf("%s/%s: %s", j.study.Plan.Name, j.run.ID, out.Error))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	tick.Wait()
	report()
	if err := ctx.Err(); err != nil {
		return studies, failures, fmt.Errorf("demo interrupted (run it again to resume): %w", err)
	}
	return studies, failures, nil
}

func progress(jobs []job, flopsAll float64, elapsed time.Duration) Progress {
	p := Progress{FLOPsAll: flopsAll, Elapsed: elapsed}
	for _, j := range jobs {
		v := sweep.ReadState(j.exec.Out, j.run)
		rs := RunState{Study: j.study.Plan.Name, ID: j.run.ID, State: v.State, Step: v.Step, Steps: j.run.Steps, Loss: v.Loss, Error: v.Error}
		p.Runs = append(p.Runs, rs)
		if v.State == sweep.StateDone || v.State == sweep.StateFailed {
			p.Done++
			p.FLOPsDone += j.run.FLOPs
		} else {
			p.FLOPsDone += v.FLOPs
		}
	}
	if p.FLOPsDone > 0 && p.FLOPsDone < flopsAll {
		p.ETA = time.Duration(float64(elapsed) * (flopsAll - p.FLOPsDone) / p.FLOPsDone)
	}
	sort.SliceStable(p.Runs, func(a, b int) bool {
		if p.Runs[a].Study != p.Runs[b].Study {
			return strings.Compare(p.Runs[a].Study, p.Runs[b].Study) < 0
		}
		return false
	})
	return p
}
