package probe

// finite.go: the numerical routines behind the probes (LAPACK's
// eigensolvers, L-BFGS) do not terminate reliably on NaN or ±Inf — an
// eigensolver fed a NaN can iterate without end. Their inputs are checked
// first, so a diverged model gives an error naming what was not finite.

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// finite32 returns an error naming what when x holds NaN or ±Inf.
func finite32(what string, x []float32) error {
	for i, v := range x {
		if v-v != 0 { // NaN for NaN and ±Inf, 0 otherwise
			return fmt.Errorf("%s: non-finite value %v at index %d (a diverged model?)", what, v, i)
		}
	}
	return nil
}

// finite64 is finite32 for float64 values.
func finite64(what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: non-finite value %v at index %d (a diverged model?)", what, v, i)
		}
	}
	return nil
}

// finiteMatrix returns an error naming what when m holds NaN or ±Inf.
func finiteMatrix(what string, m mat.Matrix) error {
	r, c := m.Dims()
	for i := range r {
		for j := range c {
			if v := m.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: non-finite value %v at (%d, %d) (a diverged model?)", what, v, i, j)
			}
		}
	}
	return nil
}
