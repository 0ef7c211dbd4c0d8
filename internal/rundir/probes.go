package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// Probe is one line of probes.jsonl: the value of one probe at one
// checkpoint step for one (Layer, Head). Layer −1 means the embeddings or a
// model-level quantity, Head −1 a layer-level one. Probes that produce a
// series (a loss per position, PCA coordinates, a Fourier spectrum) write
// one line per Index; Task and Var name what a task-specific probe
// measured. Probe names are listed in vocab.go.
type Probe struct {
	Step  int      `json:"step"`
	Probe string   `json:"probe"`
	Layer int      `json:"layer"`
	Head  int      `json:"head"`
	Value float64  `json:"value"`
	Index *int     `json:"index,omitempty"` // position, component, frequency or subtask, per probe
	Task  string   `json:"task,omitempty"`  // task spec or variant the probe used
	Var   string   `json:"var,omitempty"`   // variable probed, e.g. "carry/1"
	Label string   `json:"label,omitempty"` // e.g. the token's text for embed_pca
	Ref   *float64 `json:"ref,omitempty"`   // reference value: the intact metric of an ablation, the majority rate of a linear probe
	N     int      `json:"n,omitempty"`     // items or positions averaged
}

// UnmarshalJSON reads a line; step, probe and value are required, and a
// missing layer or head reads as −1.
func (p *Probe) UnmarshalJSON(b []byte) error {
	type plain Probe
	var j struct {
		plain
		Step  *int     `json:"step"`
		Layer *int     `json:"layer"`
		Head  *int     `json:"head"`
		Value *float64 `json:"value"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch {
	case j.Step == nil:
		return errors.New(`missing "step"`)
	case j.Probe == "":
		return errors.New(`missing "probe"`)
	case j.Value == nil:
		return errors.New(`missing "value"`)
	}
	*p = Probe(j.plain)
	p.Step, p.Layer, p.Head, p.Value = *j.Step, intOr(j.Layer, -1), intOr(j.Head, -1), *j.Value
	return nil
}

// IndexOr returns the line's index, or def when it has none.
func (p *Probe) IndexOr(def int) int { return intOr(p.Index, def) }

type probeKey struct {
	step             int
	probe            string
	layer, head, idx int
	task, variable   string
}

func (p *Probe) key() probeKey {
	return probeKey{p.Step, p.Probe, p.Layer, p.Head, p.IndexOr(-1), p.Task, p.Var}
}

// ReadProbes reads dir's probes.jsonl (none when it is missing). A line
// repeated with the same key keeps its last value.
func ReadProbes(dir string) ([]Probe, error) {
	ps, _, err := readProbes(os.DirFS(dir), Path(dir, ProbesFile))
	return ps, err
}

func readProbes(fsys fs.FS, label string) ([]Probe, []string, error) {
	ps, _, skipped, err := readLines[Probe](fsys, ProbesFile, label, nil)
	if err != nil {
		return nil, nil, err
	}
	return dedupe(ps, (*Probe).key), skipped, nil
}

// MergeProbes writes rows into dir's probes.jsonl: every earlier line with
// the (step, probe) of one of rows is dropped, so re-probing a step
// replaces its lines while other steps and probes stay. Lines are kept
// sorted by step, probe, layer, head and index; the file is replaced
// atomically. A value JSON cannot hold (NaN, ±Inf) is an error naming the
// row.
func MergeProbes(dir string, rows []Probe) error {
	type sp struct {
		step  int
		probe string
	}
	covered := map[sp]bool{}
	for _, r := range rows {
		covered[sp{r.Step, r.Probe}] = true
	}
	return Update(dir, ProbesFile, func(fsys fs.FS, label string) ([]byte, error) {
		old, _, err := readProbes(fsys, label)
		if err != nil {
			return nil, err
		}
		var all []Probe
		for _, r := range old {
			if !covered[sp{r.Step, r.Probe}] {
				all = append(all, r)
			}
		}
		all = append(all, rows...)
		sort.SliceStable(all, func(i, j int) bool {
			a, b := all[i].key(), all[j].key()
			if a.step != b.step {
				return a.step < b.step
			}
			if a.probe != b.probe {
				return a.probe < b.probe
			}
			if a.layer != b.layer {
				return a.layer < b.layer
			}
			if a.head != b.head {
				return a.head < b.head
			}
			return a.idx < b.idx
		})
		return encodeLines(label, all, func(r *Probe) string {
			return fmt.Sprintf("step %d %s layer %d head %d", r.Step, r.Probe, r.Layer, r.Head)
		})
	})
}
