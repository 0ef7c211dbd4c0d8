// Package nn holds emlab's models: a GPT (pre-LayerNorm transformer, with an
// attention-only variant for induction-head studies), an LSTM language model
// as the recurrent baseline, and a small MLP over concatenated token
// embeddings (Bengio et al. 2003's neural LM; the cheapest model that groks
// modular addition). Pretrained runs transformers trained elsewhere (GPT-2,
// GPT-NeoX/Pythia) for inference only, with the GPT's names and layout. Every model is a next-token predictor over a (B, T)
// batch of token ids, with forward and backward written by hand side by side
// and shapes on every buffer.
//
// # Parameters
//
// A model's parameters live in one flat buffer (ParamSet.Data) with the
// gradients in a second one of the same layout, so the optimizer, gradient
// clipping and checkpointing each make one pass over contiguous memory.
// Tensor names follow GPT-2 (wte.weight, h.0.attn.c_attn.weight, ...) with
// GPT-2's (in, out) layout for linear weights, so checkpoints read like
// GPT-2's.
//
// # Activations
//
// Activations are named after TransformerLens's hook points and built by
// ActName, so there is one spelling. Most names are TransformerLens's own:
// hook_embed, hook_pos_embed, blocks.<l>.hook_resid_pre, hook_resid_mid,
// hook_resid_post, hook_attn_out, hook_mlp_out, blocks.<l>.attn.hook_q,
// hook_k, hook_v, hook_z, hook_attn_scores and ln_final.hook_normalized.
// Three differ, dropping the "hook_" prefix:
//
//	emlab                    TransformerLens
//	blocks.<l>.attn.pattern  blocks.<l>.attn.hook_pattern
//	blocks.<l>.mlp.pre       blocks.<l>.mlp.hook_pre
//	blocks.<l>.mlp.post      blocks.<l>.mlp.hook_post
//
// and two have no TransformerLens counterpart: hook_logits (the output)
// and blocks.<l>.hook_hidden (the LSTM's h_t). ln_final.hook_normalized is
// taken after the final LayerNorm's gain and bias, where TransformerLens
// hooks it before them (gpt.go). The cache is filled by the last Forward;
// probes read it without another forward pass.
package nn

import (
	"fmt"
	"math/rand/v2"
)

// Model is what the training loop, the evaluation harness and the probes
// need from any architecture.
type Model interface {
	// Config returns the model's configuration.
	Config() Config
	// Params returns the parameter set (values, gradients, names).
	Params() *ParamSet
	// Forward runs the model on tokens (B, T) (T ≤ NCtx; ids < DVocab) and
	// leaves the logits (B, T, DVocab) and the activations in the model.
	// When targets (B, T) is non-nil it returns the mean cross-entropy over
	// the targets that are ≥ 0 (negative targets are ignored) and prepares
	// Backward; otherwise it returns 0.
	Forward(tokens, targets []int32, B, T int) float32
	// Backward accumulates d(mean loss)/d(params) into Params().Grad for the
	// last Forward that had targets.
	Backward()
	// Logits returns the logits of the last Forward, (B, T, DVocab).
	Logits() []float32
	// Activation returns the named activation of the last Forward and its
	// shape, or ok=false if the model has no such activation or caching
	// of it is off.
	Activation(name string) (data []float32, shape []int, ok bool)
	// FLOPsPerToken is the training cost per token (forward + backward) at
	// context length T: 6·N for the matrices plus the attention term
	// (Kaplan et al. 2020, Table 1, with backward = 2× forward).
	FLOPsPerToken(T int) float64
}

// IgnoredRowSkipper is implemented by models whose Forward with targets can
// skip the work that only feeds the logits of ignored targets, keeping the
// loss and the gradients bit for bit (GPT.SetSkipIgnored). A loop that reads
// only the loss and the gradients turns it on.
type IgnoredRowSkipper interface {
	SetSkipIgnored(on bool)
}

// builders maps an architecture to its constructor; each architecture's file
// registers itself in an init function.
var builders = map[string]func(Config, *rand.Rand) Model{}

// New builds the model described by cfg with weights drawn from rng.
func New(cfg Config, rng *rand.Rand) (Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	build, ok := builders[cfg.Arch]
	if !ok {
		return nil, fmt.Errorf("model.arch: architecture %q is not built into this binary", cfg.Arch)
	}
	return build(cfg, rng), nil
}
