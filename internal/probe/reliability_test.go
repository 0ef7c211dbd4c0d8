package probe

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// TestReliabilityEigenNonFinite: the eigendecompositions behind effective
// rank, PCA and the copying score refuse NaN and ±Inf input at once with an
// error saying so, instead of iterating forever inside LAPACK.
func TestReliabilityEigenNonFinite(t *testing.T) {
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for _, v := range bad {
		x := make([]float32, 40*8)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		x[17] = float32(v)
		identity := func(r, c int) *mat.Dense {
			d := mat.NewDense(r, c, nil)
			for i := range min(r, c) {
				d.Set(i, i, 1)
			}
			return d
		}
		WE := identity(10, 8)
		WE.Set(3, 2, v)
		cases := []struct {
			name string
			run  func() error
		}{
			{"effective rank", func() error { _, err := EffectiveRank(x, 40, 8); return err }},
			{"pca", func() error { _, err := PrincipalComponents(x, 40, 8, 2); return err }},
			{"linear probe", func() error {
				x64, y := make([]float64, len(x)), make([]int, 40)
				for i, v := range x {
					x64[i] = float64(v)
				}
				for i := range y {
					y[i] = i % 2
				}
				_, err := FitLogReg(x64, y, 40, 8, 2, 1e-3)
				return err
			}},
			{"copying score", func() error {
				_, err := CopyingScore(WE, identity(8, 4), identity(4, 8), identity(8, 10))
				return err
			}},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s %v", c.name, v), func(t *testing.T) {
				done := make(chan error, 1)
				go func() { done <- c.run() }()
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "non-finite") {
						t.Errorf("%s with %v: err = %v, want a non-finite error", c.name, v, err)
					}
				case <-time.After(10 * time.Second): // the refusal takes microseconds; LAPACK on NaN never returns
					t.Fatalf("%s with %v: still running after 10 s", c.name, v)
				}
			})
		}
	}
}
