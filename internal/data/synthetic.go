package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Synthetic is the engine's built-in stream: text from a fixed random
// Markov chain over V tokens in which every token has Branch successors with
// Zipf-like probabilities. It needs no files, it is learnable (the loss falls
// from ln V towards the chain's entropy rate, EntropyRate), and it scales to
// any vocabulary, which is what throughput benchmarks and engine tests need.
// The task battery replaces it for real experiments.
type Synthetic struct {
	rows   *rowRNGs
	v      int
	next   [][]int32   // next[a] = successors of a
	cum    [][]float64 // cumulative probabilities of next[a]
	weight []float64   // the successor probabilities (shared by every token)
}

// NewSynthetic builds the chain from seed; split names the stream ("train"
// or "eval"): the chain is the same, the sampled sequences differ.
func NewSynthetic(seed uint64, vocab, branch int, split string) (*Synthetic, error) {
	if vocab < 2 {
		return nil, fmt.Errorf("synthetic stream: vocabulary %d < 2", vocab)
	}
	if branch < 1 || branch > vocab {
		return nil, fmt.Errorf("synthetic stream: branch %d outside [1, %d]", branch, vocab)
	}
	rng := RNG(seed, "synthetic/chain")
	s := &Synthetic{rows: newRowRNGs(seed, "synthetic/"+split), v: vocab}
	var z float64
	for i := 0; i < branch; i++ {
		w := 1 / float64(i+1)
		s.weight = append(s.weight, w)
		z += w
	}
	for i := range s.weight {
		s.weight[i] /= z
	}
	for a := 0; a < vocab; a++ {
		perm := rng.Perm(vocab)[:branch]
		nx := make([]int32, branch)
		cum := make([]float64, branch)
		var c float64
		for i, p := range perm {
			nx[i] = int32(p)
			c += s.weight[i]
			cum[i] = c
		}
		s.next = append(s.next, nx)
		s.cum = append(s.cum, cum)
	}
	return s, nil
}

// Vocab implements Source.
func (s *Synthetic) Vocab() int { return s.v }

// EntropyRate is the chain's entropy per token in nats: the loss a perfect
// model reaches.
func (s *Synthetic) EntropyRate() float64 {
	var h float64
	for _, p := range s.weight {
		h -= p * math.Log(p)
	}
	return h
}

// Batch implements Source: each row starts at a uniformly drawn token.
func (s *Synthetic) Batch(step int64, B, T int, tokens, targets []int32) {
	s.rows.mu.Lock()
	defer s.rows.mu.Unlock()
	for b := 0; b < B; b++ {
		rng := s.rows.row(step, b)
		cur := int32(rng.IntN(s.v))
		for t := 0; t < T; t++ {
			nx := s.sample(cur, rng)
			tokens[b*T+t] = cur
			targets[b*T+t] = nx
			cur = nx
		}
	}
}

func (s *Synthetic) sample(a int32, rng *rand.Rand) int32 {
	u := rng.Float64()
	cum := s.cum[a]
	for i, c := range cum {
		if u < c {
			return s.next[a][i]
		}
	}
	return s.next[a][len(cum)-1]
}
