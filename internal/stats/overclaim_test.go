package stats

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// issueCurves are level means of real four-size score tables that an
// earlier version called emergent: the first falls, the second rises and
// falls, the third zigzags.
var issueCurves = [][]float64{
	{0.12, 0.09, 0.13, 0.00},
	{0.10, 0.34, 0.21, 0.00},
	{0.00, 0.50, 0.00, 0.50},
}

// TestIssueOverclaims: none of these is emergent, with or without item
// counts, with one point per size or with seeds, and each verdict says why.
func TestIssueOverclaims(t *testing.T) {
	sizes := []float64{2e8, 2e9, 2.5e10, 1.3e11}
	o := DefaultOptions()
	o.Boot = 0
	for ci, means := range issueCurves {
		for _, n := range []int{0, 20, 100, 1000} {
			t.Run(fmt.Sprintf("%v/n=%d", means, n), func(t *testing.T) {
				c := &Curve{Task: fmt.Sprint("issue", ci), Metric: "exact_match", Axis: AxisParams}
				for i, m := range means {
					c.Points = append(c.Points, Point{X: sizes[i], Value: m, N: n})
				}
				r, err := AnalyzeCurves(context.Background(), []*Curve{c}, AnalyzeConfig{Options: o})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s", r[0].Verdict, r[0].Reason)
				if r[0].Emergent || r[0].Verdict == VerdictEmergent {
					t.Errorf("called emergent")
				}
				if r[0].Reason == "" {
					t.Errorf("verdict %s without a reason", r[0].Verdict)
				}
				if n > 0 && n < MinItems && !r[0].FewItems {
					t.Errorf("%d items per level not flagged", n)
				}
				if !math.IsNaN(r[0].XStar) && r[0].Verdict != VerdictInsufficient && r[0].Verdict != VerdictSmooth {
					t.Errorf("x_star %g reported for a %s curve", r[0].XStar, r[0].Verdict)
				}
			})
		}
	}
}
