package stats

import (
	"math"
	"strings"
	"testing"
)

// TestScalingFitDegenerate: a plausible fit passes; a huge coefficient, a steep
// exponent or an open interval is named.
func TestScalingFitDegenerate(t *testing.T) {
	nan := math.NaN()
	ok := Interval{0.3, 0.2, 0.4}
	for _, c := range []struct {
		name string
		fit  ChinchillaFit
		want []string
	}{
		{"plausible", ChinchillaFit{E: Interval{1.7, 1.6, 1.8}, A: Interval{400, 200, 800}, B: Interval{410, 300, 600}, Alpha: Interval{0.34, nan, nan}, Beta: ok}, nil},
		{"the issue's", ChinchillaFit{E: Interval{1.2, 0.1, 1.5}, A: Interval{30, 1, 90}, B: Interval{8e11, 1e3, math.Inf(1)}, Alpha: ok, Beta: Interval{2.26, 0.5, 4}},
			[]string{"B = 800G > 1G", "B's interval is open to ∞", "β = 2.26 > 1.5"}},
	} {
		got := c.fit.Degenerate()
		if (got == "") != (c.want == nil) {
			t.Errorf("%s: %q", c.name, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
	}
	if got := (&PowerLawFit{E: Interval{2, nan, nan}, A: Interval{5, nan, nan}, Alpha: Interval{0.2, nan, nan}}).Degenerate(); got != "" {
		t.Errorf("plausible power law: %q", got)
	}
}
