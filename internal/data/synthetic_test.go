package data

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSyntheticDeterministicRandomAccess(t *testing.T) {
	s, err := NewSynthetic(7, 128, 4, "train")
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 4, 16
	tok1, tg1 := make([]int32, B*T), make([]int32, B*T)
	tok2, tg2 := make([]int32, B*T), make([]int32, B*T)
	s.Batch(5, B, T, tok1, tg1)
	s.Batch(9, B, T, tok2, tg2) // another batch in between must not matter
	s.Batch(5, B, T, tok2, tg2)
	if !slices.Equal(tok1, tok2) || !slices.Equal(tg1, tg2) {
		t.Fatal("batch 5 differs between calls")
	}
	for i := 0; i < B*T; i++ {
		if tok1[i] < 0 || tok1[i] >= 128 {
			t.Fatalf("token %d out of range", tok1[i])
		}
		if (i+1)%T != 0 && tg1[i] != tok1[i+1] {
			t.Fatalf("target %d is not the next token", i)
		}
	}
	e, _ := NewSynthetic(7, 128, 4, "eval")
	e.Batch(5, B, T, tok2, tg2)
	if slices.Equal(tok1, tok2) {
		t.Error("eval split equals train split")
	}
}

func TestSyntheticEntropy(t *testing.T) {
	s, _ := NewSynthetic(1, 64, 1, "train")
	if s.EntropyRate() != 0 {
		t.Errorf("deterministic chain entropy %v", s.EntropyRate())
	}
	s, _ = NewSynthetic(1, 64, 2, "train")
	// weights 2/3, 1/3
	want := -(2.0/3*math.Log(2.0/3) + 1.0/3*math.Log(1.0/3))
	if math.Abs(s.EntropyRate()-want) > 1e-12 {
		t.Errorf("entropy %v want %v", s.EntropyRate(), want)
	}
	if _, err := NewSynthetic(1, 1, 1, "train"); err == nil {
		t.Error("vocab 1 accepted")
	}
	if _, err := NewSynthetic(1, 8, 9, "train"); err == nil {
		t.Error("branch > vocab accepted")
	}
}

// freshRowRNG is the row generator as a fresh PCG per row, the definition
// rowRNGs reproduces without allocating.
func freshRowRNG(seed uint64, label string, step int64, row int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	return rand.New(rand.NewPCG(seed^uint64(step)*0x9E3779B97F4A7C15, h.Sum64()^uint64(row)*0xBF58476D1CE4E5B9))
}

// TestRowRNGsMatchFreshGenerators: the reseeded generator gives, row after
// row and in any order of rows, the numbers of a fresh generator per row,
// so batches are what they were when each row allocated its own.
func TestRowRNGsMatchFreshGenerators(t *testing.T) {
	g := newRowRNGs(7, "synthetic/train")
	for _, at := range []struct {
		step int64
		row  int
	}{{0, 0}, {0, 1}, {5, 3}, {0, 0}, {1 << 40, 31}, {5, 3}} {
		want := freshRowRNG(7, "synthetic/train", at.step, at.row)
		got := g.row(at.step, at.row)
		for i := 0; i < 50; i++ {
			if a, b := got.Uint64(), want.Uint64(); a != b {
				t.Fatalf("step %d row %d draw %d: %d, a fresh generator gives %d", at.step, at.row, i, a, b)
			}
		}
	}
}

// TestSyntheticBatchMatchesDefinition rebuilds a batch from the chain with
// a fresh generator per row.
func TestSyntheticBatchMatchesDefinition(t *testing.T) {
	s, err := NewSynthetic(3, 50, 3, "train")
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 5, 12
	tok, tgt := make([]int32, B*T), make([]int32, B*T)
	s.Batch(9, B, T, tok, tgt)
	for b := 0; b < B; b++ {
		rng := freshRowRNG(3, "synthetic/train", 9, b)
		cur := int32(rng.IntN(50))
		for i := 0; i < T; i++ {
			nx := s.sample(cur, rng)
			if tok[b*T+i] != cur || tgt[b*T+i] != nx {
				t.Fatalf("row %d position %d: (%d, %d), want (%d, %d)", b, i, tok[b*T+i], tgt[b*T+i], cur, nx)
			}
			cur = nx
		}
	}
}

// TestBatchAllocatesNothing: drawing a batch of the synthetic and the text
// stream makes no heap allocation, so a training step on them makes none.
func TestBatchAllocatesNothing(t *testing.T) {
	syn, err := NewSynthetic(1, 64, 4, "train")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, 500)
	for i := range ids {
		ids[i] = int32(i % 17)
	}
	text, err := NewTokenStream(ids, 17, 1, "text/train")
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 8, 32
	tok, tgt := make([]int32, B*T), make([]int32, B*T)
	for _, src := range []struct {
		name string
		s    Source
	}{{"synthetic", syn}, {"text", text}} {
		step := int64(0)
		if n := testing.AllocsPerRun(10, func() { step++; src.s.Batch(step, B, T, tok, tgt) }); n != 0 {
			t.Errorf("%s: %v allocations per batch, want 0", src.name, n)
		}
	}
}
