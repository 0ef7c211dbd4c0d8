// Package data turns text and task generators into training batches:
// tokenizers, corpora, and the mixed stream of task documents.
package data

import (
	"hash/fnv"
	"math/rand/v2"
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

// rowRNG is the generator for one row of one batch: a pure function of
// (seed, label, step, row).
func rowRNG(seed uint64, label string, step int64, row int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	return rand.New(rand.NewPCG(seed^uint64(step)*0x9E3779B97F4A7C15, h.Sum64()^uint64(row)*0xBF58476D1CE4E5B9))
}
