package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"emlab/internal/atomicfile"
)

// Run states: what the sweep records in status.json and what readers
// (sweep status, the report, the dashboard) call a run.
const (
	StateDone        = "done"
	StateFailed      = "failed"
	StateRunning     = "running"     // a process works on the run (or Slurm runs it)
	StateQueued      = "queued"      // submitted to Slurm, not started
	StateInterrupted = "interrupted" // stopped (killed, Ctrl-C) before finishing; a rerun resumes it
	StatePending     = "pending"     // never started
)

// SweepStatus is status.json, which a sweep rewrites at every change of a
// run it works on.
type SweepStatus struct {
	State    string            `json:"state"` // running, done, failed or interrupted
	Error    string            `json:"error,omitempty"`
	Steps    map[string]string `json:"steps"` // train/eval/probe → done, failed, "skipped: why"
	Attempts int               `json:"attempts"`
	Host     string            `json:"host"`
	PID      int               `json:"pid"`
	Slurm    string            `json:"slurm,omitempty"` // array job and task, e.g. 12_3
	Updated  time.Time         `json:"updated"`
}

// ReadSweepStatus reads dir's status.json; a missing file is an error
// wrapping fs.ErrNotExist.
func ReadSweepStatus(dir string) (*SweepStatus, error) {
	return readSweepStatus(os.DirFS(dir), dir)
}

func readSweepStatus(fsys fs.FS, label string) (*SweepStatus, error) {
	b, err := readFile(fsys, SweepStatusFile)
	if err != nil {
		return nil, err
	}
	var s SweepStatus
	if err := strictUnmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", Path(label, SweepStatusFile), err)
	}
	return &s, nil
}

// WriteSweepStatus sets s.Updated to now and writes status.json atomically.
func WriteSweepStatus(dir string, s *SweepStatus) error {
	s.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", Path(dir, SweepStatusFile), err)
	}
	return atomicfile.WriteBytes(Path(dir, SweepStatusFile), append(b, '\n'))
}

// SweepSpec is the part of sweep.json readers use: the experiment the run
// belongs to and its axis labels. The sweep package writes the whole plan
// of the run there.
type SweepSpec struct {
	Experiment string `json:"experiment"`
	Run        struct {
		Axes map[string]string `json:"axes"`
	} `json:"run"`
}

func readSweepSpec(fsys fs.FS, label string) (*SweepSpec, error) {
	b, err := readFile(fsys, SweepSpecFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s SweepSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", Path(label, SweepSpecFile), err)
	}
	return &s, nil
}
