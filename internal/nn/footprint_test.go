package nn

import (
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func footprintConfigs() map[string]Config {
	gpt := DefaultConfig(ArchGPT)
	attn := gpt
	attn.AttnOnly, attn.LayerNorm = true, false
	untied := gpt
	untied.TiedEmbeddings, untied.DMLP, untied.NLayers = false, 100, 3
	lstm := DefaultConfig(ArchLSTM)
	lstmUntied := lstm
	lstmUntied.TiedEmbeddings, lstmUntied.NLayers = false, 2
	mlp := DefaultConfig(ArchMLP)
	mlp.Window = 3
	return map[string]Config{"gpt": gpt, "attn-only": attn, "gpt untied": untied, "lstm": lstm, "lstm untied": lstmUntied, "mlp": mlp}
}

// TestParamCountMatchesBuild: the analytic count is the built model's.
func TestParamCountMatchesBuild(t *testing.T) {
	for name, cfg := range footprintConfigs() {
		m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ParamCount(cfg), float64(m.Params().Count()); got != want {
			t.Errorf("%s: ParamCount %v, the model has %v", name, got, want)
		}
		emb := 0
		for _, n := range []string{"wte.weight", "wpe.weight"} {
			if p, ok := m.Params().Lookup(n); ok {
				emb += p.Size
			}
		}
		if got := EmbeddingParams(cfg); got != float64(emb) {
			t.Errorf("%s: EmbeddingParams %v, the model has %v", name, got, emb)
		}
		if got, want := FLOPsPerToken(cfg, 17), m.FLOPsPerToken(17); got != want {
			t.Errorf("%s: FLOPsPerToken %v, the model says %v", name, got, want)
		}
	}
}

// TestActivationFloatsMatchesAllocation: the estimate is within a factor of
// the bytes a first Forward and Backward allocate. The factor is loose
// (0.6–1.6) on purpose: the estimate guards against configurations that
// cannot fit at all, and the engine's buffers may change shape.
func TestActivationFloatsMatchesAllocation(t *testing.T) {
	const B, T = 8, 64
	configs := footprintConfigs()
	names := slices.Sorted(maps.Keys(configs))
	// The first pass of each architecture also allocates one-time state of
	// the kernels (thread pools, packing buffers); measure the second model.
	for _, pass := range []string{"warm-up", "measure"} {
		for _, name := range names {
			measure(t, name, configs[name], B, T, pass == "measure")
		}
	}
}

// measure allocates a model, runs one Forward and Backward, and (check)
// compares the bytes allocated with the estimate.
func measure(t *testing.T, name string, cfg Config, B, T int, check bool) {
	t.Helper()
	m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	tok, tgt := make([]int32, B*T), make([]int32, B*T)
	for i := range tok {
		tok[i], tgt[i] = int32(i%cfg.DVocab), int32((i+1)%cfg.DVocab)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m.Forward(tok, tgt, B, T)
	m.Backward()
	runtime.ReadMemStats(&after)
	got := float64(after.TotalAlloc - before.TotalAlloc)
	est := 4 * ActivationFloats(cfg, B, T)
	if !check {
		return
	}
	t.Logf("%s: estimate %.0f bytes, allocated %.0f (ratio %.2f)", name, est, got, est/got)
	if est < 0.6*got || est > 1.6*got {
		t.Errorf("%s: estimate %.0f bytes, allocated %.0f", name, est, got)
	}
}

// TestReliabilityHugeModelRefused: sizes beyond any machine are a
// validation error naming the sizes, never a makeslice panic.
func TestReliabilityHugeModelRefused(t *testing.T) {
	for name, set := range map[string]func(*Config){
		"d_model 1e8":   func(c *Config) { c.DModel, c.NHeads = 100_000_000, 4 },
		"d_model 2^40":  func(c *Config) { c.DModel, c.NHeads = 1<<40, 4 },
		"n_layers 2^40": func(c *Config) { c.NLayers = 1 << 40 },
		"d_vocab 2^50":  func(c *Config) { c.DVocab = 1 << 50 },
		"n_ctx 2^50":    func(c *Config) { c.NCtx = 1 << 50 },
		"d_mlp 2^55":    func(c *Config) { c.DMLP = 1 << 55 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig(ArchGPT)
			set(&cfg)
			_, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
			if err == nil || !strings.Contains(err.Error(), "parameters") {
				t.Errorf("%+v: err = %v, want a refusal counting the parameters", cfg, err)
			}
		})
	}
}

// TestReliabilityHugePretrainedRefused: a model trained elsewhere whose
// config.json gives sizes beyond any machine is refused by its Spec's
// validation, naming the sizes, before NewPretrained allocates (a
// makeslice panic before).
func TestReliabilityHugePretrainedRefused(t *testing.T) {
	for name, set := range map[string]func(*Spec){
		"n_embd 1e8":       func(s *Spec) { s.DModel, s.NHeads = 100_000_000, 4 },
		"n_layer 2^40":     func(s *Spec) { s.NLayers = 1 << 40 },
		"vocab_size 2^50":  func(s *Spec) { s.DVocab = 1 << 50 },
		"n_positions 2^50": func(s *Spec) { s.NCtx = 1 << 50 },
		"n_inner 2^55":     func(s *Spec) { s.DMLP = 1 << 55 },
	} {
		t.Run(name, func(t *testing.T) {
			s := pretrainedSpecs()["gpt2/tied"]
			set(&s)
			_, err := NewPretrained(s)
			if err == nil || !strings.Contains(err.Error(), "parameters") {
				t.Errorf("%+v: err = %v, want a refusal counting the parameters", s, err)
			}
		})
	}
}

// TestPretrainedFootprint: the loaded transformer's analytic parameter
// count is the built model's, and the activation and decoder estimates are
// within 10% of the bytes a first Forward (activations kept or not) and
// NewDecodeStateLen allocate. Nothing else allocates in proportion to
// B·T, so the bound is tighter than the GPT's; the slack is the
// allocator's rounding of each buffer to its size class or page (up to
// 8 KiB a buffer: 7% of these small shapes' ≈ 1 MB, 0.5% at NCtx 300, less
// at real sizes) and the kernels' closures.
func TestPretrainedFootprint(t *testing.T) {
	const B = 8
	specs := pretrainedSpecs()
	names := slices.Sorted(maps.Keys(specs))
	allocated := func(f func()) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc - before.TotalAlloc)
	}
	for _, pass := range []string{"warm-up", "measure"} {
		for _, name := range names {
			s := specs[name]
			for _, keep := range []bool{true, false} {
				m, err := NewPretrained(s)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := PretrainedParamCount(s), float64(m.Params().Count()); got != want {
					t.Errorf("%s: PretrainedParamCount %v, the model has %v", name, got, want)
				}
				m.SetKeepActivations(keep)
				T := s.NCtx
				tok := make([]int32, B*T)
				for i := range tok {
					tok[i] = int32(i % s.DVocab)
				}
				got := allocated(func() { m.Forward(tok, nil, B, T) })
				est := 4 * PretrainedActivationFloats(s, B, T, keep)
				n := T / 2
				gotDec := allocated(func() { m.NewDecodeStateLen(B, n) })
				estDec := 4 * PretrainedDecodeFloats(s, B, n)
				if pass != "measure" {
					continue
				}
				t.Logf("%s keep=%v: forward estimate %.0f bytes, allocated %.0f; decoder %.0f, %.0f", name, keep, est, got, estDec, gotDec)
				if math.Abs(est-got) > 0.1*got {
					t.Errorf("%s keep=%v: Forward estimate %.0f bytes, allocated %.0f", name, keep, est, got)
				}
				if math.Abs(estDec-gotDec) > 0.1*gotDec {
					t.Errorf("%s: decoder estimate %.0f bytes, allocated %.0f", name, estDec, gotDec)
				}
			}
		}
	}
}
