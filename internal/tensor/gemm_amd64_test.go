//go:build amd64 && !purego

package tensor

import "testing"

// BenchmarkGemmMicroKernel times the 14×32 AVX-512 kernel alone on
// L1-resident panels: the ceiling the blocked driver can approach.
func BenchmarkGemmMicroKernel(b *testing.B) {
	if len(gemmISAs) == 0 || gemmISAs[0] != &isa512 {
		b.Skip("no AVX-512 on this CPU")
	}
	const k = 256
	a := make([]float32, 14*k)
	bp := make([]float32, 32*k)
	c := make([]float32, 14*32)
	for b.Loop() {
		kernels512[14][2](k, &a[0], 1, 14, &bp[0], 32, &c[0], 32, 0xffff, 1, nil)
	}
	b.ReportMetric(2*14*32*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
