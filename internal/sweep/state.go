package sweep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"emlab/internal/rundir"
)

// Files the sweep keeps in a run directory, beside what emlab train writes
// (the names are rundir's).
const (
	SpecFile        = rundir.SweepSpecFile   // what the plan asked for (Spec)
	TrainConfigFile = rundir.TrainConfigFile // the resolved config passed to emlab train --config
	StatusFile      = rundir.SweepStatusFile // Status, rewritten atomically at each change
	LockFile        = rundir.SweepLockFile   // flock-ed while a process works on the run
)

// Run states as reported by ReadState and sweep status (rundir's).
const (
	StateDone        = rundir.StateDone
	StateFailed      = rundir.StateFailed
	StateRunning     = rundir.StateRunning     // a process holds the run's lock (or Slurm runs it)
	StateQueued      = rundir.StateQueued      // submitted to Slurm, not started
	StateInterrupted = rundir.StateInterrupted // stopped (killed, Ctrl-C) before finishing; resumes on the next run
	StatePending     = rundir.StatePending     // never started
)

// Step outcomes in Status.Steps.
const (
	StepDone   = "done"
	StepFailed = "failed"
	// StepSkipped was recorded by emlab builds that lacked a post-step's
	// command; a sweep runs such a step now.
	StepSkipped = "skipped"
)

// Spec is sweep.json: the run as planned, with the settings that make it.
type Spec struct {
	Experiment string   `json:"experiment"`
	Run        Run      `json:"run"`
	PostSteps  []string `json:"post_steps"`
}

// Status is status.json (rundir owns its format).
type Status = rundir.SweepStatus

// View is what is known about a run right now.
type View struct {
	Run   Run
	Label string // the run's name in a pool of runs (its ID in a sweep)
	State string
	Error string
	// Progress from the last metrics.jsonl line.
	Step  int
	Loss  float64 // NaN when no step has been logged
	FLOPs float64 // training FLOPs done so far
	// Skipped lists post-steps recorded as skipped.
	Skipped []string
	Slurm   string // the Slurm job state, when the run was submitted to Slurm
}

// RunDir is the directory of run id under out.
func RunDir(out, id string) string { return filepath.Join(out, id) }

func readStatus(dir string) (*Status, error) { return rundir.ReadSweepStatus(dir) }

func writeStatus(dir string, s *Status) error { return rundir.WriteSweepStatus(dir, s) }

// lock takes the run's exclusive lock without waiting. The lock is an
// flock: the kernel drops it when the process dies, however it dies, so a
// lock never outlives its holder and a free lock on a "running" status
// means the run was interrupted.
func lock(dir string) (release func(), ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, true, nil
}

// locked reports whether some process holds the run's lock.
func locked(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		return false
	}
	release, ok, err := lock(dir)
	if err != nil {
		return false
	}
	if ok {
		release()
		return false
	}
	return true
}

// ReadState reads a run's state from its directory under out.
func ReadState(out string, r Run) View {
	dir := RunDir(out, r.ID)
	v := View{Run: r, Label: r.ID, State: StatePending, Loss: nan}
	if m, ok := rundir.LastMetrics(dir); ok {
		v.Step, v.FLOPs, v.Loss = m.Step, m.FLOPs, m.Loss
	}
	st, err := readStatus(dir)
	switch {
	case locked(dir):
		v.State = StateRunning
	case err != nil && errors.Is(err, fs.ErrNotExist):
		// Never started by a sweep (a run trained by hand is picked up by
		// ExecRun, which sees its DONE file).
	case err != nil:
		v.State, v.Error = StateFailed, err.Error()
	case st.State == StateDone:
		v.State = StateDone
	case st.State == StateFailed:
		v.State, v.Error = StateFailed, st.Error
	default:
		v.State = StateInterrupted
	}
	if st != nil {
		for _, name := range sortedKeys(st.Steps) {
			if strings.HasPrefix(st.Steps[name], StepSkipped) {
				v.Skipped = append(v.Skipped, name)
			}
		}
	}
	return v
}

var nan = func() float64 { var z float64; return z / z }()
