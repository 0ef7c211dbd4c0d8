package stats

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var measure = flag.Bool("measure", false, "run the long recovery measurements reported in docs/stats.md")

// meanSD returns the mean and standard deviation of xs.
func meanSD(xs []float64) (float64, float64) {
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(xs)-1))
}

// TestMeasureRecovery measures the estimators' accuracy over many draws
// (the numbers in docs/stats.md). It asserts nothing beyond running; the
// asserted versions with tolerances are the Test*Recovery and TestClassify
// tests. Run: go test ./internal/stats -run TestMeasureRecovery -measure -v -timeout 30m
func TestMeasureRecovery(t *testing.T) {
	if !*measure {
		t.Skip("long measurement; enable with -measure (see docs/stats.md)")
	}
	ctx := context.Background()
	t.Run("classification", func(t *testing.T) {
		o := DefaultOptions()
		o.Boot = 0
		const draws = 100
		for _, levels := range []int{5, 6, 10} {
			for _, n := range []int{50, 100, 1000} {
				for _, seeds := range []int{1, 3} {
					line := fmt.Sprintf("levels=%2d n=%4d seeds=%d:", levels, n, seeds)
					for _, s := range synthShapes() {
						// Below MinLevels a rising curve is insufficient
						// (a transition cannot be tested out of sample).
						want := s.verdict
						if levels < o.MinLevels && want != VerdictFlat {
							want = VerdictInsufficient
						}
						ok := 0
						for d := 0; d < draws; d++ {
							rng := rand.New(rand.NewPCG(uint64(d), 1000+uint64(levels*n*seeds)))
							r, err := Analyze(ctx, synthCurve(rng, s, levels, seeds, n), o)
							if err == nil && r.Verdict == want {
								ok++
							}
						}
						line += fmt.Sprintf(" %s %3d%%", s.name, ok*100/draws)
					}
					t.Log(line)
				}
			}
		}
	})
	t.Run("hard_shapes", func(t *testing.T) {
		c := synthChance
		shapes := []shape{
			{"moderate_sigmoid", VerdictEmergent, func(t float64) float64 { return c + 0.4*logistic((t-5.5)/0.1) }},
			{"wide_sigmoid", VerdictSmooth, func(t float64) float64 { return c + 0.8*logistic((t-5.5)/0.4) }},
			{"steep_power", VerdictSmooth, func(t float64) float64 { return 1 - (1-c)*math.Pow(10, -1.0*(t-4)) }},
			{"late_power", VerdictSmooth, func(t float64) float64 { return math.Max(c, 1-0.9*math.Pow(10, -0.3*(t-4))) }},
			{"small_line", VerdictSmooth, func(t float64) float64 { return c + 0.2*(t-4)/3 }},
		}
		o := DefaultOptions()
		o.Boot = 0
		const draws = 100
		for _, s := range shapes {
			for _, levels := range []int{6, 10} {
				for _, n := range []int{100, 1000} {
					cnt := map[string]int{}
					for d := 0; d < draws; d++ {
						rng := rand.New(rand.NewPCG(uint64(d), 5))
						r, err := Analyze(ctx, synthCurve(rng, s, levels, 1, n), o)
						if err != nil {
							t.Fatal(err)
						}
						cnt[r.Verdict]++
					}
					t.Logf("| %s | %d | %d | %s | %d %% | %v |", s.name, levels, n, s.verdict, cnt[s.verdict]*100/draws, cnt)
				}
			}
		}
	})
	t.Run("sigmoid", func(t *testing.T) {
		const floor, ceil, mid, width = 0.1, 0.9, 5.5, 0.2
		f := func(t float64) float64 { return floor + (ceil-floor)*logistic((t-mid)/width) }
		o := DefaultOptions()
		o.Boot = 200
		for _, n := range []int{100, 1000} {
			var ef, ec, em, ew []float64
			cover, cross := 0, 0
			const draws = 100
			for d := 0; d < draws; d++ {
				rng := rand.New(rand.NewPCG(uint64(d), uint64(n)))
				r, err := Analyze(ctx, curveFrom(rng, f, 12, 3, n), o)
				if err != nil {
					t.Fatal(err)
				}
				var p map[string]float64
				for _, fit := range r.Fits {
					if fit.Model == ModelSigmoid {
						p = fit.Params
					}
				}
				ef, ec = append(ef, p["floor"]-floor), append(ec, p["ceiling"]-ceil)
				em, ew = append(em, p["log10_x_mid"]-mid), append(ew, p["width_decades"]/width-1)
				if x := math.Pow(10, mid); r.XStarLo <= x && x <= r.XStarHi {
					cover++
				}
				if xc := math.Pow(10, mid+width*logit(0.1/0.8)); r.XCrossLo <= xc && xc <= r.XCrossHi {
					cross++
				}
			}
			mf, sf := meanSD(ef)
			mc, sc := meanSD(ec)
			mm, sm := meanSD(em)
			mw, sw := meanSD(ew)
			t.Logf("n=%4d (12 rungs × 3 seeds, %d draws): floor bias %+.4f sd %.4f; ceiling bias %+.4f sd %.4f; log10 x_star bias %+.4f sd %.4f decades; width rel. bias %+.3f sd %.3f; x_star 95%% CI coverage %d%%; x_cross 95%% CI coverage %d%%",
				n, draws, mf, sf, mc, sc, mm, sm, mw, sw, cover*100/draws, cross*100/draws)
		}
	})
	t.Run("chinchilla", func(t *testing.T) {
		tr := chinchillaTruth
		o := DefaultScalingOptions()
		o.Boot = 100
		for _, sigma := range []float64{0.003, 0.01} {
			const draws = 40
			var ea, eb, ee []float64
			cover := map[string]int{}
			for d := 0; d < draws; d++ {
				rng := rand.New(rand.NewPCG(uint64(d), 77))
				f, err := FitChinchilla(ctx, synthScaling(rng, sigma), o)
				if err != nil {
					t.Fatal(err)
				}
				ea, eb, ee = append(ea, f.Alpha.Value-tr.Alpha), append(eb, f.Beta.Value-tr.Beta), append(ee, f.E.Value-tr.E)
				for name, c := range map[string]struct {
					iv Interval
					v  float64
				}{"E": {f.E, tr.E}, "A": {f.A, tr.A}, "B": {f.B, tr.B}, "alpha": {f.Alpha, tr.Alpha}, "beta": {f.Beta, tr.Beta}} {
					if c.iv.Lo <= c.v && c.v <= c.iv.Hi {
						cover[name]++
					}
				}
			}
			ma, sa := meanSD(ea)
			mb, sb := meanSD(eb)
			me, se := meanSD(ee)
			t.Logf("sigma=%.3f (5×5 grid, %d draws): alpha bias %+.4f sd %.4f; beta bias %+.4f sd %.4f; E bias %+.4f sd %.4f; 95%% CI coverage E %d%% A %d%% B %d%% alpha %d%% beta %d%%",
				sigma, draws, ma, sa, mb, sb, me, se, cover["E"]*100/draws, cover["A"]*100/draws, cover["B"]*100/draws, cover["alpha"]*100/draws, cover["beta"]*100/draws)
		}
	})
	t.Run("loss_threshold", func(t *testing.T) {
		o := DefaultOptions()
		o.Boot = 200
		const draws = 100
		var e []float64
		cover := 0
		for d := 0; d < draws; d++ {
			rng := rand.New(rand.NewPCG(uint64(d), 55))
			var pts []Point
			for g, minLoss := range []float64{2.3, 1.6, 1.2} {
				for i := 0; i < 15; i++ {
					L := 3.0 - (3.0-minLoss)*float64(i)/14
					pts = append(pts, Point{X: L, Value: 0.05 + 0.5*math.Max(0, 2-L) + 0.02*rng.NormFloat64(), Group: fmt.Sprint(g)})
				}
			}
			lt, err := FitLossThreshold(ctx, "m", pts, o)
			if err != nil {
				t.Fatal(err)
			}
			e = append(e, lt.LStar-2)
			if lt.LStarLo <= 2 && 2 <= lt.LStarHi {
				cover++
			}
		}
		m, s := meanSD(e)
		t.Logf("L*=2, slope 0.5, noise 0.02, 45 checkpoints over 3 sizes (%d draws): bias %+.4f sd %.4f nats; 95%% CI coverage %d%%", draws, m, s, cover*100/draws)
	})
}
