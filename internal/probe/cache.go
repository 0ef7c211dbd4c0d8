package probe

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"emlab/internal/nn"
	"emlab/internal/rundir"
)

// Cache is a copy of named activations of one forward pass (TransformerLens's
// ActivationCache), taken so the probes work on values no later Forward can
// overwrite. Probes read a Cache and never modify it.
type Cache struct {
	Tokens []int32 // (B, T)
	B, T   int
	acts   map[string]cached
}

type cached struct {
	data  []float32
	shape []int
}

// namer is implemented by models that list their activation names (GPT).
type namer interface{ ActivationNames() []string }

// RunWithCache runs m on tokens (B, T) without targets and copies the named
// activations (all the model lists when names is empty). It fails when the
// model lacks a requested name. The model's own buffers are overwritten by
// the forward pass, as by any Forward; its weights are not touched.
func RunWithCache(m nn.Model, tokens []int32, B, T int, names ...string) (*Cache, error) {
	cfg := m.Config()
	if B <= 0 || T <= 0 || T > cfg.NCtx || len(tokens) != B*T {
		return nil, fmt.Errorf("run with cache: %d tokens for (B=%d, T=%d), n_ctx %d", len(tokens), B, T, cfg.NCtx)
	}
	for _, id := range tokens {
		if id < 0 || int(id) >= cfg.DVocab {
			return nil, fmt.Errorf("run with cache: token id %d outside [0, %d)", id, cfg.DVocab)
		}
	}
	if len(names) == 0 {
		n, ok := m.(namer)
		if !ok {
			return nil, fmt.Errorf("run with cache: %s model does not list its activations; name them", cfg.Arch)
		}
		names = n.ActivationNames()
	}
	m.Forward(tokens, nil, B, T)
	c := &Cache{Tokens: slices.Clone(tokens), B: B, T: T, acts: map[string]cached{}}
	for _, name := range names {
		d, s, ok := m.Activation(name)
		if !ok {
			return nil, fmt.Errorf("run with cache: the %s model has no activation %q", cfg.Arch, name)
		}
		c.acts[name] = cached{slices.Clone(d), slices.Clone(s)}
	}
	return c, nil
}

// Get returns a named activation and its shape; the slices belong to the
// cache and must not be modified.
func (c *Cache) Get(name string) ([]float32, []int, bool) {
	a, ok := c.acts[name]
	return a.data, a.shape, ok
}

// Names lists the cached activation names, sorted.
func (c *Cache) Names() []string {
	out := make([]string, 0, len(c.acts))
	for n := range c.acts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Pattern returns layer l's attention pattern from the cache.
func (c *Cache) Pattern(l int) (Pattern, error) {
	name := nn.ActName("pattern", l)
	d, s, ok := c.Get(name)
	if !ok {
		return Pattern{}, fmt.Errorf("cache has no %s", name)
	}
	if len(s) != 4 || s[2] != s[3] {
		return Pattern{}, fmt.Errorf("%s has shape %v, want (B, H, T, T)", name, s)
	}
	return Pattern{P: d, B: s[0], H: s[1], T: s[2]}, nil
}

// Head detector names (the `probe` field of probes.jsonl).
const (
	PrevToken      = rundir.ProbePrevToken
	PrefixMatching = rundir.ProbePrefixMatching
	DuplicateToken = rundir.ProbeDuplicateToken
	AttnEntropy    = rundir.ProbeAttnEntropy
	AttnDistance   = rundir.ProbeAttnDistance
	Copying        = rundir.ProbeCopying
)

// HeadDetectors lists the pattern-based detectors, in report order.
var HeadDetectors = []string{PrevToken, PrefixMatching, DuplicateToken, AttnEntropy, AttnDistance}

// HeadScores applies the named pattern-based detector to every layer of the
// cache (which must hold blocks.<l>.attn.pattern for l < layers) and
// returns the [layer][head] matrix.
func HeadScores(c *Cache, layers int, detector string) (Matrix, error) {
	out := make(Matrix, layers)
	for l := range layers {
		p, err := c.Pattern(l)
		if err != nil {
			return nil, err
		}
		var row []float64
		switch detector {
		case PrevToken:
			row, err = PrevTokenScores(p)
		case PrefixMatching:
			row, err = PrefixMatchingScores(p, c.Tokens)
		case DuplicateToken:
			row, err = DuplicateTokenScores(p, c.Tokens)
		case AttnEntropy:
			row, err = EntropyScores(p)
		case AttnDistance:
			row, err = DistanceScores(p)
		default:
			return nil, fmt.Errorf("unknown head detector %q (have %v)", detector, HeadDetectors)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		out[l] = row
	}
	return out, nil
}

// RepeatedSequences returns n sequences A A of length T (B = n rows, flat)
// with |A| = T/2 drawn from symbols without replacement when there are at
// least T/2 symbols (so every token of the second half has exactly one
// earlier occurrence), with replacement otherwise. T must be even and ≥ 2.
// This is the prefix-matching probe's input (docs/probes.md).
func RepeatedSequences(rng *rand.Rand, n, T int, symbols []int32) ([]int32, error) {
	if T < 2 || T%2 != 0 || n < 1 || len(symbols) == 0 {
		return nil, fmt.Errorf("repeated sequences: need n ≥ 1, even T ≥ 2 and symbols; got n=%d T=%d, %d symbols", n, T, len(symbols))
	}
	half := T / 2
	out := make([]int32, 0, n*T)
	for range n {
		a := make([]int32, half)
		if half <= len(symbols) {
			for i, j := range rng.Perm(len(symbols))[:half] {
				a[i] = symbols[j]
			}
		} else {
			for i := range a {
				a[i] = symbols[rng.IntN(len(symbols))]
			}
		}
		out = append(out, a...)
		out = append(out, a...)
	}
	return out, nil
}

func patternName(l int) string { return nn.ActName("pattern", l) }
