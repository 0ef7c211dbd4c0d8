package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Run is what a run directory holds, read through its files. A run a
// sweep has planned but not started has no config.json yet: Config is nil
// and the lists are empty.
type Run struct {
	Dir        string     // as given to ReadRun
	ID         string     // the name the run is known by (relative to the root it was found under, or Dir)
	Config     *RunConfig // nil when config.json is absent
	ConfigJSON []byte     // config.json as written; nil when absent
	Metrics    []Metrics  // one per step, in step order (see ReadMetrics)
	Evals      []Eval
	Probes     []Probe
	Done       bool         // DONE exists
	External   bool         // trained elsewhere: Config and ConfigJSON are ExternalFile's
	Sweep      *SweepStatus // status.json; nil when no sweep worked on the run
	Spec       *SweepSpec   // sweep.json; nil when no sweep planned the run
	MetricsMod time.Time    // metrics.jsonl's modification time; zero when absent
	// Skipped lists the lines left out, as "file:line: why": a partial
	// last line (a file being appended to, or one a crash cut short) or a
	// line longer than MaxLine.
	Skipped []string
}

// ReadRun reads the run directory dir; id names it (Dir when empty).
// Missing files are empty; a damaged file is an error naming it and the
// line.
func ReadRun(dir, id string) (*Run, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read run: %s is not a directory", dir)
	}
	r, err := ReadRunFS(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	if id != "" {
		r.ID = id
	}
	return r, nil
}

// ReadRunFS reads a run directory given as a file system (os.DirFS, or an
// os.Root's FS to keep every read inside a root; a run below a root
// through SubFS); dir names it in Dir, ID and errors. Only regular files
// are read, and none is opened to learn its type, so a FIFO in a run
// directory is an error rather than a reader blocked for ever.
func ReadRunFS(fsys fs.FS, dir string) (*Run, error) {
	r := &Run{Dir: dir, ID: dir}
	label := func(name string) string { return Path(dir, name) }
	b, name, external, err := readRunConfigFS(fsys, dir)
	switch {
	case err != nil:
		return nil, err
	case b == nil:
	case !external && foreignConfig(fsys, "."):
		// A model directory (its own config.json) not yet evaluated.
	default:
		if r.Config, err = ParseRunConfig(b, label(name)); err != nil {
			return nil, err
		}
		r.ConfigJSON, r.External = b, external
	}
	if fi, err := statNoOpen(fsys, DoneFile); err == nil && fi.Mode().IsRegular() {
		r.Done = true
	}
	if r.Sweep, err = readSweepStatus(fsys, dir); errors.Is(err, fs.ErrNotExist) {
		r.Sweep = nil
	} else if err != nil {
		return nil, err
	}
	if r.Spec, err = readSweepSpec(fsys, dir); err != nil {
		return nil, err
	}
	if fi, err := statNoOpen(fsys, MetricsFile); err == nil {
		r.MetricsMod = fi.ModTime()
	}
	var skipped []string
	if r.Metrics, skipped, err = readMetrics(fsys, label(MetricsFile)); err != nil {
		return nil, err
	}
	r.Skipped = append(r.Skipped, skipped...)
	if r.Evals, skipped, err = readEvals(fsys, label(EvalsFile)); err != nil {
		return nil, err
	}
	r.Skipped = append(r.Skipped, skipped...)
	if r.Probes, skipped, err = readProbes(fsys, label(ProbesFile)); err != nil {
		return nil, err
	}
	r.Skipped = append(r.Skipped, skipped...)
	return r, nil
}

// Experiment is the sweep experiment the run belongs to, "" when none.
func (r *Run) Experiment() string {
	if r.Spec == nil {
		return ""
	}
	return r.Spec.Experiment
}

// Last returns the last metrics line and whether there is one.
func (r *Run) Last() (Metrics, bool) {
	if len(r.Metrics) == 0 {
		return Metrics{}, false
	}
	return r.Metrics[len(r.Metrics)-1], true
}

// Status classifies the run for the report and the dashboard: done (DONE
// exists), failed (the sweep recorded a failure), running (the sweep says
// so, or metrics.jsonl changed within fresh of now), pending (nothing
// logged yet) or interrupted (logged, not finished, quiet for longer than
// fresh).
func (r *Run) Status(now time.Time, fresh time.Duration) string {
	switch {
	case r.Done, r.External:
		return StateDone
	case r.Sweep != nil && r.Sweep.State == StateFailed:
		return StateFailed
	case r.Sweep != nil && r.Sweep.State == StateRunning:
		return StateRunning
	case !r.MetricsMod.IsZero() && now.Sub(r.MetricsMod) <= fresh:
		return StateRunning
	case len(r.Metrics) == 0:
		return StatePending
	}
	return StateInterrupted
}

// markers are the files whose presence makes a directory a run (a run a
// sweep planned has sweep.json before it has config.json). A directory
// whose only marker is another format's config.json (a Hugging Face
// model's) is a model, not a run: FindRuns skips it.
var markers = []string{ConfigFile, MetricsFile, SweepSpecFile, DoneFile, ExternalFile}

// MaxDepth is how deep below a root FindRuns looks: a sweep's runs sit at
// depth 1 (out/run), the demo's at 2 (out/study/run), a tree of sweeps one
// or two levels further.
const MaxDepth = 4

// FindRuns lists the run directories under root (root itself included),
// sorted, as slash-separated paths relative to root ("." for root). It
// does not follow symbolic links, descend into a run (its checkpoints) or
// into hidden directories, or go below MaxDepth levels. Unreadable
// subdirectories are not runs.
func FindRuns(root string) ([]string, error) {
	// Stat first: the walk below would name the missing root ".".
	if st, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("find runs: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("find runs under %s: not a directory", root)
	}
	ids, err := FindRunsFS(os.DirFS(root))
	if err != nil {
		return nil, fmt.Errorf("find runs under %s: %w", root, err)
	}
	return ids, nil
}

// FindRunsFS is FindRuns on a file system.
func FindRunsFS(fsys fs.FS) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != "." {
			if strings.HasPrefix(d.Name(), ".") || strings.Count(p, "/")+1 > MaxDepth {
				return fs.SkipDir
			}
		}
		found := ""
		for _, m := range markers {
			if fi, err := statNoOpen(fsys, path.Join(p, m)); err == nil && fi.Mode().IsRegular() {
				if found = m; m != ConfigFile {
					break
				}
			}
		}
		switch {
		case found == "":
			return nil
		case found == ConfigFile && foreignConfig(fsys, p):
			return fs.SkipDir // a model directory, not a run
		}
		out = append(out, p)
		return fs.SkipDir
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// LoadRuns finds and reads every run under root (see FindRuns), each with
// its path relative to root as ID and root joined with it as Dir.
func LoadRuns(root string) ([]*Run, error) {
	ids, err := FindRuns(root)
	if err != nil {
		return nil, err
	}
	runs := make([]*Run, 0, len(ids))
	for _, id := range ids {
		r, err := ReadRun(filepath.Join(root, filepath.FromSlash(id)), id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}
