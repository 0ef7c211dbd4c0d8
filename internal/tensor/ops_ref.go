package tensor

import "math"

// Plain reference kernels: the oracles of the fast ones in ops.go, kept as
// they were first written (float64 libm calls, one row at a time).

// layerNormForwardRef is the reference for LayerNormForward.
func layerNormForwardRef(out, mean, rstd, x, gamma, beta []float32, rows, n int, eps float32) {
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

// layerNormBackwardRef is the reference for LayerNormBackward.
func layerNormBackwardRef(dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, rows, n int) {
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

// geluForwardRef is the reference for GELUForward.
func geluForwardRef(out, x []float32) {
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		out[i] = 0.5 * v * (1 + float32(math.Tanh(float64(u))))
	}
}

// geluBackwardRef is the reference for GELUBackward.
func geluBackwardRef(dx, x, dout []float32) {
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		th := float32(math.Tanh(float64(u)))
		sech2 := 1 - th*th
		du := float32(geluC) * (1 + 3*0.044715*v*v)
		dx[i] += dout[i] * (0.5*(1+th) + 0.5*v*sech2*du)
	}
}

// causalSoftmaxForwardRef is the reference for CausalSoftmaxForward.
func causalSoftmaxForwardRef(att []float32, T int, scale float32) {
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

// causalSoftmaxBackwardRef is the reference for CausalSoftmaxBackward.
func causalSoftmaxBackwardRef(dpre, datt, att []float32, T int, scale float32) {
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

// softmaxCrossEntropyRef is the reference for SoftmaxCrossEntropy.
func softmaxCrossEntropyRef(dlogits, logits []float32, targets []int32, rows, V int, gradScale float32) (sum float64, count int) {
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

// adamWRef is the reference for AdamW.
func adamWRef(p, g, m, v []float32, h AdamWParams) {
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

// biasGradRef is the reference for BiasGrad.
func biasGradRef(dbias, dy []float32, rows, n int) {
	for r := 0; r < rows; r++ {
		row := dy[r*n : r*n+n]
		for j, g := range row {
			dbias[j] += g
		}
	}
}
