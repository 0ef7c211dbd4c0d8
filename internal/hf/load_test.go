package hf

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"emlab/internal/safetensors"
)

// copyDir copies a fixture directory into a fresh temporary one.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "reference.safetensors" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editConfig rewrites dir/config.json with edit applied to its keys.
func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editWeights rewrites dir/model.safetensors with edit applied to its
// tensors (all read into memory: the fixtures are small).
func editWeights(t *testing.T, dir string, edit func(map[string]safetensors.Tensor)) {
	t.Helper()
	path := filepath.Join(dir, WeightsFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]safetensors.Tensor{}
	for n, x := range f.Tensors {
		ts[n] = x
	}
	edit(ts)
	writeTensors(t, path, ts)
}

func writeTensors(t *testing.T, path string, ts map[string]safetensors.Tensor) {
	t.Helper()
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	slices.Sort(names)
	var list []safetensors.Tensor
	for _, n := range names {
		x := ts[n]
		x.Name = n
		list = append(list, x)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, list, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: every way a model directory can be wrong gets an error
// that names the file and the key or tensor at fault.
func TestBadInput(t *testing.T) {
	gpt2 := filepath.Join("testdata", "gpt2_f32")
	neox := filepath.Join("testdata", "neox_f32")
	for _, tc := range []struct {
		name string
		src  string
		edit func(t *testing.T, dir string)
		want []string // substrings of the error (besides the directory)
	}{
		{"missing tensor", neox, func(t *testing.T, d string) {
			editWeights(t, d, func(m map[string]safetensors.Tensor) { delete(m, "gpt_neox.layers.1.mlp.dense_4h_to_h.weight") })
		}, []string{WeightsFile, `missing tensor "gpt_neox.layers.1.mlp.dense_4h_to_h.weight"`}},
		{"wrong shape", gpt2, func(t *testing.T, d string) {
			editWeights(t, d, func(m map[string]safetensors.Tensor) {
				m["transformer.h.0.mlp.c_fc.weight"] = safetensors.F32Tensor("", []int{128, 32}, make([]float32, 128*32))
			})
		}, []string{WeightsFile, `"transformer.h.0.mlp.c_fc.weight" has shape [128 32], want [32 128]`, "n_embd, n_inner"}},
		{"transposed embed_out", neox, func(t *testing.T, d string) {
			editWeights(t, d, func(m map[string]safetensors.Tensor) {
				m["embed_out.weight"] = safetensors.F32Tensor("", []int{32, 280}, make([]float32, 32*280))
			})
		}, []string{`"embed_out.weight" has shape [32 280], want [280 32]`}},
		{"integer weights", gpt2, func(t *testing.T, d string) {
			editWeights(t, d, func(m map[string]safetensors.Tensor) {
				m["transformer.ln_f.bias"] = safetensors.I32Tensor("", []int{32}, make([]int32, 32))
			})
		}, []string{`"transformer.ln_f.bias" has dtype I32`}},
		{"unexpected tensor", neox, func(t *testing.T, d string) {
			editWeights(t, d, func(m map[string]safetensors.Tensor) {
				m["score.weight"] = safetensors.F32Tensor("", []int{2, 32}, make([]float32, 64))
			})
		}, []string{WeightsFile, "unexpected tensors score.weight"}},
		{"unknown model_type", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["model_type"] = "llama" })
		}, []string{ConfigFile, `key "model_type"`, `"llama" is not supported`}},
		{"no model_type", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { delete(m, "model_type") })
		}, []string{ConfigFile, `missing key "model_type"`}},
		{"missing shape key", neox, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { delete(m, "intermediate_size") })
		}, []string{ConfigFile, `missing key "intermediate_size"`}},
		{"non-integer", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["n_head"] = 2.5 })
		}, []string{ConfigFile, `key "n_head"`, "integer"}},
		{"unsupported activation", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["activation_function"] = "quick_gelu" })
		}, []string{ConfigFile, `key "activation_function"`, `"quick_gelu" is not supported`}},
		{"rope scaling", neox, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["rope_scaling"] = map[string]any{"type": "linear", "factor": 2} })
		}, []string{ConfigFile, `key "rope_scaling"`}},
		{"unscaled attention", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["scale_attn_weights"] = false })
		}, []string{ConfigFile, `key "scale_attn_weights"`}},
		{"no attention bias", neox, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["attention_bias"] = false })
		}, []string{ConfigFile, `key "attention_bias"`}},
		{"odd rotary dims", neox, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["rotary_pct"] = 0.2 })
		}, []string{ConfigFile, `key "rotary_pct"`, "rotary dims"}},
		{"conflicting alias", neox, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["rope_theta"] = 500 })
		}, []string{ConfigFile, `key "rope_theta"`, "disagrees"}},
		{"other head class", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["architectures"] = []string{"GPT2ForSequenceClassification"} })
		}, []string{ConfigFile, `key "architectures"`, "GPT2ForSequenceClassification"}},
		{"heads do not divide", gpt2, func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["n_head"] = 5 })
		}, []string{ConfigFile, "NHeads"}},
		{"no weights", gpt2, func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, WeightsFile))
		}, []string{WeightsFile, IndexFile}},
		{"pickle only", gpt2, func(t *testing.T, d string) {
			os.Rename(filepath.Join(d, WeightsFile), filepath.Join(d, "pytorch_model.bin"))
		}, []string{"pytorch_model.bin", "convert them to safetensors"}},
		{"truncated weights", gpt2, func(t *testing.T, d string) {
			p := filepath.Join(d, WeightsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-100], 0o644)
		}, []string{WeightsFile, "truncated"}},
		{"bad JSON", gpt2, func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, ConfigFile), []byte(`{"model_type": "gpt2",`), 0o644)
		}, []string{ConfigFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, tc.src)
			tc.edit(t, dir)
			_, err := LoadModel(dir)
			if err == nil {
				t.Fatal("loaded a bad model directory")
			}
			for _, w := range append(tc.want, dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestShardedIndex: the same model split into two shards by
// model.safetensors.index.json loads to the same weights; an index that
// points at the wrong shard is an error naming the index.
func TestShardedIndex(t *testing.T) {
	src := filepath.Join("testdata", "neox_f32")
	want, err := LoadModel(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyDir(t, src)
	f, err := safetensors.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, WeightsFile))
	shards := [2]map[string]safetensors.Tensor{{}, {}}
	wm := map[string]string{}
	for i, n := range f.Names {
		shards[i%2][n] = f.Tensors[n]
		wm[n] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	writeTensors(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), shards[0])
	writeTensors(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), shards[1])
	writeIndex := func(wm map[string]string) {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": wm})
		if err := os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeIndex(wm)
	got, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Params().Data, want.Params().Data) {
		t.Error("sharded checkpoint loads different weights")
	}
	wm[f.Names[0]] = "model-00002-of-00002.safetensors"
	if f.Names[0] == f.Names[1] {
		t.Fatal("fixture too small")
	}
	writeIndex(wm)
	if _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), IndexFile) {
		t.Errorf("index pointing at the wrong shard: %v", err)
	}
}

// TestLoadHoldsOneCopy measures the bytes allocated while loading: one
// float32 copy of the weights plus the reader's chunk buffers and small
// bookkeeping, not a second copy (a loader that decoded the file into
// float32 tensors and then copied them would allocate at least 2×). A
// reload into the same model allocates only the chunk buffers (≤ 1 MiB raw
// and 2 MiB converted for F16), whatever the model's size.
func TestLoadHoldsOneCopy(t *testing.T) {
	// A model large enough that the weights dominate the chunk buffers
	// (2 × 1 MiB raw + 4 MiB converted for F16): 2.5M parameters = 10 MB.
	dir := t.TempDir()
	const C, L, V, F = 256, 3, 2000, 1024
	cfg := map[string]any{"model_type": "gpt2", "n_layer": L, "n_embd": C, "n_head": 4, "n_positions": 64,
		"vocab_size": V, "n_inner": F}
	b, _ := json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644)
	ts := map[string]safetensors.Tensor{}
	add := func(n string, shape ...int) {
		size := 1
		for _, s := range shape {
			size *= s
		}
		bits := make([]byte, 2*size) // F16 zeros
		ts[n] = safetensors.Tensor{DType: safetensors.F16, Shape: shape, Data: bits}
	}
	add("wte.weight", V, C)
	add("wpe.weight", 64, C)
	for l := range L {
		p := "h." + string(rune('0'+l)) + "."
		for _, n := range []string{"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias", "attn.c_proj.bias", "mlp.c_proj.bias"} {
			add(p+n, C)
		}
		add(p+"attn.c_attn.weight", C, 3*C)
		add(p+"attn.c_attn.bias", 3*C)
		add(p+"attn.c_proj.weight", C, C)
		add(p+"mlp.c_fc.weight", C, F)
		add(p+"mlp.c_fc.bias", F)
		add(p+"mlp.c_proj.weight", F, C)
	}
	add("ln_f.weight", C)
	add("ln_f.bias", C)
	writeTensors(t, filepath.Join(dir, WeightsFile), ts)
	ts = nil

	alloc := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var err error
	var weights uint64
	got := alloc(func() {
		m, e := LoadModel(dir)
		err = e
		if e == nil {
			weights = uint64(4 * len(m.Params().Data))
			runtime.KeepAlive(m)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load: %.1f MB allocated for %.1f MB of float32 weights (%.2f×)", float64(got)/1e6, float64(weights)/1e6, float64(got)/float64(weights))
	if limit := weights + 8<<20; got > limit {
		t.Errorf("loading allocated %d bytes for %d bytes of weights: more than one copy plus chunk buffers", got, weights)
	}
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	got = alloc(func() { err = LoadWeights(m, dir) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reload: %.1f MB allocated", float64(got)/1e6)
	if got > 6<<20 {
		t.Errorf("reloading into the same model allocated %d bytes (weights %d), more than the reader's chunk buffers", got, weights)
	}
}

// TestStepsAndReload: step<N>/ folders are listed in step order, and
// loading the next checkpoint into the previous one's model gives the same
// model as loading it fresh.
func TestStepsAndReload(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join("testdata", "gpt2_f32")
	for _, s := range []string{"step1000", "step20", "step0"} {
		d := copyDir(t, src)
		if err := os.Rename(d, filepath.Join(root, s)); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(root, "step7"), 0o755) // no config.json: not a checkpoint
	os.Mkdir(filepath.Join(root, "notes"), 0o755)
	// step1000's weights differ: every value doubled.
	editWeights(t, filepath.Join(root, "step1000"), func(m map[string]safetensors.Tensor) {
		for n, x := range m {
			if x.DType != safetensors.F32 {
				continue
			}
			f := &safetensors.File{Tensors: map[string]safetensors.Tensor{n: x}}
			v, _, _ := f.F32(n)
			for i := range v {
				v[i] *= 2
			}
			m[n] = safetensors.F32Tensor(n, x.Shape, v)
		}
	})
	steps, err := Steps(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, s := range steps {
		got = append(got, s.Step)
	}
	if !slices.Equal(got, []int{0, 20, 1000}) {
		t.Fatalf("Steps = %v, want [0 20 1000]", got)
	}
	m, err := LoadModel(steps[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadWeights(m, steps[2].Dir); err != nil {
		t.Fatal(err)
	}
	fresh, err := LoadModel(steps[2].Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Params().Data, fresh.Params().Data) {
		t.Error("reloaded weights differ from a fresh load")
	}
	// A checkpoint of another shape is refused.
	if err := LoadWeights(m, filepath.Join("testdata", "gpt2_opts_f16")); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("reload of a different model: %v", err)
	}
	if _, err := Steps(t.TempDir()); err == nil {
		t.Error("Steps of an empty folder succeeded")
	}
}
