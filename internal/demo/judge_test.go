package demo

import (
	"math"
	"testing"
)

// TestReachText checks how a reach and its interval are written, above
// all the censored cases: a curve already past the level at the smallest
// model has a crossing that is only an upper bound (stats places it at
// the first scale), and a replicate that never reaches the level has its
// crossing beyond the largest model. Neither may print as if measured.
func TestReachText(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	// stats returns 10^log10(scale): the smallest rung can come back a few
	// ulps off the scale it was given.
	off := func(x float64) float64 { return x * (1 + 4e-16) }
	r := func(x, lo, hi, smallest, largest, top float64) *reach {
		return &reach{Task: "t", X: x, Lo: lo, Hi: hi, Smallest: smallest, Largest: largest, Top: top, Verdict: "flat", XStar: nan}
	}
	cases := []struct {
		name string
		r    *reach
		want string
	}{
		{"measured", r(20e3, 18e3, 25e3, 16.8e3, 106e3, 0.9),
			"t reaches 0.5 at 20k params [18k, 25k]; stats: flat"},
		{"at the smallest model, every replicate too", r(off(16.8e3), 16.8e3, off(16.8e3), 16.8e3, 106e3, 0.95),
			"t reaches 0.5 at or below the smallest model, 16.8k params (so does every bootstrap replicate); stats: flat"},
		{"at the smallest model, some replicates later", r(4610, 4610, 4880, 4610, 28.1e3, 1),
			"t reaches 0.5 at or below the smallest model, 4.61k params [≤ 4.61k, 4.88k]; stats: flat"},
		{"interval's lower end at the smallest model", r(5520, off(4610), 6130, 4610, 28.1e3, 1),
			"t reaches 0.5 at 5.52k params [≤ 4.61k, 6.13k]; stats: flat"},
		{"interval open beyond the largest model", r(20e3, 15.8e3, inf, 4780, 61.1e3, 0.6),
			"t reaches 0.5 at 20k params [15.8k, > 61.1k]; stats: flat"},
		{"never reached, some replicates do", r(nan, 50e3, inf, 16.8e3, 106e3, 0.36),
			"t never reaches 0.5 up to 106k params (0.36 there; interval [50k, > 106k]); stats: flat"},
		{"never reached, nor any replicate", r(nan, inf, inf, 16.8e3, 106e3, 0.03),
			"t never reaches 0.5 up to 106k params (0.03 there), nor does any bootstrap replicate; stats: flat"},
		{"no interval", r(20e3, nan, nan, 16.8e3, 106e3, 0.9),
			"t reaches 0.5 at 20k params no interval; stats: flat"},
		{"just above the smallest model", r(16.9e3, 16.85e3, 17e3, 16.8e3, 106e3, 0.9),
			"t reaches 0.5 at 16.9k params [16.9k, 17k]; stats: flat"},
	}
	for _, c := range cases {
		if got := c.r.String(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestEarlierText checks that the rule comparing two reaches words a
// reach at the smallest model as a bound in its reason too.
func TestEarlierText(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	mk := func(task string, x, lo, hi float64) *reach {
		return &reach{Task: task, X: x, Lo: lo, Hi: hi, Smallest: 4610, Largest: 28.1e3, Verdict: "flat", XStar: nan}
	}
	cases := []struct {
		name string
		a, b *reach
		want string
	}{
		{"a at the smallest model, b never", mk("a", 4610, 4610, 4610), mk("b", nan, inf, inf),
			"a reaches 0.5 at or below the smallest model, 4.61k params (so does every bootstrap replicate); b never does up to 28.1k params, nor does any bootstrap replicate"},
		{"a never, b at the smallest model", mk("a", nan, inf, inf), mk("b", 4610, 4610, 5000),
			"a never reaches 0.5 while b does at or below the smallest model, 4.61k params"},
		{"apart, b open above", mk("a", 5000, 4610, 6000), mk("b", nan, 15e3, inf),
			"a reaches 0.5 at 5k params [≤ 4.61k, 6k], below b's interval [15k, > 28.1k]"},
	}
	for _, c := range cases {
		if _, got := earlier(c.a, c.b); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
