package nn

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"emlab/internal/tensor"
)

// TestStepAllocatesNothing checks that, after a warm-up step, a training
// step (Forward with targets, Backward, AdamW) and a decode step make no
// heap allocation, for each architecture (the GPT also skipping the rows
// of ignored targets), on one thread and on two: activations, gradients,
// caches and the kernels' scratch are allocated once. (testing.AllocsPerRun runs with GOMAXPROCS = 1, which still runs
// the two-thread path's regions on the pool's workers.)
func TestStepAllocatesNothing(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	gpt := Config{Arch: ArchGPT, NLayers: 2, DModel: 64, NHeads: 4, NCtx: 32, DVocab: 61,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.1}
	lstm := DefaultConfig(ArchLSTM)
	lstm.NLayers, lstm.DModel, lstm.NCtx, lstm.DVocab = 2, 24, 32, 61
	mlp := tinyMLPConfig(3, "relu")
	mlp.NCtx, mlp.DVocab = 32, 61
	for _, tc := range []struct {
		name string
		cfg  Config
		skip bool
	}{{"gpt", gpt, false}, {"gpt/skip", gpt, true}, {"lstm", lstm, false}, {"mlp", mlp, false}} {
		cfg := tc.cfg
		for _, threads := range []int{1, 2} {
			t.Run(tc.name+"/threads="+strconv.Itoa(threads), func(t *testing.T) {
				tensor.SetThreads(threads)
				if tensor.Threads() != threads {
					t.Skipf("GOMAXPROCS %d cannot run %d kernel threads", runtime.GOMAXPROCS(0), threads)
				}
				m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
				if err != nil {
					t.Fatal(err)
				}
				const B, T = 8, 32
				tokens, targets := tinyBatch(cfg.DVocab, B, T, rand.New(rand.NewPCG(3, 4)))
				if tc.skip {
					m.(IgnoredRowSkipper).SetSkipIgnored(true)
					for i := 0; i < B*T; i += 3 {
						targets[i] = -1
					}
				}
				ps := m.Params()
				mom, vel := make([]float32, ps.Count()), make([]float32, ps.Count())
				it := 0
				train := func() {
					it++
					ps.ZeroGrad()
					m.Forward(tokens, targets, B, T)
					m.Backward()
					tensor.AdamW(ps.Data, ps.Grad, mom, vel, tensor.AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.98, Eps: 1e-8, WeightDecay: 0.1, Step: it})
				}
				// Warm-up under AllocsPerRun's GOMAXPROCS = 1: the kernels'
				// free lists grow to the most buffers in use at once, which
				// depends on how the micro-batches interleave, and then stay.
				testing.AllocsPerRun(3, train)
				if n := testing.AllocsPerRun(10, train); n != 0 {
					t.Errorf("training step: %v allocations per step, want 0", n)
				}

				st := m.(Decoder).NewDecodeState(B)
				prompts := make([][]int32, B)
				rows := make([]int, B)
				for i := range prompts {
					prompts[i] = tokens[i*T : i*T+4+i]
					rows[i] = i
				}
				st.Prefill(prompts)
				step := func() { st.Step(rows, tokens[:B]) }
				testing.AllocsPerRun(3, step)
				if n := testing.AllocsPerRun(10, step); n != 0 {
					t.Errorf("decode step: %v allocations per step, want 0", n)
				}
			})
		}
	}
}

// TestPretrainedDecodeStepAllocatesNothing checks the loaded transformer's
// decode step for each option its Step branches on (rotary or learned
// positions, parallel or sequential residual, a head mask), on one thread
// and on two: after a warm-up step it makes no heap allocation.
func TestPretrainedDecodeStepAllocatesNothing(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	for _, c := range pretrainedDecodeCases() {
		for _, threads := range []int{1, 2} {
			t.Run(c.name+"/threads="+strconv.Itoa(threads), func(t *testing.T) {
				tensor.SetThreads(threads)
				if tensor.Threads() != threads {
					t.Skipf("GOMAXPROCS %d cannot run %d kernel threads", runtime.GOMAXPROCS(0), threads)
				}
				m := randomPretrained(t, c.spec, 1)
				if c.mask != nil {
					if err := m.SetHeadMask(c.mask); err != nil {
						t.Fatal(err)
					}
				}
				const B = 4
				tokens, _ := tinyBatch(c.spec.DVocab, B, 8, rand.New(rand.NewPCG(3, 4)))
				st := m.NewDecodeState(B)
				prompts := make([][]int32, B)
				rows := make([]int, B)
				for i := range prompts {
					prompts[i] = tokens[i*8 : i*8+2+i]
					rows[i] = i
				}
				st.Prefill(prompts)
				step := func() { st.Step(rows, tokens[:B]) }
				testing.AllocsPerRun(3, step)
				if n := testing.AllocsPerRun(10, step); n != 0 {
					t.Errorf("decode step: %v allocations per step, want 0", n)
				}
			})
		}
	}
}
