package train

import (
	"testing"
	"time"

	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/optim"
	"emlab/internal/tensor"
)

// TestSubnormalStepNotSlower times training steps of the grokking control
// (preset grok-wd0: the window MLP with weight decay 0, whose memorised
// loss drives gradients and Adam's moments towards zero) from an ordinary
// state and from one whose weights and moments are scaled into the
// subnormal range, interleaved, best of 40 rounds. Subnormal operands
// take microcode assists in the operations that do not flush them, so the
// subnormal state must not be slower (1.5× allows for a shared machine's
// noise). On the development machine (AMD Zen 4) the GEMMs' FMAs take
// subnormal operands at full speed and the step's only stall was the
// scalar AdamW (TestAdamWSubnormalNotSlower in package tensor: 2.8×).
func TestSubnormalStepNotSlower(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	defer tensor.SetThreads(tensor.Threads())
	cfg, err := config.Preset("grok-wd0")
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := Sources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ResolveVocab(&cfg, src.Vocab()); err != nil {
		t.Fatal(err)
	}
	tensor.SetThreads(1)
	B, T := cfg.Train.BatchSize, cfg.T()
	tok, tgt := make([]int32, B*T), make([]int32, B*T)
	src.Batch(0, B, T, tok, tgt)
	type state struct {
		model      nn.Model
		opt        *optim.AdamW
		w0, m0, v0 []float32
	}
	mk := func(scale float32) *state {
		model, err := nn.New(cfg.Model, data.RNG(cfg.Train.Seed, "init"))
		if err != nil {
			t.Fatal(err)
		}
		ps := model.Params()
		opt := optim.NewAdamW(cfg.Optim, ps)
		for i, w := range ps.Data {
			opt.M[i] = 1e-3 * w * scale
			opt.V[i] = 1e-6 * w * w * scale
			ps.Data[i] = w * scale
		}
		opt.Step = 500
		return &state{model, opt, append([]float32(nil), ps.Data...), append([]float32(nil), opt.M...), append([]float32(nil), opt.V...)}
	}
	run := func(s *state) time.Duration {
		ps := s.model.Params()
		copy(ps.Data, s.w0)
		copy(s.opt.M, s.m0)
		copy(s.opt.V, s.v0)
		t0 := time.Now()
		ps.ZeroGrad()
		s.model.Forward(tok, tgt, B, T)
		s.model.Backward()
		optim.ClipGradNorm(ps, cfg.Optim.Clip)
		s.opt.Update(cfg.Optim.LR)
		return time.Since(t0)
	}
	normal, sub := mk(1), mk(1e-39)
	best := [2]time.Duration{time.Hour, time.Hour}
	// Many short samples: on a loaded machine most steps are interrupted,
	// and the best of each state is the one that was not.
	for r := 0; r < 40; r++ {
		best[0] = min(best[0], run(normal))
		best[1] = min(best[1], run(sub))
	}
	ratio := float64(best[1]) / float64(best[0])
	t.Logf("grok-wd0 step: ordinary state %v, subnormal weights and moments %v (%.2f×)", best[0], best[1], ratio)
	if ratio > 1.5 {
		t.Errorf("a step on subnormal weights is %.2f× slower than on ordinary ones (%v vs %v)", ratio, best[1], best[0])
	}
}
