package sweep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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

// lock takes the run's exclusive lock without waiting for another worker.
// The lock is an flock: the kernel drops it when the process dies, however
// it dies, so a lock never outlives its holder and a free lock on a
// "running" status means the run was interrupted.
//
// Probes (locked) take the lock shared for an instant. A worker that finds
// the lock busy tells the two holders apart: if a shared lock can be taken,
// only probes held it, and the worker tries again; if not, another worker
// holds it exclusively and ok is false. A worker thus never mistakes a
// watcher's probe for another process working on the run.
func lock(dir string) (release func(), ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", dir, err)
	}
	fd := int(f.Fd())
	deadline := time.Now().Add(lockPatience)
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(fd, syscall.LOCK_UN); f.Close() }, true, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", dir, err)
		}
		// Busy: a worker's exclusive lock, or probes' shared ones?
		err = syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, false, nil // another worker
		}
		if err != nil {
			f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", dir, err)
		}
		// Only probes: drop the shared lock (flock would convert it in
		// place, not atomically) and try again.
		syscall.Flock(fd, syscall.LOCK_UN)
		if time.Now().After(deadline) {
			f.Close()
			return nil, false, fmt.Errorf("lock %s: probes kept the lock busy for %v", dir, lockPatience)
		}
		time.Sleep(time.Millisecond)
	}
}

// lockPatience bounds how long lock retries while only probes hold the
// lock; each probe holds it for microseconds.
const lockPatience = 10 * time.Second

// locked reports whether a worker holds the run's lock. It takes the lock
// shared for an instant, which a worker's exclusive lock refuses; probes
// never refuse each other, and lock retries past them.
func locked(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
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
