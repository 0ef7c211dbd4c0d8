// Package hftest writes Hugging Face model directories for tests: models
// with random weights derived from the committed fixtures of package hf
// (their config.json with some keys changed, their tokenizer), laid out as
// Hugging Face saves them, so the commands can be tested on model
// directories, folders of step<N>/ checkpoints and ladders of sizes without
// downloading anything.
package hftest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"emlab/internal/hf"
	"emlab/internal/safetensors"
)

// Fixture is the path of one of package hf's committed model directories
// (gpt2_f32, neox_f32, …), from any package of the module.
func Fixture(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// Derive writes dst, a model directory made from the fixture directory
// src: its config.json with the keys of set replaced (nil values delete a
// key), its tokenizer files, and random weights (a fixed function of seed)
// in the layout the new config.json describes. It returns the total bytes
// of the weights.
func Derive(t testing.TB, src, dst string, set map[string]any, seed uint64) int64 {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	b, err := os.ReadFile(filepath.Join(src, hf.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, hf.ConfigFile), out, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{hf.TokenizerFile, hf.VocabFile, hf.MergesFile} {
		if b, err := os.ReadFile(filepath.Join(src, name)); err == nil {
			if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	spec, err := hf.ReadSpec(dst)
	if err != nil {
		t.Fatal(err)
	}
	return WriteWeights(t, dst, hf.Layout(spec), seed, nil)
}

// WriteWeights writes dst/model.safetensors with the tensors of layout,
// random values from seed (layer-norm gains near 1, everything else small),
// leaving out the tensors named in skip. It returns the weights' bytes.
func WriteWeights(t testing.TB, dst string, layout []hf.Tensor, seed uint64, skip map[string]bool) int64 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x6866))
	var ts []safetensors.Tensor
	var total int64
	for _, l := range layout {
		if skip[l.Name] {
			continue
		}
		n := 1
		for _, d := range l.Shape {
			n *= d
		}
		v := make([]float32, n)
		gain := strings.Contains(l.Name, "ln") || strings.Contains(l.Name, "layernorm") || strings.Contains(l.Name, "layer_norm")
		for i := range v {
			x := float32(r.NormFloat64())
			if gain && strings.HasSuffix(l.Name, ".weight") {
				v[i] = 1 + 0.1*x
			} else {
				v[i] = 0.08 * x
			}
		}
		ts = append(ts, safetensors.F32Tensor(l.Name, l.Shape, v))
		total += int64(4 * n)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, hf.WeightsFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return total
}
