package nn

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"emlab/internal/tensor"
)

// TestGPTStepAllocatesNothing checks that, after a warm-up step, a training
// step (Forward with targets, Backward, AdamW) and a decode step of the
// GPT make no heap allocation, on one thread and on two: activations, the
// micro-batches' gradients, the decoder's cache and the kernels' scratch
// are all allocated once. (testing.AllocsPerRun runs with GOMAXPROCS = 1,
// which still runs the two-thread path's regions on the pool's workers.)
func TestGPTStepAllocatesNothing(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	cfg := Config{Arch: ArchGPT, NLayers: 2, DModel: 64, NHeads: 4, NCtx: 32, DVocab: 61,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.1}
	for _, threads := range []int{1, 2} {
		t.Run("threads="+strconv.Itoa(threads), func(t *testing.T) {
			tensor.SetThreads(threads)
			if tensor.Threads() != threads {
				t.Skipf("GOMAXPROCS %d cannot run %d kernel threads", runtime.GOMAXPROCS(0), threads)
			}
			m := NewGPT(cfg, rand.New(rand.NewPCG(1, 2)))
			const B, T = 8, 32
			tokens, targets := tinyBatch(cfg.DVocab, B, T, rand.New(rand.NewPCG(3, 4)))
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
			train()
			if n := testing.AllocsPerRun(10, train); n != 0 {
				t.Errorf("training step: %v allocations per step, want 0", n)
			}

			st := m.NewDecodeState(B)
			prompts := make([][]int32, B)
			rows := make([]int, B)
			for i := range prompts {
				prompts[i] = tokens[i*T : i*T+4+i]
				rows[i] = i
			}
			st.Prefill(prompts)
			step := func() {
				if st.Len(B-1) == cfg.NCtx {
					st.Prefill(prompts)
				}
				st.Step(rows, tokens[:B])
			}
			step()
			if n := testing.AllocsPerRun(10, step); n != 0 {
				t.Errorf("decode step: %v allocations per step, want 0", n)
			}
		})
	}
}
