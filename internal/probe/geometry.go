package probe

// geometry.go: how the models spread information over their dimensions —
// the effective rank of each layer's representations and the principal
// components of the token embeddings.

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// covariance returns the (d, d) covariance of the n rows of x (n, d).
func covariance(x []float32, n, d int) (*mat.SymDense, error) {
	if n < 2 || d < 1 || len(x) != n*d {
		return nil, fmt.Errorf("covariance: %d values for (n=%d, d=%d), need n ≥ 2", len(x), n, d)
	}
	if err := finite32("covariance", x); err != nil {
		return nil, err
	}
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += float64(x[i*d+j])
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	cov := mat.NewSymDense(d, nil)
	row := make([]float64, d)
	for i := range n {
		for j := range d {
			row[j] = float64(x[i*d+j]) - mean[j]
		}
		for a := range d {
			for b := a; b < d; b++ {
				cov.SetSym(a, b, cov.At(a, b)+row[a]*row[b])
			}
		}
	}
	cov.ScaleSym(1/float64(n-1), cov)
	return cov, nil
}

// EffectiveRank is the participation ratio of the covariance spectrum of
// the n rows of x (n, d): PR = (Σλ)² / Σλ², λ the covariance eigenvalues
// (Gao et al. 2017; Recanatesi et al. 2019 use it for network
// representations). It lies in [1, d]: 1 when the points vary along one
// direction, d when they are isotropic. It fails for constant data.
func EffectiveRank(x []float32, n, d int) (float64, error) {
	cov, err := covariance(x, n, d)
	if err != nil {
		return 0, err
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, false) {
		return 0, fmt.Errorf("effective rank: eigendecomposition did not converge")
	}
	var s, s2 float64
	for _, l := range eig.Values(nil) {
		l = math.Max(l, 0) // round-off can leave tiny negatives
		s += l
		s2 += l * l
	}
	if s2 == 0 {
		return 0, fmt.Errorf("effective rank: the data do not vary")
	}
	return s * s / s2, nil
}

// PCA is the principal-component analysis of n points in d dimensions.
type PCA struct {
	Explained []float64   // fraction of the variance along each component, descending
	Coords    [][]float64 // [point][component] coordinates of the centred points
}

// PrincipalComponents projects the n rows of x (n, d) on their first k
// principal components (k ≤ min(n, d)). Each component's sign is fixed so
// that its largest-magnitude coordinate is positive, which makes the result
// deterministic.
func PrincipalComponents(x []float32, n, d, k int) (*PCA, error) {
	if k < 1 || k > min(n, d) {
		return nil, fmt.Errorf("pca: k=%d outside [1, min(n=%d, d=%d)]", k, n, d)
	}
	cov, err := covariance(x, n, d)
	if err != nil {
		return nil, err
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, fmt.Errorf("pca: eigendecomposition did not converge")
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var total float64
	for _, v := range vals {
		total += math.Max(v, 0)
	}
	if total == 0 {
		return nil, fmt.Errorf("pca: the data do not vary")
	}
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += float64(x[i*d+j]) / float64(n)
		}
	}
	p := &PCA{Coords: make([][]float64, n)}
	for i := range n {
		p.Coords[i] = make([]float64, k)
	}
	for c := range k {
		col := d - 1 - c
		p.Explained = append(p.Explained, math.Max(vals[col], 0)/total)
		big, sign := 0.0, 1.0
		for i := range n {
			var s float64
			for j := range d {
				s += (float64(x[i*d+j]) - mean[j]) * vecs.At(j, col)
			}
			p.Coords[i][c] = s
			if math.Abs(s) > big {
				big, sign = math.Abs(s), math.Copysign(1, s)
			}
		}
		for i := range n {
			p.Coords[i][c] *= sign
		}
	}
	return p, nil
}
