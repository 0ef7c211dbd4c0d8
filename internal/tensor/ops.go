package tensor

import "math"

// This file holds the non-matmul kernels. Each exported function is the
// implementation used in training; where a faster version exists it keeps a
// plain xxxRef beside it as its oracle. Backward kernels accumulate (dx += …).

// AddBias adds bias (n) to every row of y (rows, n).
func AddBias(y, bias []float32, rows, n int) {
	bias = bias[:n]
	parallelRows(rows, n, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			row := y[r*n : r*n+n]
			addSpan(row, row, bias)
		}
	})
}

// BiasGELUForward adds bias (n) to every row of pre (rows, n) in place and
// writes post = GELU(pre) (GELUForward's formula), row by row so each row
// is still in L1 for its second pass: the MLP's c_fc bias and activation
// in one sweep over memory.
func BiasGELUForward(post, pre, bias []float32, rows, n int) {
	bias = bias[:n]
	parallelRows(rows, n, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			row := pre[r*n : r*n+n]
			addSpan(row, row, bias)
			geluForwardSpan(post[r*n:r*n+n], row)
		}
	})
}

// Add sets dst = a + b elementwise (dst may alias a or b): the residual
// stream's x + f(x) in one pass.
func Add(dst, a, b []float32) {
	n := len(a)
	dst, b = dst[:n], b[:n]
	parallelElems(n, func(i0, i1 int) {
		addSpan(dst[i0:i1], a[i0:i1], b[i0:i1])
	})
}

// BiasGrad accumulates dbias (n) += column sums of dy (rows, n).
func BiasGrad(dbias, dy []float32, rows, n int) {
	// Chunks own disjoint column ranges, so each dbias[j] is summed over rows
	// in row order whatever the thread count (and whatever the chunk width:
	// narrower chunks would share n ≤ 256 between threads but measured
	// slower, 64-float row pieces being too short for the vector loop).
	const cols = biasCols
	ParallelFor((n+cols-1)/cols, func(ci int) {
		j0, j1 := ci*cols, min(ci*cols+cols, n)
		db := dbias[j0:j1]
		for r := 0; r < rows; r++ {
			addSpan(db, db, dy[r*n+j0:r*n+j1])
		}
	})
}

// biasCols is BiasGrad's column chunk.
const biasCols = 256

// GELUBiasBackward OVERWRITES dpre (rows, n) with dpost·GELU'(pre) and
// accumulates dbias (n) += its column sums (BiasGrad): the MLP's activation
// and c_fc bias backward without clearing dpre first. (Fusing the bias sums
// into the same sweep needs column chunks, which measured slower.)
func GELUBiasBackward(dpre, dbias, pre, dpost []float32, rows, n int) {
	parallelElems(rows*n, func(i0, i1 int) {
		geluBackwardSetSpan(dpre[i0:i1], pre[i0:i1], dpost[i0:i1])
	})
	BiasGrad(dbias, dpre, rows, n)
}

// LayerNormForward normalises each row of x (rows, n):
// out = (x − mean)·rstd·gamma + beta, with rstd = 1/sqrt(var + eps) and the
// biased variance, as torch.nn.LayerNorm. mean and rstd (rows) are saved for
// the backward pass; gamma and beta may be nil (no affine, as in the
// attention-only model's optional norm).
func LayerNormForward(out, mean, rstd, x, gamma, beta []float32, rows, n int, eps float32) {
	parallelRows(rows, n, func(r0, r1 int) {
		if lnFwdRows512(out, mean, rstd, x, gamma, beta, r0, r1, n, eps) {
			return
		}
		for r := r0; r < r1; r++ {
			xr := x[r*n : r*n+n]
			// Mean and variance in float64 (two passes), as the reference:
			// float32 sums lose digits when |mean| ≫ std.
			var s0, s1 float64
			j := 0
			for ; j+2 <= n; j += 2 {
				s0 += float64(xr[j])
				s1 += float64(xr[j+1])
			}
			if j < n {
				s0 += float64(xr[j])
			}
			mu := (s0 + s1) / float64(n)
			var q0, q1 float64
			for j = 0; j+2 <= n; j += 2 {
				d0, d1 := float64(xr[j])-mu, float64(xr[j+1])-mu
				q0 += d0 * d0
				q1 += d1 * d1
			}
			if j < n {
				d := float64(xr[j]) - mu
				q0 += d * d
			}
			rs := 1 / math.Sqrt((q0+q1)/float64(n)+float64(eps))
			mean[r], rstd[r] = float32(mu), float32(rs)
			o := out[r*n : r*n+n]
			m32, r32 := float32(mu), float32(rs)
			if gamma == nil {
				for j, v := range xr {
					o[j] = (v - m32) * r32
				}
				continue
			}
			g, b := gamma[:n], beta[:n]
			for j, v := range xr {
				o[j] = (v-m32)*r32*g[j] + b[j]
			}
		}
	})
}

// LayerNormBackward accumulates dx, dgamma and dbeta from dout, using the
// mean and rstd saved by LayerNormForward. gamma nil means no affine (and
// dgamma, dbeta are then ignored).
//
// With h = (x−μ)·rstd and g = dout·gamma:
// dx = rstd·(g − mean(g) − h·mean(g·h))   (the standard LayerNorm gradient).
func LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, rows, n int) {
	// dx rows are independent; dgamma and dbeta are reductions over rows, so
	// each fixed chunk of rows sums into its own partials, added in chunk
	// order afterwards (bit-identical for any thread count).
	chunks := (rows + lnRowsPerChunk - 1) / lnRowsPerChunk
	var part []float32
	if gamma != nil {
		pp := getBuf(chunks * 2 * n)
		defer putBuf(pp)
		part = *pp
		clear(part)
	}
	ParallelFor(chunks, func(ci int) {
		r0, r1 := ci*lnRowsPerChunk, min(ci*lnRowsPerChunk+lnRowsPerChunk, rows)
		var dg, db []float32
		if gamma != nil {
			dg, db = part[ci*2*n:ci*2*n+n], part[ci*2*n+n:ci*2*n+2*n]
		}
		if lnBwdRows512(dx, dg, db, dout, x, gamma, mean, rstd, r0, r1, n) {
			return
		}
		for r := r0; r < r1; r++ {
			xr := x[r*n : r*n+n]
			dr := dout[r*n : r*n+n]
			dxr := dx[r*n : r*n+n]
			mu, rs := mean[r], rstd[r]
			var sg, sgh float32
			if gamma == nil {
				for j, v := range xr {
					h := (v - mu) * rs
					sg += dr[j]
					sgh += dr[j] * h
				}
				sg /= float32(n)
				sgh /= float32(n)
				for j, v := range xr {
					h := (v - mu) * rs
					dxr[j] += rs * (dr[j] - sg - h*sgh)
				}
				continue
			}
			gm := gamma[:n]
			for j, v := range xr {
				h := (v - mu) * rs
				g := dr[j] * gm[j]
				sg += g
				sgh += g * h
			}
			sg /= float32(n)
			sgh /= float32(n)
			for j, v := range xr {
				h := (v - mu) * rs
				d := dr[j]
				dg[j] += d * h
				db[j] += d
				dxr[j] += rs * (d*gm[j] - sg - h*sgh)
			}
		}
	})
	if gamma != nil {
		dgamma, dbeta = dgamma[:n], dbeta[:n]
		for ci := 0; ci < chunks; ci++ {
			dg, db := part[ci*2*n:ci*2*n+n], part[ci*2*n+n:ci*2*n+2*n]
			for j := range dgamma {
				dgamma[j] += dg[j]
				dbeta[j] += db[j]
			}
		}
	}
}

// lnRowsPerChunk is LayerNormBackward's chunk: the dgamma/dbeta partials
// cost 2n floats per chunk, so chunks are large.
const lnRowsPerChunk = 64

// parallelRows runs fn over fixed chunks of about 16K elements' worth of rows.
func parallelRows(rows, n int, fn func(r0, r1 int)) {
	per := max(1, (1<<14)/max(n, 1))
	ParallelFor((rows+per-1)/per, func(ci int) {
		fn(ci*per, min(ci*per+per, rows))
	})
}

// parallelElems runs fn over fixed chunks of 16K elements of [0, n).
func parallelElems(n int, fn func(i0, i1 int)) {
	const per = 1 << 14
	ParallelFor((n+per-1)/per, func(ci int) {
		fn(ci*per, min(ci*per+per, n))
	})
}

// geluC is sqrt(2/π), the constant of GPT-2's tanh approximation of GELU.
const geluC = 0.7978845608028654

// GELUForward applies GPT-2's tanh-approximated GELU (torch's
// approximate='tanh'): out = x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).
func GELUForward(out, x []float32) {
	out = out[:len(x)]
	parallelElems(len(x), func(i0, i1 int) {
		geluForwardSpan(out[i0:i1], x[i0:i1])
	})
}

// GELUBackward accumulates dx += dout·GELU'(x).
func GELUBackward(dx, x, dout []float32) {
	dx, dout = dx[:len(x)], dout[:len(x)]
	parallelElems(len(x), func(i0, i1 int) {
		geluBackwardSpan(dx[i0:i1], x[i0:i1], dout[i0:i1])
	})
}

// CausalSoftmaxForward turns one head's attention scores (T, T) into
// probabilities in place: row t keeps columns 0..t (scaled by scale > 0
// before the softmax) and sets the masked columns to 0.
func CausalSoftmaxForward(att []float32, T int, scale float32) {
	for t := 0; t < T; t++ {
		row := att[t*T : t*T+T]
		causalSoftmaxRow(row, t+1, scale)
	}
}

// CausalSoftmaxRow turns one row of attention scores into probabilities
// in place, row = softmax(row·scale) (scale > 0), computing exactly what
// CausalSoftmaxForward computes for the last row of a (len(row), len(row))
// matrix: the decoder's one-query step uses it to stay bit-identical to
// Forward.
func CausalSoftmaxRow(row []float32, scale float32) {
	if len(row) > 0 {
		causalSoftmaxRow(row, len(row), scale)
	}
}

// causalSoftmaxRow turns row[:live] into softmax(row[:live]·scale) and
// zeroes row[live:]. scale must be positive: max(v)·scale is then
// max(v·scale) exactly (rounding is monotone).
func causalSoftmaxRow(row []float32, live int, scale float32) {
	softmaxRowSpan(row, live, scale)
}

// CausalSoftmaxBackward accumulates the gradient of the pre-softmax scores
// dpre (T, T) += scale·att⊙(datt − rowsum(datt⊙att)), for the probabilities
// att written by CausalSoftmaxForward.
func CausalSoftmaxBackward(dpre, datt, att []float32, T int, scale float32) {
	for t := 0; t < T; t++ {
		a := att[t*T : t*T+t+1]
		d := datt[t*T : t*T+t+1]
		softmaxBwdRowSpan(dpre[t*T:t*T+t+1], a, d, scale)
	}
}

// SoftmaxCrossEntropy computes, for logits (rows, V) and targets (rows), the
// sum over rows of −log softmax(logits)[target] and returns it with the
// number of counted rows. A negative target marks a row that is ignored.
// If dlogits is not nil it is OVERWRITTEN with gradScale·(softmax − onehot)
// (zero for ignored rows): the fused form saves a pass over the largest
// activation of a small model. Sums are in float64, in row order.
func SoftmaxCrossEntropy(dlogits, logits []float32, targets []int32, rows, V int, gradScale float32) (sum float64, count int) {
	// Rows in fixed chunks; per-chunk sums are added in chunk order.
	per := max(1, (1<<14)/max(V, 1))
	chunks := (rows + per - 1) / per
	sums := make([]float64, chunks)
	counts := make([]int, chunks)
	ParallelFor(chunks, func(ci int) {
		for r := ci * per; r < min(ci*per+per, rows); r++ {
			lr := logits[r*V : r*V+V]
			tg := targets[r]
			if tg < 0 {
				if dlogits != nil {
					clear(dlogits[r*V : r*V+V])
				}
				continue
			}
			mx := maxSpan(lr)
			var dr []float32
			if dlogits != nil {
				dr = dlogits[r*V : r*V+V]
			}
			// e^{v−max} in float32 (each ≤ 1, summed in float32: the
			// relative error of a sum of positive terms is n·ulp at worst).
			s := expShiftSpan(dr, lr, 1, mx)
			sums[ci] += float64(mx) + math.Log(float64(s)) - float64(lr[tg])
			counts[ci]++
			if dr != nil {
				scaleSpan(dr, gradScale/s)
				dr[tg] -= gradScale
			}
		}
	})
	for ci := range sums {
		sum += sums[ci]
		count += counts[ci]
	}
	return sum, count
}

// Gather copies rows idx[i] of table (·, C) into out (len(idx), C).
func Gather(out, table []float32, idx []int32, C int) {
	for i, id := range idx {
		copy(out[i*C:i*C+C], table[int(id)*C:int(id)*C+C])
	}
}

// ScatterAdd accumulates dtable[idx[i]] += dout[i] for dout (len(idx), C),
// in index order (deterministic even when an index repeats).
func ScatterAdd(dtable, dout []float32, idx []int32, C int) {
	for i, id := range idx {
		d := dtable[int(id)*C : int(id)*C+C]
		for j, g := range dout[i*C : i*C+C] {
			d[j] += g
		}
	}
}

// SumSquares returns Σx² in float64, summed in fixed chunks of 4096 then in
// chunk order, so the result does not depend on threads.
func SumSquares(x []float32) float64 {
	var total float64
	for i := 0; i < len(x); i += 4096 {
		var s float64
		for _, v := range x[i:min(i+4096, len(x))] {
			s += float64(v) * float64(v)
		}
		total += s
	}
	return total
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	parallelElems(len(x), func(i0, i1 int) { scaleSpan(x[i0:i1], s) })
}

// AdamWParams are the hyperparameters of one AdamW step (Loshchilov & Hutter
// 2019): decoupled weight decay p −= lr·wd·p, then the Adam update with bias
// correction. Step counts from 1.
type AdamWParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Step                               int
}

// AdamW updates parameters p in place from gradients g and the moment
// buffers m, v, exactly as torch.optim.AdamW (foreach=False):
//
//	p ← p·(1 − lr·wd)
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
func AdamW(p, g, m, v []float32, h AdamWParams) {
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(h.Step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(h.Step))
	stepSize := float32(float64(h.LR) / bc1)
	bc2sqrt := float32(math.Sqrt(bc2))
	decay := 1 - h.LR*h.WeightDecay
	b1, b2, eps := h.Beta1, h.Beta2, h.Eps
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	parallelElems(len(p), func(i0, i1 int) {
		pc, gc, mc, vc := p[i0:i1], g[i0:i1], m[i0:i1], v[i0:i1]
		for i := range pc {
			gi := gc[i]
			mi := b1*mc[i] + (1-b1)*gi
			vi := b2*vc[i] + (1-b2)*gi*gi
			mc[i], vc[i] = mi, vi
			// float32 sqrt: SQRTSS is exact (correctly rounded) like the
			// reference's float64 sqrt rounded to float32.
			denom := float32(math.Sqrt(float64(vi)))/bc2sqrt + eps
			pc[i] = pc[i]*decay - stepSize*mi/denom
		}
	})
}
