//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/asmgen -out gen_gemm_amd64.s -stubs gen_gemm_stub_amd64.go -pkg tensor
//go:generate go run ./internal/asmgen -kernels vec -out gen_vec_amd64.s -stubs gen_vec_stub_amd64.go -pkg tensor

// isa512 uses the 14×32 AVX-512 kernels: 28 zmm accumulators. kc = 256 keeps
// the B micro-panel (32 KiB) in the 48 KiB L1; an mc = 112-row block of A
// (≤ 112 KiB) stays in L2 while the chunk's nc = 512 columns are swept.
var isa512 = gemmISA{
	name: "avx512", mr: 14, nr: 32, kc: 256, mc: 112, nc: 512, strideB: true,
	tile: func(mr, nr, k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, accum bool, bias *float32) {
		nv := (nr + 15) / 16
		mask := uint64(1)<<uint(nr-16*(nv-1)) - 1
		acc := 0
		if accum {
			acc = 1
		}
		kernels512[mr][nv](k, a, rs, ps, b, ldb, c, ldc, mask, acc, bias)
	},
}

// isa256 uses the 6×16 AVX2+FMA kernels: 12 ymm accumulators.
var isa256 = gemmISA{
	name: "avx2", mr: 6, nr: 16, kc: 256, mc: 96, nc: 384,
	tile: func(mr, nr, k int, a *float32, rs, ps int, b *float32, ldb int, c *float32, ldc int, accum bool, bias *float32) {
		if nr < 16 {
			tileViaTemp(kernels256[mr], 16, mr, nr, k, a, rs, ps, b, ldb, c, ldc, accum, bias)
			return
		}
		acc := 0
		if accum {
			acc = 1
		}
		kernels256[mr](k, a, rs, ps, b, ldb, c, ldc, 0, acc, bias)
	},
}

// gemmISAs lists the kernels this CPU can run, fastest first; the tests
// check each against the reference.
var gemmISAs = func() []*gemmISA {
	var l []*gemmISA
	x := cpu.X86
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512DQ {
		l = append(l, &isa512)
	}
	if x.HasAVX2 && x.HasFMA {
		l = append(l, &isa256)
	}
	return l
}()

// activeISA is the kernel set Gemm uses (nil: the plain Go loop).
var activeISA = func() *gemmISA {
	if len(gemmISAs) == 0 {
		return nil
	}
	return gemmISAs[0]
}()
