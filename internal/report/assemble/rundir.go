// Package assemble fills a report.Report from run directories and the
// analysis JSON (the schema of emlab analyze --json). It reads only the
// plain files of the run-directory contract (DESIGN.md) and uses
// internal/stats for the analysis and the scaling fit, so like them it
// imports nothing model-side; internal/serve reads runs through it too.
//
// # Names it looks for
//
// Sections other than the abilities read probes.jsonl by probe name (see
// ICLProbes, GrokkingProbes): prefix_matching (best head per step) for
// induction-head formation, an ICL score, and train/held-out accuracy,
// restricted/excluded loss and weight norm for grokking. Per-subtask
// evaluation lines (evals.jsonl with "subtask") make the quanta heat map.
// A section whose names are missing is reported as missing, with a note.
package assemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"emlab/internal/jsonl"
)

// MetricsLine is one line of metrics.jsonl. Loss and EvalLoss are NaN when
// absent.
type MetricsLine struct {
	Step     int
	Tokens   float64
	FLOPs    float64
	Loss     float64
	EvalLoss float64
	LR       float64
	GradNorm float64
	Seconds  float64
}

// EvalLine is one line of evals.jsonl. Position and Subtask are −1 when
// absent; Chance is NaN when absent.
type EvalLine struct {
	Step              int
	Task, Metric      string
	Value, Stderr     float64
	N                 int
	Chance            float64
	Position, Subtask int
}

// ProbeLine is one line of probes.jsonl.
type ProbeLine struct {
	Step        int
	Probe       string
	Layer, Head int
	Value       float64
}

// Run is what a run directory holds, read from its plain files.
type Run struct {
	Dir string // as given
	ID  string // relative to the root it was found under (or Dir)
	// From config.json (zero when it is missing or unreadable; see
	// ConfigErr).
	Config                 map[string]any
	ConfigJSON             string // pretty-printed
	ConfigErr              string
	Params, NonEmb         float64
	Seed                   string
	CodeVersion            string
	Command                []string
	Metrics                []MetricsLine
	Evals                  []EvalLine
	Probes                 []ProbeLine
	Done                   bool
	SweepState, SweepError string // from the sweep's status.json, when present
	Experiment             string // from the sweep's sweep.json, when present
	// MetricsMod is metrics.jsonl's modification time (zero when absent).
	MetricsMod time.Time
	// Problems lists lines that could not be read (a file being written
	// may end in a partial line); they are skipped, not fatal.
	Problems []string
}

// Run states as the dashboard and the report show them.
const (
	StatusDone        = "done"
	StatusRunning     = "running"
	StatusFailed      = "failed"
	StatusPending     = "pending"
	StatusInterrupted = "interrupted"
)

// Status classifies the run: done (DONE exists), failed (the sweep recorded
// a failure), running (the sweep says so, or metrics.jsonl changed within
// fresh of now), pending (nothing logged yet) or interrupted (logged, not
// finished, and quiet for longer than fresh).
func (r *Run) Status(now time.Time, fresh time.Duration) string {
	switch {
	case r.Done:
		return StatusDone
	case r.SweepState == "failed":
		return StatusFailed
	case r.SweepState == "running":
		return StatusRunning
	case !r.MetricsMod.IsZero() && now.Sub(r.MetricsMod) <= fresh:
		return StatusRunning
	case len(r.Metrics) == 0:
		return StatusPending
	}
	return StatusInterrupted
}

// Last returns the last metrics line and whether there is one.
func (r *Run) Last() (MetricsLine, bool) {
	if len(r.Metrics) == 0 {
		return MetricsLine{}, false
	}
	return r.Metrics[len(r.Metrics)-1], true
}

// CommandLine is the recorded command, shell-quoted.
func (r *Run) CommandLine() string {
	var parts []string
	for _, a := range r.Command {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// runMarkers are the files whose presence makes a directory a run.
var runMarkers = []string{"config.json", "metrics.jsonl", "sweep.json", "DONE"}

// FindRuns lists the run directories under root (root itself included),
// sorted, as paths relative to root. It does not follow symbolic links and
// does not descend into a run (its checkpoints) or below maxDepth levels.
func FindRuns(root string, maxDepth int) ([]string, error) {
	var out []string
	root = filepath.Clean(root)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // an unreadable subdirectory is not a run
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if rel != "." && strings.Count(rel, string(filepath.Separator))+1 > maxDepth {
			return filepath.SkipDir
		}
		if rel != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		for _, m := range runMarkers {
			if fi, err := os.Lstat(filepath.Join(path, m)); err == nil && fi.Mode().IsRegular() {
				out = append(out, filepath.ToSlash(rel))
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find runs under %s: %w", root, err)
	}
	sort.Strings(out)
	return out, nil
}

// ReadRun reads a run directory. Missing files are empty; unreadable lines
// are skipped and listed in Problems; only an unreadable directory is an
// error.
func ReadRun(dir, id string) (*Run, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("read run: %s is not a directory", dir)
	}
	r := &Run{Dir: dir, ID: id, Seed: "", Params: math.NaN(), NonEmb: math.NaN()}
	if r.ID == "" {
		r.ID = dir
	}
	readConfig(r)
	if _, err := os.Stat(filepath.Join(dir, "DONE")); err == nil {
		r.Done = true
	}
	var st struct {
		State string `json:"state"`
		Error string `json:"error"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status.json")); err == nil && json.Unmarshal(b, &st) == nil {
		r.SweepState, r.SweepError = st.State, st.Error
	}
	var sp struct {
		Experiment string `json:"experiment"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sweep.json")); err == nil && json.Unmarshal(b, &sp) == nil {
		r.Experiment = sp.Experiment
	}
	if fi, err := os.Stat(filepath.Join(dir, "metrics.jsonl")); err == nil {
		r.MetricsMod = fi.ModTime()
	}
	var err error
	if err = readLines(r, "metrics.jsonl", func(b []byte) error {
		var m struct {
			Step                  *float64
			Tokens, FLOPs         float64
			Loss, EvalLoss        *float64
			LR, GradNorm, Seconds float64
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		get := func(k string) *float64 {
			v, ok := raw[k]
			if !ok || string(v) == "null" {
				return nil
			}
			var f float64
			if json.Unmarshal(v, &f) != nil {
				return nil
			}
			return &f
		}
		m.Step, m.Loss, m.EvalLoss = get("step"), get("loss"), get("eval_loss")
		if m.Step == nil {
			return errors.New(`missing "step"`)
		}
		val := func(p *float64) float64 {
			if p == nil {
				return math.NaN()
			}
			return *p
		}
		zero := func(k string) float64 {
			if p := get(k); p != nil {
				return *p
			}
			return 0
		}
		line := MetricsLine{Step: int(*m.Step), Tokens: zero("tokens"), FLOPs: zero("flops"), Loss: val(m.Loss), EvalLoss: val(m.EvalLoss),
			LR: zero("lr"), GradNorm: zero("grad_norm"), Seconds: zero("seconds")}
		// A resumed run may log a step again; the last line wins.
		if n := len(r.Metrics); n > 0 && r.Metrics[n-1].Step >= line.Step {
			i := sort.Search(n, func(i int) bool { return r.Metrics[i].Step >= line.Step })
			if r.Metrics[i].Step == line.Step {
				r.Metrics[i] = line
				return nil
			}
			r.Metrics = append(r.Metrics[:i], append([]MetricsLine{line}, r.Metrics[i:]...)...)
			return nil
		}
		r.Metrics = append(r.Metrics, line)
		return nil
	}); err != nil {
		return nil, err
	}
	if err = readLines(r, "evals.jsonl", func(b []byte) error {
		var e struct {
			Step     *int     `json:"step"`
			Task     string   `json:"task"`
			Metric   string   `json:"metric"`
			Value    *float64 `json:"value"`
			Stderr   float64  `json:"stderr"`
			N        int      `json:"n"`
			Chance   *float64 `json:"chance"`
			Position *int     `json:"position"`
			Subtask  *int     `json:"subtask"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if e.Step == nil || e.Value == nil || e.Task == "" || e.Metric == "" {
			return errors.New(`needs "step", "task", "metric" and "value"`)
		}
		l := EvalLine{Step: *e.Step, Task: e.Task, Metric: e.Metric, Value: *e.Value, Stderr: e.Stderr, N: e.N, Chance: math.NaN(), Position: -1, Subtask: -1}
		if e.Chance != nil {
			l.Chance = *e.Chance
		}
		if e.Position != nil {
			l.Position = *e.Position
		}
		if e.Subtask != nil {
			l.Subtask = *e.Subtask
		}
		r.Evals = append(r.Evals, l)
		return nil
	}); err != nil {
		return nil, err
	}
	if err = readLines(r, "probes.jsonl", func(b []byte) error {
		var p struct {
			Step  *int     `json:"step"`
			Probe string   `json:"probe"`
			Layer int      `json:"layer"`
			Head  int      `json:"head"`
			Value *float64 `json:"value"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		if p.Step == nil || p.Value == nil || p.Probe == "" {
			return errors.New(`needs "step", "probe" and "value"`)
		}
		r.Probes = append(r.Probes, ProbeLine{Step: *p.Step, Probe: p.Probe, Layer: p.Layer, Head: p.Head, Value: *p.Value})
		return nil
	}); err != nil {
		return nil, err
	}
	return r, nil
}

func readConfig(r *Run) {
	path := filepath.Join(r.Dir, "config.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		r.ConfigErr = "no config.json (the run has not started)"
		return
	}
	if err != nil {
		r.ConfigErr = err.Error()
		return
	}
	if err := json.Unmarshal(b, &r.Config); err != nil {
		r.ConfigErr = fmt.Sprintf("%s: %v", path, err)
		return
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, b, "", "  ") == nil {
		r.ConfigJSON = pretty.String()
	}
	num := func(k string) float64 {
		if f, ok := r.Config[k].(float64); ok {
			return f
		}
		return math.NaN()
	}
	r.Params, r.NonEmb = num("params"), num("non_embedding_params")
	switch s := r.Config["seed"].(type) {
	case float64:
		r.Seed = strconv.FormatFloat(s, 'f', -1, 64)
	case string:
		r.Seed = s
	}
	r.CodeVersion, _ = r.Config["code_version"].(string)
	if cmd, ok := r.Config["command"].([]any); ok {
		for _, a := range cmd {
			if s, ok := a.(string); ok {
				r.Command = append(r.Command, s)
			}
		}
	}
}

// readLines calls fn for each non-blank line of a JSONL file in the run;
// a missing file is no lines, a bad line is recorded in r.Problems.
func readLines(r *Run, name string, fn func([]byte) error) error {
	path := filepath.Join(r.Dir, name)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read run: %w", err)
	}
	defer f.Close()
	err = jsonl.Scan(f, func(ln int, b []byte) error {
		if err := fn(b); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s:%d: %v", path, ln, err))
		}
		return nil
	}, func(ln int, n int64) {
		r.Problems = append(r.Problems, fmt.Sprintf("%s:%d: a line of %d bytes, longer than any emlab writes: skipped", path, ln, n))
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
