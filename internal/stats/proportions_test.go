package stats

import (
	"math"
	"testing"
)

// TestDiffProportions checks the hybrid score interval against Newcombe
// 1998's Table II (method 10), to the four decimals printed there.
func TestDiffProportions(t *testing.T) {
	cases := []struct {
		k1, n1, k2, n2 int
		lo, hi         float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.1705, 0.8090},
		{6, 7, 2, 7, 0.0582, 0.8062},
		{5, 56, 0, 29, -0.0381, 0.1926},
		{0, 10, 0, 20, -0.1611, 0.2775},
		{10, 10, 0, 20, 0.6791, 1.0000},
	}
	for _, c := range cases {
		d, err := DiffProportions(c.k1, c.n1, c.k2, c.n2, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		// Tolerance: the table rounds to 4 decimals.
		if math.Abs(d.Lo-c.lo) > 6e-5 || math.Abs(d.Hi-c.hi) > 6e-5 {
			t.Errorf("%d/%d − %d/%d: [%.4f, %.4f], want [%.4f, %.4f]", c.k1, c.n1, c.k2, c.n2, d.Lo, d.Hi, c.lo, c.hi)
		}
	}
	for _, bad := range [][4]int{{1, 0, 1, 2}, {3, 2, 1, 2}, {-1, 2, 1, 2}} {
		if _, err := DiffProportions(bad[0], bad[1], bad[2], bad[3], 0.95); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, _, err := Wilson(1, 2, 1.5); err == nil {
		t.Error("level 1.5 accepted")
	}
}
