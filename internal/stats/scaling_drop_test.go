package stats

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestChinchillaDrops: the loss each term accounts for over the sampled
// range is recovered with the law (the truth inside the interval, the
// point within 5 %), and a law without a data term has no data drop.
func TestChinchillaDrops(t *testing.T) {
	tr := chinchillaTruth
	rng := rand.New(rand.NewPCG(7, 30))
	pts := synthScaling(rng, 0.003)
	o := DefaultScalingOptions()
	o.Boot = 50
	f, err := FitChinchilla(context.Background(), pts, o)
	if err != nil {
		t.Fatal(err)
	}
	wantN := tr.A * (math.Pow(1e5, -tr.Alpha) - math.Pow(1e9, -tr.Alpha))
	wantD := tr.B * (math.Pow(1e7, -tr.Beta) - math.Pow(1e11, -tr.Beta))
	for _, c := range []struct {
		name  string
		iv    Interval
		truth float64
	}{{"N", f.DropN, wantN}, {"D", f.DropD, wantD}} {
		if math.Abs(c.iv.Value/c.truth-1) > 0.05 || !(c.iv.Lo <= c.truth && c.truth <= c.iv.Hi) {
			t.Errorf("drop over %s: %.4g [%.4g, %.4g], want %.4g", c.name, c.iv.Value, c.iv.Lo, c.iv.Hi, c.truth)
		}
	}
	// No data term: the loss is E + A/N^α at every D.
	for i := range pts {
		pts[i].L = (tr.E + tr.A/math.Pow(pts[i].N, tr.Alpha)) * math.Exp(0.003*rng.NormFloat64())
	}
	f, err = FitChinchilla(context.Background(), pts, o)
	if err != nil {
		t.Fatal(err)
	}
	if f.DropD.Hi > 0.05*wantN {
		t.Errorf("without a data term the D drop is %.4g [%.4g, %.4g]; want ≈ 0 next to the N drop %.4g", f.DropD.Value, f.DropD.Lo, f.DropD.Hi, wantN)
	}
}
