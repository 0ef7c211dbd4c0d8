package nn

// footprint.go: a model's size from its Config alone, without allocating,
// so that a command can refuse a configuration that cannot fit before it
// builds anything (d_model = 10⁸ would otherwise die in makeslice). Counts
// are float64 so absurd configurations give large numbers, never an
// overflowed int. The test checks ParamCount against the built models and
// ActivationFloats against the memory a Forward and Backward allocate.

import "math"

// MaxElements bounds the elements of any one model (parameters) or batch
// (activations) that Validate accepts: 2⁴⁴ float32 values are 64 TiB, more
// than any machine this code runs on, and every int product of shapes below
// it stays far from overflowing.
const MaxElements = 1 << 44

// ParamCount is the number of parameters of the model cfg describes (the
// length of its ParamSet.Data); cfg's sizes need not be valid.
func ParamCount(cfg Config) float64 {
	C, V, F, L, N := float64(cfg.DModel), float64(cfg.DVocab), float64(cfg.HiddenMLP()), float64(cfg.NLayers), float64(cfg.NCtx)
	switch cfg.Arch {
	case ArchGPT:
		layer := 3*C*C + 3*C + C*C + C // c_attn and c_proj
		if cfg.LayerNorm {
			layer += 2 * C
		}
		if !cfg.AttnOnly {
			layer += C*F + F + F*C + C
			if cfg.LayerNorm {
				layer += 2 * C
			}
		}
		n := V*C + N*C + L*layer
		if cfg.LayerNorm {
			n += 2 * C
		}
		if !cfg.TiedEmbeddings {
			n += C * V
		}
		return n
	case ArchLSTM:
		n := V*C + L*(8*C*C+8*C)
		if !cfg.TiedEmbeddings {
			n += C*V + V
		}
		return n
	case ArchMLP:
		W := float64(cfg.Window)
		return V*C + W*C*F + F + F*V + V
	}
	return 0
}

// ActivationFloats is the number of float32 values a model keeps for a
// Forward and Backward on a (B, T) batch: the activations cached for the
// backward pass and the probes, the logits and their gradient, and the
// backward's scratch. Inference (Forward alone) allocates the same buffers.
func ActivationFloats(cfg Config, B, T int) float64 {
	BT, t := float64(B)*float64(T), float64(T)
	C, V, F, L := float64(cfg.DModel), float64(cfg.DVocab), float64(cfg.HiddenMLP()), float64(cfg.NLayers)
	logits := 2 * BT * V // logits and dlogits
	switch cfg.Arch {
	case ArchGPT:
		H, Dh := float64(cfg.NHeads), float64(cfg.DHead())
		perLayer := BT*(3*C+3*C) + float64(B)*H*t*t // qkv, atty, attProj, resid2; attention pattern
		scratch := BT*(2*C+3*C) + attnGroups*(2*t*t+Dh*t)
		if cfg.LayerNorm {
			perLayer += BT * (C + 2)
		}
		if !cfg.AttnOnly {
			perLayer += BT * (2*F + 2*C)
			scratch += BT * 2 * F
			if cfg.LayerNorm {
				perLayer += BT * (C + 2)
			}
		}
		n := BT*2*C + float64(cfg.NCtx)*C + L*perLayer + scratch + logits
		if cfg.LayerNorm {
			n += BT * (C + 2)
		}
		return n + BT + 2*BT // the int32 token copy (one float32 each in bytes); the kept rows and their targets (SetSkipIgnored)
	case ArchLSTM:
		return BT*C + L*BT*7*C + logits + BT*(4*C+3*C)
	case ArchMLP:
		W := float64(cfg.Window)
		return BT*C + BT*W*C + 2*BT*F + logits + 2*BT*F + BT*W*C + BT*C
	}
	return 0
}

// DecodeFloats is the number of float32 values a decoder for B sequences
// keeps (for the GPT, the KV cache of NCtx positions per layer), besides
// the model's Forward buffers that its prefill uses.
func DecodeFloats(cfg Config, B int) float64 {
	b := float64(B)
	C, V, F, L, N := float64(cfg.DModel), float64(cfg.DVocab), float64(cfg.HiddenMLP()), float64(cfg.NLayers), float64(cfg.NCtx)
	switch cfg.Arch {
	case ArchGPT:
		return 2*L*b*N*C + b*(7*C+float64(cfg.NHeads)*N+2*F+V) + b*N/2
	case ArchLSTM:
		return 2*L*b*C + b*(2*C+4*C+V) + b*N/2
	case ArchMLP:
		return b * (float64(cfg.Window)*C + 2*F + V)
	}
	return 0
}

// checkSize reports whether a count fits MaxElements (NaN never does).
func checkSize(n float64) bool { return n <= MaxElements && !math.IsNaN(n) }

// FLOPsPerToken is the training cost per token of the model cfg describes
// at context length T (Model.FLOPsPerToken), without building the model.
func FLOPsPerToken(cfg Config, T int) float64 {
	switch cfg.Arch {
	case ArchGPT:
		return (&GPT{cfg: cfg}).FLOPsPerToken(T)
	case ArchLSTM:
		return (&lstmModel{cfg: cfg}).FLOPsPerToken(T)
	case ArchMLP:
		return (&mlpModel{cfg: cfg}).FLOPsPerToken(T)
	}
	return 0
}

// EmbeddingParams counts the token and position embeddings (wte, and the
// GPT's wpe) of the model cfg describes: the parameters Kaplan et al.'s
// non-embedding count N leaves out.
func EmbeddingParams(cfg Config) float64 {
	n := float64(cfg.DVocab) * float64(cfg.DModel)
	if cfg.Arch == ArchGPT {
		n += float64(cfg.NCtx) * float64(cfg.DModel)
	}
	return n
}

// PretrainedParamCount is the number of parameters of the loaded
// transformer s describes (NewPretrained's layout: no gradients, so one
// float32 each); s's sizes need not be valid.
func PretrainedParamCount(s Spec) float64 {
	C, V, F, L, N := float64(s.DModel), float64(s.DVocab), float64(s.DMLP), float64(s.NLayers), float64(s.NCtx)
	layer := 2*C + 3*C*C + 3*C + C*C + C + 2*C + C*F + F + F*C + C // ln_1, c_attn, c_proj, ln_2, c_fc, mlp.c_proj
	n := V*C + L*layer + 2*C
	if !s.Rotary {
		n += N * C
	}
	if !s.TiedEmbeddings {
		n += C * V
	}
	return n
}

// PretrainedActivationFloats is the number of float32 values a loaded
// transformer allocates for a Forward on a (B, T) batch (Pretrained.ensure),
// with every layer's activations kept (keep, the probes' need) or one
// layer's buffers reused (evaluation).
func PretrainedActivationFloats(s Spec, B, T int, keep bool) float64 {
	BT, t := float64(B)*float64(T), float64(T)
	C, V, F, H, N := float64(s.DModel), float64(s.DVocab), float64(s.DMLP), float64(s.NHeads), float64(s.NCtx)
	Lk := 1.0
	if keep {
		Lk = float64(s.NLayers)
	}
	perLayer := BT*(C+3*C+C+C+C+2*F+C+C) + float64(B)*H*t*t // ln1, qkv, z, attnOut, ln2, pre, post, mlpOut, resid; pattern
	n := BT*(2*C+2+C+V) + attnGroups*(2*t*t+float64(s.DHead())*t)
	if s.Rotary {
		perLayer += BT * 2 * C // q and k before the rotation
	} else {
		n += N * C // hook_pos_embed
	}
	if !s.ParallelResidual {
		perLayer += BT * C
	}
	return n + Lk*perLayer
}

// PretrainedDecodeFloats is the number of float32 values (the int32
// prompt copy counted as one each) a loaded transformer's decoder for B
// sequences of up to n tokens keeps (Pretrained.NewDecodeStateLen):
// chiefly the key/value cache, besides the Forward buffers its prefill
// uses.
func PretrainedDecodeFloats(s Spec, B, n int) float64 {
	b, N := float64(B), float64(n)
	C, V, F, H, L := float64(s.DModel), float64(s.DVocab), float64(s.DMLP), float64(s.NHeads), float64(s.NLayers)
	return 2*L*b*N*C + b*(9*C+2*F+V+2) + b*H*N + b*N
}
