package tensor

import "math"

// This file holds the non-matmul kernels. Each exported function is the
// implementation used in training; where a faster version exists it keeps a
// plain xxxRef beside it as its oracle. Backward kernels accumulate (dx += …).

// AddBias adds bias (n) to every row of y (rows, n).
func AddBias(y, bias []float32, rows, n int) {
	for r := 0; r < rows; r++ {
		row := y[r*n : r*n+n]
		for j, b := range bias[:n] {
			row[j] += b
		}
	}
}

// BiasGrad accumulates dbias (n) += column sums of dy (rows, n).
func BiasGrad(dbias, dy []float32, rows, n int) {
	for r := 0; r < rows; r++ {
		row := dy[r*n : r*n+n]
		for j, g := range row {
			dbias[j] += g
		}
	}
}

// LayerNormForward normalises each row of x (rows, n):
// out = (x − mean)·rstd·gamma + beta, with rstd = 1/sqrt(var + eps) and the
// biased variance, as torch.nn.LayerNorm. mean and rstd (rows) are saved for
// the backward pass; gamma and beta may be nil (no affine, as in the
// attention-only model's optional norm).
func LayerNormForward(out, mean, rstd, x, gamma, beta []float32, rows, n int, eps float32) {
	for r := 0; r < rows; r++ {
		xr := x[r*n : r*n+n]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mu := s / float64(n)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mu
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(n)+float64(eps))
		mean[r], rstd[r] = float32(mu), float32(rs)
		o := out[r*n : r*n+n]
		m32, r32 := float32(mu), float32(rs)
		for j, v := range xr {
			h := (v - m32) * r32
			if gamma != nil {
				h = h*gamma[j] + beta[j]
			}
			o[j] = h
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
	for r := 0; r < rows; r++ {
		xr := x[r*n : r*n+n]
		dr := dout[r*n : r*n+n]
		mu, rs := mean[r], rstd[r]
		var sg, sgh float32
		for j := range xr {
			h := (xr[j] - mu) * rs
			g := dr[j]
			if gamma != nil {
				g *= gamma[j]
			}
			sg += g
			sgh += g * h
		}
		sg /= float32(n)
		sgh /= float32(n)
		dxr := dx[r*n : r*n+n]
		for j := range xr {
			h := (xr[j] - mu) * rs
			g := dr[j]
			if gamma != nil {
				dgamma[j] += dr[j] * h
				dbeta[j] += dr[j]
				g *= gamma[j]
			}
			dxr[j] += rs * (g - sg - h*sgh)
		}
	}
}

// geluC is sqrt(2/π), the constant of GPT-2's tanh approximation of GELU.
const geluC = 0.7978845608028654

// GELUForward applies GPT-2's tanh-approximated GELU (torch's
// approximate='tanh'): out = x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).
func GELUForward(out, x []float32) {
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		out[i] = 0.5 * v * (1 + float32(math.Tanh(float64(u))))
	}
}

// GELUBackward accumulates dx += dout·GELU'(x).
func GELUBackward(dx, x, dout []float32) {
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		th := float32(math.Tanh(float64(u)))
		sech2 := 1 - th*th
		du := float32(geluC) * (1 + 3*0.044715*v*v)
		dx[i] += dout[i] * (0.5*(1+th) + 0.5*v*sech2*du)
	}
}

// CausalSoftmaxForward turns one head's attention scores (T, T) into
// probabilities in place: row t keeps columns 0..t (scaled by scale before the
// softmax) and sets the masked columns to 0.
func CausalSoftmaxForward(att []float32, T int, scale float32) {
	for t := 0; t < T; t++ {
		row := att[t*T : t*T+T]
		mx := float32(math.Inf(-1))
		for j := 0; j <= t; j++ {
			if v := row[j] * scale; v > mx {
				mx = v
			}
		}
		var s float32
		for j := 0; j <= t; j++ {
			e := float32(math.Exp(float64(row[j]*scale - mx)))
			row[j] = e
			s += e
		}
		inv := 1 / s
		for j := 0; j <= t; j++ {
			row[j] *= inv
		}
		clear(row[t+1:])
	}
}

// CausalSoftmaxBackward accumulates the gradient of the pre-softmax scores
// dpre (T, T) += scale·att⊙(datt − rowsum(datt⊙att)), for the probabilities
// att written by CausalSoftmaxForward.
func CausalSoftmaxBackward(dpre, datt, att []float32, T int, scale float32) {
	for t := 0; t < T; t++ {
		a := att[t*T : t*T+t+1]
		d := datt[t*T : t*T+t+1]
		var dot float32
		for j := range a {
			dot += a[j] * d[j]
		}
		dp := dpre[t*T : t*T+t+1]
		for j := range a {
			dp[j] += scale * a[j] * (d[j] - dot)
		}
	}
}

// SoftmaxCrossEntropy computes, for logits (rows, V) and targets (rows), the
// sum over rows of −log softmax(logits)[target] and returns it with the
// number of counted rows. A negative target marks a row that is ignored.
// If dlogits is not nil it is OVERWRITTEN with gradScale·(softmax − onehot)
// (zero for ignored rows): the fused form saves a pass over the largest
// activation of a small model. Sums are in float64, in row order.
func SoftmaxCrossEntropy(dlogits, logits []float32, targets []int32, rows, V int, gradScale float32) (sum float64, count int) {
	for r := 0; r < rows; r++ {
		lr := logits[r*V : r*V+V]
		tg := targets[r]
		if tg < 0 {
			if dlogits != nil {
				clear(dlogits[r*V : r*V+V])
			}
			continue
		}
		mx := lr[0]
		for _, v := range lr[1:] {
			if v > mx {
				mx = v
			}
		}
		var s float64
		for _, v := range lr {
			s += math.Exp(float64(v - mx))
		}
		lse := float64(mx) + math.Log(s)
		sum += lse - float64(lr[tg])
		count++
		if dlogits != nil {
			dr := dlogits[r*V : r*V+V]
			for j, v := range lr {
				dr[j] = gradScale * float32(math.Exp(float64(v)-lse))
			}
			dr[tg] -= gradScale
		}
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
	for i := range x {
		x[i] *= s
	}
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
	b1, b2 := h.Beta1, h.Beta2
	for i := range p {
		gi := g[i]
		mi := b1*m[i] + (1-b1)*gi
		vi := b2*v[i] + (1-b2)*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/bc2sqrt + h.Eps
		p[i] = p[i]*decay - stepSize*mi/denom
	}
}
