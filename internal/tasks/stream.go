package tasks

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"emlab/internal/data"
)

// Mixture is a parsed task mixture, the value of the configuration key
// data.tasks: the tasks built from their calls, with their weights. Its
// text form is the spec exactly as written (`add:2,icl:1`), which is what
// config.json holds, so run directories written before it existed read
// the same and a run's configuration (and a sweep's run ids) does not
// change. The zero Mixture is the empty mixture.
type Mixture struct {
	spec    string
	tasks   []Task
	weights []float64
}

// ParseMixture parses a mixture spec (`add:2,icl:1,stories(len=200):1`)
// and builds its tasks. An unknown task or parameter is an error that
// suggests close names; an empty spec is the empty mixture.
func ParseMixture(spec string) (Mixture, error) {
	if strings.TrimSpace(spec) == "" {
		return Mixture{}, nil
	}
	entries, err := data.ParseMixSpec(spec)
	if err != nil {
		return Mixture{}, err
	}
	m := Mixture{spec: spec}
	var total float64
	for _, e := range entries {
		t, err := FromCall(e.Call)
		if err != nil {
			return Mixture{}, fmt.Errorf("mixture %q: %w", spec, err)
		}
		m.tasks = append(m.tasks, t)
		m.weights = append(m.weights, e.Weight)
		total += e.Weight
	}
	// Each weight is positive and finite (the spec's grammar), but their
	// sum may overflow to +Inf, which would make every cumulative weight
	// past the first infinite and draw one task only.
	if math.IsInf(total, 0) {
		return Mixture{}, fmt.Errorf("mixture %q: the weights sum to %v; scale them down (only their ratios matter)", spec, total)
	}
	return m, nil
}

// String is the spec as written.
func (m Mixture) String() string { return m.spec }

// IsZero reports whether the mixture is empty.
func (m Mixture) IsZero() bool { return len(m.tasks) == 0 }

// Tasks returns the mixture's tasks in the order written.
func (m Mixture) Tasks() []Task { return append([]Task(nil), m.tasks...) }

// Weights returns the tasks' weights, in the same order.
func (m Mixture) Weights() []float64 { return append([]float64(nil), m.weights...) }

// MarshalText writes the spec as written.
func (m Mixture) MarshalText() ([]byte, error) { return []byte(m.spec), nil }

// UnmarshalText parses a spec (see ParseMixture).
func (m *Mixture) UnmarshalText(b []byte) error {
	p, err := ParseMixture(string(b))
	if err != nil {
		return err
	}
	*m = p
	return nil
}

// Tokenizer is the character tokenizer the mixture fixes: over the union
// of its tasks' alphabets, so the same mixture always gives the same ids
// (save it with data.MarshalTokenizer).
func (m Mixture) Tokenizer() (*data.CharTokenizer, error) {
	var alphabet strings.Builder
	for _, t := range m.tasks {
		alphabet.WriteString(t.Alphabet())
	}
	tok, err := data.NewCharTokenizer(alphabet.String())
	if err != nil {
		return nil, fmt.Errorf("mixture %q: %w", m.spec, err)
	}
	return tok, nil
}

// Stream is a task mixture ready for training: the tasks, their weights,
// the character tokenizer fixed by the mixture, and the packed stream.
type Stream struct {
	Tasks   []Task
	Weights []float64
	Tok     *data.CharTokenizer
	*data.Mixture
}

// Stream packs the mixture's documents (see data.Mixture) with its
// tokenizer. It fails when the mixture is empty or a task's documents
// cannot fit in cfg.NCtx.
func (m Mixture) Stream(cfg data.MixtureConfig) (*Stream, error) {
	if m.IsZero() {
		return nil, errors.New("empty task mixture")
	}
	tok, err := m.Tokenizer()
	if err != nil {
		return nil, err
	}
	s := &Stream{Tasks: m.Tasks(), Weights: m.Weights(), Tok: tok}
	var comps []data.Component
	for i, t := range s.Tasks {
		comps = append(comps, data.Component{Name: t.Spec(), Weight: s.Weights[i], Gen: t, MaxLen: t.MaxLen()})
	}
	s.Mixture, err = data.NewMixture(comps, s.Tok, cfg)
	if err != nil {
		return nil, fmt.Errorf("mixture %q: %w", m.spec, err)
	}
	return s, nil
}

// NewStream parses a mixture spec and packs its stream: ParseMixture, then
// Mixture.Stream.
func NewStream(spec string, cfg data.MixtureConfig) (*Stream, error) {
	m, err := ParseMixture(spec)
	if err != nil {
		return nil, err
	}
	return m.Stream(cfg)
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
