package train

import (
	"testing"

	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/tensor"
)

// TestTrainStepAllocatesNothing checks the training loop's step as Run
// takes it (a batch of the synthetic stream, ZeroGrad, Forward, Backward,
// gradient clipping, AdamW) on the tiny preset at its two threads: after
// the first step it makes no heap allocation. (The task stream still
// allocates its items' text per batch: the data's cost, not the engine's.)
func TestTrainStepAllocatesNothing(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	cfg, err := config.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	tensor.SetThreads(cfg.Train.Threads)
	src, err := data.NewSynthetic(cfg.Train.Seed, cfg.Model.DVocab, 4, "train")
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.New(cfg.Model, data.RNG(cfg.Train.Seed, "init"))
	if err != nil {
		t.Fatal(err)
	}
	ps := model.Params()
	opt := optim.NewAdamW(cfg.Optim, ps)
	B, T := cfg.Train.BatchSize, cfg.T()
	tok, tgt := make([]int32, B*T), make([]int32, B*T)
	s := 0
	step := func() {
		src.Batch(int64(s), B, T, tok, tgt)
		ps.ZeroGrad()
		model.Forward(tok, tgt, B, T)
		model.Backward()
		optim.ClipGradNorm(ps, cfg.Optim.Clip)
		opt.Update(cfg.Optim.LRAt(s, cfg.Train.Steps))
		s++
	}
	// Warm-up under AllocsPerRun's own GOMAXPROCS = 1: the kernels' free
	// lists grow to the most buffers in use at once, which depends on how
	// the two micro-batches interleave, and then stay.
	testing.AllocsPerRun(3, step)
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("%v allocations per training step, want 0", n)
	}
}
