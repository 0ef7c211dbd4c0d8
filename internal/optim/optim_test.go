package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"emlab/internal/nn"
	"emlab/internal/tensor"
)

func TestLRAt(t *testing.T) {
	c := DefaultConfig()
	c.LR, c.WarmupFrac, c.MinLRFrac = 1, 0.1, 0.1
	const total = 100
	cases := []struct {
		step int
		want float64
	}{
		{0, 0.1},  // first warmup step: LR/warm
		{9, 1},    // end of warmup
		{10, 1},   // cosine starts at the peak
		{99, 0.1}, // ends at MinLRFrac·LR
		{54, 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*44/89))},
	}
	for _, cs := range cases {
		if got := c.LRAt(cs.step, total); math.Abs(got-cs.want) > 1e-12 {
			t.Errorf("LRAt(%d) = %g, want %g", cs.step, got, cs.want)
		}
	}
	c.Schedule = "constant"
	if got := c.LRAt(80, total); got != 1 {
		t.Errorf("constant schedule LRAt(80) = %g", got)
	}
	c.Schedule, c.WarmupSteps = "cosine", 0
	c.WarmupFrac = 0
	if got := c.LRAt(0, total); got != 1 {
		t.Errorf("no warmup: LRAt(0) = %g, want the peak", got)
	}
}

func TestValidate(t *testing.T) {
	for name, mut := range map[string]func(*Config){
		"optim.lr":       func(c *Config) { c.LR = 0 },
		"optim.beta2":    func(c *Config) { c.Beta2 = 1 },
		"optim.schedule": func(c *Config) { c.Schedule = "linear" },
		"optim.clip":     func(c *Config) { c.Clip = -1 },
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || err.Error()[:len(name)] != name {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func testParams(t *testing.T) *nn.ParamSet {
	t.Helper()
	cfg := nn.DefaultConfig(nn.ArchGPT)
	cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 1, 8, 2, 4, 5
	m, err := nn.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Skipf("GPT not built into this binary yet: %v", err)
	}
	ps := m.Params()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range ps.Grad {
		ps.Grad[i] = float32(rng.NormFloat64())
	}
	return ps
}

// TestAdamWDecayMask: the fused update over merged spans equals a plain
// per-tensor loop that decays only Param.Decay tensors.
func TestAdamWDecayMask(t *testing.T) {
	ps := testParams(t)
	ref := append([]float32(nil), ps.Data...)
	c := DefaultConfig()
	c.WeightDecay = 0.5
	o := NewAdamW(c, ps)
	o.Update(0.01)
	m := make([]float32, len(ref))
	v := make([]float32, len(ref))
	for _, p := range ps.Params {
		wd := float32(0)
		if p.Decay {
			wd = 0.5
		}
		a, b := p.Off, p.Off+p.Size
		tensor.AdamW(ref[a:b], ps.Grad[a:b], m[a:b], v[a:b], tensor.AdamWParams{LR: 0.01, Beta1: 0.9, Beta2: 0.98, Eps: 1e-8, WeightDecay: wd, Step: 1})
	}
	for i := range ref {
		if ref[i] != ps.Data[i] {
			t.Fatalf("param %d: %g vs reference %g", i, ps.Data[i], ref[i])
		}
	}
	decayed := 0
	for _, p := range ps.Params {
		if p.Decay {
			decayed++
		}
	}
	if decayed == 0 || decayed == len(ps.Params) {
		t.Fatalf("test needs both decayed and plain tensors, got %d of %d", decayed, len(ps.Params))
	}
}

func TestClipGradNorm(t *testing.T) {
	ps := testParams(t)
	norm := math.Sqrt(tensor.SumSquares(ps.Grad))
	if got := ClipGradNorm(ps, 0); got != norm {
		t.Errorf("norm %g want %g", got, norm)
	}
	got := ClipGradNorm(ps, norm/2)
	after := math.Sqrt(tensor.SumSquares(ps.Grad))
	if got != norm || math.Abs(after-norm/2) > 1e-4*norm {
		t.Errorf("after clipping to %g: norm %g (reported %g)", norm/2, after, got)
	}
}
