package train

// memory.go: what a run will need, estimated from its config before
// anything is allocated, so that a configuration that cannot fit the
// machine is refused with the numbers instead of dying in Go's
// out-of-memory handler (or a makeslice panic) minutes later.

import (
	"errors"
	"fmt"
	"strings"

	"emlab/internal/config"
	"emlab/internal/nn"
	"emlab/internal/sysmem"
)

// Memory is an estimate of the bytes a command holds at its peak, with the
// parts it adds up.
type Memory struct {
	Params float64 // model parameters
	Parts  []MemoryPart
	Peak   float64 // bytes at the peak (parts that are never live together counted once)
	FLOPs  float64 // training FLOPs of the whole run (0 for inference)
}

// MemoryPart is one item of an estimate.
type MemoryPart struct {
	What  string
	Bytes float64
}

// TrainMemory estimates `emlab train` for cfg: weights and gradients,
// AdamW's two moments, the activations of one (batch_size, T) step, and the
// checkpoint buffers — saving encodes weights and moments (12 bytes per
// parameter), resuming reads the file and stages a copy (24 bytes per
// parameter, before the activations exist).
func TrainMemory(cfg config.Config) Memory {
	P := nn.ParamCount(cfg.Model)
	B, T := cfg.Train.BatchSize, cfg.T()
	act := 4 * nn.ActivationFloats(cfg.Model, B, T)
	m := Memory{Params: P, Parts: []MemoryPart{
		{"weights and gradients", 8 * P},
		{"AdamW moments", 8 * P},
		{fmt.Sprintf("activations at batch %d × %d tokens", B, T), act},
		{"checkpoint buffers", 24 * P},
	}}
	m.Peak = 16*P + max(act+12*P, 24*P)
	m.FLOPs = nn.FLOPsPerToken(cfg.Model, T) * float64(B) * float64(T) * float64(cfg.Train.Steps)
	return m
}

// InferenceMemory estimates eval or probe on one of a run's checkpoints:
// the model (nn.New allocates gradients too), loading a checkpoint (the
// file, moments included, and a staged copy of the weights), and forward
// passes of batch sequences of T tokens; decode adds a decoder for batch
// sequences (the KV cache).
func InferenceMemory(cfg nn.Config, batch, T int, decode bool) Memory {
	P := nn.ParamCount(cfg)
	act := 4 * nn.ActivationFloats(cfg, batch, T)
	m := Memory{Params: P, Parts: []MemoryPart{
		{"weights and gradients", 8 * P},
		{"checkpoint buffers", 16 * P},
		{fmt.Sprintf("activations at batch %d × %d tokens", batch, T), act},
	}}
	if decode {
		kv := 4 * nn.DecodeFloats(cfg, batch)
		m.Parts = append(m.Parts, MemoryPart{fmt.Sprintf("decoder state for %d sequences", batch), kv})
		act += kv
	}
	m.Peak = 8*P + max(16*P, act)
	return m
}

// loaderBytes bounds what loading a model trained elsewhere holds besides
// its weights: the safetensors reader's chunk buffers (1 MiB raw, up to
// 4 MiB once converted from 16-bit floats; hf's TestLoadHoldsOneCopy).
const loaderBytes = 5 << 20

// PretrainedMemory estimates eval or probe on a model trained elsewhere
// of shape s, from the shape alone (before any weights are read): its
// weights (one float32 copy, no gradients), the loader's buffers, and
// forward passes of batch sequences of T tokens, with every layer's
// activations kept (keep: the probes) or one layer's buffers reused
// (evaluation); decodeLen > 0 adds a decoder for batch sequences of up to
// decodeLen tokens (the key/value cache), live beside the forward buffers
// its prefill uses.
func PretrainedMemory(s nn.Spec, batch, T int, keep bool, decodeLen int) Memory {
	P := nn.PretrainedParamCount(s)
	act := 4 * nn.PretrainedActivationFloats(s, batch, T, keep)
	what := "activations"
	if !keep {
		what = "one layer's activations"
	}
	m := Memory{Params: P, Parts: []MemoryPart{
		{"weights", 4 * P},
		{"loader buffers", loaderBytes},
		{fmt.Sprintf("%s at batch %d × %d tokens", what, batch, T), act},
	}}
	if decodeLen > 0 {
		kv := 4 * nn.PretrainedDecodeFloats(s, batch, decodeLen)
		m.Parts = append(m.Parts, MemoryPart{fmt.Sprintf("decoder state for %d sequences of %d tokens", batch, decodeLen), kv})
		act += kv
	}
	// Later checkpoints load into the same buffers while the activations
	// are live, so the loader's buffers add to them.
	m.Peak = 4*P + loaderBytes + act
	return m
}

func (m Memory) String() string {
	var parts []string
	for _, p := range m.Parts {
		parts = append(parts, fmt.Sprintf("%s %s", p.What, sysmem.Bytes(p.Bytes)))
	}
	return fmt.Sprintf("≈ %s for %.3g parameters (%s)", sysmem.Bytes(m.Peak), m.Params, strings.Join(parts, ", "))
}

// Fits returns nil when the estimate fits within limit, else an error with
// both numbers. The estimate counts live buffers; the Go runtime needs
// some headroom beyond it, so a run close to the limit may still fail.
func (m Memory) Fits(limit sysmem.Limit) error {
	if m.Peak <= limit.Bytes {
		return nil
	}
	msg := fmt.Sprintf("needs %s, but this machine allows %s", m, limit)
	if m.FLOPs > 0 {
		msg += fmt.Sprintf("; training would also take %.3g FLOPs", m.FLOPs)
	}
	return fmt.Errorf("%w: %s; pass --no-memory-check to try anyway", ErrTooBig, msg)
}

// ErrTooBig is wrapped by the errors of Memory.Fits.
var ErrTooBig = errors.New("does not fit in memory")
