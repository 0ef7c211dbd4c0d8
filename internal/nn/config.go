package nn

import (
	"errors"
	"fmt"
)

// Architectures.
const (
	ArchGPT  = "gpt"  // pre-LN transformer; AttnOnly drops the MLPs
	ArchLSTM = "lstm" // multi-layer LSTM language model
	ArchMLP  = "mlp"  // MLP over the concatenated embeddings of the last Window tokens
)

// Config describes a model in the papers' notation. JSON keys are the
// snake_case names used by config files and --set model.<key>=value.
type Config struct {
	Arch    string `json:"arch"`     // gpt | lstm | mlp
	NLayers int    `json:"n_layers"` // transformer blocks or LSTM layers (mlp: ignored)
	DModel  int    `json:"d_model"`  // residual width / LSTM hidden size / embedding size
	NHeads  int    `json:"n_heads"`  // attention heads; DModel % NHeads == 0 (gpt only)
	DMLP    int    `json:"d_mlp"`    // MLP hidden width; 0 means 4·DModel
	NCtx    int    `json:"n_ctx"`    // maximum context length (learned positions)
	DVocab  int    `json:"d_vocab"`  // vocabulary size

	AttnOnly       bool   `json:"attn_only"`       // gpt: blocks have attention but no MLP
	LayerNorm      bool   `json:"layer_norm"`      // gpt: pre-LN and final LN (false: none at all)
	TiedEmbeddings bool   `json:"tied_embeddings"` // unembedding = wteᵀ (gpt, lstm)
	Act            string `json:"act"`             // MLP activation: gelu (tanh approximation) | relu
	Window         int    `json:"window"`          // mlp: tokens concatenated per prediction

	InitStd      float64 `json:"init_std"`       // std of matrices (residual projections get InitStd/√(2·NLayers))
	EmbedInitStd float64 `json:"embed_init_std"` // std of token/position embeddings; 0 means InitStd
}

// DefaultConfig returns the defaults for arch (for "gpt" the GPT
// calibrated for the tiny preset: 2 layers, d = 64, 4 heads, 64 tokens).
func DefaultConfig(arch string) Config {
	c := Config{Arch: arch, NLayers: 2, DModel: 64, NHeads: 4, NCtx: 64, DVocab: 128,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.02}
	switch arch {
	case ArchLSTM:
		c.NHeads = 0
		c.InitStd = 0 // 0 means PyTorch's U(−1/√H, 1/√H)
	case ArchMLP:
		c.NLayers, c.NHeads, c.Window, c.DMLP = 1, 0, 2, 256
		c.Act, c.TiedEmbeddings, c.LayerNorm = "relu", false, false
		c.InitStd = 0 // 0 means PyTorch's defaults (Embedding N(0,1), Linear U(±1/√fan_in))
	}
	return c
}

// HiddenMLP is the MLP hidden width after applying the 4·DModel default.
func (c Config) HiddenMLP() int {
	if c.DMLP > 0 {
		return c.DMLP
	}
	return 4 * c.DModel
}

// DHead is the width of one attention head.
func (c Config) DHead() int {
	if c.NHeads == 0 {
		return 0
	}
	return c.DModel / c.NHeads
}

// Validate reports every problem with c, each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("model.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch c.Arch {
	case ArchGPT, ArchLSTM, ArchMLP:
	default:
		bad("arch", "unknown architecture %q (want gpt, lstm or mlp)", c.Arch)
	}
	pos := func(field string, v int) {
		if v <= 0 {
			bad(field, "must be positive, got %d", v)
		}
	}
	pos("d_model", c.DModel)
	pos("n_ctx", c.NCtx)
	pos("d_vocab", c.DVocab)
	if c.DMLP < 0 {
		bad("d_mlp", "must be ≥ 0 (0 means 4·d_model), got %d", c.DMLP)
	}
	switch c.Arch {
	case ArchGPT:
		pos("n_layers", c.NLayers)
		pos("n_heads", c.NHeads)
		if c.NHeads > 0 && c.DModel > 0 && c.DModel%c.NHeads != 0 {
			bad("n_heads", "d_model %d is not divisible by n_heads %d", c.DModel, c.NHeads)
		}
	case ArchLSTM:
		pos("n_layers", c.NLayers)
	case ArchMLP:
		pos("window", c.Window)
		if c.Window > c.NCtx && c.NCtx > 0 {
			bad("window", "window %d exceeds n_ctx %d", c.Window, c.NCtx)
		}
		if c.TiedEmbeddings {
			bad("tied_embeddings", "the mlp has no tied unembedding (its hidden width need not equal d_model); set it false")
		}
	}
	if c.Act != "gelu" && c.Act != "relu" {
		bad("act", "unknown activation %q (want gelu or relu)", c.Act)
	}
	if c.InitStd < 0 || c.EmbedInitStd < 0 {
		bad("init_std", "must be ≥ 0")
	}
	if len(errs) == 0 && !checkSize(ParamCount(c)) {
		errs = append(errs, fmt.Errorf("model: %.3g parameters (d_model %d, n_layers %d, d_mlp %d, n_ctx %d, d_vocab %d) exceed %.3g, more than any machine holds",
			ParamCount(c), c.DModel, c.NLayers, c.HiddenMLP(), c.NCtx, c.DVocab, float64(MaxElements)))
	}
	return errors.Join(errs...)
}
