package tensor

import (
	"math"
	"testing"
)

// TestExpfAccuracy sweeps expf's whole normal range against float64 exp: the
// documented bound is 3e-7 relative (float32 ulp is 6e-8..1.2e-7 relative).
func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(expMin); x < expMax; x += 0.000731 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
			if rel > 3e-7 {
				t.Fatalf("expf(%g) = %g, want %g (rel err %g > 3e-7)", x, got, want, rel)
			}
		}
	}
	t.Logf("max relative error %.3g", worst)
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {89, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
	} {
		if got := expf(c.x); got != c.want {
			t.Errorf("expf(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if nan := float32(math.NaN()); !math.IsNaN(float64(expf(nan))) {
		t.Errorf("expf(NaN) is not NaN")
	}
}

func TestSigmoid2Accuracy(t *testing.T) {
	for u := float32(-40); u < 40; u += 0.001 {
		want := 1 / (1 + math.Exp(-2*float64(u)))
		if d := math.Abs(float64(sigmoid2(u)) - want); d > 3e-7 {
			t.Fatalf("sigmoid2(%g) = %g, want %g (abs err %g > 3e-7)", u, sigmoid2(u), want, d)
		}
	}
}
