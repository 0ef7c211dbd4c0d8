package tensor

// Gemm computes C = beta·C + op(A)·op(B) for row-major matrices, where
// op(A) is (m, k) and op(B) is (k, n); op(X) is X or its transpose.
// lda, ldb and ldc are the row strides of A, B and C as stored (so strided
// views such as one head's columns of a (T, 3C) QKV buffer work directly).
// beta is usually 0 (overwrite) or 1 (accumulate, for gradients).
//
// Panics if a buffer is too short: that is a programming error in emlab,
// never a user error.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	gemm(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("tensor.Gemm: negative size")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(name string, buf []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic("tensor.Gemm: leading dimension of " + name + " smaller than its columns")
		}
		if len(buf) < (rows-1)*ld+cols {
			panic("tensor.Gemm: buffer " + name + " too short")
		}
	}
	need("A", a, ar, ac, lda)
	need("B", b, br, bc, ldb)
	need("C", c, m, n, ldc)
}

// gemmRef is the reference: a triple loop accumulating in float64 (the most
// accurate oracle; fast kernels accumulate in float32 and are compared to it
// with a tolerance scaled by k).
func gemmRef(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if beta == 0 {
				c[i*ldc+j] = float32(s)
			} else {
				c[i*ldc+j] = float32(float64(beta)*float64(c[i*ldc+j]) + s)
			}
		}
	}
}

// gemmGo is the plain Go fallback used where no assembly kernel applies
// (other architectures, the purego build tag, CPUs without AVX2+FMA): a
// row-by-row saxpy loop over fixed chunks of 16 rows.
func gemmGo(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	par := parallel
	if 2*m*n*k < gemmSerialFlops {
		par = serial
	}
	run2(par, &gemmGoJobs, (m+gemmGoRows-1)/gemmGoRows, gemmGoJob{transA: transA, transB: transB, m: m, n: n, k: k,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, beta: beta})
}

// gemmGoRows is gemmGo's chunk of rows.
const gemmGoRows = 16

type gemmGoJob struct {
	transA, transB bool
	m, n, k        int
	a, b, c        []float32
	lda, ldb, ldc  int
	beta           float32
}

var gemmGoJobs jobList[gemmGoJob]

func (j *gemmGoJob) do(ci int) {
	transA, transB, n, k, a, b, c, lda, ldb, ldc, beta := j.transA, j.transB, j.n, j.k, j.a, j.b, j.c, j.lda, j.ldb, j.ldc, j.beta
	i0 := ci * gemmGoRows
	i1 := min(i0+gemmGoRows, j.m)
	for i := i0; i < i1; i++ {
		crow := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(crow)
		} else if beta != 1 {
			for j := range crow {
				crow[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if transB {
				for j := range crow {
					crow[j] += av * b[j*ldb+p]
				}
			} else {
				brow := b[p*ldb : p*ldb+n]
				for j := range crow {
					crow[j] += av * brow[j]
				}
			}
		}
	}
}

// gemm dispatches to the blocked assembly kernels where the CPU has them and
// to the plain Go loop otherwise.
func gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if isa := activeISA; isa != nil {
		gemmBlocked(isa, transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, nil)
		return
	}
	gemmGo(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// GemmBias is Gemm with C's rows then incremented by bias (n): the linear
// layer y = x·W + b in one pass over C. The result is bit-identical to Gemm
// followed by AddBias (the kernels add the bias after the last k-block,
// the same float32 addition), so callers may mix the two forms.
func GemmBias(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias []float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if len(bias) < n {
		panic("tensor.GemmBias: bias shorter than n")
	}
	if m == 0 || n == 0 {
		return
	}
	if isa := activeISA; isa != nil && k > 0 {
		gemmBlocked(isa, transA, transB, m, n, k, a, lda, b, ldb, 0, c, ldc, bias[:n])
		return
	}
	gemm(transA, transB, m, n, k, a, lda, b, ldb, 0, c, ldc)
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		addSpan(row, row, bias[:n])
	}
}
