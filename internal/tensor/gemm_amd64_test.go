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
