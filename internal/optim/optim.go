// Package optim holds the optimizer side of training: AdamW over a model's
// parameter set with per-tensor weight decay, the learning-rate schedule
// (linear warmup then cosine decay) and global-norm gradient clipping.
package optim

import (
	"fmt"
	"math"

	"emlab/internal/nn"
	"emlab/internal/tensor"
)

// Config holds the optimizer hyperparameters; JSON keys are the names used
// by config files and --set optim.<key>=value.
type Config struct {
	LR          float64 `json:"lr"`           // peak learning rate
	MinLRFrac   float64 `json:"min_lr_frac"`  // cosine decays to MinLRFrac·LR
	WarmupFrac  float64 `json:"warmup_frac"`  // warmup steps as a fraction of the run (used when WarmupSteps is 0)
	WarmupSteps int     `json:"warmup_steps"` // explicit warmup steps (overrides WarmupFrac when > 0)
	Schedule    string  `json:"schedule"`     // cosine | constant (constant still warms up)
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"` // decoupled (AdamW); applies to Param.Decay tensors
	DecayAll    bool    `json:"decay_all"`    // also decay biases, norms and embeddings
	Clip        float64 `json:"clip"`         // global gradient-norm clip; 0 disables
}

// DefaultConfig is the setting calibrated for emlab's small GPTs (the
// demo's ladder trains with it):
// AdamW β (0.9, 0.98), weight decay 0.1 on matrices, warmup 5% then cosine
// to 10% of peak, clip 1.0.
func DefaultConfig() Config {
	return Config{LR: 3e-3, MinLRFrac: 0.1, WarmupFrac: 0.05, Schedule: "cosine",
		Beta1: 0.9, Beta2: 0.98, Eps: 1e-8, WeightDecay: 0.1, Clip: 1}
}

// Validate reports problems, each naming its field.
func (c Config) Validate() error {
	switch {
	case !(c.LR > 0):
		return fmt.Errorf("optim.lr: must be positive, got %g", c.LR)
	case c.MinLRFrac < 0 || c.MinLRFrac > 1:
		return fmt.Errorf("optim.min_lr_frac: must be in [0, 1], got %g", c.MinLRFrac)
	case c.WarmupFrac < 0 || c.WarmupFrac >= 1:
		return fmt.Errorf("optim.warmup_frac: must be in [0, 1), got %g", c.WarmupFrac)
	case c.WarmupSteps < 0:
		return fmt.Errorf("optim.warmup_steps: must be ≥ 0, got %d", c.WarmupSteps)
	case c.Schedule != "cosine" && c.Schedule != "constant":
		return fmt.Errorf("optim.schedule: unknown schedule %q (want cosine or constant)", c.Schedule)
	case c.Beta1 < 0 || c.Beta1 >= 1:
		return fmt.Errorf("optim.beta1: must be in [0, 1), got %g", c.Beta1)
	case c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("optim.beta2: must be in [0, 1), got %g", c.Beta2)
	case !(c.Eps > 0):
		return fmt.Errorf("optim.eps: must be positive, got %g", c.Eps)
	case c.WeightDecay < 0:
		return fmt.Errorf("optim.weight_decay: must be ≥ 0, got %g", c.WeightDecay)
	case c.Clip < 0:
		return fmt.Errorf("optim.clip: must be ≥ 0, got %g", c.Clip)
	}
	return nil
}

// LRAt is the learning rate for optimizer step number step (0-based) of a
// run of total steps: linear warmup from LR/warmup to LR over the warmup
// steps, then cosine decay to MinLRFrac·LR at the last step (nanoGPT's
// schedule).
func (c Config) LRAt(step, total int) float64 {
	warm := c.WarmupSteps
	if warm == 0 {
		warm = int(math.Round(c.WarmupFrac * float64(total)))
	}
	if step < warm {
		return c.LR * float64(step+1) / float64(warm)
	}
	if c.Schedule == "constant" || total <= warm+1 {
		return c.LR
	}
	progress := float64(step-warm) / float64(total-1-warm)
	if progress > 1 {
		progress = 1
	}
	minLR := c.MinLRFrac * c.LR
	return minLR + 0.5*(1+math.Cos(math.Pi*progress))*(c.LR-minLR)
}

// AdamW owns the moment buffers for one parameter set.
type AdamW struct {
	cfg  Config
	ps   *nn.ParamSet
	M, V []float32 // first and second moments, same layout as ps.Data
	Step int       // optimizer steps taken so far
	// decayed lists, in layout order, the [off, off+size) spans with weight
	// decay; plain lists those without, so one step is two passes of fused
	// updates over contiguous runs.
	decayed, plain [][2]int
}

// NewAdamW creates zeroed moments for ps.
func NewAdamW(cfg Config, ps *nn.ParamSet) *AdamW {
	o := &AdamW{cfg: cfg, ps: ps, M: make([]float32, len(ps.Data)), V: make([]float32, len(ps.Data))}
	for _, p := range ps.Params {
		span := [2]int{p.Off, p.Off + p.Size}
		if p.Decay || cfg.DecayAll {
			o.decayed = appendSpan(o.decayed, span)
		} else {
			o.plain = appendSpan(o.plain, span)
		}
	}
	return o
}

// appendSpan merges span into the last one when they touch.
func appendSpan(spans [][2]int, s [2]int) [][2]int {
	if n := len(spans); n > 0 && spans[n-1][1] == s[0] {
		spans[n-1][1] = s[1]
		return spans
	}
	return append(spans, s)
}

// Update applies one AdamW step with learning rate lr to the parameters,
// using their current gradients.
func (o *AdamW) Update(lr float64) {
	o.Step++
	h := tensor.AdamWParams{LR: float32(lr), Beta1: float32(o.cfg.Beta1), Beta2: float32(o.cfg.Beta2),
		Eps: float32(o.cfg.Eps), Step: o.Step}
	p, g := o.ps.Data, o.ps.Grad
	run := func(spans [][2]int, wd float64) {
		h.WeightDecay = float32(wd)
		for _, s := range spans {
			a, b := s[0], s[1]
			tensor.AdamW(p[a:b], g[a:b], o.M[a:b], o.V[a:b], h)
		}
	}
	run(o.decayed, o.cfg.WeightDecay)
	run(o.plain, 0)
}

// ClipGradNorm scales gradients so their global L2 norm is at most maxNorm
// (no-op when maxNorm is 0) and returns the norm before clipping, as
// torch.nn.utils.clip_grad_norm_ does (scale = maxNorm/(norm+1e-6)).
func ClipGradNorm(ps *nn.ParamSet, maxNorm float64) float64 {
	norm := math.Sqrt(tensor.SumSquares(ps.Grad))
	if maxNorm > 0 && norm > maxNorm {
		tensor.Scale(ps.Grad, float32(maxNorm/(norm+1e-6)))
	}
	return norm
}
