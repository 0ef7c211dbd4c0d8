package eval

import (
	"bytes"
	"encoding/json"
	"fmt"

	"emlab/internal/atomicfile"
	"emlab/internal/jsonl"
)

// ReadResults reads an evals.jsonl file; a missing file is no results, a
// partial last line (a crash mid-append) is skipped.
func ReadResults(path string) ([]Result, error) {
	return jsonl.Read[Result](path, true)
}

// MergeResults writes results into path, replacing earlier lines for the
// same (step, task) so re-evaluating a step never duplicates rows, and
// keeping everything else. The file is rewritten atomically.
func MergeResults(path string, results []Result) error {
	old, err := ReadResults(path)
	if err != nil {
		return err
	}
	type key struct {
		step int
		task string
	}
	replaced := map[key]bool{}
	for _, r := range results {
		replaced[key{r.Step, r.Task}] = true
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range old {
		if !replaced[key{r.Step, r.Task}] {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	sortResults(results)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("%s: step %d %s %s: %w", path, r.Step, r.Task, r.Metric, err)
		}
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
