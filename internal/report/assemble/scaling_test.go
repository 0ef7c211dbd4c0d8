package assemble

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"emlab/internal/report"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// TestScalingBoundNote: a ladder whose losses follow a pure power law
// (E = 0) gets the fit's bound note in the scaling section; one with an
// irreducible loss of 1.5 does not; one whose E is inside its bounds but
// left undetermined by a slowly decaying law with a 1 % wobble gets the
// "E not identified" note and row label. Tokens are the same for every
// run, so only the judgement of E can put a note there.
func TestScalingBoundNote(t *testing.T) {
	for _, c := range []struct {
		name  string
		loss  func(n float64, i int) float64
		bound bool // the at-bound sentence
		notID bool // E not identified (row label and note)
	}{
		{"E = 0", func(n float64, _ int) float64 { return 50 * math.Pow(n, -0.4) }, true, true},
		{"E = 1.5", func(n float64, _ int) float64 { return 1.5 + 50*math.Pow(n, -0.4) }, false, false},
		{"E = 0.5, slow decay, 1 % wobble", func(n float64, i int) float64 {
			return (0.5 + 10*math.Pow(n, -0.15)) * (1 + 0.01*math.Sin(float64(7*i)))
		}, false, true},
	} {
		var runs []*rundir.Run
		for i := range 8 {
			n := math.Pow(10, 4+0.4*float64(i))
			cfg := &rundir.RunConfig{}
			cfg.Params = int64(n)
			runs = append(runs, &rundir.Run{ID: fmt.Sprintf("r%d", i), Config: cfg,
				Metrics: []rundir.Metrics{{Step: 100, Tokens: 1e6, EvalLoss: c.loss(float64(int64(n)), i)}}})
		}
		r := &report.Report{SectionNotes: map[string]string{}}
		if err := scaling(context.Background(), r, runs, stats.ScalingOptions{Delta: 1e-3, Boot: 0, Seed: 1, Level: 0.95}); err != nil {
			t.Fatal(err)
		}
		if r.Scaling == nil {
			t.Fatalf("%s: no scaling section (%q)", c.name, r.SectionNotes[report.SecScaling])
		}
		if got := strings.Contains(r.Scaling.Note, "E at its lower bound (0)"); got != c.bound {
			t.Errorf("%s: note %q, bound statement %v, want %v", c.name, r.Scaling.Note, got, c.bound)
		}
		if got := strings.Contains(r.Scaling.Params[0].Name, "lower bound"); got != c.bound {
			t.Errorf("%s: table row %q, marked at its bound %v, want %v", c.name, r.Scaling.Params[0].Name, got, c.bound)
		}
		if got := strings.Contains(r.Scaling.Params[0].Name, "not identified"); got != c.notID {
			t.Errorf("%s: table row %q, marked not identified %v, want %v", c.name, r.Scaling.Params[0].Name, got, c.notID)
		}
		if got := strings.Contains(r.Scaling.Note, "not identified"); got != c.notID {
			t.Errorf("%s: note %q, says not identified %v, want %v", c.name, r.Scaling.Note, got, c.notID)
		}
	}
}
