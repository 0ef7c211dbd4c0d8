package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
)

// Eval is one line of evals.jsonl: a metric of one task variant at one
// checkpoint, aggregated over N items. Chance is the variant's chance rate
// (the expected score of a model that knows the format and guesses; it
// applies to the metrics whose Kind says so, see ChanceOf) or NaN when the
// line has none. A line with a Position (per-answer-position metrics) or a
// Subtask (tasks made of subtasks) is a breakdown of the aggregate line of
// the same task and metric, not a curve of its own.
type Eval struct {
	Step     int
	Task     string // the variant, e.g. "add/plain/2"
	Metric   string
	Value    float64
	Stderr   float64
	N        int
	Chance   float64
	Position *int
	Subtask  *int
	// Line is the line number the result was read from (0 for results
	// not read from a file); it is not part of the line.
	Line int
}

type evalJSON struct {
	Step     *int     `json:"step"`
	Task     string   `json:"task"`
	Metric   string   `json:"metric"`
	Value    *float64 `json:"value"`
	Stderr   float64  `json:"stderr"`
	N        int      `json:"n"`
	Chance   *float64 `json:"chance,omitempty"`
	Position *int     `json:"position,omitempty"`
	Subtask  *int     `json:"subtask,omitempty"`
}

// MarshalJSON writes the line (Chance left out when NaN).
func (e Eval) MarshalJSON() ([]byte, error) {
	s, v := e.Step, e.Value
	return json.Marshal(evalJSON{&s, e.Task, e.Metric, &v, e.Stderr, e.N, present(e.Chance), e.Position, e.Subtask})
}

// UnmarshalJSON reads a line; step, task, metric and value are required
// and n may not be negative.
func (e *Eval) UnmarshalJSON(b []byte) error {
	var j evalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch {
	case j.Step == nil:
		return errors.New(`missing "step"`)
	case j.Task == "" || j.Metric == "":
		return errors.New(`missing "task" or "metric"`)
	case j.Value == nil:
		return errors.New(`missing "value"`)
	case j.N < 0:
		return fmt.Errorf(`"n" must be ≥ 0, got %d`, j.N)
	}
	*e = Eval{Step: *j.Step, Task: j.Task, Metric: j.Metric, Value: *j.Value, Stderr: j.Stderr, N: j.N,
		Chance: orNaN(j.Chance), Position: j.Position, Subtask: j.Subtask}
	return nil
}

// Breakdown reports whether the line is a per-position or per-subtask
// breakdown rather than a task's aggregate.
func (e *Eval) Breakdown() bool { return e.Position != nil || e.Subtask != nil }

// PositionOr and SubtaskOr return the position or subtask, or def when the
// line has none.
func (e *Eval) PositionOr(def int) int { return intOr(e.Position, def) }

// SubtaskOr returns the line's subtask, or def when it has none.
func (e *Eval) SubtaskOr(def int) int { return intOr(e.Subtask, def) }

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// ChanceOf returns the chance rate the analysis may use for the line: the
// line's Chance when the metric's kind has one (see Kind.Chance), else
// ok = false.
func (e *Eval) ChanceOf() (chance float64, ok bool) {
	k, known := KindOf(e.Metric)
	if !known || !k.Chance || math.IsNaN(e.Chance) {
		return 0, false
	}
	return e.Chance, true
}

// evalKey identifies a line: a file holds one line per key.
type evalKey struct {
	step              int
	task, metric      string
	position, subtask int
}

func (e *Eval) key() evalKey {
	return evalKey{e.Step, e.Task, e.Metric, e.PositionOr(-1), e.SubtaskOr(-1)}
}

// ReadEvals reads dir's evals.jsonl (none when it is missing). A line
// repeated with the same key keeps its last value.
func ReadEvals(dir string) ([]Eval, error) {
	es, _, err := readEvals(os.DirFS(dir), Path(dir, EvalsFile))
	return es, err
}

func readEvals(fsys fs.FS, label string) ([]Eval, []string, error) {
	es, lines, skipped, err := readLines[Eval](fsys, EvalsFile, label, nil)
	if err != nil {
		return nil, nil, err
	}
	for i := range es {
		es[i].Line = lines[i]
	}
	return dedupe(es, (*Eval).key), skipped, nil
}

// dedupe keeps, of the values with the same key, the last, in the place
// of the first.
func dedupe[T any, K comparable](vs []T, key func(*T) K) []T {
	last := make(map[K]int, len(vs))
	for i := range vs {
		last[key(&vs[i])] = i
	}
	if len(last) == len(vs) {
		return vs
	}
	out := make([]T, 0, len(last))
	done := make(map[K]bool, len(last))
	for i := range vs {
		k := key(&vs[i])
		if !done[k] {
			done[k] = true
			out = append(out, vs[last[k]])
		}
	}
	return out
}

// SortEvals orders results by task, metric, subtask and position, the
// order in which a step's lines are written.
func SortEvals(es []Eval) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].key(), es[j].key()
		if a.task != b.task {
			return a.task < b.task
		}
		if a.metric != b.metric {
			return a.metric < b.metric
		}
		if a.subtask != b.subtask {
			return a.subtask < b.subtask
		}
		return a.position < b.position
	})
}

// MergeEvals writes results into dir's evals.jsonl: every earlier line of
// a (step, task) that results cover is replaced, every other line is kept,
// and the file is rewritten atomically. Results are written in SortEvals
// order after the kept lines.
func MergeEvals(dir string, results []Eval) error {
	type st struct {
		step int
		task string
	}
	covered := map[st]bool{}
	for _, r := range results {
		covered[st{r.Step, r.Task}] = true
	}
	add := append([]Eval(nil), results...)
	SortEvals(add)
	return Update(dir, EvalsFile, func(fsys fs.FS, label string) ([]byte, error) {
		old, _, err := readEvals(fsys, label)
		if err != nil {
			return nil, err
		}
		var kept []Eval
		for _, e := range old {
			if !covered[st{e.Step, e.Task}] {
				kept = append(kept, e)
			}
		}
		return encodeLines(label, append(kept, add...), func(e *Eval) string {
			return fmt.Sprintf("step %d %s %s", e.Step, e.Task, e.Metric)
		})
	})
}
