package numfmt

import (
	"math"
	"testing"
)

// TestNum pins the one number format: three significant digits, SI
// suffixes from a thousand, e-notation below 0.001, and the rounding edge
// where three digits would carry into the next unit.
func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {0.5, "0.5"}, {0.05263, "0.0526"}, {3.112, "3.11"}, {123.4, "123"}, {999.4, "999"},
		{999.7, "1k"}, {1000, "1k"}, {1780, "1.78k"}, {16412, "16.4k"}, {72600, "72.6k"}, {1.2e6, "1.2M"}, {999600, "1M"},
		{3.4e9, "3.4G"}, {5e12, "5T"}, {2e15, "2e15"}, {-1780, "-1.78k"}, {0.001, "0.001"}, {1.5e-4, "1.5e-4"}, {-2.26e-5, "-2.26e-5"},
		{math.NaN(), "—"}, {math.Inf(1), "∞"}, {math.Inf(-1), "−∞"},
	} {
		if got := Num(c.v); got != c.want {
			t.Errorf("Num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
