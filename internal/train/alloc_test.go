package train

import (
	"runtime"
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
	// A preemption can still produce an interleaving the warm-up did not
	// (more kernel calls or packing buffers live at once), and the lists
	// then grow once more: a handful of allocations in one step, never
	// again at that depth. So the measure is whole windows of steps, and a
	// step counts as allocation-free when some window of them allocates
	// nothing at all: growth is bounded and stops, while a step that
	// allocates in steady state does so in every window. (AllocsPerRun's
	// integer average would also let an allocation every other step pass
	// as 0; the total per window does not.) On a loaded machine the
	// preemptions come often enough that four windows were once all hit,
	// hence ten: a steady-state allocation still fails every one.
	const windows, perWindow = 10, 5
	// GOMAXPROCS 1, as the warm-up ran and AllocsPerRun measures.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var counts []uint64
	for range windows {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range perWindow {
			step()
		}
		runtime.ReadMemStats(&after)
		n := after.Mallocs - before.Mallocs
		if n == 0 {
			return
		}
		counts = append(counts, n)
	}
	t.Errorf("every window of %d training steps allocated (heap allocations per window: %v), want one with 0", perWindow, counts)
}
