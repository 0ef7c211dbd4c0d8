package stats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// chinchillaTruth is Hoffmann et al. 2022's own fit (their eq. 10), used as
// the generating law for recovery tests.
var chinchillaTruth = struct{ E, A, B, Alpha, Beta float64 }{1.69, 406.4, 410.7, 0.34, 0.28}

// synthScaling draws a grid of models with N log-spaced over [1e5, 1e9] and
// D over [1e7, 1e11] (a 5×5 grid, wide enough to resolve both exponents)
// and multiplicative log-normal noise of relative size sigma on L.
func synthScaling(rng *rand.Rand, sigma float64) []ScalingPoint {
	tr := chinchillaTruth
	var pts []ScalingPoint
	for i := 0; i < 5; i++ {
		for j := 0; j < 5; j++ {
			N := math.Pow(10, 5+float64(i))
			D := math.Pow(10, 7+float64(j))
			L := tr.E + tr.A/math.Pow(N, tr.Alpha) + tr.B/math.Pow(D, tr.Beta)
			L *= math.Exp(sigma * rng.NormFloat64())
			pts = append(pts, ScalingPoint{N: N, D: D, L: L})
		}
	}
	return pts
}

// TestChinchillaRecovery: the generating parameters lie inside the
// bootstrap intervals, and the point estimates are close. Tolerances:
// with 1 % noise on 25 points the exponents are determined to a few
// hundredths (measured spread ≈ 0.01–0.03); A and B are exponentials of
// intercepts and strongly correlated with the exponents, so they are only
// checked through their intervals.
func TestChinchillaRecovery(t *testing.T) {
	tr := chinchillaTruth
	for _, sigma := range []float64{0.003, 0.01} {
		rng := rand.New(rand.NewPCG(7, uint64(sigma*1e4)))
		pts := synthScaling(rng, sigma)
		o := DefaultScalingOptions()
		o.Boot = 100
		f, err := FitChinchilla(context.Background(), pts, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sigma=%g E=%.4g[%.4g,%.4g] A=%.4g[%.4g,%.4g] B=%.4g[%.4g,%.4g] alpha=%.4g[%.4g,%.4g] beta=%.4g[%.4g,%.4g] conv=%v",
			sigma, f.E.Value, f.E.Lo, f.E.Hi, f.A.Value, f.A.Lo, f.A.Hi, f.B.Value, f.B.Lo, f.B.Hi,
			f.Alpha.Value, f.Alpha.Lo, f.Alpha.Hi, f.Beta.Value, f.Beta.Lo, f.Beta.Hi, f.Converged)
		for _, c := range []struct {
			name  string
			iv    Interval
			truth float64
			tol   float64 // absolute tolerance on the point estimate
		}{
			{"E", f.E, tr.E, 0.05}, {"alpha", f.Alpha, tr.Alpha, 0.05}, {"beta", f.Beta, tr.Beta, 0.05},
			{"A", f.A, tr.A, math.Inf(1)}, {"B", f.B, tr.B, math.Inf(1)},
		} {
			if !(c.iv.Lo <= c.truth && c.truth <= c.iv.Hi) {
				t.Errorf("sigma=%g: %s: truth %g outside bootstrap interval [%g, %g]", sigma, c.name, c.truth, c.iv.Lo, c.iv.Hi)
			}
			if math.Abs(c.iv.Value-c.truth) > c.tol {
				t.Errorf("sigma=%g: %s = %g, want %g ± %g", sigma, c.name, c.iv.Value, c.truth, c.tol)
			}
		}
		// Compute-optimal exponents a = β/(α+β) ≈ 0.45, b ≈ 0.55.
		if a := tr.Beta / (tr.Alpha + tr.Beta); math.Abs(f.ExponentN.Value-a) > 0.05 {
			t.Errorf("sigma=%g: N* exponent %g, want %g ± 0.05", sigma, f.ExponentN.Value, a)
		}
	}
}

func TestPowerLawAndKaplanRecovery(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	E, A, alpha := 1.5, 50.0, 0.4
	var x, L, Lk []float64
	for i := 0; i < 12; i++ {
		xi := math.Pow(10, 4+0.4*float64(i))
		x = append(x, xi)
		L = append(L, (E+A*math.Pow(xi, -alpha))*math.Exp(0.005*rng.NormFloat64()))
		Lk = append(Lk, math.Pow(1e8/xi, 0.076)*math.Exp(0.005*rng.NormFloat64()))
	}
	o := DefaultScalingOptions()
	o.Boot = 100
	p, err := FitPowerLaw(context.Background(), x, L, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("E=%v A=%v alpha=%v", p.E, p.A, p.Alpha)
	// 0.5 % noise over 12 points spanning 4.4 decades: E and α to a few percent.
	if math.Abs(p.E.Value-E) > 0.05 || math.Abs(p.Alpha.Value-alpha) > 0.04 {
		t.Errorf("power law: E=%g alpha=%g, want %g, %g", p.E.Value, p.Alpha.Value, E, alpha)
	}
	for _, c := range []struct {
		iv    Interval
		truth float64
	}{{p.E, E}, {p.A, A}, {p.Alpha, alpha}} {
		if !(c.iv.Lo <= c.truth && c.truth <= c.iv.Hi) {
			t.Errorf("power law: truth %g outside [%g, %g]", c.truth, c.iv.Lo, c.iv.Hi)
		}
	}
	k, err := FitKaplan(context.Background(), x, Lk, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Kaplan Xc=%v alpha=%v", k.Xc, k.Alpha)
	// Log-linear least squares: α to 1e-3 absolute, Xc to 20 % (Xc is
	// exp(intercept/α), so small errors in α are amplified).
	if math.Abs(k.Alpha.Value-0.076) > 1e-3 || math.Abs(k.Xc.Value/1e8-1) > 0.2 {
		t.Errorf("Kaplan: Xc=%g alpha=%g, want 1e8, 0.076", k.Xc.Value, k.Alpha.Value)
	}
}

func TestScalingErrors(t *testing.T) {
	cols := DefaultScalingColumns()
	for _, c := range []struct{ name, csv, want string }{
		{"missing column", "params,tok,loss\n1,2,3\n", `missing column "tokens"`},
		{"non-positive", "params,tokens,loss\n1,2,3\n0,2,3\n", "line 3: column params: 0 must be a positive"},
		{"nan", "params,tokens,loss\n1,2,NaN\n", "line 2: column loss: NaN must be a positive"},
		{"text", "params,tokens,loss\n1,2,abc\n", `line 2: column loss: "abc" is not a number`},
		{"empty", "params,tokens,loss\n", "no rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadScalingCSV(strings.NewReader(c.csv), cols)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	few := []ScalingPoint{{1, 1, 2, "a"}, {2, 2, 2, "b"}, {3, 3, 2, "c"}}
	if _, err := FitChinchilla(context.Background(), few, DefaultScalingOptions()); err == nil || !IsTooFew(err) {
		t.Errorf("three points: err = %v, want too few", err)
	}
	// A constant loss has no law: refused, not "converged" with α = 0.
	var flat []ScalingPoint
	var xs, ls []float64
	for i := 0; i < 9; i++ {
		n, d := math.Pow(10, float64(5+i%3)), math.Pow(10, float64(8+i/3))
		flat = append(flat, ScalingPoint{N: n, D: d, L: 3.2, Line: fmt.Sprint("row ", i)})
		xs, ls = append(xs, n*float64(i+1)), append(ls, 3.2)
	}
	o := DefaultScalingOptions()
	o.Boot = 0
	if _, err := FitChinchilla(context.Background(), flat, o); err == nil || !strings.Contains(err.Error(), "the loss is 3.2 at every point") {
		t.Errorf("constant loss, Chinchilla: err = %v", err)
	}
	if _, err := FitPowerLaw(context.Background(), xs, ls, o); err == nil || !strings.Contains(err.Error(), "no scaling law") {
		t.Errorf("constant loss, power law: err = %v", err)
	}
	if _, err := FitKaplan(context.Background(), xs, ls, o); err == nil || !strings.Contains(err.Error(), "no scaling law") {
		t.Errorf("constant loss, Kaplan: err = %v", err)
	}
}

// TestScalingCancel: a cancelled context stops the scaling fits with its
// error (between L-BFGS starts and bootstrap chunks).
func TestScalingCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rng := rand.New(rand.NewPCG(1, 1))
	var pts []ScalingPoint
	var xs, ls []float64
	for i := 0; i < 25; i++ {
		n, d := math.Pow(10, 5+float64(i%5)), math.Pow(10, 7+float64(i/5))
		l := 1.69 + 406.4/math.Pow(n, 0.34) + 410.7/math.Pow(d, 0.28)
		pts = append(pts, ScalingPoint{N: n, D: d, L: l * math.Exp(0.01*rng.NormFloat64()), Line: fmt.Sprint(i)})
		xs, ls = append(xs, n), append(ls, l)
	}
	if _, err := FitChinchilla(ctx, pts, DefaultScalingOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("Chinchilla: err = %v, want context.Canceled", err)
	}
	if _, err := FitPowerLaw(ctx, xs, ls, DefaultScalingOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("power law: err = %v, want context.Canceled", err)
	}
}
