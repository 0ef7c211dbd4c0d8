package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkAttentionHead times the fused causal head, forward and backward,
// at the presets' shapes, over all (sequence, head) pairs of one GPT
// micro-batch (B/2 sequences) in the GPT's layout: q, k, v columns of a
// (B/2, T, 3C) buffer, z of a (B/2, T, C) buffer. GFLOP/s count the causal products' 2·Dh
// FLOP per (query, key ≤ query) pair and product: two products forward,
// four backward. cpu-ns/head is CPU time (getrusage): on a shared
// machine compare it, one thread, between two builds.
//
//	go test -run '^$' -bench AttentionHead -cpu 1 ./internal/tensor
func BenchmarkAttentionHead(b *testing.B) {
	for _, s := range []struct {
		name        string
		B, T, C, Dh int
	}{
		{"tiny", 16, 64, 64, 16},
		// The demo ladder's dearest rung, d80L2 (one thread, the whole batch):
		// its heads of 20 columns fill 16-wide vectors unevenly.
		{"demo", 32, 64, 80, 20},
		{"small", 16, 128, 128, 32},
		{"medium", 8, 256, 256, 32},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		B, T, C, Dh := s.B, s.T, s.C, s.Dh
		H := C / Dh
		// Four sets of buffers (a step's two layers of two micro-batches
		// for tiny) used in turn, so that the heads read and write memory
		// that the last call did not leave in the caches, as in a step.
		const sets = 4
		qkv := randn(rng, sets*B*T*3*C, 1)
		dqkv := make([]float32, sets*B*T*3*C)
		z, dz := make([]float32, sets*B*T*C), randn(rng, sets*B*T*C, 1)
		att := make([]float32, sets*B*H*T*T)
		scratch := make([]float32, 2*T*T+Dh*T)
		scale := float32(0.25)
		set := 0
		forward := func() {
			set = (set + 1) % sets
			for i := set * B * H; i < (set+1)*B*H; i++ {
				bb, h := i/H, i%H
				q := qkv[bb*T*3*C+h*Dh:]
				AttentionHeadForward(att[i*T*T:(i+1)*T*T], z[bb*T*C+h*Dh:], C, q, q[C:], q[2*C:], 3*C, T, Dh, scale, scratch, true)
			}
		}
		backward := func() {
			set = (set + 1) % sets
			for i := set * B * H; i < (set+1)*B*H; i++ {
				bb, h := i/H, i%H
				off := bb*T*3*C + h*Dh
				q, d := qkv[off:], dqkv[off:]
				AttentionHeadBackward(d, d[C:], d[2*C:], 3*C, dz[bb*T*C+h*Dh:], C, q, q[C:], q[2*C:], att[i*T*T:(i+1)*T*T], T, Dh, scale, scratch)
			}
		}
		for range sets {
			forward()
		}
		flop := float64(2*Dh*T*(T+1)/2) * float64(B*H)
		for _, c := range []struct {
			name string
			fn   func()
			mul  float64
		}{{"forward", forward, 2}, {"backward", backward, 4}} {
			b.Run(s.name+"/"+c.name, func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					c.fn()
				}
				cpu := (cpuTime() - cpu0).Seconds()
				b.ReportMetric(c.mul*flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(B*H), "ns/head")
				if cpu > 0 {
					b.ReportMetric(c.mul*flop*float64(b.N)/cpu/1e9, "cpu-GFLOP/s")
					b.ReportMetric(cpu*1e9/float64(b.N)/float64(B*H), "cpu-ns/head")
				}
			})
		}
	}
}
