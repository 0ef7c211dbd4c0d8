package stats

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

// designs builds runs of three designs whose score depends on compute
// only (y = σ((log10 C − 12)/0.15), plus a small deterministic wobble):
// a size ladder (N and D grow together), a data ladder at one size and
// three iso-FLOP groups. It returns their N, D and C = 6ND.
func designs() (n, d, c []float64) {
	add := func(N, D float64) {
		n, d, c = append(n, N), append(d, D), append(c, 6*N*D)
	}
	for _, N := range []float64{1e4, 2e4, 4e4, 8e4, 1.6e5} {
		add(N, 100*N) // ladder: C from 6e10 to 1.5e13
	}
	for _, D := range []float64{1e6, 3e6, 1e7, 3e7, 1e8} {
		add(3e4, D) // data ladder: C from 1.8e11 to 1.8e13
	}
	for _, C := range []float64{3e11, 1e12, 3e12} {
		for _, N := range []float64{1e4, 3e4, 1e5, 3e5} {
			add(N, C/(6*N))
		}
	}
	return n, d, c
}

func TestCollapseFindsTheAxis(t *testing.T) {
	n, d, c := designs()
	y := make([]float64, len(c))
	for i := range c {
		y[i] = logistic((math.Log10(c[i])-12)/0.15) + 0.01*math.Sin(float64(7*i))
	}
	o := DefaultOptions()
	o.Boot = 100
	res, err := CollapseAxes(context.Background(), "synthetic", []string{AxisParams, AxisTokens, AxisFLOPs}, [][]float64{n, d, c}, y, 0, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Best != AxisFLOPs {
		t.Fatalf("best axis %s, want flops (R²: %+v)", res.Best, res.Axes)
	}
	fl := res.Axes[2]
	// The generating curve: midpoint 1e12, rise 4.39·0.15 = 0.66 decades;
	// the grid is 0.01 decades apart and the wobble ±0.01.
	if math.Abs(math.Log10(fl.XMid.Value)-12) > 0.03 || math.Abs(fl.RiseDecades-0.66) > 0.1 || fl.R2.Value < 0.99 {
		t.Errorf("flops fit: x* %.3g (want 1e12), rise %.2f decades (want 0.66), R² %.3f", fl.XMid.Value, fl.RiseDecades, fl.R2.Value)
	}
	if !(fl.XMid.Lo <= fl.XMid.Value && fl.XMid.Value <= fl.XMid.Hi) || fl.XMid.Hi/fl.XMid.Lo > 1.5 {
		t.Errorf("flops x* interval [%.3g, %.3g] around %.3g", fl.XMid.Lo, fl.XMid.Hi, fl.XMid.Value)
	}
	if !(res.Margin.Lo > 0) {
		t.Errorf("margin over %s %.3f [%.3f, %.3f]: want an interval well above 0", res.Second, res.Margin.Value, res.Margin.Lo, res.Margin.Hi)
	}
	for _, a := range res.Axes[:2] {
		if a.R2.Value > 0.9 {
			t.Errorf("%s collapses the designs too (R² %.3f): the test does not separate the axes", a.Axis, a.R2.Value)
		}
	}
	// The same seed gives the same intervals.
	again, _ := CollapseAxes(context.Background(), "synthetic", []string{AxisParams, AxisTokens, AxisFLOPs}, [][]float64{n, d, c}, y, 0, 1, o)
	if again.Margin != res.Margin || again.Axes[2].XMid != res.Axes[2].XMid {
		t.Error("two runs with one seed differ")
	}
}

func TestCollapseBadInput(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 0
	ok := [][]float64{{1, 2, 3, 4}, {1, 2, 3, 4}}
	cases := []struct {
		axes []string
		x    [][]float64
		y    []float64
		want string
	}{
		{[]string{"params"}, ok[:1], []float64{0, 0, 1, 1}, "at least 2 axes"},
		{[]string{"params", "tokens"}, ok, []float64{0, 1, 1}, "3 scores"},
		{[]string{"params", "tokens"}, [][]float64{{1, 2}, {1, 2}}, []float64{0, 1}, "need at least 4"},
		{[]string{"params", "tokens"}, [][]float64{{1, 2, 0, 4}, {1, 2, 3, 4}}, []float64{0, 0, 1, 1}, "positive"},
		{[]string{"params", "tokens"}, ok, []float64{0, math.NaN(), 1, 1}, "score NaN"},
		{[]string{"params", "tokens"}, ok, []float64{0.5, 0.5, 0.5, 0.5}, "nothing to order"},
	}
	for _, c := range cases {
		_, err := CollapseAxes(context.Background(), "k", c.axes, c.x, c.y, 0, 1, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want %q", c.x, c.y, err, c.want)
		}
	}
}

// TestCollapseAtBound: the collapse fit names what sits at a limit of its
// grid or rests on an imposed level, on the flops axis of the designs of
// TestCollapseFindsTheAxis (log C from 10.8 to 13.3), scores depending on
// compute only plus the ±0.01 wobble:
//
//   - a transition inside the runs (midpoint 12, width 0.15): nothing;
//   - one whose midpoint, 13.6, lies past the runs (the highest score
//     0.09): the imposed ceiling is never approached;
//   - one centred at 15, beyond the grid's reach (13.8): the midpoint is
//     at the grid's edge as well;
//   - a step at 12: the rise cannot be resolved from a step;
//   - a score that creeps from 0.48 to 0.53 over 2.5 decades: the width
//     is at the widest the grid allows.
func TestCollapseAtBound(t *testing.T) {
	n, d, c := designs()
	cases := []struct {
		name  string
		f     func(lc float64) float64
		want  []string
		words string // in BoundNote
	}{
		{"transition inside", func(lc float64) float64 { return logistic((lc - 12) / 0.15) }, []string{}, ""},
		{"ceiling never approached", func(lc float64) float64 { return logistic((lc - 13.6) / 0.15) }, []string{paramCeiling}, "x* is an extrapolation"},
		{"midpoint beyond the grid", func(lc float64) float64 { return logistic((lc - 15) / 0.4) }, []string{paramCollapseMid, paramCeiling}, "x* is a limit of the fit"},
		{"step", func(lc float64) float64 { return math.Round(logistic((lc - 12) / 1e-4)) }, []string{paramCollapseRise}, "the runs cannot resolve it"},
		{"creeping", func(lc float64) float64 { return 0.5 + 0.02*(lc-12) }, []string{paramCollapseRise}, "wide end of the widths the fit searches"},
	}
	o := DefaultOptions()
	o.Boot = 0
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			y := make([]float64, len(c))
			for i := range c {
				y[i] = cs.f(math.Log10(c[i])) + 0.01*math.Sin(float64(7*i))
			}
			res, err := CollapseAxes(context.Background(), "synthetic", []string{AxisParams, AxisTokens, AxisFLOPs}, [][]float64{n, d, c}, y, 0, 1, o)
			if err != nil {
				t.Fatal(err)
			}
			fl := res.Axes[2]
			t.Logf("flops: x* %.3g, rise %.3g decades, R² %.3f, at_bound %v; %s", fl.XMid.Value, fl.RiseDecades, fl.R2.Value, fl.AtBound, fl.BoundNote())
			got := slices.Clone(fl.AtBound)
			slices.Sort(got)
			want := slices.Clone(cs.want)
			slices.Sort(want)
			if fl.AtBound == nil || !slices.Equal(got, want) {
				t.Errorf("at bound %v, want %v", fl.AtBound, cs.want)
			}
			note := fl.BoundNote()
			if (cs.words == "") != (note == "") || !strings.Contains(note, cs.words) {
				t.Errorf("bound note %q, want one saying %q", note, cs.words)
			}
		})
	}
}
