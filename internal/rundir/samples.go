package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Sample is one line of samples.jsonl: what the model did on one
// evaluation item at one checkpoint, so that analyses can follow items
// rather than means (which items flip from wrong to right between rungs).
// Scores holds the item's value of each metric that applies to it (the
// metrics of evals.jsonl before aggregation); AnswerLogProb is the total
// log-probability of the reference answer given the prompt, in nats.
type Sample struct {
	Step          int                `json:"step"`
	Task          string             `json:"task"` // the variant, as in evals.jsonl
	Item          string             `json:"item"` // the item's key: unique within the variant, stable across runs
	Subtask       *int               `json:"subtask,omitempty"`
	Prompt        string             `json:"prompt"`
	Target        string             `json:"target"`
	Generated     string             `json:"generated"` // the greedy continuation ("" when the item was not generated)
	Scores        map[string]float64 `json:"scores"`
	AnswerLogProb float64            `json:"answer_logprob"`
}

// UnmarshalJSON reads a line; step, task and item are required.
func (s *Sample) UnmarshalJSON(b []byte) error {
	type plain Sample
	var j struct {
		plain
		Step *int `json:"step"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch {
	case j.Step == nil:
		return errors.New(`missing "step"`)
	case j.Task == "" || j.Item == "":
		return errors.New(`missing "task" or "item"`)
	}
	*s = Sample(j.plain)
	s.Step = *j.Step
	return nil
}

// ReadSamples reads dir's samples.jsonl (none when it is missing). A line
// repeated for the same (step, task, item) keeps its last value.
func ReadSamples(dir string) ([]Sample, error) {
	ss, _, err := readSamples(os.DirFS(dir), Path(dir, SamplesFile))
	return ss, err
}

type sampleKey struct {
	step       int
	task, item string
}

func (s *Sample) key() sampleKey { return sampleKey{s.Step, s.Task, s.Item} }

func readSamples(fsys fs.FS, label string) ([]Sample, []string, error) {
	ss, _, skipped, err := readLines[Sample](fsys, SamplesFile, label, nil)
	if err != nil {
		return nil, nil, err
	}
	return dedupe(ss, (*Sample).key), skipped, nil
}

// MergeSamples writes samples into dir's samples.jsonl as MergeEvals does
// for results: every earlier line of a (step, task) that samples cover is
// replaced, the rest is kept, and the file is rewritten atomically.
func MergeSamples(dir string, samples []Sample) error {
	type st struct {
		step int
		task string
	}
	covered := map[st]bool{}
	for _, s := range samples {
		covered[st{s.Step, s.Task}] = true
	}
	return Update(dir, SamplesFile, func(fsys fs.FS, label string) ([]byte, error) {
		old, _, err := readSamples(fsys, label)
		if err != nil {
			return nil, err
		}
		var all []Sample
		for _, s := range old {
			if !covered[st{s.Step, s.Task}] {
				all = append(all, s)
			}
		}
		all = append(all, samples...)
		return encodeLines(label, all, func(s *Sample) string {
			return fmt.Sprintf("step %d %s item %s", s.Step, s.Task, s.Item)
		})
	})
}
