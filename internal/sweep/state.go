package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"emlab/internal/atomicfile"
)

// Files the sweep keeps in a run directory, beside what emlab train writes.
const (
	SpecFile        = "sweep.json"        // what the plan asked for (Spec)
	TrainConfigFile = "train-config.json" // the resolved config passed to emlab train --config
	StatusFile      = "status.json"       // Status, rewritten atomically at each change
	LockFile        = ".lock"             // flock-ed while a process works on the run
	doneFile        = "DONE"              // written last by emlab train
	metricsFile     = "metrics.jsonl"
)

// Run states as reported by ReadState and sweep status.
const (
	StateDone        = "done"
	StateFailed      = "failed"
	StateRunning     = "running"     // a process holds the run's lock (or Slurm runs it)
	StateQueued      = "queued"      // submitted to Slurm, not started
	StateInterrupted = "interrupted" // stopped (killed, Ctrl-C) before finishing; resumes on the next run
	StatePending     = "pending"     // never started
)

// Step outcomes in Status.Steps.
const (
	StepDone    = "done"
	StepFailed  = "failed"
	StepSkipped = "skipped" // the subcommand is not in this binary; retried by later sweeps
)

// Spec is sweep.json: the run as planned, with the settings that make it.
type Spec struct {
	Experiment string   `json:"experiment"`
	Run        Run      `json:"run"`
	PostSteps  []string `json:"post_steps"`
}

// Status is status.json.
type Status struct {
	State    string            `json:"state"` // running, done, failed or interrupted
	Error    string            `json:"error,omitempty"`
	Steps    map[string]string `json:"steps"` // train/eval/probe → done, failed, "skipped: why"
	Attempts int               `json:"attempts"`
	Host     string            `json:"host"`
	PID      int               `json:"pid"`
	Slurm    string            `json:"slurm,omitempty"` // array job and task, e.g. 12_3
	Updated  time.Time         `json:"updated"`
}

// View is what is known about a run right now.
type View struct {
	Run   Run
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

func readStatus(dir string) (*Status, error) {
	b, err := os.ReadFile(filepath.Join(dir, StatusFile))
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StatusFile), err)
	}
	return &s, nil
}

func writeStatus(dir string, s *Status) error {
	s.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, StatusFile), append(b, '\n'))
}

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
	v := View{Run: r, State: StatePending, Loss: nan}
	if m, ok := lastMetrics(filepath.Join(dir, metricsFile)); ok {
		v.Step, v.FLOPs = m.Step, m.FLOPs
		if m.Loss != nil {
			v.Loss = *m.Loss
		}
	}
	st, err := readStatus(dir)
	switch {
	case locked(dir):
		v.State = StateRunning
	case err != nil && errors.Is(err, os.ErrNotExist):
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

// metricsLine is the part of a metrics.jsonl line the sweep reads.
type metricsLine struct {
	Step  int      `json:"step"`
	FLOPs float64  `json:"flops"`
	Loss  *float64 `json:"loss"`
}

// lastMetrics reads the last complete line of metrics.jsonl, reading only
// the file's tail so that watching a large sweep stays cheap.
func lastMetrics(path string) (metricsLine, bool) {
	f, err := os.Open(path)
	if err != nil {
		return metricsLine{}, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return metricsLine{}, false
	}
	const tail = 4096
	off := max(st.Size()-tail, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return metricsLine{}, false
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var m metricsLine
		if json.Unmarshal([]byte(lines[i]), &m) == nil {
			return m, true
		}
	}
	return metricsLine{}, false
}
