package assemble

import (
	"math"
	"path"
	"sort"
	"strings"

	"emlab/internal/report"
	"emlab/internal/rundir"
)

// params is the run's parameter count, NaN when it has no config.json.
func params(r *rundir.Run) float64 {
	if r.Config == nil || r.Config.Params <= 0 {
		return math.NaN()
	}
	return float64(r.Config.Params)
}

func seedLabel(r *rundir.Run) string {
	if r.Config == nil {
		return ""
	}
	return r.Config.SeedLabel()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Group is the experiment a run belongs to: the sweep's experiment name
// when it has one, else its parent directory.
func Group(r *rundir.Run) string {
	if e := r.Experiment(); e != "" {
		return e
	}
	return path.Dir(r.ID)
}

// ChooseLadder picks the scale ladder among runs: the group (see Group)
// with the most distinct parameter counts among runs that have
// evaluations; ties go to the first group by name. It returns the ladder
// and the group's name ("" when no run has evaluations).
func ChooseLadder(runs []*rundir.Run) ([]*rundir.Run, string) {
	sizes := map[string]map[float64]bool{}
	for _, r := range runs {
		if len(r.Evals) == 0 || !finite(params(r)) {
			continue
		}
		g := Group(r)
		if sizes[g] == nil {
			sizes[g] = map[float64]bool{}
		}
		sizes[g][params(r)] = true
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
	var out []*rundir.Run
	for _, r := range runs {
		if len(r.Evals) > 0 && finite(params(r)) && Group(r) == best {
			out = append(out, r)
		}
	}
	return out, best
}

// Roles labels runs for the report's table: "ladder" for the ladder's
// runs, else by what they hold (induction probes, grokking probes,
// per-subtask evaluations).
func Roles(runs, ladder []*rundir.Run) map[string]string {
	in := map[*rundir.Run]bool{}
	for _, r := range ladder {
		in[r] = true
	}
	out := map[string]string{}
	for _, r := range runs {
		switch {
		case in[r]:
			out[r.ID] = "ladder"
		case hasProbe(r, rundir.ProbePrefixMatching):
			out[r.ID] = "induction"
		case hasProbe(r, rundir.ProbeTrainAcc):
			out[r.ID] = "grokking"
		case hasSubtasks(r):
			out[r.ID] = "quanta"
		default:
			out[r.ID] = "other"
		}
	}
	return out
}

func hasProbe(r *rundir.Run, name string) bool {
	for _, p := range r.Probes {
		if p.Probe == name {
			return true
		}
	}
	return false
}

func hasSubtasks(r *rundir.Run) bool {
	for _, e := range r.Evals {
		if e.Subtask != nil {
			return true
		}
	}
	return false
}

// CommandLine is the run's recorded command, shell-quoted ("" when none).
func CommandLine(r *rundir.Run) string {
	if r.Config == nil {
		return ""
	}
	var parts []string
	for _, a := range r.Config.Command {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// sizeLabel names a run by its size for legends: "62k params".
func sizeLabel(r *rundir.Run) string {
	if p := params(r); finite(p) {
		return report.Num(p) + " params"
	}
	return r.ID
}

// uniqueLabels labels runs by size, adding the seed or ID where sizes
// repeat.
func uniqueLabels(runs []*rundir.Run) []string {
	count := map[string]int{}
	for _, r := range runs {
		count[sizeLabel(r)]++
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		l := sizeLabel(r)
		if count[l] > 1 {
			if s := seedLabel(r); s != "" {
				l += " seed " + s
			} else {
				l += " " + r.ID
			}
		}
		out[i] = l
	}
	return out
}

// sortBySize orders runs by parameter count, then ID.
func sortBySize(runs []*rundir.Run) []*rundir.Run {
	out := append([]*rundir.Run(nil), runs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := params(out[i]), params(out[j])
		if a != b && finite(a) && finite(b) {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out
}
