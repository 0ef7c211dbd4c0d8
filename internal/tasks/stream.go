package tasks

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"emlab/internal/data"
)

// Stream is a task mixture ready for training: the tasks, their weights,
// the character tokenizer fixed by the mixture, and the packed stream.
type Stream struct {
	Tasks   []Task
	Weights []float64
	Tok     *data.CharTokenizer
	*data.Mixture
}

// NewStream parses a mixture spec (`add:2,icl:1,stories(len=200):1`),
// builds the tasks, the character tokenizer over the union of their
// alphabets (so the same spec always gives the same ids; save it with
// data.MarshalTokenizer), and the packed stream. It fails when a task's
// documents cannot fit in cfg.NCtx.
func NewStream(spec string, cfg data.MixtureConfig) (*Stream, error) {
	entries, err := data.ParseMixSpec(spec)
	if err != nil {
		return nil, err
	}
	s := &Stream{}
	var alphabet strings.Builder
	for _, e := range entries {
		t, err := FromCall(e.Call)
		if err != nil {
			return nil, fmt.Errorf("mixture %q: %w", spec, err)
		}
		s.Tasks = append(s.Tasks, t)
		s.Weights = append(s.Weights, e.Weight)
		alphabet.WriteString(t.Alphabet())
	}
	s.Tok, err = data.NewCharTokenizer(alphabet.String())
	if err != nil {
		return nil, fmt.Errorf("mixture %q: %w", spec, err)
	}
	var comps []data.Component
	for i, t := range s.Tasks {
		comps = append(comps, data.Component{Name: t.Spec(), Weight: s.Weights[i], Gen: t, MaxLen: t.MaxLen()})
	}
	s.Mixture, err = data.NewMixture(comps, s.Tok, cfg)
	if err != nil {
		return nil, fmt.Errorf("mixture %q: %w", spec, err)
	}
	return s, nil
}

// EncodeItem returns the token ids of an item's prompt, answer and choices
// under tok. With a character tokenizer, ids(prompt)+ids(answer) is exactly
// the ids of the training document, so scoring the answer given the prompt
// is the same as scoring it inside a training window.
func EncodeItem(tok data.Tokenizer, it *Item) (prompt, answer []int32, choices [][]int32, err error) {
	if prompt, err = tok.Encode(it.Prompt); err != nil {
		return nil, nil, nil, fmt.Errorf("item %s prompt: %w", it.Variant, err)
	}
	if answer, err = tok.Encode(it.Answer); err != nil {
		return nil, nil, nil, fmt.Errorf("item %s answer: %w", it.Variant, err)
	}
	for _, c := range it.Choices {
		ids, err := tok.Encode(c)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("item %s choice: %w", it.Variant, err)
		}
		choices = append(choices, ids)
	}
	return prompt, answer, choices, nil
}

// runeLen is the length of s in characters (= tokens under the character tokenizer).
func runeLen(s string) int { return utf8.RuneCountInString(s) }
