package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"emlab/internal/atomicfile"
	"emlab/internal/jsonl"
)

// Row is one line of probes.jsonl: the value of one probe at one checkpoint
// step for one (layer, head). Layer −1 means the embeddings (or a
// model-level quantity), head −1 a layer-level one. Probes that produce a
// series (a loss curve, PCA coordinates, a Fourier spectrum) write one row
// per Index; Task and Var name what a task-specific probe measured.
type Row struct {
	Step  int      `json:"step"`
	Probe string   `json:"probe"`
	Layer int      `json:"layer"`
	Head  int      `json:"head"`
	Value float64  `json:"value"`
	Index *int     `json:"index,omitempty"` // position, component, frequency or subtask, per probe
	Task  string   `json:"task,omitempty"`  // task spec the probe used
	Var   string   `json:"var,omitempty"`   // variable probed, e.g. "carry/1"
	Label string   `json:"label,omitempty"` // e.g. the token's text for embed_pca
	Ref   *float64 `json:"ref,omitempty"`   // reference value: the intact metric of an ablation, chance of a linear probe
	N     int      `json:"n,omitempty"`     // items or positions averaged
}

func ip(i int) *int { return &i }

func fp(f float64) *float64 { return &f }

// ReadRows reads a probes.jsonl file; a missing file is no rows, a partial
// last line (a crash mid-write of a non-atomic writer) is skipped, a bad
// line elsewhere is an error.
func ReadRows(path string) ([]Row, error) {
	return jsonl.Read[Row](path, true)
}

// MergeRows writes rows into path, first dropping every earlier row with
// the same (step, probe) as one of the new rows, so re-probing a step
// replaces its rows instead of duplicating them while other steps and
// other probes stay. Rows are kept sorted by step, probe, layer, head,
// index. The file is replaced atomically. Values that JSON cannot hold
// (NaN, ±Inf) are an error naming the row.
func MergeRows(path string, rows []Row) error {
	old, err := ReadRows(path)
	if err != nil {
		return err
	}
	type key struct {
		step  int
		probe string
	}
	replaced := map[key]bool{}
	for _, r := range rows {
		replaced[key{r.Step, r.Probe}] = true
	}
	var all []Row
	for _, r := range old {
		if !replaced[key{r.Step, r.Probe}] {
			all = append(all, r)
		}
	}
	all = append(all, rows...)
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		if a.Probe != b.Probe {
			return a.Probe < b.Probe
		}
		if a.Layer != b.Layer {
			return a.Layer < b.Layer
		}
		if a.Head != b.Head {
			return a.Head < b.Head
		}
		ai, bi := -1, -1
		if a.Index != nil {
			ai = *a.Index
		}
		if b.Index != nil {
			bi = *b.Index
		}
		return ai < bi
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range all {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("%s: step %d %s layer %d head %d: %w", path, r.Step, r.Probe, r.Layer, r.Head, err)
		}
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
