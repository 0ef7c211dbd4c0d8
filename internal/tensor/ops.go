package tensor

import "math"

// This file holds the non-matmul kernels. Each exported function is the
// implementation used in training; where a faster version exists it keeps a
// plain xxxRef beside it as its oracle. Backward kernels accumulate (dx += …).

// AddBias adds bias (n) to every row of y (rows, n).
func AddBias(y, bias []float32, rows, n int) {
	run(&biasJobs, rowChunks(rows, n), biasJob{y: y, bias: bias[:n], rows: rows})
}

// biasJob is AddBias (post nil) or BiasGELUForward over fixed row chunks.
type biasJob struct {
	y, post, bias []float32
	rows          int
}

var biasJobs jobList[biasJob]

func (j *biasJob) do(ci int) {
	n := len(j.bias)
	r0, r1 := rowChunk(ci, j.rows, n)
	for r := r0; r < r1; r++ {
		row := j.y[r*n : r*n+n]
		addSpan(row, row, j.bias)
		if j.post != nil {
			geluForwardSpan(j.post[r*n:r*n+n], row)
		}
	}
}

// BiasGELUForward adds bias (n) to every row of pre (rows, n) in place and
// writes post = GELU(pre) (GELUForward's formula), row by row so each row
// is still in L1 for its second pass: the MLP's c_fc bias and activation
// in one sweep over memory.
func BiasGELUForward(post, pre, bias []float32, rows, n int) {
	_ = post[rows*n-1]
	run(&biasJobs, rowChunks(rows, n), biasJob{y: pre, post: post, bias: bias[:n], rows: rows})
}

// Add sets dst = a + b elementwise (dst may alias a or b): the residual
// stream's x + f(x) in one pass.
func Add(dst, a, b []float32) {
	n := len(a)
	run(&elemJobs, elemChunks(n), elemJob{op: elemAdd, x: a, y: dst[:n], z: b[:n]})
}

// elemJob is an elementwise kernel over fixed chunks of elemPer elements.
type elemJob struct {
	op      elemOp
	x, y, z []float32 // the operands, as each op names them
	s       float32
}

type elemOp int

const (
	elemAdd        elemOp = iota // y = x + z
	elemGELU                     // y = GELU(x)
	elemGELUBwd                  // y += z·GELU'(x)
	elemGELUBwdSet               // y = z·GELU'(x)
	elemScale                    // x *= s
	elemReLU                     // y = max(x, 0)
	elemReLUBwd                  // y += z·1[x > 0]
	elemGELUErf                  // y = exact GELU(x)
)

var elemJobs jobList[elemJob]

func (j *elemJob) do(ci int) {
	i0, i1 := elemChunk(ci, len(j.x))
	x := j.x[i0:i1]
	switch j.op {
	case elemAdd:
		addSpan(j.y[i0:i1], x, j.z[i0:i1])
	case elemGELU:
		geluForwardSpan(j.y[i0:i1], x)
	case elemGELUBwd:
		geluBackwardSpan(j.y[i0:i1], x, j.z[i0:i1])
	case elemGELUBwdSet:
		geluBackwardSetSpan(j.y[i0:i1], x, j.z[i0:i1])
	case elemScale:
		scaleSpan(x, j.s)
	case elemReLU:
		reluForwardSpan(j.y[i0:i1], x)
	case elemReLUBwd:
		reluBackwardSpan(j.y[i0:i1], x, j.z[i0:i1])
	case elemGELUErf:
		geluErfGo(j.y[i0:i1], x)
	}
}

// BiasGrad accumulates dbias (n) += column sums of dy (rows, n).
func BiasGrad(dbias, dy []float32, rows, n int) {
	// Chunks own disjoint column ranges, so each dbias[j] is summed over rows
	// in row order whatever the thread count (and whatever the chunk width:
	// narrower chunks would share n ≤ 256 between threads but measured
	// slower, 64-float row pieces being too short for the vector loop).
	run(&biasGradJobs, (n+biasCols-1)/biasCols, biasGradJob{dbias: dbias[:n], dy: dy, rows: rows})
}

type biasGradJob struct {
	dbias, dy []float32
	rows      int
}

var biasGradJobs jobList[biasGradJob]

func (j *biasGradJob) do(ci int) {
	n := len(j.dbias)
	j0, j1 := ci*biasCols, min(ci*biasCols+biasCols, n)
	db := j.dbias[j0:j1]
	for r := 0; r < j.rows; r++ {
		addSpan(db, db, j.dy[r*n+j0:r*n+j1])
	}
}

// biasCols is BiasGrad's column chunk.
const biasCols = 256

// GELUBiasBackward OVERWRITES dpre (rows, n) with dpost·GELU'(pre) and
// accumulates dbias (n) += its column sums (BiasGrad): the MLP's activation
// and c_fc bias backward without clearing dpre first. (Fusing the bias sums
// into the same sweep needs column chunks, which measured slower.)
func GELUBiasBackward(dpre, dbias, pre, dpost []float32, rows, n int) {
	pre = pre[:rows*n]
	run(&elemJobs, elemChunks(rows*n), elemJob{op: elemGELUBwdSet, x: pre, y: dpre[:rows*n], z: dpost[:rows*n]})
	BiasGrad(dbias, dpre, rows, n)
}

// LayerNormForward normalises each row of x (rows, n):
// out = (x − mean)·rstd·gamma + beta, with rstd = 1/sqrt(var + eps) and the
// biased variance, as torch.nn.LayerNorm. mean and rstd (rows) are saved for
// the backward pass; gamma and beta may be nil (no affine, as in the
// attention-only model's optional norm).
func LayerNormForward(out, mean, rstd, x, gamma, beta []float32, rows, n int, eps float32) {
	run(&lnFwdJobs, rowChunks(rows, n), lnFwdJob{out: out, mean: mean, rstd: rstd, x: x, gamma: gamma, beta: beta, rows: rows, n: n, eps: eps})
}

type lnFwdJob struct {
	out, mean, rstd, x, gamma, beta []float32
	rows, n                         int
	eps                             float32
}

var lnFwdJobs jobList[lnFwdJob]

func (j *lnFwdJob) do(ci int) {
	out, mean, rstd, x, gamma, beta, n, eps := j.out, j.mean, j.rstd, j.x, j.gamma, j.beta, j.n, j.eps
	r0, r1 := rowChunk(ci, j.rows, n)
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
}

// LayerNormBackward accumulates dx, dgamma and dbeta from dout, using the
// mean and rstd saved by LayerNormForward. gamma nil means no affine (and
// dgamma, dbeta are then ignored).
//
// With h = (x−μ)·rstd and g = dout·gamma:
// dx = rstd·(g − mean(g) − h·mean(g·h))   (the standard LayerNorm gradient).
func LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, rows, n int) {
	layerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd, rows, n, nil)
}

// LayerNormBackwardRows is LayerNormBackward on the compacted rows of set
// (dx, dout, x, mean and rstd hold len(set.Idx) rows): dx is that of
// LayerNormBackward over the full matrix, and dgamma and dbeta are its bits
// when every row of dout outside set is zero (see RowSet).
func LayerNormBackwardRows(dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, set *RowSet, n int) {
	layerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd, set.Full, n, set)
}

// layerNormBackward is LayerNormBackward over rows full rows, of which the
// buffers hold those of set (nil: all).
func layerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, rows, n int, set *RowSet) {
	// dx rows are independent; dgamma and dbeta are reductions over rows, so
	// each fixed chunk of rows sums into its own partials, added in chunk
	// order afterwards (bit-identical for any thread count). The chunks are
	// those of the full matrix also when the buffers hold a subset.
	chunks := (rows + lnRowsPerChunk - 1) / lnRowsPerChunk
	var part []float32
	if gamma != nil {
		pp := getBuf(chunks * 2 * n)
		defer putBuf(pp)
		part = *pp
		clear(part)
	}
	run(&lnBwdJobs, chunks, lnBwdJob{dx: dx, part: part, dout: dout, x: x, gamma: gamma, mean: mean, rstd: rstd, rows: rows, n: n, set: set})
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

type lnBwdJob struct {
	dx, part, dout, x, gamma, mean, rstd []float32
	rows, n                              int
	set                                  *RowSet
}

var lnBwdJobs jobList[lnBwdJob]

func (j *lnBwdJob) do(ci int) {
	dx, part, dout, x, gamma, mean, rstd, rows, n := j.dx, j.part, j.dout, j.x, j.gamma, j.mean, j.rstd, j.rows, j.n
	r0, r1 := j.set.span(ci*lnRowsPerChunk, min(ci*lnRowsPerChunk+lnRowsPerChunk, rows))
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
}

// lnRowsPerChunk is LayerNormBackward's chunk: the dgamma/dbeta partials
// cost 2n floats per chunk, so chunks are large.
const lnRowsPerChunk = 64

// Row kernels cut their rows into fixed chunks of about 16K elements' worth
// of rows, elementwise kernels into chunks of elemPer elements: sizes only,
// never the thread count.
const elemPer = 1 << 14

func rowsPer(n int) int { return max(1, elemPer/max(n, 1)) }

// rowChunks is the number of row chunks of a (rows, n) matrix.
func rowChunks(rows, n int) int { per := rowsPer(n); return (rows + per - 1) / per }

// rowChunk is chunk ci's rows [r0, r1).
func rowChunk(ci, rows, n int) (r0, r1 int) {
	per := rowsPer(n)
	return ci * per, min(ci*per+per, rows)
}

// elemChunks is the number of elementwise chunks of [0, n).
func elemChunks(n int) int { return (n + elemPer - 1) / elemPer }

// elemChunk is chunk ci's elements [i0, i1) of [0, n).
func elemChunk(ci, n int) (i0, i1 int) { return ci * elemPer, min(ci*elemPer+elemPer, n) }

// run executes the kernel v over n chunks in a job struct from l (see
// jobList), so the call allocates nothing.
func run[T any, P interface {
	*T
	task
}](l *jobList[T], n int, v T) {
	run2[T, P](parallel, l, n, v)
}

// run2 is run with par (parallel or serial) running the chunks.
func run2[T any, P interface {
	*T
	task
}](par func(int, task), l *jobList[T], n int, v T) {
	j := l.get()
	*j = v
	par(n, P(j))
	var zero T
	*j = zero // drop the references to the caller's buffers
	l.put(j)
}

// geluC is sqrt(2/π), the constant of GPT-2's tanh approximation of GELU.
const geluC = 0.7978845608028654

// GELUForward applies GPT-2's tanh-approximated GELU (torch's
// approximate='tanh'): out = x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).
func GELUForward(out, x []float32) {
	run(&elemJobs, elemChunks(len(x)), elemJob{op: elemGELU, x: x, y: out[:len(x)]})
}

// GELUBackward accumulates dx += dout·GELU'(x).
func GELUBackward(dx, x, dout []float32) {
	run(&elemJobs, elemChunks(len(x)), elemJob{op: elemGELUBwd, x: x, y: dx[:len(x)], z: dout[:len(x)]})
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
// activation of a small model. Gradient entries below the normal float32
// range are 0, not subnormal. Sums are in float64, in row order.
func SoftmaxCrossEntropy(dlogits, logits []float32, targets []int32, rows, V int, gradScale float32) (sum float64, count int) {
	return softmaxCrossEntropy(dlogits, logits, targets, rows, V, gradScale, nil)
}

// SoftmaxCrossEntropyRows is SoftmaxCrossEntropy on the compacted rows of
// set (dlogits, logits and targets hold len(set.Idx) rows): the same rows
// of dlogits, and the sum's bits over the full matrix when every row
// outside set is ignored (its rows are added in the full matrix's chunks).
func SoftmaxCrossEntropyRows(dlogits, logits []float32, targets []int32, set *RowSet, V int, gradScale float32) (sum float64, count int) {
	return softmaxCrossEntropy(dlogits, logits, targets, set.Full, V, gradScale, set)
}

// softmaxCrossEntropy is SoftmaxCrossEntropy over rows full rows, of which
// the buffers hold those of set (nil: all).
func softmaxCrossEntropy(dlogits, logits []float32, targets []int32, rows, V int, gradScale float32, set *RowSet) (sum float64, count int) {
	// Rows in fixed chunks (of the full matrix); per-chunk sums are added in
	// chunk order.
	chunks := rowChunks(rows, V)
	j := sceJobs.get()
	j.dlogits, j.logits, j.targets, j.rows, j.V, j.gradScale, j.set = dlogits, logits, targets, rows, V, gradScale, set
	if cap(j.sums) < chunks {
		j.sums, j.counts = make([]float64, chunks), make([]int, chunks)
	}
	j.sums, j.counts = j.sums[:chunks], j.counts[:chunks]
	clear(j.sums)
	clear(j.counts)
	parallel(chunks, j)
	for ci := range j.sums {
		sum += j.sums[ci]
		count += j.counts[ci]
	}
	j.dlogits, j.logits, j.targets, j.set = nil, nil, nil, nil
	sceJobs.put(j)
	return sum, count
}

// sceJob is SoftmaxCrossEntropy over fixed row chunks; sums and counts (one
// per chunk) stay with the job for its next use.
type sceJob struct {
	dlogits, logits []float32
	targets         []int32
	rows, V         int
	gradScale       float32
	set             *RowSet
	sums            []float64
	counts          []int
}

var sceJobs jobList[sceJob]

func (j *sceJob) do(ci int) {
	V := j.V
	r0, r1 := j.set.span(rowChunk(ci, j.rows, V))
	for r := r0; r < r1; r++ {
		lr := j.logits[r*V : r*V+V]
		tg := j.targets[r]
		if tg < 0 {
			if j.dlogits != nil {
				clear(j.dlogits[r*V : r*V+V])
			}
			continue
		}
		mx := maxSpan(lr)
		var dr []float32
		if j.dlogits != nil {
			dr = j.dlogits[r*V : r*V+V]
		}
		// e^{v−max} in float32 (each ≤ 1, summed in float32: the
		// relative error of a sum of positive terms is n·ulp at worst).
		s := expShiftSpan(dr, lr, 1, mx)
		j.sums[ci] += float64(mx) + math.Log(float64(s)) - float64(lr[tg])
		j.counts[ci]++
		if dr != nil {
			// Entries that would be subnormal become 0: once a model
			// has memorised its data, most of a row is below the normal
			// range, and subnormal operands cost microcode assists in
			// every product that reads them.
			scaleFlushSpan(dr, j.gradScale/s)
			dr[tg] -= j.gradScale
		}
	}
}

// Gather copies rows idx[i] of table (·, C) into out (len(idx), C).
func Gather(out, table []float32, idx []int32, C int) {
	for i, id := range idx {
		copy(out[i*C:i*C+C], table[int(id)*C:int(id)*C+C])
	}
}

// GatherAdd accumulates out[i] += table[idx[i]] for out (len(idx), C),
// skipping the rows whose index is negative: one term of an embedding bag.
func GatherAdd(out, table []float32, idx []int32, C int) {
	for i, id := range idx {
		if id >= 0 {
			o := out[i*C : i*C+C]
			addSpan(o, o, table[int(id)*C:int(id)*C+C])
		}
	}
}

// ScatterAdd accumulates dtable[idx[i]] += dout[i] for dout (len(idx), C),
// in index order (deterministic even when an index repeats), skipping
// negative indices.
func ScatterAdd(dtable, dout []float32, idx []int32, C int) {
	for i, id := range idx {
		if id >= 0 {
			d := dtable[int(id)*C : int(id)*C+C]
			addSpan(d, d, dout[i*C:i*C+C])
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
	run(&elemJobs, elemChunks(len(x)), elemJob{op: elemScale, x: x, s: s})
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
	n := len(p)
	run(&adamJobs, elemChunks(n), adamJob{p: p, g: g[:n], m: m[:n], v: v[:n], c: adamConsts{
		b1: h.Beta1, omb1: 1 - h.Beta1, b2: h.Beta2, omb2: 1 - h.Beta2, eps: h.Eps, decay: 1 - h.LR*h.WeightDecay,
		stepSize: float32(float64(h.LR) / bc1), bc2sqrt: float32(math.Sqrt(bc2))}})
}

// adamConsts are one AdamW step's scalars, in the order the assembly
// kernel reads them.
type adamConsts struct {
	b1, omb1, b2, omb2, eps, decay, stepSize, bc2sqrt float32
}

type adamJob struct {
	p, g, m, v []float32
	c          adamConsts
}

var adamJobs jobList[adamJob]

func (j *adamJob) do(ci int) {
	i0, i1 := elemChunk(ci, len(j.p))
	adamWSpan(j.p[i0:i1], j.g[i0:i1], j.m[i0:i1], j.v[i0:i1], &j.c)
}

// adamWGo is the AdamW update of one span in float32, flushing subnormal
// inputs and results to zero as the assembly kernel does with MXCSR's
// denormals-are-zero and flush-to-zero (ftz after every operation; the
// conversions keep the compiler from fusing a multiply and an add).
func adamWGo(p, g, m, v []float32, c *adamConsts) {
	b1, omb1, b2, omb2, eps, decay, stepSize, bc2sqrt := c.b1, c.omb1, c.b2, c.omb2, c.eps, c.decay, c.stepSize, c.bc2sqrt
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi := ftz(g[i])
		mi := ftz(ftz(float32(b1*ftz(m[i]))) + ftz(float32(omb1*gi)))
		vi := ftz(ftz(float32(b2*ftz(v[i]))) + ftz(float32(ftz(float32(omb2*gi))*gi)))
		m[i], v[i] = mi, vi
		// float32 sqrt: SQRTSS is exact (correctly rounded) like the
		// float64 sqrt rounded to float32.
		denom := ftz(ftz(float32(math.Sqrt(float64(vi)))/bc2sqrt) + eps)
		p[i] = ftz(ftz(float32(ftz(p[i])*decay)) - ftz(ftz(float32(stepSize*mi))/denom))
	}
}

// ftz is x, or a zero of x's sign when x is subnormal: what MXCSR's
// flush-to-zero makes of a result and denormals-are-zero of an operand.
func ftz(x float32) float32 {
	if b := math.Float32bits(x); b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return x
}
