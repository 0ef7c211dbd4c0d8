package assemble

import (
	"path"
	"path/filepath"
	"sort"
)

// MaxDepth is how deep below a root LoadRuns looks for run directories
// (root/experiment/run is depth 2; demo outputs nest one more level).
const MaxDepth = 4

// LoadRuns finds and reads every run directory under root.
func LoadRuns(root string) ([]*Run, error) {
	ids, err := FindRuns(root, MaxDepth)
	if err != nil {
		return nil, err
	}
	var runs []*Run
	for _, id := range ids {
		r, err := ReadRun(filepath.Join(root, filepath.FromSlash(id)), id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// Group is the experiment a run belongs to: the sweep's experiment name
// when it has one, else its parent directory.
func Group(r *Run) string {
	if r.Experiment != "" {
		return r.Experiment
	}
	return path.Dir(r.ID)
}

// ChooseLadder picks the scale ladder among runs: the group (see Group)
// with the most distinct parameter counts among runs that have
// evaluations; ties go to the first group by name. It returns the ladder
// and the group's name ("" when no run has evaluations).
func ChooseLadder(runs []*Run) ([]*Run, string) {
	sizes := map[string]map[float64]bool{}
	for _, r := range runs {
		if len(r.Evals) == 0 || !finite(r.Params) {
			continue
		}
		g := Group(r)
		if sizes[g] == nil {
			sizes[g] = map[float64]bool{}
		}
		sizes[g][r.Params] = true
	}
	var names []string
	for g := range sizes {
		names = append(names, g)
	}
	sort.Strings(names)
	best := ""
	for _, g := range names {
		if best == "" || len(sizes[g]) > len(sizes[best]) {
			best = g
		}
	}
	if best == "" {
		return nil, ""
	}
	var out []*Run
	for _, r := range runs {
		if len(r.Evals) > 0 && finite(r.Params) && Group(r) == best {
			out = append(out, r)
		}
	}
	return out, best
}

// Roles labels runs for the report's table: "ladder" for the ladder's
// runs, else by what they hold (induction probes, grokking probes,
// per-subtask evaluations).
func Roles(runs, ladder []*Run) map[string]string {
	in := map[*Run]bool{}
	for _, r := range ladder {
		in[r] = true
	}
	out := map[string]string{}
	for _, r := range runs {
		switch {
		case in[r]:
			out[r.ID] = "ladder"
		case hasProbe(r, PrefixMatchingProbe):
			out[r.ID] = "induction"
		case hasProbe(r, "train_acc", "train_accuracy"):
			out[r.ID] = "grokking"
		case hasSubtasks(r):
			out[r.ID] = "quanta"
		default:
			out[r.ID] = "other"
		}
	}
	return out
}

func hasProbe(r *Run, names ...string) bool {
	for _, p := range r.Probes {
		for _, n := range names {
			if p.Probe == n {
				return true
			}
		}
	}
	return false
}

func hasSubtasks(r *Run) bool {
	for _, e := range r.Evals {
		if e.Subtask >= 0 {
			return true
		}
	}
	return false
}
