package stats

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var scalePoints = flag.Int("scale-points", 0, "points for TestMeasureScale (docs/stats.md); 0 skips it")

// bigCurve is a curve of n distinct x (a long run's checkpoints on the step
// axis): a sharp rise of exact match on 100 items per evaluation.
func bigCurve(n int, axis string) *Curve {
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	c := &Curve{Task: "big", Metric: "exact_match", Axis: axis, Chance: 0.1, HasChance: true}
	for i := 0; i < n; i++ {
		t := 2 + 4*(float64(i)+0.5)/float64(n)
		p := 0.1 + 0.8*logistic((t-4.3)/0.05)
		if axis == AxisEvalLoss {
			t = -t // the loss falls as the model improves
		}
		v := float64(drawBinomial(rng, 100, p)) / 100
		c.Points = append(c.Points, Point{X: math.Pow(10, t/4), Value: v, N: 100, Group: fmt.Sprint(i % 5)})
	}
	return c
}

// TestLargeCurve: a curve with 20000 distinct x is binned to MaxLevels and
// analysed (with bootstrap intervals) in bounded time, and the note says so.
func TestLargeCurve(t *testing.T) {
	c := bigCurve(20000, AxisStep)
	o := DefaultOptions()
	o.Boot = 50
	start := time.Now()
	r, err := Analyze(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d points: %s in %v; %s; %s", len(c.Points), r.Verdict, time.Since(start), r.Note, r.Reason)
	for _, e := range r.Evidence {
		t.Logf("  %s %v %s", e.Test, e.Pass, e.Detail)
	}
	if len(r.Levels) > MaxLevels || r.Note == "" {
		t.Errorf("%d levels (max %d), note %q", len(r.Levels), MaxLevels, r.Note)
	}
	if r.Verdict != VerdictEmergent {
		t.Errorf("verdict %s, want emergent", r.Verdict)
	}
}

// TestCancelLongAnalysis: cancelling the context stops a long analysis
// (fits, leave-one-out, bootstrap, loss view) promptly with its error.
func TestCancelLongAnalysis(t *testing.T) {
	for _, axis := range []string{AxisStep, AxisEvalLoss} {
		t.Run(axis, func(t *testing.T) {
			c := bigCurve(100000, axis)
			ctx, cancel := context.WithCancel(context.Background())
			o := DefaultOptions()
			o.Boot = 100000 // far more than could finish
			done := make(chan error, 1)
			go func() {
				_, err := AnalyzeCurves(ctx, []*Curve{c}, AnalyzeConfig{Options: o, LossView: axis == AxisEvalLoss, Forecast: 2})
				done <- err
			}()
			time.Sleep(300 * time.Millisecond)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("analysis still running 20 s after cancel")
			}
		})
	}
}

// TestMeasureScale times the analysis of one curve of -scale-points
// distinct x on the step and eval-loss axes (docs/stats.md).
// Run: go test ./internal/stats -run TestMeasureScale -scale-points 1000000 -v
func TestMeasureScale(t *testing.T) {
	if *scalePoints == 0 {
		t.Skip("measurement; enable with -scale-points N (see docs/stats.md)")
	}
	for _, axis := range []string{AxisStep, AxisEvalLoss} {
		c := bigCurve(*scalePoints, axis)
		o := DefaultOptions()
		start := time.Now()
		rs, err := AnalyzeCurves(context.Background(), []*Curve{c}, AnalyzeConfig{Options: o, LossView: axis == AxisEvalLoss})
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		extra := ""
		if r.Loss != nil {
			extra = fmt.Sprintf("; L* = %.4g [%.4g, %.4g]", r.Loss.LStar, r.Loss.LStarLo, r.Loss.LStarHi)
		}
		t.Logf("%s axis, %d points, %d bootstrap replicates: %s (x* %.4g [%.4g, %.4g])%s in %v; %s",
			axis, len(c.Points), o.Boot, r.Verdict, r.XStar, r.XStarLo, r.XStarHi, extra, time.Since(start).Round(time.Millisecond), r.Note)
	}
}
