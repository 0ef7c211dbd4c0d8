package tasks

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
	files   Files // the content of the task files it names
}

// ParseMixture parses a mixture spec (`add:2,icl:1,stories(len=200):1`,
// `file:tasks/capitals.toml:2`) and builds its tasks, reading task files
// from disk. An unknown task or parameter is an error that suggests close
// names; an empty spec is the empty mixture.
func ParseMixture(spec string) (Mixture, error) { return ParseMixtureWith(spec, nil) }

// ParseMixtureWith is ParseMixture taking the content of task files from
// files where it holds their path (a run's recorded copies), from disk
// otherwise.
func ParseMixtureWith(spec string, files Files) (Mixture, error) {
	if strings.TrimSpace(spec) == "" {
		return Mixture{}, nil
	}
	entries, err := data.ParseMixSpec(spec)
	if err != nil {
		return Mixture{}, err
	}
	m := Mixture{spec: spec}
	var total float64
	fileNames := map[string]string{}
	for _, e := range entries {
		t, err := fromCall(e.Call, files)
		if err != nil {
			return Mixture{}, fmt.Errorf("mixture %q: %w", spec, err)
		}
		if ft, ok := t.(FileTask); ok {
			if other, dup := fileNames[t.Name()]; dup {
				return Mixture{}, fmt.Errorf("mixture %q: task files %s and %s both name their task %q", spec, other, ft.Path(), t.Name())
			}
			fileNames[t.Name()] = ft.Path()
			if m.files == nil {
				m.files = Files{}
			}
			m.files[ft.Path()] = ft.Source()
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

// Files returns the content of the task files the mixture names, by the
// path written in the spec (nil when it names none).
func (m Mixture) Files() Files {
	if m.files == nil {
		return nil
	}
	out := make(Files, len(m.files))
	for k, v := range m.files {
		out[k] = v
	}
	return out
}

// CheckFilesAgainst reports a task file of m whose task (name and
// version) is also one of ref's task files with other content: scoring it
// would write results under the variant names of the task ref trained on
// for a different task. Raise the file's version, or rename its task.
func (m Mixture) CheckFilesAgainst(ref Mixture) error {
	type id struct {
		name    string
		version int
	}
	known := map[id]FileTask{}
	for _, t := range ref.tasks {
		if ft, ok := t.(FileTask); ok {
			known[id{t.Name(), t.Version()}] = ft
		}
	}
	for _, t := range m.tasks {
		ft, ok := t.(FileTask)
		if !ok {
			continue
		}
		if old, ok := known[id{t.Name(), t.Version()}]; ok && old.Source().SHA256 != ft.Source().SHA256 {
			return fmt.Errorf("task file %s gives task %s v%d other content than the copy the run recorded (sha256 %.12s, recorded %.12s): raise its version or rename the task, or leave out --tasks to score the recorded one",
				ft.Path(), t.Name(), t.Version(), ft.Source().SHA256, old.Source().SHA256)
		}
	}
	return nil
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

// StreamWith packs the mixture's documents with another tokenizer than
// its own (a model's, trained elsewhere), for held-out text: a document's
// length in tokens is then not its length in characters, so each is
// measured as it is packed and one longer than the window is skipped.
func (m Mixture) StreamWith(tok data.Tokenizer, cfg data.MixtureConfig) (*data.Mixture, error) {
	if m.IsZero() {
		return nil, errors.New("empty task mixture")
	}
	var comps []data.Component
	for i, t := range m.tasks {
		comps = append(comps, data.Component{Name: t.Spec(), Weight: m.weights[i], Gen: t})
		// Packing skips documents longer than the window; a task none of
		// whose documents fit would never be placed (and the packer
		// gives up on it), so it is an error now.
		r := data.RNG(0, "tasks/streamwith/"+t.Spec())
		fits, longest := false, 0
		for range 100 {
			ids, err := tok.Encode(t.Generate(r))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Spec(), err)
			}
			if fits = len(ids) > 0 && len(ids) <= cfg.NCtx; fits {
				break
			}
			longest = max(longest, len(ids))
		}
		if !fits {
			return nil, fmt.Errorf("%s: 100 documents in a row are longer than the window of %d tokens (up to %d): choose shorter tasks", t.Spec(), cfg.NCtx, longest)
		}
	}
	s, err := data.NewMixture(comps, tok, cfg)
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

// EncodeItem returns the token ids of an item's prompt, answer and
// choices under tok, split at the text boundary between the prompt and
// each continuation (see EncodeContinuation). With a character tokenizer,
// ids(prompt)+ids(answer) is exactly the ids of the training document, so
// scoring the answer given the prompt is the same as scoring it inside a
// training window.
func EncodeItem(tok data.Tokenizer, it *Item) (prompt, answer []int32, choices [][]int32, err error) {
	if prompt, err = tok.Encode(it.Prompt); err != nil {
		return nil, nil, nil, fmt.Errorf("item %s prompt: %w", it.Variant, err)
	}
	if it.Answer != "" {
		if answer, err = EncodeContinuation(tok, it.Prompt, prompt, it.Answer); err != nil {
			return nil, nil, nil, fmt.Errorf("item %s answer: %w", it.Variant, err)
		}
	}
	for _, c := range it.Choices {
		ids, err := EncodeContinuation(tok, it.Prompt, prompt, c)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("item %s choice: %w", it.Variant, err)
		}
		choices = append(choices, ids)
	}
	return prompt, answer, choices, nil
}

// EncodeContinuation returns the ids of cont as it follows prompt (whose
// ids are promptIDs): the tail of the encoding of prompt+cont when that
// encoding begins with promptIDs, so the model reads the whole text as its
// tokenizer writes it; otherwise, when a token of the joint encoding spans
// the boundary (a BPE merge across it, as in "Then"+" she" never, but
// "ab"+"cd" may), cont's own ids. Either way the prompt's ids are the same
// for every continuation of an item and the scored ids decode to cont
// exactly, so choices are compared on their own text. A character tokenizer
// always takes the first branch.
func EncodeContinuation(tok data.Tokenizer, prompt string, promptIDs []int32, cont string) ([]int32, error) {
	joint, err := tok.Encode(prompt + cont)
	if err != nil {
		return nil, err
	}
	if len(joint) > len(promptIDs) && slices.Equal(joint[:len(promptIDs)], promptIDs) {
		return joint[len(promptIDs):], nil
	}
	return tok.Encode(cont)
}

// runeLen is the length of s in characters (= tokens under the character tokenizer).
func runeLen(s string) int { return utf8.RuneCountInString(s) }
