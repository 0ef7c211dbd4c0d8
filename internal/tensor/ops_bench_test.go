package tensor

import (
	"math/rand/v2"
	"testing"
)

// Elementwise kernels at the medium preset's sizes (M = B·T = 4096 rows,
// d = 256, 4d = 1024, T = 256, V = 2048, ≈ 5.3M parameters), each fast kernel
// beside its reference so the speed-up reads off one run:
//
//	go test -run XXX -bench 'Ops' ./internal/tensor
func BenchmarkOps(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const M, d, T, V, P = 4096, 256, 256, 2048, 5 << 20
	x, out, dx := randn(rng, M*4*d, 1), make([]float32, M*4*d), make([]float32, M*4*d)
	gamma, beta, dg, db := randn(rng, d, 1), randn(rng, d, 1), make([]float32, d), make([]float32, d)
	mean, rstd := make([]float32, M), make([]float32, M)
	att, datt := randn(rng, T*T, 1), randn(rng, T*T, 1)
	logits, dl := randn(rng, M*V, 2), make([]float32, M*V)
	targets := make([]int32, M)
	for i := range targets {
		targets[i] = int32(rng.IntN(V))
	}
	p, g, m, v := randn(rng, P, 1), randn(rng, P, 1), make([]float32, P), make([]float32, P)
	h := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, Step: 3}
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"LayerNormForward", func() { LayerNormForward(out, mean, rstd, x, gamma, beta, M, d, 1e-5) }},
		{"LayerNormForwardRef", func() { layerNormForwardRef(out, mean, rstd, x, gamma, beta, M, d, 1e-5) }},
		{"LayerNormBackward", func() { LayerNormBackward(dx, dg, db, out, x, gamma, mean, rstd, M, d) }},
		{"LayerNormBackwardRef", func() { layerNormBackwardRef(dx, dg, db, out, x, gamma, mean, rstd, M, d) }},
		{"GELUForward", func() { GELUForward(out, x) }},
		{"GELUForwardRef", func() { geluForwardRef(out, x) }},
		{"GELUBackward", func() { GELUBackward(dx, x, out) }},
		{"GELUBackwardRef", func() { geluBackwardRef(dx, x, out) }},
		{"CausalSoftmaxForward", func() { copy(att, datt); CausalSoftmaxForward(att, T, 0.17) }},
		{"CausalSoftmaxForwardRef", func() { copy(att, datt); causalSoftmaxForwardRef(att, T, 0.17) }},
		{"CausalSoftmaxBackward", func() { CausalSoftmaxBackward(out, datt, att, T, 0.17) }},
		{"CausalSoftmaxBackwardRef", func() { causalSoftmaxBackwardRef(out, datt, att, T, 0.17) }},
		{"SoftmaxCrossEntropy", func() { SoftmaxCrossEntropy(dl, logits, targets, M, V, 1) }},
		{"SoftmaxCrossEntropyRef", func() { softmaxCrossEntropyRef(dl, logits, targets, M, V, 1) }},
		{"AdamW", func() { AdamW(p, g, m, v, h) }},
		{"AdamWRef", func() { adamWRef(p, g, m, v, h) }},
		{"BiasGrad", func() { BiasGrad(dg, x, M, d) }},
		{"BiasGradRef", func() { biasGradRef(dg, x, M, d) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.fn()
			}
		})
	}
}
