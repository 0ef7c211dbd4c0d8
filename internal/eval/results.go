package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"emlab/internal/atomicfile"
)

// ReadResults reads an evals.jsonl file; a missing file is no results, a
// partial last line (a crash mid-append) is skipped.
func ReadResults(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Result
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	var bad error
	for sc.Scan() {
		line++
		if bad != nil {
			return nil, bad
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			bad = fmt.Errorf("%s line %d: %w", path, line, err)
			continue
		}
		out = append(out, r)
	}
	return out, sc.Err()
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
