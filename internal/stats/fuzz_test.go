package stats

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"
)

// FuzzReadCurvesCSV: the CSV reader never panics, and whatever it accepts
// is valid: finite values, positive finite x, and analysable without a
// panic.
func FuzzReadCurvesCSV(f *testing.F) {
	for _, name := range []string{"testdata/ladder.csv", "testdata/lossview.csv"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("task,metric,x,value\na,b,1,0.5\na,b,2,0.5\na,b,3,0.6\na,b,4,0.9\n")
	f.Add("task,metric,x,value,low,high,seed,n,chance\na,b,1e3,0.5,0.4,0.6,1,10,0.25\n")
	f.Add("x,value,task,metric\n-1,NaN,,\n")
	f.Add("task,metric,x,value\n\"a,b\",c,1,\"2\"\n")
	o := DefaultOptions()
	o.Boot = 0
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := ReadCurvesCSV(strings.NewReader(in), "")
		if err != nil {
			return
		}
		for _, c := range cs {
			for _, p := range c.Points {
				if !(p.X > 0) || math.IsInf(p.X, 0) || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
					t.Fatalf("accepted invalid point %+v", p)
				}
			}
			if len(c.Points) <= 12 { // keep executions fast: the target is the parser
				if _, err := Analyze(context.Background(), c, o); err != nil && !IsTooFew(err) {
					t.Fatalf("accepted curve fails analysis: %v", err)
				}
			}
		}
	})
}
