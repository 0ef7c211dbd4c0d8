package hf

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	ckpt "emlab/internal/checkpoint"
	"emlab/internal/safetensors"
)

// TestReliabilityNonFiniteWeights: a model directory whose weights hold
// NaN or ±Inf is refused, naming the directory and the tensor, as emlab's
// own checkpoints are.
func TestReliabilityNonFiniteWeights(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		t.Run(fmt.Sprint(v), func(t *testing.T) { refuseNonFinite(t, v) })
	}
}

// refuseNonFinite writes v into one weight of a fixture and loads it.
func refuseNonFinite(t *testing.T, v float32) {
	t.Helper()
	dir := copyDir(t, filepath.Join("testdata", "gpt2_f32"))
	editWeights(t, dir, func(m map[string]safetensors.Tensor) {
		x := make([]float32, 32)
		x[5] = v
		m["transformer.ln_f.bias"] = safetensors.F32Tensor("", []int{32}, x)
	})
	_, err := LoadModel(dir)
	if !errors.Is(err, ckpt.ErrNonFinite) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "ln_f.bias") {
		t.Errorf("weight %v: err = %v, want ErrNonFinite naming the directory and the tensor", v, err)
	}
}
