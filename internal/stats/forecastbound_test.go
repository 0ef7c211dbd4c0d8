package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestForecastAtBound: a forecast says when a number it prints rests on a
// parameter at a bound, and is silent when nothing is. Binomial exact
// match on 12 rungs over 10^4…10^7 (0.27 decades apart), 3 seeds of 1000
// items:
//
//   - a step (true width 1e-4 decades, under the sigmoid's floor) at
//     10^5.64, between two fitted rungs (2 held out): the sigmoid fitted
//     to the smaller rungs has its width at its bound, so x* from the
//     smaller rungs must be flagged and the note must say so;
//   - a rise whose midpoint (10^5) and plateau lie well inside the fitted
//     rungs (2 held out): nothing of either sigmoid or of the chosen model
//     is at a bound, and the note is empty.
func TestForecastAtBound(t *testing.T) {
	sig := func(mid, width float64) func(float64) float64 {
		return func(t float64) float64 { return 0.02 + 0.93*logistic((t-mid)/width) }
	}
	cases := []struct {
		name    string
		f       func(float64) float64
		holdout int
		small   string // parameter that must be at a bound in the small sigmoid ("" for none)
		words   string // in BoundNote ("" for an empty note)
	}{
		{"step between two fitted rungs", sig(5.64, 1e-4), 2, paramWidth, "x* from the smaller rungs comes from"},
		{"rise inside the fitted rungs", sig(5.0, 0.2), 2, "", ""},
	}
	o := DefaultOptions()
	o.Boot = 0
	for _, c := range cases {
		for draw := range 2 {
			t.Run(fmt.Sprintf("%s/draw=%d", c.name, draw), func(t *testing.T) {
				cv := curveFrom(rand.New(rand.NewPCG(uint64(draw), 31)), c.f, 12, 3, 1000)
				fc, err := ForecastCurve(context.Background(), cv, c.holdout, o)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("model %s %v; x* small %.3g %v, full %.3g %v; note %q", fc.Model, fc.ModelAtBound, fc.XStarSmall, fc.XStarSmallAtBound, fc.XStarFull, fc.XStarFullAtBound, fc.BoundNote)
				if c.small != "" && !slices.Contains(fc.XStarSmallAtBound, c.small) {
					t.Errorf("the small rungs' sigmoid: %s not at its bound (x_star_small_at_bound %v)", c.small, fc.XStarSmallAtBound)
				}
				if c.small == "" && (len(fc.XStarSmallAtBound)+len(fc.XStarFullAtBound)+len(fc.ModelAtBound) > 0) {
					t.Errorf("a well-determined forecast flagged: model %v, small %v, full %v", fc.ModelAtBound, fc.XStarSmallAtBound, fc.XStarFullAtBound)
				}
				if (c.words == "") != (fc.BoundNote == "") || !strings.Contains(fc.BoundNote, c.words) {
					t.Errorf("note %q, want one saying %q", fc.BoundNote, c.words)
				}
				// The JSON carries the judgement as arrays, never null.
				b, err := json.Marshal(jsonValue(fc))
				if err != nil {
					t.Fatal(err)
				}
				var back map[string]any
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"model_at_bound", "x_star_small_at_bound", "x_star_full_at_bound"} {
					if _, ok := back[k].([]any); !ok {
						t.Errorf("%s written as %v, want an array", k, back[k])
					}
				}
			})
		}
	}
}

// TestLossThresholdAtBound: L* is flagged when it sits at an end of the
// losses sampled, where every L* beyond fits as well, and only then.
// Three sizes, 15 checkpoints each from loss 3.0 down to 2.3, 1.6 and 1.2
// (TestLossThresholdRecovery's design), scores with noise sd 0.02:
//
//   - a threshold at 2.0 (slope 0.5 per nat): inside, not flagged;
//   - a score that improves by 1 per nat over every loss sampled: the
//     best hinge is the line, L* at the highest loss, flagged with words
//     saying the flat part is never seen;
//   - a score constant at 0.3 (no noise): no hinge improves on the
//     constant, L* at the lowest loss, flagged with words saying the
//     score does not improve.
func TestLossThresholdAtBound(t *testing.T) {
	cases := []struct {
		name  string
		f     func(L float64) float64
		noise float64
		words string // in BoundNote ("" for not at a bound)
	}{
		{"threshold inside", func(L float64) float64 { return 0.05 + 0.5*math.Max(0, 2-L) }, 0.02, ""},
		{"improves over every loss", func(L float64) float64 { return 0.05 + (3.2 - L) }, 0.02, "the highest eval loss (3)"},
		{"constant", func(float64) float64 { return 0.3 }, 0, "the lowest eval loss (1.2)"},
	}
	o := DefaultOptions()
	o.Boot = 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			var pts []Point
			for g, minLoss := range []float64{2.3, 1.6, 1.2} {
				for i := 0; i < 15; i++ {
					L := 3.0 - (3.0-minLoss)*float64(i)/14
					pts = append(pts, Point{X: L, Value: c.f(L) + c.noise*rng.NormFloat64(), Group: fmt.Sprint(g)})
				}
			}
			lt, err := FitLossThreshold(context.Background(), "t/m", pts, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("L* %.4g slope %.3g at_bound %v note %q", lt.LStar, lt.Slope, lt.AtBound, lt.BoundNote)
			if lt.AtBound == nil {
				t.Errorf("AtBound is nil: --json must write [] when L* is not at a bound")
			}
			want := c.words != ""
			if slices.Contains(lt.AtBound, paramLStar) != want || (lt.BoundNote != "") != want || !strings.Contains(lt.BoundNote, c.words) {
				t.Errorf("at_bound %v, note %q; want flagged %v with %q", lt.AtBound, lt.BoundNote, want, c.words)
			}
		})
	}
}
