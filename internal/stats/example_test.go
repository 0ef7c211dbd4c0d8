package stats_test

import (
	"context"
	"fmt"
	"strings"

	"emlab/internal/stats"
)

// A four-rung ladder: exact match on 2-digit addition over four model
// sizes and three seeds, 200 items per evaluation. It jumps, but four
// levels cannot test a four-parameter sigmoid out of sample, so the verdict
// is insufficient, with the descriptive numbers still reported.
func ExampleAnalyze() {
	csv := `task,metric,x,value,seed,n,chance
add,exact_match,16500,0.01,0,200,0.01
add,exact_match,29000,0.06,0,200,0.01
add,exact_match,62000,0.86,0,200,0.01
add,exact_match,108000,1.00,0,200,0.01
add,exact_match,16500,0.01,1,200,0.01
add,exact_match,29000,0.02,1,200,0.01
add,exact_match,62000,0.95,1,200,0.01
add,exact_match,108000,1.00,1,200,0.01
add,exact_match,16500,0.01,2,200,0.01
add,exact_match,29000,0.01,2,200,0.01
add,exact_match,62000,0.58,2,200,0.01
add,exact_match,108000,0.99,2,200,0.01
`
	curves, err := stats.ReadCurvesCSV(strings.NewReader(csv), stats.AxisParams)
	if err != nil {
		fmt.Println(err)
		return
	}
	o := stats.DefaultOptions()
	o.Boot = 100
	r, err := stats.Analyze(context.Background(), curves[0], o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %s (%s)\nfit %s, x* ≈ %.2g params, between %.2g and %.2g\n",
		r.Task, r.Verdict, r.Reason, r.Fit, r.XStar, r.Levels[1].X, r.Levels[2].X)
	// Output:
	// add: insufficient (improves with scale, but 4 levels cannot tell a sharp transition from a smooth rise: a sharp sigmoid fits best in sample, and testing it out of sample needs 6 levels)
	// fit sigmoid_log, x* ≈ 5e+04 params, between 2.9e+04 and 6.2e+04
}

func ExampleBreakthroughness() {
	line := []float64{0, 0.2, 0.4, 0.6, 0.8, 1}
	jump := []float64{0, 0, 0, 1, 1, 1}
	fmt.Printf("line: B=%.3g L=%.3g\n", stats.Breakthroughness(line, stats.BigBenchEpsilon), stats.Linearity(line, stats.BigBenchEpsilon))
	fmt.Printf("jump: B=%.3g L=%.3g\n", stats.Breakthroughness(jump, stats.BigBenchEpsilon), stats.Linearity(jump, stats.BigBenchEpsilon))
	// Output:
	// line: B=5 L=5
	// jump: B=1e+03 L=2.24
}
