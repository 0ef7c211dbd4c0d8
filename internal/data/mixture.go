package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Generator produces training documents: text without the separator,
// drawn only from r (so a document is a pure function of r's state).
type Generator interface {
	Generate(r *rand.Rand) string
}

// Component is one weighted generator of a mixture.
type Component struct {
	Name   string    // for messages and statistics, e.g. "add(digits=2)"
	Weight float64   // relative share of documents, > 0
	Gen    Generator //
	MaxLen int       // upper bound on a document's length in tokens (0: unknown, checked per document)
}

// MixtureConfig sets how documents are packed into windows.
type MixtureConfig struct {
	Seed  uint64 // run seed
	Label string // stream label: "train" for training, "eval" for held-out loss batches
	NCtx  int    // window length T that Batch will be called with
	// Slot is the alignment: every document starts at a multiple of Slot
	// (with plain concatenation a small model learned no
	// arithmetic in 5M tokens, with 12- or 16-token slots it did). 1 packs
	// documents back to back (still one separator between them, still never
	// split across windows); 0 means the default, 16.
	Slot int
}

// DefaultSlot is the slot size used when MixtureConfig.Slot is 0.
const DefaultSlot = 16

// Mixture is the mixed training stream: a data.Source that fills each window
// with whole documents drawn from weighted components.
//
// Packing (window of T inputs plus one extra target position): a document of
// L tokens starting at position p (a multiple of Slot) occupies p…p+L−1, its
// separator sits at p+L, and positions up to the next multiple of Slot hold
// the separator as padding. A document is placed only if p+L ≤ T (its last
// token's target, the separator, is still inside the window); the first
// document that does not fit ends the window and is discarded, so documents
// are never split. Documents longer than T are skipped.
//
// Targets: loss is taken only where the input is a document token; the
// target of a document's last token is the separator (so a model learns
// where an answer ends and generation can stop there). Positions whose input
// is the separator or padding get target −1: no loss on predicting which
// document comes next, and none on padding.
//
// Each window (row r of batch step) is drawn from its own generator,
// RNG(seed, label/step/r), so a batch is a pure function of (seed, label,
// step) and windows can be made in any order or in parallel.
type Mixture struct {
	comps []Component
	cum   []float64 // cumulative weights
	tok   Tokenizer
	cfg   MixtureConfig
}

// NewMixture checks the components and the configuration.
func NewMixture(comps []Component, tok Tokenizer, cfg MixtureConfig) (*Mixture, error) {
	if len(comps) == 0 {
		return nil, fmt.Errorf("mixture: no components")
	}
	if tok == nil {
		return nil, fmt.Errorf("mixture: no tokenizer")
	}
	if cfg.NCtx < 2 {
		return nil, fmt.Errorf("mixture: window length %d < 2", cfg.NCtx)
	}
	if cfg.Slot == 0 {
		cfg.Slot = DefaultSlot
	}
	if cfg.Slot < 1 || cfg.Slot > cfg.NCtx {
		return nil, fmt.Errorf("mixture: slot %d outside [1, NCtx=%d]", cfg.Slot, cfg.NCtx)
	}
	if cfg.Label == "" {
		cfg.Label = "train"
	}
	m := &Mixture{tok: tok, cfg: cfg}
	var total float64
	for _, c := range comps {
		if !(c.Weight > 0) {
			return nil, fmt.Errorf("mixture: component %s has weight %v, want > 0", c.Name, c.Weight)
		}
		if c.Gen == nil {
			return nil, fmt.Errorf("mixture: component %s has no generator", c.Name)
		}
		if c.MaxLen > cfg.NCtx {
			return nil, fmt.Errorf("mixture: %s makes documents of up to %d tokens, longer than the window NCtx=%d; raise NCtx or shorten the task's documents", c.Name, c.MaxLen, cfg.NCtx)
		}
		total += c.Weight
		m.comps = append(m.comps, c)
		m.cum = append(m.cum, total)
	}
	return m, nil
}

// Vocab is the tokenizer's vocabulary size.
func (m *Mixture) Vocab() int { return m.tok.Vocab() }

// Tokenizer returns the tokenizer the stream encodes with.
func (m *Mixture) Tokenizer() Tokenizer { return m.tok }

// Config returns the configuration with defaults filled in.
func (m *Mixture) Config() MixtureConfig { return m.cfg }

// Components returns the components (do not modify).
func (m *Mixture) Components() []Component { return m.comps }

// pick draws a component index in proportion to the weights.
func (m *Mixture) pick(r *rand.Rand) int {
	if len(m.cum) == 1 {
		return 0
	}
	x := r.Float64() * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if x < c {
			return i
		}
	}
	return len(m.cum) - 1
}

// Placed describes one document placed in a window.
type Placed struct {
	Comp  int // component index
	Start int // position of its first token
	Len   int // tokens, without the separator
}

// Window fills one window of T inputs for (step, row): tokens and targets
// (length T each) and returns the documents placed. It panics if T differs
// from NCtx (a programmer error: the stream was configured for NCtx) or if a
// component emits text the tokenizer cannot encode (the task's alphabet is
// wrong; the task tests catch this).
func (m *Mixture) Window(step int64, row, T int, tokens, targets []int32) []Placed {
	if T != m.cfg.NCtx {
		panic(fmt.Sprintf("data.Mixture: window length %d, but the stream was built for NCtx=%d", T, m.cfg.NCtx))
	}
	if len(tokens) != T || len(targets) != T {
		panic(fmt.Sprintf("data.Mixture: buffers of %d and %d, want %d", len(tokens), len(targets), T))
	}
	label := m.cfg.Label + "/" + strconv.FormatInt(step, 10) + "/" + strconv.Itoa(row)
	r := RNG(m.cfg.Seed, label)
	sep := m.tok.Sep()
	// win holds T+1 ids: position T is only ever a target.
	win := make([]int32, T+1)
	scored := make([]bool, T+1)
	for i := range win {
		win[i] = sep
	}
	var placed []Placed
	p := 0
	skipped := 0
	for p < T {
		ci := m.pick(r)
		doc := m.comps[ci].Gen.Generate(r)
		ids, err := m.tok.Encode(doc)
		if err != nil {
			panic(fmt.Sprintf("data.Mixture: component %s emitted text its tokenizer cannot encode: %v", m.comps[ci].Name, err))
		}
		L := len(ids)
		if L == 0 || L > T {
			// Cannot be placed in any window; draw another. A component
			// that only makes such documents is a configuration error
			// NewMixture catches through MaxLen; this bound keeps an
			// unchecked one from looping forever.
			skipped++
			if skipped > 1000 {
				panic(fmt.Sprintf("data.Mixture: 1000 documents in a row were empty or longer than the window (last from %s, %d tokens)", m.comps[ci].Name, L))
			}
			continue
		}
		if p+L > T {
			break
		}
		copy(win[p:], ids)
		for i := p; i < p+L; i++ {
			scored[i] = true
		}
		placed = append(placed, Placed{Comp: ci, Start: p, Len: L})
		// Next slot boundary strictly after the separator at p+L.
		p = ((p + L + 1 + m.cfg.Slot - 1) / m.cfg.Slot) * m.cfg.Slot
	}
	copy(tokens, win[:T])
	for i := 0; i < T; i++ {
		if scored[i] {
			targets[i] = win[i+1]
		} else {
			targets[i] = -1
		}
	}
	return placed
}

// Batch implements Source: row b of the batch is Window(step, b, T, ...).
func (m *Mixture) Batch(step int64, B, T int, tokens, targets []int32) {
	if len(tokens) != B*T || len(targets) != B*T {
		panic(fmt.Sprintf("data.Mixture: batch buffers of %d and %d, want B*T=%d", len(tokens), len(targets), B*T))
	}
	for b := 0; b < B; b++ {
		m.Window(step, b, T, tokens[b*T:(b+1)*T], targets[b*T:(b+1)*T])
	}
}

// MixStats is what a sample of windows holds, per component.
type MixStats struct {
	Docs        []int   // documents placed
	Tokens      []int   // document tokens placed (without separators)
	ScoredFrac  float64 // fraction of positions with a target (not −1)
	DocsPerWind float64 // documents per window
}

// Stats packs n windows of step 0… and counts what they hold, to check the
// realised mixture against the weights (long documents are discarded at a
// window's end more often than short ones, so their share falls a little
// below their weight).
func (m *Mixture) Stats(n int) MixStats {
	T := m.cfg.NCtx
	st := MixStats{Docs: make([]int, len(m.comps)), Tokens: make([]int, len(m.comps))}
	tokens := make([]int32, T)
	targets := make([]int32, T)
	scored, docs := 0, 0
	for w := 0; w < n; w++ {
		for _, d := range m.Window(int64(w), 0, T, tokens, targets) {
			st.Docs[d.Comp]++
			st.Tokens[d.Comp] += d.Len
			docs++
		}
		for _, t := range targets {
			if t >= 0 {
				scored++
			}
		}
	}
	if n > 0 {
		st.ScoredFrac = float64(scored) / float64(n*T)
		st.DocsPerWind = float64(docs) / float64(n)
	}
	return st
}
