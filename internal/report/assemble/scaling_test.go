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
// irreducible loss of 1.5 does not. Tokens are the same for every run, so
// only the bound can put a note there.
func TestScalingBoundNote(t *testing.T) {
	for _, c := range []struct {
		E    float64
		want bool
	}{{0, true}, {1.5, false}} {
		var runs []*rundir.Run
		for i := range 8 {
			n := math.Pow(10, 4+0.4*float64(i))
			cfg := &rundir.RunConfig{}
			cfg.Params = int64(n)
			runs = append(runs, &rundir.Run{ID: fmt.Sprintf("r%d", i), Config: cfg,
				Metrics: []rundir.Metrics{{Step: 100, Tokens: 1e6, EvalLoss: c.E + 50*math.Pow(float64(int64(n)), -0.4)}}})
		}
		r := &report.Report{SectionNotes: map[string]string{}}
		if err := scaling(context.Background(), r, runs, stats.ScalingOptions{Delta: 1e-3, Boot: 0, Seed: 1, Level: 0.95}); err != nil {
			t.Fatal(err)
		}
		if r.Scaling == nil {
			t.Fatalf("E = %g: no scaling section (%q)", c.E, r.SectionNotes[report.SecScaling])
		}
		if got := strings.Contains(r.Scaling.Note, "E at its lower bound (0)"); got != c.want {
			t.Errorf("E = %g: note %q, bound statement %v, want %v", c.E, r.Scaling.Note, got, c.want)
		}
		if got := strings.Contains(r.Scaling.Params[0].Name, "lower bound"); got != c.want {
			t.Errorf("E = %g: table row %q, marked at its bound %v, want %v", c.E, r.Scaling.Params[0].Name, got, c.want)
		}
	}
}
