//go:build amd64 && !purego

package tensor

import (
	"fmt"
	"testing"
)

// BenchmarkGemmMicroKernel times the AVX-512 kernels alone on L1-resident
// panels, the full 14×32 tile and the 14×16 one of 16-wide attention heads:
// the ceiling the blocked driver and the heads can approach. cpu-GFLOP/s
// counts CPU time (getrusage), for a shared machine.
func BenchmarkGemmMicroKernel(b *testing.B) {
	if len(gemmISAs) == 0 || gemmISAs[0] != &isa512 {
		b.Skip("no AVX-512 on this CPU")
	}
	const k = 256
	a := make([]float32, 14*k)
	bp := make([]float32, 32*k)
	c := make([]float32, 14*32)
	for _, nv := range []int{2, 1} {
		b.Run(fmt.Sprintf("14x%d", 16*nv), func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				kernels512[14][nv](k, &a[0], 1, 14, &bp[0], 32, &c[0], 32, 0xffff, 1, nil)
			}
			flop := 2 * 14 * 16 * float64(nv) * k * float64(b.N)
			b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(flop/cpu/1e9, "cpu-GFLOP/s")
			}
		})
	}
}

// BenchmarkGemmMicroKernelK times the full 14×32 AVX-512 tile on
// L1-resident operands at the tiny step's depths, k = 64 (the forward's
// x·W) and 256, with A packed (rs = 1, ps = 14) or read in place as the
// driver reads an untransposed A (rs = k, ps = 1), and storing (beta = 0,
// as the forward) or accumulating into C: how much of a k = 64 product's
// rate the tile's own start and end cost, apart from the driver and the
// caches.
func BenchmarkGemmMicroKernelK(b *testing.B) {
	if len(gemmISAs) == 0 || gemmISAs[0] != &isa512 {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, k := range []int{64, 256} {
		a := make([]float32, 14*k)
		bp := make([]float32, 32*k)
		c := make([]float32, 14*32)
		for _, v := range []struct {
			name   string
			rs, ps int
		}{{"packed", 1, 14}, {"inplace", k, 1}} {
			for acc := 0; acc < 2; acc++ {
				b.Run(fmt.Sprintf("k=%d/A=%s/accum=%d", k, v.name, acc), func(b *testing.B) {
					cpu0 := cpuTime()
					for b.Loop() {
						kernels512[14][2](k, &a[0], v.rs, v.ps, &bp[0], 32, &c[0], 32, 0xffff, acc, nil)
					}
					flop := 2 * 14 * 32 * float64(k) * float64(b.N)
					if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
						b.ReportMetric(flop/cpu/1e9, "cpu-GFLOP/s")
					}
				})
			}
		}
	}
}
