package probe

import (
	"fmt"
	"math"

	"emlab/internal/nn"
)

// Metric measures a model, e.g. the loss on the second copy of repeated
// sequences. It may run forward passes; it must not change the weights.
type Metric func(m nn.Model) (float64, error)

// Ablation modes.
const (
	ZeroAblate = "zero" // the head's output z is replaced by 0
	MeanAblate = "mean" // z is replaced by its mean over a reference batch (all sequences and positions)
)

// headMasker is what ablation needs from a model (the GPT).
type headMasker interface {
	nn.Model
	SetHeadMask(mask []float32) error
	HeadMask() []float32
}

// AblationResult is a metric with and without one head.
type AblationResult struct {
	Layer, Head int
	Mode        string
	Base        float64 // metric of the intact model
	Ablated     float64 // metric with the head ablated
}

// Delta is Ablated − Base.
func (r AblationResult) Delta() float64 { return r.Ablated - r.Base }

// AblateHead measures metric on m intact and with head (layer, head)
// ablated. Zero ablation scales the head's z by 0 through the model's head
// mask. Mean ablation (ref (refB, refT) tokens required) replaces the head's
// z by its mean z̄ over every sequence and position of ref: since the
// attention output is Σ_h z_h·W_O^h + b_O, this is the zero ablation with
// z̄·W_O^h added to b_O. Both the mask and b_O are restored before
// returning, bit for bit, even on error. The model must support head masks
// (a GPT).
func AblateHead(m nn.Model, layer, head int, mode string, ref []int32, refB, refT int, metric Metric) (res AblationResult, err error) {
	hm, ok := m.(headMasker)
	if !ok {
		return res, fmt.Errorf("ablate: the %s model has no head mask", m.Config().Arch)
	}
	cfg := m.Config()
	L, H, C, Dh := cfg.NLayers, cfg.NHeads, cfg.DModel, cfg.DHead()
	if layer < 0 || layer >= L || head < 0 || head >= H {
		return res, fmt.Errorf("ablate: no head %d.%d in a model with %d layers of %d heads", layer, head, L, H)
	}
	res = AblationResult{Layer: layer, Head: head, Mode: mode}
	if res.Base, err = metric(m); err != nil {
		return res, fmt.Errorf("ablate: intact metric: %w", err)
	}
	old := hm.HeadMask()
	mask := old
	if mask == nil {
		mask = make([]float32, L*H)
		for i := range mask {
			mask[i] = 1
		}
	}
	switch mode {
	case ZeroAblate:
	case MeanAblate:
		zbar, err := meanZ(m, layer, head, ref, refB, refT)
		if err != nil {
			return res, err
		}
		bias := m.Params().Get(fmt.Sprintf("h.%d.attn.c_proj.bias", layer)) // (C)
		wo := m.Params().Get(fmt.Sprintf("h.%d.attn.c_proj.weight", layer)) // (C, C), rows h·Dh.. are W_O^h
		saved := append([]float32(nil), bias...)
		defer copy(bias, saved)
		for j := range C {
			var s float64
			for i := range Dh {
				s += zbar[i] * float64(wo[(head*Dh+i)*C+j])
			}
			bias[j] += float32(s)
		}
	default:
		return res, fmt.Errorf("ablate: unknown mode %q (want %s or %s)", mode, ZeroAblate, MeanAblate)
	}
	mask = append([]float32(nil), mask...)
	mask[layer*H+head] = 0
	if err := hm.SetHeadMask(mask); err != nil {
		return res, err
	}
	defer hm.SetHeadMask(old) //nolint:errcheck // old came from the model, so it has the right length
	if res.Ablated, err = metric(m); err != nil {
		return res, fmt.Errorf("ablate: ablated metric: %w", err)
	}
	return res, nil
}

// meanZ is head (layer, head)'s z averaged over all sequences and
// positions of ref, under the model's current head mask.
func meanZ(m nn.Model, layer, head int, ref []int32, B, T int) ([]float64, error) {
	if B <= 0 || T <= 0 || len(ref) != B*T {
		return nil, fmt.Errorf("mean ablation needs a reference batch; got %d tokens for (B=%d, T=%d)", len(ref), B, T)
	}
	c, err := RunWithCache(m, ref, B, T, nn.ActName("z", layer))
	if err != nil {
		return nil, err
	}
	z, s, _ := c.Get(nn.ActName("z", layer)) // (B, T, H, Dh)
	H, Dh := s[2], s[3]
	out := make([]float64, Dh)
	for r := range B * T {
		for i := range Dh {
			out[i] += float64(z[(r*H+head)*Dh+i])
		}
	}
	for i := range out {
		out[i] /= float64(B * T)
	}
	return out, nil
}

// SecondHalfLoss returns a Metric: the mean next-token loss (nats) over the
// second half of repeated sequences A A (tokens (B, T), as from
// RepeatedSequences) that an induction head can predict: the targets at
// positions T/2+1 … T−1, predicted from T/2 … T−2. The second copy's first
// token is left out: nothing before it says which token A starts with.
func SecondHalfLoss(tokens []int32, B, T int) Metric {
	inputs := make([]int32, B*(T-1))
	targets := make([]int32, B*(T-1))
	for b := range B {
		for t := range T - 1 {
			inputs[b*(T-1)+t] = tokens[b*T+t]
			targets[b*(T-1)+t] = -1
			if t >= T/2 {
				targets[b*(T-1)+t] = tokens[b*T+t+1]
			}
		}
	}
	return func(m nn.Model) (float64, error) {
		loss := float64(m.Forward(inputs, targets, B, T-1))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, fmt.Errorf("second-half loss is %v", loss)
		}
		return loss, nil
	}
}
