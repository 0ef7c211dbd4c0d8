package stats

import "math"

// lmFit minimises the weighted residual sum of squares
//
//	S(θ) = Σ_i w_i (y_i − f(θ, t_i))²
//
// by Levenberg–Marquardt (Marquardt 1963, with the diagonal scaling of
// JᵀWJ) and a forward-difference Jacobian; fv(θ, t, out) writes f(θ, t_i)
// for every i. It returns the parameters and S.
// Constraints are expressed by the models' parameterisations (e.g. a width
// is exp(u)), so the search itself is unconstrained. The parameter counts
// here are ≤ 6, so the normal equations are solved directly.
func lmFit(fv func(p, t, out []float64), t, y, w, p0 []float64) ([]float64, float64) {
	return lmSolve(fv, nil, t, y, w, p0)
}

// lmFitModel is lmFit on a curve model: with the model's levelTerms its
// Jacobian recomputes only the terms each parameter enters, and the
// result is bit for bit lmFit's on m.fv.
func lmFitModel(m curveModel, t, y, w, p0 []float64) ([]float64, float64) {
	return lmSolve(m.fv, m.terms, t, y, w, p0)
}

// lmSolve is lmFit, with tr (when not nil) standing in for fv: tr.eval
// at each θ the search moves to, tr.perturbed for the Jacobian's forward
// differences from it. Both write exactly what fv writes.
func lmSolve(fv func(p, t, out []float64), tr *levelTerms, t, y, w, p0 []float64) ([]float64, float64) {
	k := len(p0)
	n := len(t)
	p := append([]float64(nil), p0...)
	fx := make([]float64, n) // the model at every t for one θ
	// tm holds the per-level terms of p, tmTry those of the last θ tried.
	var tm, tmTry []float64
	if tr != nil {
		tm, tmTry = make([]float64, tr.size(n)), make([]float64, tr.size(n))
	}
	resid := func(p []float64, r, terms []float64) float64 {
		if tr != nil {
			tr.eval(p, t, terms, fx)
		} else {
			fv(p, t, fx)
		}
		var s float64
		for i := range t {
			r[i] = y[i] - fx[i]
			s += w[i] * r[i] * r[i]
		}
		if math.IsNaN(s) {
			return math.Inf(1)
		}
		return s
	}
	// One allocation for the work arrays: a fit is short, and the
	// bootstraps make hundreds of thousands of them.
	buf := make([]float64, 2*n+n*k+2*k*k+3*k)
	take := func(m int) []float64 {
		v := buf[:m:m]
		buf = buf[m:]
		return v
	}
	r := take(n)
	rTry := take(n)
	J := take(n * k) // (n, k): ∂f/∂θ
	A := take(k * k)
	M := take(k * k) // A with the damped diagonal, solved in place
	g := take(k)
	step := take(k)
	pTry := take(k)
	s := resid(p, r, tm)
	if math.IsInf(s, 1) {
		return p, s
	}
	lambda := 1e-3
	for iter := 0; iter < 300; iter++ {
		// Jacobian by forward differences.
		for j := 0; j < k; j++ {
			h := 1e-7 * math.Max(1, math.Abs(p[j]))
			old := p[j]
			p[j] = old + h
			if tr != nil {
				tr.perturbed(p, t, j, tm, fx)
			} else {
				fv(p, t, fx)
			}
			for i := range t {
				J[i*k+j] = (fx[i] - (y[i] - r[i])) / h
			}
			p[j] = old
		}
		normalEquations(J, w, r, k, A, g)
		improved := false
		for tries := 0; tries < 20; tries++ {
			copy(M, A)
			for a := 0; a < k; a++ {
				d := A[a*k+a]
				if d < 1e-12 {
					d = 1e-12
				}
				M[a*k+a] += lambda * d
			}
			if !solve(M, g, step, k) {
				lambda *= 10
				continue
			}
			for j := range p {
				pTry[j] = p[j] + step[j]
			}
			sTry := resid(pTry, rTry, tmTry)
			if sTry < s {
				rel := (s - sTry) / math.Max(s, 1e-300)
				copy(p, pTry)
				copy(r, rTry)
				tm, tmTry = tmTry, tm
				s = sTry
				lambda = math.Max(lambda/10, 1e-12)
				improved = true
				if rel < 1e-12 {
					return p, s
				}
				break
			}
			lambda *= 10
		}
		if !improved || s == 0 {
			break
		}
	}
	return p, s
}

// solve solves the k×k system M x = b by Gaussian elimination with partial
// pivoting (M and b are left modified). It reports false for a singular M.
func solve(M, b, x []float64, k int) bool {
	// b's copy lives on the stack for the models' sizes: solve runs at
	// every damping a fit tries.
	var small [8]float64
	bb := small[:0]
	if k > len(small) {
		bb = make([]float64, 0, k)
	}
	bb = append(bb, b...)
	for c := 0; c < k; c++ {
		piv := c
		for r := c + 1; r < k; r++ {
			if math.Abs(M[r*k+c]) > math.Abs(M[piv*k+c]) {
				piv = r
			}
		}
		if math.Abs(M[piv*k+c]) < 1e-300 || math.IsNaN(M[piv*k+c]) {
			return false
		}
		if piv != c {
			for j := 0; j < k; j++ {
				M[c*k+j], M[piv*k+j] = M[piv*k+j], M[c*k+j]
			}
			bb[c], bb[piv] = bb[piv], bb[c]
		}
		for r := c + 1; r < k; r++ {
			f := M[r*k+c] / M[c*k+c]
			for j := c; j < k; j++ {
				M[r*k+j] -= f * M[c*k+j]
			}
			bb[r] -= f * bb[c]
		}
	}
	for r := k - 1; r >= 0; r-- {
		v := bb[r]
		for j := r + 1; j < k; j++ {
			v -= M[r*k+j] * x[j]
		}
		x[r] = v / M[r*k+r]
		if math.IsNaN(x[r]) || math.IsInf(x[r], 0) {
			return false
		}
	}
	return true
}

// normalEquations sets A = JᵀWJ and g = JᵀWr for the (n, k) Jacobian J
// (row-major), weights w and residuals r (n = len(w)):
//
//	A[a][b] = Σ_i (J[i][a]·w[i])·J[i][b],  g[a] = Σ_i (J[i][a]·w[i])·r[i],
//
// each sum from zero in the order of i. The models' parameter counts
// (3, 4, 6) get a row of A at a time in registers, one pass over J per
// row; the result is bit for bit normalEquationsRef's, the same products
// added in the same order, only not stored between the additions.
func normalEquations(J, w, r []float64, k int, A, g []float64) {
	switch k {
	case 3:
		normalEquations3(J, w, r, A, g)
	case 4:
		normalEquations4(J, w, r, A, g)
	case 6:
		normalEquations6(J, w, r, A, g)
	default:
		normalEquationsRef(J, w, r, k, A, g)
	}
}

// normalEquationsRef is normalEquations as the plain loop over levels:
// the fast kernels' test oracle and the path of other parameter counts.
func normalEquationsRef(J, w, r []float64, k int, A, g []float64) {
	clear(g[:k])
	clear(A[:k*k])
	for i := range w {
		// Row i of J, and each row of A, as slices of known length:
		// the same sums in the same order, without index checks.
		Ji := J[i*k : i*k+k : i*k+k]
		wi, ri := w[i], r[i]
		for a, jia := range Ji {
			ja := jia * wi
			g[a] += ja * ri
			Aa := A[a*k : a*k+k : a*k+k]
			for b, jib := range Ji {
				Aa[b] += ja * jib
			}
		}
	}
}

func normalEquations3(J, w, r, A, g []float64) {
	const k = 3
	n := len(w)
	J, r, A, g = J[:n*k], r[:n], A[:k*k], g[:k]
	for a := 0; a < k; a++ {
		var s0, s1, s2, sg float64
		for i, wi := range w {
			Ji := J[i*k : i*k+k : i*k+k]
			ja := Ji[a] * wi
			sg += ja * r[i]
			s0 += ja * Ji[0]
			s1 += ja * Ji[1]
			s2 += ja * Ji[2]
		}
		g[a] = sg
		Aa := A[a*k : a*k+k : a*k+k]
		Aa[0], Aa[1], Aa[2] = s0, s1, s2
	}
}

func normalEquations4(J, w, r, A, g []float64) {
	const k = 4
	n := len(w)
	J, r, A, g = J[:n*k], r[:n], A[:k*k], g[:k]
	for a := 0; a < k; a++ {
		var s0, s1, s2, s3, sg float64
		for i, wi := range w {
			Ji := J[i*k : i*k+k : i*k+k]
			ja := Ji[a] * wi
			sg += ja * r[i]
			s0 += ja * Ji[0]
			s1 += ja * Ji[1]
			s2 += ja * Ji[2]
			s3 += ja * Ji[3]
		}
		g[a] = sg
		Aa := A[a*k : a*k+k : a*k+k]
		Aa[0], Aa[1], Aa[2], Aa[3] = s0, s1, s2, s3
	}
}

func normalEquations6(J, w, r, A, g []float64) {
	const k = 6
	n := len(w)
	J, r, A, g = J[:n*k], r[:n], A[:k*k], g[:k]
	for a := 0; a < k; a++ {
		var s0, s1, s2, s3, s4, s5, sg float64
		for i, wi := range w {
			Ji := J[i*k : i*k+k : i*k+k]
			ja := Ji[a] * wi
			sg += ja * r[i]
			s0 += ja * Ji[0]
			s1 += ja * Ji[1]
			s2 += ja * Ji[2]
			s3 += ja * Ji[3]
			s4 += ja * Ji[4]
			s5 += ja * Ji[5]
		}
		g[a] = sg
		Aa := A[a*k : a*k+k : a*k+k]
		Aa[0], Aa[1], Aa[2], Aa[3], Aa[4], Aa[5] = s0, s1, s2, s3, s4, s5
	}
}
