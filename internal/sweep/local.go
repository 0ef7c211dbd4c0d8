package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Job is one run to execute with the options of its experiment. A plan's
// runs share one ExecOptions; the demo pools the runs of several
// experiments, each with its own.
type Job struct {
	Run  Run
	Exec ExecOptions
	// Label names the run in failures and progress (default Run.ID).
	Label string
}

func (j Job) label() string {
	if j.Label != "" {
		return j.Label
	}
	return j.Run.ID
}

// Jobs lists a plan's runs as jobs with the options o.
func Jobs(p *Plan, o ExecOptions) []Job {
	jobs := make([]Job, len(p.Runs))
	for i, r := range p.Runs {
		jobs[i] = Job{Run: r, Exec: o}
	}
	return jobs
}

// Progress is one picture of a pool of runs (a sweep, the demo), for a
// progress display.
type Progress struct {
	Total, Done, Failed, Running, Queued, Pending int
	// Active are the running runs with their latest logged step and loss.
	Active []View
	// FLOPs of training done and planned (failed runs excluded from both).
	FLOPsDone, FLOPsTotal float64
	Elapsed               time.Duration
	// ETA extrapolates the FLOPs rate since this process started; -1 when
	// unknown (nothing measured yet).
	ETA time.Duration
}

// Finished reports whether nothing is running or queued any more.
func (p Progress) Finished() bool { return p.Running == 0 && p.Queued == 0 }

// Summarize computes a Progress from run views. flops0 is the FLOPs done
// when the watch began and elapsed the time since, for the ETA.
func Summarize(views []View, flops0 float64, elapsed time.Duration) Progress {
	p := Progress{Total: len(views), Elapsed: elapsed, ETA: -1}
	for _, v := range views {
		switch v.State {
		case StateDone:
			p.Done++
			p.FLOPsDone += v.Run.FLOPs
			p.FLOPsTotal += v.Run.FLOPs
			continue
		case StateFailed:
			p.Failed++
			continue
		case StateRunning:
			p.Running++
			p.Active = append(p.Active, v)
		case StateQueued:
			p.Queued++
		default:
			p.Pending++
		}
		p.FLOPsTotal += v.Run.FLOPs
		p.FLOPsDone += min(v.FLOPs, v.Run.FLOPs)
	}
	sort.Slice(p.Active, func(i, j int) bool { return p.Active[i].Label < p.Active[j].Label })
	if rate := (p.FLOPsDone - flops0) / elapsed.Seconds(); rate > 0 && elapsed > 0 {
		p.ETA = time.Duration((p.FLOPsTotal - p.FLOPsDone) / rate * float64(time.Second))
	}
	return p
}

// ReadStates reads every run's state.
func ReadStates(out string, p *Plan) []View { return readJobStates(Jobs(p, ExecOptions{Out: out})) }

func readJobStates(jobs []Job) []View {
	views := make([]View, len(jobs))
	for i, j := range jobs {
		views[i] = ReadState(j.Exec.Out, j.Run)
		views[i].Label = j.label()
	}
	return views
}

// LocalOptions configure RunLocal.
type LocalOptions struct {
	ExecOptions
	PoolOptions
}

// PoolOptions configure RunPool.
type PoolOptions struct {
	// Jobs is how many runs train at once; 0 packs the cores:
	// max(1, NumCPU / the most threads any run uses), and once no run is
	// left to hand out, a step that starts gets the cores no other run
	// holds (see stepThreads). A Jobs fixed by the caller is a bound on
	// the machine the pool may use: every step then gets its run's own
	// train.threads.
	Jobs  int
	Retry bool // rerun failed runs too
	// Progress, when set, is called about every Every (default 1 s) and
	// once at the end.
	Progress func(Progress)
	Every    time.Duration
	// AfterRun, when set, is called after each run this process worked on
	// (e.g. to index it); its error is reported but stops nothing.
	AfterRun func(j Job, o Outcome) error
}

// Summary is the result of executing a sweep.
type Summary struct {
	Ran, Done, Failed, Busy int      // Busy: held by another process
	Failures                []string // "label: message"
	// Unfinished lists the runs neither done nor failed when the pool
	// ended — held by another process, or left by it — as "label: why".
	Unfinished     []string
	AfterRunErrors []string
}

// Err is an error listing the failed and the unfinished runs, or nil when
// every run is done: a sweep that returns nil has finished its plan.
func (s Summary) Err() error {
	if s.Failed == 0 && len(s.Unfinished) == 0 {
		return nil
	}
	var msg string
	if s.Failed > 0 {
		msg = fmt.Sprintf("%d run(s) failed", s.Failed)
		for _, f := range s.Failures {
			msg += "\n  " + f
		}
		msg += "\n(rerun with --retry to run them again)"
	}
	if len(s.Unfinished) > 0 {
		if msg != "" {
			msg += "\n"
		}
		msg += fmt.Sprintf("%d run(s) not finished by this sweep", len(s.Unfinished))
		for _, u := range s.Unfinished {
			msg += "\n  " + u
		}
		msg += "\n(rerun when the other process has ended)"
	}
	return errors.New(msg)
}

// Select lists the runs a sweep should work on now: everything not done
// (failed runs only with retry), and done runs with a post-step an older
// emlab recorded as skipped. Runs another process holds are left to it.
func Select(views []View, retry bool) []int {
	var todo []int
	for i, v := range views {
		switch {
		case v.State == StateRunning || v.State == StateQueued:
		case v.State == StateFailed && !retry:
		case NeedsWork(v):
			todo = append(todo, i)
		}
	}
	return todo
}

// RunLocal executes the plan on this machine (RunPool over its runs).
func RunLocal(ctx context.Context, p *Plan, o LocalOptions) (Summary, error) {
	return RunPool(ctx, Jobs(p, o.ExecOptions), o.PoolOptions)
}

// RunPool executes jobs on this machine: a pool of workers, each running
// one run at a time as processes (see ExecRun), the largest runs (in
// training FLOPs) first so that the small ones fill the cores around them.
// When the pool packs the cores itself (Jobs 0), the runs at the tail,
// with nothing left to hand out, take the cores the finished ones leave
// (stepThreads). Cancelling ctx interrupts the running runs (they resume
// on the next call) and returns ctx's error.
func RunPool(ctx context.Context, jobs []Job, o PoolOptions) (Summary, error) {
	ncpu := numCPU()
	n := o.Jobs
	if n <= 0 {
		threads := 1
		for _, j := range jobs {
			threads = max(threads, j.Run.Config.Train.Threads)
		}
		n = max(1, ncpu/threads)
	}
	elastic := o.Jobs <= 0
	var todo []Job
	for _, i := range Select(readJobStates(jobs), o.Retry) {
		todo = append(todo, jobs[i])
	}
	sort.SliceStable(todo, func(a, b int) bool { return todo[a].Run.FLOPs > todo[b].Run.FLOPs })

	// Under mu: the next job to hand out, and the cores each worker's run
	// holds (0 while the worker has none), so that the tail's steps never
	// take cores another run uses.
	var (
		mu   sync.Mutex
		sum  Summary
		next int
		held = make([]int, n)
	)
	take := func(w int) (Job, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next == len(todo) || ctx.Err() != nil {
			return Job{}, false
		}
		j := todo[next]
		next++
		held[w] = runCores(j.Run.Config.Train.Threads, ncpu)
		return j, true
	}
	// grant is called as each step of worker w's run starts.
	grant := func(w int, own int) int {
		if !elastic {
			return own
		}
		mu.Lock()
		defer mu.Unlock()
		others := 0
		for i, c := range held {
			if i != w {
				others += c
			}
		}
		t := stepThreads(own, len(todo)-next, others, ncpu)
		held[w] = runCores(t, ncpu)
		return t
	}
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, ok := take(w)
				if !ok {
					return
				}
				own := j.Run.Config.Train.Threads
				out, err := runJob(ctx, j.Run, j.Exec, func() int { return grant(w, own) })
				if err != nil && out.Error == "" {
					out.State, out.Error = StateFailed, err.Error()
				}
				var afterErr error
				if o.AfterRun != nil && ctx.Err() == nil {
					afterErr = o.AfterRun(j, out)
				}
				mu.Lock()
				held[w] = 0
				if out.Ran {
					sum.Ran++
				}
				switch out.State {
				case StateDone:
					sum.Done++
				case StateFailed:
					sum.Failed++
					sum.Failures = append(sum.Failures, j.label()+": "+out.Error)
				case StateRunning:
					sum.Busy++
				}
				if afterErr != nil {
					sum.AfterRunErrors = append(sum.AfterRunErrors, j.label()+": "+afterErr.Error())
				}
				mu.Unlock()
			}
		}()
	}

	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if o.Progress == nil {
			return
		}
		watchWith(func() []View { return readJobStates(jobs) }, o.Every, stopWatch, o.Progress)
	}()

	wg.Wait()
	close(stopWatch)
	<-watchDone
	sort.Strings(sum.Failures)
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("interrupted (rerun to resume): %w", err)
	}
	// Runs done before this call count as done too, and runs that failed
	// before it as failed; any run neither done nor failed now is
	// unfinished, and says so.
	for i, v := range readJobStates(jobs) {
		switch v.State {
		case StateDone:
		case StateFailed:
			if !failedAlready(sum.Failures, v.Label) {
				sum.Failed++
				sum.Failures = append(sum.Failures, v.Label+": "+v.Error)
			}
		default:
			sum.Unfinished = append(sum.Unfinished, v.Label+": "+unfinishedWhy(RunDir(jobs[i].Exec.Out, v.Run.ID), v.State))
		}
	}
	sort.Strings(sum.Unfinished)
	return sum, nil
}

// numCPU is the cores the pool shares out (a variable for tests).
var numCPU = runtime.NumCPU

// runJob executes one job for the pool (a variable for tests).
var runJob = execRun

// stepThreads is the threads a step of a run with train.threads own gets
// from the pool: own while queued runs are left to hand out; once none
// is, the ncpu cores less the others that the other running runs hold,
// when that is more. The tail of a sweep (a study of one run, the last
// runs of a demo) thus trains and probes on the cores the finished runs
// leave idle, never on a core another run uses. Results do not depend on
// it: kernels are bit-identical for every thread count and the steps'
// statistics for any GOMAXPROCS. own ≤ 0 (every core) is kept.
func stepThreads(own, queued, others, ncpu int) int {
	if own <= 0 || queued > 0 {
		return own
	}
	return max(own, ncpu-others)
}

// runCores is the cores a run of threads holds in the pool's count
// (threads ≤ 0 uses them all).
func runCores(threads, ncpu int) int {
	if threads <= 0 {
		return ncpu
	}
	return threads
}

// unfinishedWhy says why a run is not finished: who holds it, from its
// status.json.
func unfinishedWhy(dir, state string) string {
	st, err := readStatus(dir)
	switch {
	case state == StateRunning && err == nil && st.PID > 0:
		return fmt.Sprintf("held by another process (PID %d on %s, since %s)", st.PID, st.Host, st.Updated.Format(time.RFC3339))
	case state == StateRunning:
		return "held by another process"
	}
	return state
}

func failedAlready(failures []string, label string) bool {
	for _, f := range failures {
		if strings.HasPrefix(f, label+": ") {
			return true
		}
	}
	return false
}

// Watch calls report with the sweep's progress every `every` (default 1 s)
// until stop is closed, and once more at the end.
func Watch(out string, p *Plan, every time.Duration, stop <-chan struct{}, report func(Progress)) {
	watchWith(func() []View { return ReadStates(out, p) }, every, stop, report)
}

func watchWith(read func() []View, every time.Duration, stop <-chan struct{}, report func(Progress)) {
	if every <= 0 {
		every = time.Second
	}
	began := time.Now()
	flops0 := math.NaN()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		views := read()
		if math.IsNaN(flops0) {
			flops0 = Summarize(views, 0, 0).FLOPsDone
		}
		report(Summarize(views, flops0, time.Since(began)))
		select {
		case <-stop:
			report(Summarize(read(), flops0, time.Since(began)))
			return
		case <-tick.C:
		}
	}
}
