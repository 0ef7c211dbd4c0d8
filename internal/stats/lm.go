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
		tm, tmTry = make([]float64, n*tr.n), make([]float64, n*tr.n)
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
	r := make([]float64, n)
	rTry := make([]float64, n)
	J := make([]float64, n*k) // (n, k): ∂f/∂θ
	A := make([]float64, k*k)
	M := make([]float64, k*k) // A with the damped diagonal, solved in place
	g := make([]float64, k)
	step := make([]float64, k)
	pTry := make([]float64, k)
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
		clear(g)
		clear(A)
		for i := range t {
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
	bb := append([]float64(nil), b...)
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
