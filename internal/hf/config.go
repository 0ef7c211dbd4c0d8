// Package hf reads models trained elsewhere from Hugging Face's on-disk
// layout into emlab's engine: a directory with config.json (model_type and
// the shape), model.safetensors (or model.safetensors.index.json and its
// shards) and a tokenizer (tokenizer.json, or GPT-2's vocab.json and
// merges.txt). It owns that layout: which config keys mean what, which
// tensor names hold which weight in which layout, and the checks that a
// directory is one coherent model.
//
// # Families
//
// gpt2 (GPT2LMHeadModel: Conv1D weights stored (in, out), learned
// positions, tied unembedding unless tie_word_embeddings is false) and
// gpt_neox (GPTNeoXForCausalLM, e.g. Pythia: fused query_key_value in
// per-head [q k v] order, rotary embeddings on rotary_pct of each head,
// parallel residual, untied embed_out). Every config option that changes
// the computation is either implemented or rejected with an error naming
// the file and the key; nothing is silently ignored.
//
// # Memory
//
// The model's float32 weights are allocated once and each tensor is
// streamed from disk into its place (converted from bf16/fp16, transposed
// or permuted on the way) in chunks of a megabyte, so loading holds one
// copy of the weights. LoadWeights reloads another checkpoint of the same
// shape into the same buffers: a folder of training checkpoints
// (step1000/, step2000/, ... as Pythia's revisions are laid out; Steps
// lists them) is visited one model at a time without allocating again.
package hf

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"emlab/internal/nn"
)

// ConfigFile is the name of a model directory's configuration.
const ConfigFile = "config.json"

// rawConfig is config.json with typed accessors that name the file and key
// in their errors.
type rawConfig struct {
	path string
	m    map[string]json.RawMessage
}

func readConfig(dir string) (*rawConfig, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &rawConfig{path: path}
	if err := json.Unmarshal(b, &c.m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *rawConfig) errf(key, format string, args ...any) error {
	return fmt.Errorf("%s: key %q: %s", c.path, key, fmt.Sprintf(format, args...))
}

// has reports whether key is present and not null.
func (c *rawConfig) has(key string) bool {
	v, ok := c.m[key]
	return ok && string(v) != "null"
}

func (c *rawConfig) str(key, def string) (string, error) {
	if !c.has(key) {
		return def, nil
	}
	var s string
	if err := json.Unmarshal(c.m[key], &s); err != nil {
		return "", c.errf(key, "want a string, got %s", c.m[key])
	}
	return s, nil
}

func (c *rawConfig) num(key string, def float64, required bool) (float64, error) {
	if !c.has(key) {
		if required {
			return 0, fmt.Errorf("%s: missing key %q", c.path, key)
		}
		return def, nil
	}
	var f float64
	if err := json.Unmarshal(c.m[key], &f); err != nil {
		return 0, c.errf(key, "want a number, got %s", c.m[key])
	}
	return f, nil
}

func (c *rawConfig) integer(key string, def int, required bool) (int, error) {
	f, err := c.num(key, float64(def), required)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < 0 || f > 1<<40 {
		return 0, c.errf(key, "want a non-negative integer, got %v", f)
	}
	return int(f), nil
}

func (c *rawConfig) boolean(key string, def bool) (bool, error) {
	if !c.has(key) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(c.m[key], &b); err != nil {
		return false, c.errf(key, "want true or false, got %s", c.m[key])
	}
	return b, nil
}

// checkArchitectures accepts a missing "architectures" or one naming only
// classes in ok (the LM head classes whose tensors the loader knows).
func (c *rawConfig) checkArchitectures(ok ...string) error {
	if !c.has("architectures") {
		return nil
	}
	var arch []string
	if err := json.Unmarshal(c.m["architectures"], &arch); err != nil {
		return c.errf("architectures", "want a list of class names, got %s", c.m["architectures"])
	}
	for _, a := range arch {
		if !slices.Contains(ok, a) {
			return c.errf("architectures", "%s is not supported (supported: %s)", a, strings.Join(ok, ", "))
		}
	}
	return nil
}

// ReadSpec reads dir/config.json into the engine's description of the
// model. It fails, naming the file and the key, on a missing or malformed
// key, an unknown model_type, or an option the engine does not implement.
func ReadSpec(dir string) (nn.Spec, error) {
	c, err := readConfig(dir)
	if err != nil {
		return nn.Spec{}, err
	}
	mt, err := c.str("model_type", "")
	if err != nil {
		return nn.Spec{}, err
	}
	var s nn.Spec
	switch mt {
	case nn.ArchGPT2:
		s, err = gpt2Spec(c)
	case nn.ArchNeoX:
		s, err = neoxSpec(c)
	case "":
		return nn.Spec{}, fmt.Errorf("%s: missing key \"model_type\" (want %s or %s)", c.path, nn.ArchGPT2, nn.ArchNeoX)
	default:
		return nn.Spec{}, c.errf("model_type", "%q is not supported (supported: %s, %s)", mt, nn.ArchGPT2, nn.ArchNeoX)
	}
	if err != nil {
		return nn.Spec{}, err
	}
	if err := s.Validate(); err != nil {
		return nn.Spec{}, fmt.Errorf("%s: %w", c.path, err)
	}
	return s, nil
}

// activation maps a Hugging Face activation name to the engine's.
func (c *rawConfig) activation(key, def string) (string, error) {
	a, err := c.str(key, def)
	if err != nil {
		return "", err
	}
	switch a {
	case "gelu_new", "gelu_pytorch_tanh":
		return nn.ActGELUTanh, nil
	case "gelu":
		return nn.ActGELUErf, nil
	case "relu":
		return nn.ActReLU, nil
	}
	return "", c.errf(key, "activation %q is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu, relu)", a)
}

// reject fails when key is set to something other than its neutral value
// (the computation the engine implements).
func (c *rawConfig) rejectBool(key string, neutral bool, why string) error {
	v, err := c.boolean(key, neutral)
	if err != nil {
		return err
	}
	if v != neutral {
		return c.errf(key, "%v is not supported: %s", v, why)
	}
	return nil
}

func gpt2Spec(c *rawConfig) (nn.Spec, error) {
	s := nn.Spec{Arch: nn.ArchGPT2}
	var err error
	get := func(dst *int, key string) {
		if err == nil {
			*dst, err = c.integer(key, 0, true)
		}
	}
	get(&s.DModel, "n_embd")
	get(&s.NHeads, "n_head")
	get(&s.NLayers, "n_layer")
	get(&s.NCtx, "n_positions")
	get(&s.DVocab, "vocab_size")
	if err != nil {
		return s, err
	}
	if s.DMLP, err = c.integer("n_inner", 4*s.DModel, false); err != nil {
		return s, err
	}
	if s.Act, err = c.activation("activation_function", "gelu_new"); err != nil {
		return s, err
	}
	if s.LNEps, err = c.num("layer_norm_epsilon", 1e-5, false); err != nil {
		return s, err
	}
	if s.TiedEmbeddings, err = c.boolean("tie_word_embeddings", true); err != nil {
		return s, err
	}
	if s.ScaleAttnByLayer, err = c.boolean("scale_attn_by_inverse_layer_idx", false); err != nil {
		return s, err
	}
	if err := c.rejectBool("scale_attn_weights", true, "unscaled attention scores"); err != nil {
		return s, err
	}
	if err := c.rejectBool("add_cross_attention", false, "encoder-decoder cross-attention"); err != nil {
		return s, err
	}
	// reorder_and_upcast_attn changes only the precision of a float16
	// computation; the engine computes in float32 either way.
	return s, c.checkArchitectures("GPT2LMHeadModel", "GPT2Model")
}

func neoxSpec(c *rawConfig) (nn.Spec, error) {
	s := nn.Spec{Arch: nn.ArchNeoX, Rotary: true}
	var err error
	get := func(dst *int, key string) {
		if err == nil {
			*dst, err = c.integer(key, 0, true)
		}
	}
	get(&s.DModel, "hidden_size")
	get(&s.NHeads, "num_attention_heads")
	get(&s.NLayers, "num_hidden_layers")
	get(&s.DMLP, "intermediate_size")
	get(&s.NCtx, "max_position_embeddings")
	get(&s.DVocab, "vocab_size")
	if err != nil {
		return s, err
	}
	if s.Act, err = c.activation("hidden_act", "gelu"); err != nil {
		return s, err
	}
	if s.LNEps, err = c.num("layer_norm_eps", 1e-5, false); err != nil {
		return s, err
	}
	if s.TiedEmbeddings, err = c.boolean("tie_word_embeddings", false); err != nil {
		return s, err
	}
	if s.ParallelResidual, err = c.boolean("use_parallel_residual", true); err != nil {
		return s, err
	}
	pct, err := c.aliased("rotary_pct", "partial_rotary_factor", 0.25)
	if err != nil {
		return s, err
	}
	if s.RotaryBase, err = c.aliased("rotary_emb_base", "rope_theta", 10000); err != nil {
		return s, err
	}
	if s.NHeads > 0 {
		// Hugging Face: rotary_ndims = int(head_size · rotary_pct).
		s.RotaryDims = int(float64(s.DModel/s.NHeads) * pct)
	}
	if s.RotaryDims%2 != 0 || s.RotaryDims == 0 {
		return s, c.errf("rotary_pct", "%v of a head of %d dims gives %d rotary dims; want a positive even number", pct, s.DModel/max(s.NHeads, 1), s.RotaryDims)
	}
	if c.has("rope_scaling") {
		return s, c.errf("rope_scaling", "%s is not supported (only unscaled rotary embeddings)", c.m["rope_scaling"])
	}
	if err := c.rejectBool("attention_bias", true, "attention without biases"); err != nil {
		return s, err
	}
	return s, c.checkArchitectures("GPTNeoXForCausalLM")
}

// aliased reads a number stored under either of two names (Hugging Face
// renamed some keys); when both are present they must agree.
func (c *rawConfig) aliased(key, alias string, def float64) (float64, error) {
	a, err := c.num(key, def, false)
	if err != nil {
		return 0, err
	}
	if !c.has(alias) {
		return a, nil
	}
	b, err := c.num(alias, def, false)
	if err != nil {
		return 0, err
	}
	if c.has(key) && a != b {
		return 0, c.errf(alias, "%v disagrees with %q = %v", b, key, a)
	}
	return b, nil
}
