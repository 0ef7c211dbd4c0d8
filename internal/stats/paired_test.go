package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestMcNemar: hand-computed cases for both methods.
func TestMcNemar(t *testing.T) {
	cases := []struct {
		name    string
		b, c, n int
		method  string
		stat, p float64
	}{
		// Bin(10, ½): P(X ≤ 2) = (1 + 10 + 45)/1024 = 56/1024; two-sided 112/1024.
		{"exact, 2 vs 8", 2, 8, 100, "exact", math.NaN(), 112.0 / 1024},
		// P(X ≤ 5) for Bin(10, ½) = 638/1024 > ½: two-sided capped at 1.
		{"exact, balanced", 5, 5, 40, "exact", math.NaN(), 1},
		// Bin(24, ½): P(X ≤ 6) = Σ_{k≤6} C(24,k)/2^24 = 190051/16777216.
		{"exact, 24 discordant", 6, 18, 50, "exact", math.NaN(), 2 * 190051.0 / 16777216},
		// χ² = (|10 − 25| − 1)²/35 = 196/35 = 5.6; P(χ²₁ ≥ 5.6) = 2(1 − Φ(√5.6)) = 0.0179603.
		{"chi-square, 10 vs 25", 10, 25, 200, "chi2_cc", 5.6, 0.0179603},
		// χ² = (|20 − 20| − 1)² clipped at 0: p = 1.
		{"chi-square, equal", 20, 20, 100, "chi2_cc", 0, 1},
		{"no discordant pairs", 0, 0, 30, "exact", math.NaN(), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := McNemarCounts(c.b, c.c, c.n)
			if r.Method != c.method || math.Abs(r.P-c.p) > 1e-6 || (math.IsNaN(c.stat) != math.IsNaN(r.Statistic)) || (!math.IsNaN(c.stat) && math.Abs(r.Statistic-c.stat) > 1e-12) {
				t.Errorf("got %s χ²=%g p=%.8g; want %s χ²=%g p=%.8g", r.Method, r.Statistic, r.P, c.method, c.stat, c.p)
			}
			if want := float64(c.c-c.b) / float64(c.n); r.Diff != want {
				t.Errorf("diff %g, want %g", r.Diff, want)
			}
		})
	}
	// From outcomes: A right on items 0-3, B right on 2-7 of 10.
	a := []bool{true, true, true, true, false, false, false, false, false, false}
	b := []bool{false, false, true, true, true, true, true, true, false, false}
	r, err := McNemar(a, b)
	if err != nil || r.B != 2 || r.C != 4 || r.N != 10 {
		t.Errorf("McNemar(outcomes) = %+v, %v; want b=2 c=4 n=10", r, err)
	}
	if _, err := McNemar(a, b[:3]); err == nil || !strings.Contains(err.Error(), "same items") {
		t.Errorf("unequal lengths: err = %v", err)
	}
	if js, err := json.Marshal(r); err != nil || !strings.Contains(string(js), `"statistic":null`) {
		t.Errorf("json %s, %v", js, err)
	}
}

// TestPairedBootstrap: a constant difference has a degenerate interval; a
// difference of 0 or 1 on two items has the hand-computed bootstrap
// distribution of a mean of two draws (0, ½, 1 with probability ¼, ½, ¼).
func TestPairedBootstrap(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 4000
	ctx := context.Background()
	d, err := PairedBootstrap(ctx, "const", []float64{0, 0.5, 1, 0.2}, []float64{1, 1.5, 2, 1.2}, o)
	if err != nil || d.Mean != 1 || d.Lo != 1 || d.Hi != 1 || d.SE != 0 {
		t.Errorf("constant difference: %+v, %v", d, err)
	}
	d, err = PairedBootstrap(ctx, "two", []float64{0, 0}, []float64{0, 1}, o)
	if err != nil {
		t.Fatal(err)
	}
	// SE of the mean of two draws from {0, 1}: (½/√2) = 0.3536; 4000
	// replicates estimate it to about ±2 %, so a 0.02 tolerance.
	if d.Mean != 0.5 || d.Lo != 0 || d.Hi != 1 || math.Abs(d.SE-0.3536) > 0.02 {
		t.Errorf("two items: %+v; want mean 0.5, interval [0, 1], SE 0.354", d)
	}
	// A clear paired difference that an unpaired view would blur: B beats A
	// by 0.1 on every item while items vary a lot.
	var a, b []float64
	for i := 0; i < 200; i++ {
		v := float64(i%10) / 10
		a, b = append(a, v), append(b, v+0.1)
	}
	d, err = PairedBootstrap(ctx, "shift", a, b, o)
	if err != nil || math.Abs(d.Mean-0.1) > 1e-12 || d.P > 0.001 || d.Lo < 0.0999 {
		t.Errorf("shift: %+v, %v", d, err)
	}
	for _, bad := range []struct {
		a, b []float64
		want string
	}{{[]float64{1}, []float64{1, 2}, "same items"}, {nil, nil, "no items"}, {[]float64{math.NaN()}, []float64{1}, "not finite"}} {
		if _, err := PairedBootstrap(ctx, "bad", bad.a, bad.b, o); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("err = %v, want %q", err, bad.want)
		}
	}
}

// TestBootstrapWorkers: the paired bootstrap and the curve analysis give
// identical results on one worker and on two (chunks are seeded by their
// index, not by the worker that draws them).
func TestBootstrapWorkers(t *testing.T) {
	var a, b []float64
	for i := 0; i < 300; i++ {
		a, b = append(a, float64(i%7)/7), append(b, float64(i%5)/5)
	}
	ctx := context.Background()
	o := DefaultOptions()
	o.Boot = 500
	o.Workers = 1
	one, err := PairedBootstrap(ctx, "w", a, b, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Workers = 2
	two, err := PairedBootstrap(ctx, "w", a, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if one != two {
		t.Errorf("1 worker %+v, 2 workers %+v", one, two)
	}
	g1 := goldenAnalyze(t, "ladder.csv", AxisParams, AnalyzeConfig{Options: goldenOptions(1), Forecast: 1})
	g2 := goldenAnalyze(t, "ladder.csv", AxisParams, AnalyzeConfig{Options: goldenOptions(2), Forecast: 1})
	if string(g1) != string(g2) {
		t.Errorf("analysis differs between 1 and 2 workers")
	}
}

// TestCompareItems: a sharp metric gets McNemar's test on the paired
// outcomes (the hand-computed 2 vs 8 case of TestMcNemar), a smooth one the
// paired bootstrap; both the difference B − A and its interval; items that
// differ between the runs are an error naming them.
func TestCompareItems(t *testing.T) {
	ctx := context.Background()
	o := DefaultOptions()
	o.Boot = 2000
	a, b := map[string]float64{}, map[string]float64{}
	// 100 items: 40 right in both, 2 right only in A, 8 only in B, 50 wrong in both.
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("item%03d", i)
		switch {
		case i < 40:
			a[id], b[id] = 1, 1
		case i < 42:
			a[id], b[id] = 1, 0
		case i < 50:
			a[id], b[id] = 0, 1
		default:
			a[id], b[id] = 0, 0
		}
	}
	c, err := CompareItems(ctx, "add/plain/2", "exact_match", a, b, o)
	if err != nil {
		t.Fatal(err)
	}
	// Tolerances: the p-value is exact (TestMcNemar); the bootstrap
	// interval of a mean of 100 paired differences with SD ≈ 0.31 has
	// half-width ≈ 0.06, its Monte Carlo error with 2000 replicates < 0.01.
	if c.Test != "mcnemar" || c.N != 100 || c.McNemar == nil || c.McNemar.B != 2 || c.McNemar.C != 8 || math.Abs(c.P-112.0/1024) > 1e-12 ||
		math.Abs(c.Diff-0.06) > 1e-12 || math.Abs(c.MeanA-0.42) > 1e-12 || math.Abs(c.MeanB-0.48) > 1e-12 ||
		!(c.Lo < 0.06 && c.Lo > -0.02 && c.Hi > 0.06 && c.Hi < 0.14) {
		t.Errorf("exact match: %+v (mcnemar %+v)", c, c.McNemar)
	}
	// A smooth metric: B lower by 1 on every item of an edit distance.
	ea, eb := map[string]float64{}, map[string]float64{}
	for i := 0; i < 50; i++ {
		id := fmt.Sprint(i)
		ea[id], eb[id] = float64(2+i%3), float64(1+i%3)
	}
	c, err = CompareItems(ctx, "t", "edit_distance", ea, eb, o)
	if err != nil || c.Test != "paired_bootstrap" || c.Diff != -1 || c.Lo != -1 || c.Hi != -1 || !c.LowerIsBetter || c.P > 0.001 {
		t.Errorf("edit distance: %+v, %v", c, err)
	}
	// Different items.
	delete(b, "item007")
	b["other"] = 1
	_, err = CompareItems(ctx, "add/plain/2", "exact_match", a, b, o)
	var mm *ItemMismatchError
	if !errors.As(err, &mm) || mm.NOnlyA != 1 || mm.NOnlyB != 1 || !strings.Contains(err.Error(), `"item007"`) || !strings.Contains(err.Error(), "same items") {
		t.Errorf("mismatch: %v", err)
	}
	if _, err := CompareItems(ctx, "t", "exact_match", map[string]float64{}, map[string]float64{}, o); err == nil {
		t.Error("no items: no error")
	}
}
