// Package data turns text and task generators into training batches:
// tokenizers, corpora, and the mixed stream of task documents.
package data

import (
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// Source produces training batches by random access: batch number step is a
// pure function of the source's seed and step, so a resumed run sees exactly
// the batches an uninterrupted one would, with no stream state to save.
type Source interface {
	// Batch fills tokens and targets (B·T each, row-major (B, T)) for batch
	// number step. targets[i] is the token that follows tokens[i], or −1
	// where no loss is taken (padding, prompts that are not scored).
	Batch(step int64, B, T int, tokens, targets []int32)
	// Vocab is the number of token ids the source can emit.
	Vocab() int
}

// RNG returns a generator derived from a run seed and a stable label
// ("init", "train/batch", "eval", ...), so each component has its own
// stream and adding a component never shifts another's random numbers.
func RNG(seed uint64, label string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// rowRNGs hands out the generator for one row of one batch, a pure
// function of (seed, label, step, row), without allocating: one PCG is
// reseeded per row (a PCG's whole state is its seed, so the numbers are
// those of a fresh generator). A source holds one and locks it for a
// batch, so concurrent Batch calls stay correct.
type rowRNGs struct {
	mu    sync.Mutex
	seed  uint64
	label uint64 // FNV-1a of the source's label
	pcg   rand.PCG
	rng   *rand.Rand // reads pcg
}

func newRowRNGs(seed uint64, label string) *rowRNGs {
	h := fnv.New64a()
	h.Write([]byte(label))
	g := &rowRNGs{seed: seed, label: h.Sum64()}
	g.rng = rand.New(&g.pcg)
	return g
}

// row returns the generator of row of batch step; it is valid until the
// next call. The caller holds g.mu.
func (g *rowRNGs) row(step int64, row int) *rand.Rand {
	g.pcg.Seed(g.seed^uint64(step)*0x9E3779B97F4A7C15, g.label^uint64(row)*0xBF58476D1CE4E5B9)
	return g.rng
}
