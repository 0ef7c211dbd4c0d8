// Package tensor holds emlab's float32 kernels: matrix multiplication with the
// transposes training needs, softmax, layernorm, GELU, embedding gather and
// scatter-add, fused softmax cross-entropy and the AdamW update.
//
// # Conventions
//
// Every buffer is a flat row-major []float32; shapes are written in comments
// as (rows, cols). Backward kernels ACCUMULATE into the gradients of their
// inputs (dx += ...), as in llm.c, so a residual stream's gradient can be
// summed by several consumers without temporaries. Callers zero gradients.
//
// # Reference kernels
//
// Each fast kernel has a plain reference (gemmRef, layerNormForwardRef, ...)
// written for clarity only; the tests use it as the oracle.
//
// # Threads and determinism
//
// Work is split into chunks whose boundaries depend only on the problem size,
// never on the number of threads, and each output element is computed by one
// goroutine in a fixed order; reductions combine per-chunk partial sums in
// chunk order. Results are therefore bit-identical for any SetThreads value.
//
// A model that computes only some rows of a matrix (a RowSet: the rows whose
// target is not ignored, compacted) reduces over them with the …Rows
// kernels (GemmTNRows, LayerNormBackwardRows, SoftmaxCrossEntropyRows),
// which add the compacted rows in the chunks of the full matrix: the bits of
// the full kernel on a matrix whose other rows are zero (rowset.go).
//
// ParallelFor runs its chunks on a pool of persistent workers (parallel.go)
// that spin briefly between regions, then park. A ParallelFor inside a
// running region opens a region of its own, run by its caller and joined
// by any idle goroutine, so a model can hand whole micro-batches to the
// cores, each running its kernels, and a core that finishes first helps
// the other. Kernels
// keep their arguments in task structs from free lists and their packing
// buffers in free lists too: after the first call of a shape, a kernel call
// allocates nothing.
//
// # Subnormal numbers
//
// Arithmetic on subnormal floats can take microcode assists (on the AMD Zen
// 4 measured: 4–7× for a multiply that reads or produces one, while FMAs
// run at full speed), and a run whose loss has gone to zero produces them
// in Adam's moments and in the cross-entropy gradient. AdamW's kernel sets
// MXCSR's flush-to-zero and denormals-are-zero for its span and restores
// MXCSR after it; the cross-entropy gradient sets entries that would be
// subnormal to 0. Everywhere else Go keeps IEEE subnormals. The GEMM does
// not flush: an MXCSR switch costs ~150 cycles, more than a small tile.
//
// # Fast paths
//
// Gemm runs avo-generated assembly micro-kernels (AVX-512: 14×32 tiles; AVX2
// with FMA: 6×16), chosen at start-up from the CPU's features, inside a
// cache-blocked Go driver (gemm_blocked.go); other CPUs, other
// architectures and the purego build tag use a plain Go loop. The generator
// is internal/asmgen (`go generate ./internal/tensor`). GemmBias adds a bias
// row in the micro-kernels' last store (bit-identical to Gemm then AddBias).
//
// The elementwise and row kernels (GELU, ReLU, softmax rows, cross-entropy,
// LayerNorm rows, adds, AdamW, GEMM packing) are built from "spans" (vec.go): on
// CPUs with AVX-512 they run the avo-generated gen_vec_amd64.s, 16 floats at
// a time with a masked tail, so an element's result never depends on where
// a chunk starts; elsewhere the plain Go loops of vec.go, which are also the
// assembly's test oracle. exp is Cephes' expf in both forms (≤ 3e-7
// relative error, 0 below the normal range); the references use float64
// libm. AttentionHeadForward/Backward fuse one causal attention head on the
// GEMM tiles, skipping the masked triangle; their softmax rows run in blocks
// of up to 16 whose horizontal folds share one shuffle network (the same
// bits as row by row). Given a pattern buffer that already holds the zeros
// above the diagonal, the forward leaves those right of the diagonal row
// blocks unwritten: no product reads them. AttentionRow is the forward's last row alone, for a
// decoder's cached keys.
//
// What this package deliberately does not do: shapes, autograd, allocation
// policies. Models in package nn own their buffers and call these kernels.
package tensor
