package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"emlab/internal/nn"
)

// countingModel counts the calls the training loop makes on its model.
type countingModel struct {
	nn.Model
	forward, backward, fused int
}

func (c *countingModel) Forward(tokens, targets []int32, B, T int) float32 {
	c.forward++
	return c.Model.Forward(tokens, targets, B, T)
}

func (c *countingModel) Backward() {
	c.backward++
	c.Model.Backward()
}

// countingFused is a countingModel that offers the wrapped GPT's fused
// step; a bare countingModel hides it, so Run must fall back to Forward
// and Backward.
type countingFused struct{ *countingModel }

func (c countingFused) ForwardBackward(tokens, targets []int32, B, T int) float32 {
	c.fused++
	return c.Model.(nn.ForwardBackwarder).ForwardBackward(tokens, targets, B, T)
}

// TestRunUsesForwardBackward checks that the training loop takes each step
// with the model's ForwardBackward when it has one (Backward is then never
// called; Forward only for the held-out loss), falls back to Forward and
// Backward when it has none, and that both give the same metrics and
// weights bit for bit, on one thread and on two.
func TestRunUsesForwardBackward(t *testing.T) {
	defer func(f func(nn.Config, *rand.Rand) (nn.Model, error)) { newModel = f }(newModel)
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			cfg := smallConfig()
			cfg.Train.Threads = threads
			var calls [2]*countingModel
			dirs := [2]string{t.TempDir(), t.TempDir()}
			for i, fused := range []bool{false, true} {
				newModel = func(c nn.Config, rng *rand.Rand) (nn.Model, error) {
					m, err := nn.New(c, rng)
					if err != nil {
						return nil, err
					}
					calls[i] = &countingModel{Model: m}
					if fused {
						return countingFused{calls[i]}, nil
					}
					return calls[i], nil
				}
				run(t, cfg, dirs[i], false)
			}
			plain, fused, steps := calls[0], calls[1], cfg.Train.Steps
			if plain.backward != steps || plain.fused != 0 {
				t.Errorf("without ForwardBackward: %d Backward calls, %d fused, want %d and 0", plain.backward, plain.fused, steps)
			}
			if fused.fused != steps || fused.backward != 0 || fused.forward != plain.forward-steps {
				t.Errorf("with ForwardBackward: %d fused calls, %d Backward, %d Forward; want %d, 0 and %d (the held-out batches)",
					fused.fused, fused.backward, fused.forward, steps, plain.forward-steps)
			}
			sameLines(t, losses(t, dirs[0]), losses(t, dirs[1]))
			for _, step := range []int{1, 10, 40} {
				sameWeights(t, weights(t, dirs[0], step), weights(t, dirs[1], step))
			}
		})
	}
}
