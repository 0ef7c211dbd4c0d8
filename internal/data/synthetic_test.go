package data

import (
	"math"
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
