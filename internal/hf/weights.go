package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"emlab/internal/nn"
	"emlab/internal/safetensors"
)

// Weight file names of a model directory.
const (
	WeightsFile = "model.safetensors"
	IndexFile   = "model.safetensors.index.json" // sharded: weight_map tensor → shard file
)

// source is one engine parameter and where its values come from.
type source struct {
	dst   string // engine parameter (emlab GPT name)
	src   string // tensor name in the checkpoint
	shape []int  // the tensor's shape in the checkpoint
	// index maps an element of the checkpoint tensor (row-major) to its
	// element in the engine's parameter; nil is the identity.
	index func(i int) int
	what  string // the config keys the shape comes from, for errors
}

// transpose maps a (rows, cols) tensor onto its (cols, rows) transpose:
// torch.nn.Linear stores (out, in), the engine (in, out).
func transpose(rows, cols int) func(int) int {
	return func(i int) int {
		r, c := i/cols, i%cols
		return c*rows + r
	}
}

// neoxQKVColumn maps an output row of GPT-NeoX's fused query_key_value
// (3C rows ordered head by head, each [q | k | v] of Dh) to the engine's
// column ([Q | K | V], each head by head).
func neoxQKVColumn(C, H int) func(o int) int {
	Dh := C / H
	return func(o int) int {
		h, j, d := o/(3*Dh), (o%(3*Dh))/Dh, o%Dh
		return j*C + h*Dh + d
	}
}

// buffers are tensors checkpoints carry that are not weights (causal masks,
// rotary frequency caches) and that the engine recomputes.
var buffers = regexp.MustCompile(`(^|\.)(attn\.bias|attn\.masked_bias|attention\.bias|attention\.masked_bias|rotary_emb\.inv_freq)$`)

// sources lists, for spec, every engine parameter and its checkpoint
// tensor. prefix is the name prefix the checkpoint uses for the body
// ("transformer." or "" for GPT-2; "gpt_neox." for GPT-NeoX).
func sources(s nn.Spec, prefix string) []source {
	C, V, F, H := s.DModel, s.DVocab, s.DMLP, s.NHeads
	var out []source
	add := func(dst, src string, what string, index func(int) int, shape ...int) {
		out = append(out, source{dst: dst, src: src, shape: shape, index: index, what: what})
	}
	switch s.Arch {
	case nn.ArchGPT2:
		p := prefix
		add("wte.weight", p+"wte.weight", "vocab_size, n_embd", nil, V, C)
		add("wpe.weight", p+"wpe.weight", "n_positions, n_embd", nil, s.NCtx, C)
		for l := range s.NLayers {
			e, h := fmt.Sprintf("h.%d.", l), fmt.Sprintf("%sh.%d.", p, l)
			for _, n := range []string{"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias", "attn.c_proj.bias", "mlp.c_proj.bias"} {
				add(e+n, h+n, "n_embd", nil, C)
			}
			// Conv1D stores (in, out): the engine's layout.
			add(e+"attn.c_attn.weight", h+"attn.c_attn.weight", "n_embd, 3·n_embd", nil, C, 3*C)
			add(e+"attn.c_attn.bias", h+"attn.c_attn.bias", "3·n_embd", nil, 3*C)
			add(e+"attn.c_proj.weight", h+"attn.c_proj.weight", "n_embd, n_embd", nil, C, C)
			add(e+"mlp.c_fc.weight", h+"mlp.c_fc.weight", "n_embd, n_inner", nil, C, F)
			add(e+"mlp.c_fc.bias", h+"mlp.c_fc.bias", "n_inner", nil, F)
			add(e+"mlp.c_proj.weight", h+"mlp.c_proj.weight", "n_inner, n_embd", nil, F, C)
		}
		add("ln_f.weight", p+"ln_f.weight", "n_embd", nil, C)
		add("ln_f.bias", p+"ln_f.bias", "n_embd", nil, C)
		if !s.TiedEmbeddings {
			add("lm_head.weight", "lm_head.weight", "vocab_size, n_embd", transpose(V, C), V, C)
		}
	case nn.ArchNeoX:
		p := prefix
		add("wte.weight", p+"embed_in.weight", "vocab_size, hidden_size", nil, V, C)
		qkv := neoxQKVColumn(C, H)
		for l := range s.NLayers {
			e, h := fmt.Sprintf("h.%d.", l), fmt.Sprintf("%slayers.%d.", p, l)
			add(e+"ln_1.weight", h+"input_layernorm.weight", "hidden_size", nil, C)
			add(e+"ln_1.bias", h+"input_layernorm.bias", "hidden_size", nil, C)
			add(e+"ln_2.weight", h+"post_attention_layernorm.weight", "hidden_size", nil, C)
			add(e+"ln_2.bias", h+"post_attention_layernorm.bias", "hidden_size", nil, C)
			// (3C, C) rows in per-head [q k v] order → (C, 3C) [Q | K | V].
			add(e+"attn.c_attn.weight", h+"attention.query_key_value.weight", "3·hidden_size, hidden_size",
				func(i int) int { o, in := i/C, i%C; return in*3*C + qkv(o) }, 3*C, C)
			add(e+"attn.c_attn.bias", h+"attention.query_key_value.bias", "3·hidden_size", qkv, 3*C)
			add(e+"attn.c_proj.weight", h+"attention.dense.weight", "hidden_size, hidden_size", transpose(C, C), C, C)
			add(e+"attn.c_proj.bias", h+"attention.dense.bias", "hidden_size", nil, C)
			add(e+"mlp.c_fc.weight", h+"mlp.dense_h_to_4h.weight", "intermediate_size, hidden_size", transpose(F, C), F, C)
			add(e+"mlp.c_fc.bias", h+"mlp.dense_h_to_4h.bias", "intermediate_size", nil, F)
			add(e+"mlp.c_proj.weight", h+"mlp.dense_4h_to_h.weight", "hidden_size, intermediate_size", transpose(C, F), C, F)
			add(e+"mlp.c_proj.bias", h+"mlp.dense_4h_to_h.bias", "hidden_size", nil, C)
		}
		add("ln_f.weight", p+"final_layer_norm.weight", "hidden_size", nil, C)
		add("ln_f.bias", p+"final_layer_norm.bias", "hidden_size", nil, C)
		if !s.TiedEmbeddings {
			add("lm_head.weight", "embed_out.weight", "vocab_size, hidden_size", transpose(V, C), V, C)
		}
	}
	return out
}

// Tensor is a checkpoint tensor's name and shape.
type Tensor struct {
	Name  string
	Shape []int
}

// Layout lists the weight tensors a model directory holds for spec, with
// the names and shapes Hugging Face saves them under (GPT-2 with the
// "transformer." prefix, GPT-NeoX under "gpt_neox."), buffers and a tied
// model's copy of the unembedding left out: what a writer of such a
// directory (a test's) must produce.
func Layout(s nn.Spec) []Tensor {
	prefix := "gpt_neox."
	if s.Arch == nn.ArchGPT2 {
		prefix = "transformer."
	}
	var out []Tensor
	for _, src := range sources(s, prefix) {
		out = append(out, Tensor{Name: src.src, Shape: slices.Clone(src.shape)})
	}
	return out
}

// checkpoint is the open weight files of one model directory: each tensor
// name's reader (one file, or the shards of an index).
type checkpoint struct {
	readers []*safetensors.Reader
	where   map[string]*safetensors.Reader
	desc    string // what to call the weights in errors (a file, or an index)
}

func (c *checkpoint) Close() error {
	var errs []error
	for _, r := range c.readers {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// openCheckpoint opens dir's model.safetensors, or the shards named by
// model.safetensors.index.json.
func openCheckpoint(dir string) (*checkpoint, error) {
	single := filepath.Join(dir, WeightsFile)
	index := filepath.Join(dir, IndexFile)
	c := &checkpoint{where: map[string]*safetensors.Reader{}}
	if _, err := os.Stat(single); err == nil {
		r, err := safetensors.Open(single)
		if err != nil {
			return nil, err
		}
		c.readers, c.desc = []*safetensors.Reader{r}, single
		for _, n := range r.Names() {
			c.where[n] = r
		}
		return c, nil
	}
	b, err := os.ReadFile(index)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if bins, _ := filepath.Glob(filepath.Join(dir, "*.bin")); len(bins) > 0 {
				return nil, fmt.Errorf("%s: no %s (only PyTorch pickles such as %s, which emlab does not read: convert them to safetensors)", dir, WeightsFile, filepath.Base(bins[0]))
			}
			return nil, fmt.Errorf("%s: no %s or %s", dir, WeightsFile, IndexFile)
		}
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", index, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", index)
	}
	c.desc = index
	shards := map[string]*safetensors.Reader{}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		file := idx.WeightMap[n]
		if file != filepath.Base(file) {
			c.Close()
			return nil, fmt.Errorf("%s: weight_map[%q] = %q is not a file name in the directory", index, n, file)
		}
		r, ok := shards[file]
		if !ok {
			r, err = safetensors.Open(filepath.Join(dir, file))
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("%s: shard of %q: %w", index, n, err)
			}
			shards[file] = r
			c.readers = append(c.readers, r)
		}
		if _, ok := r.Lookup(n); !ok {
			c.Close()
			return nil, fmt.Errorf("%s: weight_map puts %q in %s, which has no such tensor", index, n, r.Path())
		}
		c.where[n] = r
	}
	return c, nil
}

// prefix finds the body prefix the checkpoint uses for spec's family.
func (c *checkpoint) prefix(s nn.Spec) (string, error) {
	switch s.Arch {
	case nn.ArchGPT2:
		_, bare := c.where["wte.weight"]
		_, pre := c.where["transformer.wte.weight"]
		switch {
		case bare && pre:
			return "", fmt.Errorf("%s: both wte.weight and transformer.wte.weight: which is the model?", c.desc)
		case pre:
			return "transformer.", nil
		}
		return "", nil
	default:
		return "gpt_neox.", nil
	}
}

// load streams every weight of spec from the checkpoint into ps (the
// model's parameters, laid out by nn.NewPretrained), after checking that
// every tensor is there with its shape and a float dtype and that the
// checkpoint holds nothing else (besides recomputed buffers and, for a
// tied model, a copy of the unembedding).
func (c *checkpoint) load(s nn.Spec, ps *nn.ParamSet) error {
	prefix, err := c.prefix(s)
	if err != nil {
		return err
	}
	srcs := sources(s, prefix)
	used := map[string]bool{}
	for _, src := range srcs {
		r, ok := c.where[src.src]
		if !ok {
			return fmt.Errorf("%s: missing tensor %q (engine %s; a %s model with this config.json needs it)", c.desc, src.src, src.dst, s.Arch)
		}
		info, _ := r.Lookup(src.src)
		if !slices.Equal(info.Shape, src.shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, want %v (%s from config.json)", r.Path(), src.src, info.Shape, src.shape, src.what)
		}
		switch info.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16, safetensors.F64:
		default:
			return fmt.Errorf("%s: tensor %q has dtype %s, want F32, F16, BF16 or F64", r.Path(), src.src, info.DType)
		}
		p, ok := ps.Lookup(src.dst)
		if !ok || p.Size != info.Len() {
			return fmt.Errorf("hf: engine parameter %s does not match tensor %q (internal error)", src.dst, src.src)
		}
		used[src.src] = true
	}
	var extra []string
	for n := range c.where {
		if used[n] || buffers.MatchString(n) {
			continue
		}
		if s.TiedEmbeddings && (n == "lm_head.weight" || n == "embed_out.weight") {
			continue // a tied model's saved copy of wte; Hugging Face ignores it too
		}
		extra = append(extra, n)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		if len(extra) > 5 {
			extra = append(extra[:5], "...")
		}
		return fmt.Errorf("%s: unexpected tensors %s: not part of a %s model as config.json describes it (another architecture or head?)", c.desc, strings.Join(extra, ", "), s.Arch)
	}
	for _, src := range srcs {
		p, _ := ps.Lookup(src.dst)
		dst := ps.Data[p.Off : p.Off+p.Size]
		r := c.where[src.src]
		if src.index == nil {
			if err := r.ReadInto(src.src, dst); err != nil {
				return err
			}
			continue
		}
		err := r.ReadFloat32(src.src, func(off int, v []float32) error {
			for i, x := range v {
				dst[src.index(off+i)] = x
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
