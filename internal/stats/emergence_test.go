package stats

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestClassify: the four shapes are classified correctly across noise
// levels (items per evaluation) and ladder lengths, for several draws each.
const classifyDraws = 20

func TestClassify(t *testing.T) {
	o := DefaultOptions()
	o.Boot = 0
	for _, s := range synthShapes() {
		for _, levels := range []int{6, 10} {
			for _, n := range []int{100, 1000} {
				for _, seeds := range []int{1, 3} {
					name := fmt.Sprintf("%s/levels=%d/n=%d/seeds=%d", s.name, levels, n, seeds)
					t.Run(name, func(t *testing.T) {
						for draw := 0; draw < classifyDraws; draw++ {
							rng := rand.New(rand.NewPCG(uint64(draw), 42))
							c := synthCurve(rng, s, levels, seeds, n)
							r, err := Analyze(context.Background(), c, o)
							if err != nil {
								t.Fatal(err)
							}
							if r.Verdict != s.verdict {
								for _, e := range r.Evidence {
									t.Logf("  %s pass=%v %s", e.Test, e.Pass, e.Detail)
								}
								t.Errorf("draw %d: verdict %s, want %s", draw, r.Verdict, s.verdict)
							}
						}
					})
				}
			}
		}
	}
	_ = math.Pi
}
