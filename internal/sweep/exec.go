package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"emlab/internal/atomicfile"
	"emlab/internal/rundir"
)

// ExecOptions say how to execute runs.
type ExecOptions struct {
	// Bin is the emlab binary each step runs (`Bin train ...`).
	Bin string
	// Out is the sweep's output directory; a run lives in Out/<id>.
	Out string
	// Experiment settings for the post-steps.
	Experiment string
	Eval       PostStep
	Probe      PostStep
	PostSteps  []string
	// Slurm is recorded in status.json when running under Slurm.
	Slurm string
}

// Outcome is how one ExecRun ended.
type Outcome struct {
	State string // done, failed, interrupted, or running (another process has the run)
	Error string
	Ran   bool // this call trained or ran a post-step
}

// NeedsWork reports whether a run in state v has something left to do: it
// is not done, or an older emlab that lacked a post-step's command
// recorded the step as skipped.
func NeedsWork(v View) bool { return v.State != StateDone || len(v.Skipped) > 0 }

// ExecRun trains run r and runs its post-steps, recording everything in its
// directory. It holds the run's lock throughout, so a run is worked on by
// one process at a time; when another process holds it ExecRun returns
// state running at once. A finished run is left untouched, an unfinished
// one resumed from its newest checkpoint (emlab train --resume). A step
// that fails marks the run failed with the step's own error message; a
// cancelled ctx marks it interrupted (the next sweep resumes it).
func ExecRun(ctx context.Context, r Run, o ExecOptions) (Outcome, error) {
	return execRun(ctx, r, o, func() int { return r.Config.Train.Threads })
}

// execRun is ExecRun with the threads of each step asked of threads as the
// step starts (the local pool gives the tail of a sweep the idle cores).
// A count other than the run's train.threads reaches the train step as
// --set train.threads=N, leaving train-config.json as planned; emlab train
// accepts another train.threads on resume, and the run's config.json
// records the count its latest start used.
func execRun(ctx context.Context, r Run, o ExecOptions, threads func() int) (Outcome, error) {
	dir := RunDir(o.Out, r.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Outcome{}, fmt.Errorf("run %s: %w", r.ID, err)
	}
	release, ok, err := lock(dir)
	if err != nil {
		return Outcome{}, err
	}
	if !ok {
		return Outcome{State: StateRunning}, nil
	}
	defer release()

	st, err := readStatus(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return Outcome{}, err
		}
		st = &Status{}
	}
	if st.Steps == nil {
		st.Steps = map[string]string{}
	}
	if st.State == StateDone && !NeedsWork(View{State: StateDone, Skipped: skipped(st)}) {
		return Outcome{State: StateDone}, nil
	}
	if err := writeSpec(dir, r, o); err != nil {
		return Outcome{}, err
	}
	host, _ := os.Hostname()
	st.State, st.Error, st.Host, st.PID, st.Slurm = StateRunning, "", host, os.Getpid(), o.Slurm
	st.Attempts++
	if err := writeStatus(dir, st); err != nil {
		return Outcome{}, err
	}
	out := Outcome{State: StateDone}
	finish := func(state, msg string) (Outcome, error) {
		st.State, st.Error = state, msg
		out.State, out.Error = state, msg
		return out, writeStatus(dir, st)
	}

	if !rundir.IsDone(dir) || st.Steps["train"] != StepDone {
		args := []string{"train", "--config", filepath.Join(dir, TrainConfigFile), "--out", dir, "--resume"}
		t := threads()
		if t > 0 && t != r.Config.Train.Threads {
			args = append(args, "--set", "train.threads="+strconv.Itoa(t))
		}
		out.Ran = true
		if msg, err := step(ctx, o.Bin, args, filepath.Join(dir, "train.log"), t); err != nil {
			if ctx.Err() != nil {
				return finish(StateInterrupted, "interrupted: "+ctx.Err().Error())
			}
			st.Steps["train"] = StepFailed
			return finish(StateFailed, "train: "+msg)
		}
		st.Steps["train"] = StepDone
		if err := writeStatus(dir, st); err != nil {
			return out, err
		}
	}
	for _, name := range o.PostSteps {
		if st.Steps[name] == StepDone {
			continue
		}
		args := []string{name, "--run", dir, "--all"}
		ps := o.Eval
		if name == "probe" {
			ps = o.Probe
		}
		if ps.Tasks != "" {
			args = append(args, "--tasks", ps.Tasks)
		}
		if ps.Probes != "" {
			args = append(args, "--probes", ps.Probes)
		}
		args = append(args, ps.Args...)
		out.Ran = true
		if msg, err := step(ctx, o.Bin, args, filepath.Join(dir, name+".log"), threads()); err != nil {
			if ctx.Err() != nil {
				return finish(StateInterrupted, "interrupted: "+ctx.Err().Error())
			}
			st.Steps[name] = StepFailed
			return finish(StateFailed, name+": "+msg)
		}
		st.Steps[name] = StepDone
		if err := writeStatus(dir, st); err != nil {
			return out, err
		}
	}
	return finish(StateDone, "")
}

func skipped(st *Status) []string {
	var s []string
	for _, name := range sortedKeys(st.Steps) {
		if strings.HasPrefix(st.Steps[name], StepSkipped) {
			s = append(s, name)
		}
	}
	return s
}

// writeSpec writes sweep.json and train-config.json (only when they change,
// so a finished run's files keep their times).
func writeSpec(dir string, r Run, o ExecOptions) error {
	cfg, err := json.MarshalIndent(r.Config, "", "  ")
	if err != nil {
		return err
	}
	spec, err := json.MarshalIndent(Spec{Experiment: o.Experiment, Run: r, PostSteps: o.PostSteps}, "", "  ")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{TrainConfigFile: cfg, SpecFile: spec} {
		path := filepath.Join(dir, name)
		b = append(b, '\n')
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := atomicfile.WriteBytes(path, b); err != nil {
			return err
		}
	}
	return nil
}

// step runs `bin args...` with its output appended to logPath (after a
// line with the time and the command, GOMAXPROCS included) and returns
// the command's own error message when it fails: the last line that emlab
// prints on failure ("emlab train: ..."), else the exit status. threads
// > 0 is the cores the run has in the pool (its train.threads, or more at
// a sweep's tail): the step's Go runtime gets that many (GOMAXPROCS, see
// stepEnv).
func step(ctx context.Context, bin string, args []string, logPath string, threads int) (string, error) {
	logf, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err.Error(), err
	}
	defer logf.Close()
	env := ""
	if threads > 0 {
		env = "GOMAXPROCS=" + strconv.Itoa(threads) + " "
	}
	fmt.Fprintf(logf, "### %s %s%s %s\n", time.Now().UTC().Format(time.RFC3339), env, bin, strings.Join(quoteArgs(args), " "))
	tail := &tailBuffer{max: 8192}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = stepEnv(os.Environ(), threads)
	w := io.MultiWriter(logf, tail)
	cmd.Stdout, cmd.Stderr = w, w
	// On cancel, ask the step to stop between optimizer steps (emlab
	// treats SIGINT like Ctrl-C) and kill it if it has not within a while.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	setDeathSignal(cmd)
	err = cmd.Run()
	if err == nil {
		return "", nil
	}
	return failureMessage(tail.String(), args[0], err), err
}

// stepEnv is a step's environment: env with GOMAXPROCS set to threads
// when threads > 0. The pool gives each run train.threads cores (more at
// a sweep's tail) and runs that many kernel goroutines in it; with
// GOMAXPROCS at the machine's cores, the Go runtime of a one-thread run
// still wakes idle threads to take over its goroutine at every
// preemption, which costs context switches on cores the other runs are
// using and, on a loaded machine, leaves the run waiting for a thread
// the scheduler has not run yet. No result depends on it (kernels are
// bit-identical for any thread count and the steps' statistics for any
// number of workers).
func stepEnv(env []string, threads int) []string {
	if threads <= 0 {
		return env
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			out = append(out, kv)
		}
	}
	return append(out, "GOMAXPROCS="+strconv.Itoa(threads))
}

// failureMessage picks the error line emlab printed ("emlab <cmd>: ...",
// possibly followed by indented detail lines), or falls back to err.
func failureMessage(output, cmd string, err error) string {
	lines := strings.Split(strings.TrimRight(output, "\n"), "\n")
	prefix := "emlab " + cmd + ": "
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			msg := strings.TrimPrefix(lines[i], prefix)
			if rest := lines[i+1:]; len(rest) > 0 {
				msg += " " + strings.Join(rest, " ")
			}
			return strings.TrimSpace(msg)
		}
	}
	return err.Error()
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
