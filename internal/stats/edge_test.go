package stats

import (
	"context"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestCurveErrors: malformed input gives an error that names the problem
// (and the line, for CSV input).
func TestCurveErrors(t *testing.T) {
	head := "task,metric,x,value,n\n"
	cases := []struct {
		name, csv, want string
	}{
		{"missing column", "task,metric,scale,value\na,em,1,0.1\n", `missing column "x" (header has: task, metric, scale, value)`},
		{"nan value", head + "a,em,10,NaN,5\n", "value is NaN at x=10 (line 2)"},
		{"text value", head + "a,em,10,high,5\n", `line 2: column value: "high" is not a number`},
		{"non-positive x", head + "a,em,0,0.1,5\n", "non-positive x=0 (line 2)"},
		{"negative x", head + "a,em,-3,0.1,5\n", "non-positive x=-3 (line 2)"},
		{"duplicate x", head + "a,em,10,0.1,5\na,em,20,0.1,5\na,em,10,0.2,5\n", "duplicate x=10 (line 2 and line 4)"},
		{"fractional n", head + "a,em,10,0.1,2.5\n", "column n: 2.5 is not a non-negative whole number"},
		{"empty x", head + "a,em,,0.1,5\n", "line 2: column x is empty"},
		{"ragged row", head + "a,em,10,0.1\n", "line 2: 4 fields, header has 5"},
		{"no rows", head, "no rows"},
		{"empty file", "", "empty CSV"},
		{"conflicting chance", "task,metric,x,value,chance\na,em,1,0.1,0.25\na,em,2,0.1,0.5\n", "chance 0.5 differs from 0.25"},
		{"low without high", "task,metric,x,value,low\na,em,1,0.1,0\n", "low and high come together"},
		{"chance above 1", "task,metric,x,value,chance\na,em,1,0.1,5\n", "line 2: column chance: 5 is not a probability in [0, 1]"},
		{"negative chance", "task,metric,x,value,chance\na,em,1,0.1,-0.25\n", "line 2: column chance: -0.25 is not a probability"},
		{"NaN chance", "task,metric,x,value,chance\na,em,1,0.1,NaN\n", "line 2: column chance: NaN is not a probability"},
		{"invalid UTF-8 task", "task,metric,x,value\na\xff\xfeb,em,1,0.1\n", "line 2: column task: \"a\\xff\\xfeb\" is not valid UTF-8"},
		{"invalid UTF-8 header", "task,metric,x,value,se\xe9d\na,em,1,0.1,1\n", "column 5 name \"se\\xe9d\" is not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCurvesCSV(strings.NewReader(c.csv), "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	var mc *MissingColumnError
	_, err := ReadCurvesCSV(strings.NewReader(cases[0].csv), "")
	if !errors.As(err, &mc) || mc.Column != "x" {
		t.Errorf("missing column error is %T %v, want *MissingColumnError for x", err, err)
	}
}

// TestTooFewLevels: three distinct scales cannot support a four-parameter
// sigmoid; seeds at the same scale do not count as levels.
func TestTooFewLevels(t *testing.T) {
	c := &Curve{Task: "a", Metric: "em"}
	for _, x := range []float64{1, 10, 100, 100} {
		c.Points = append(c.Points, Point{X: x, Value: 0.5, N: 10, Seed: string(rune('a' + len(c.Points)))})
	}
	_, err := Analyze(context.Background(), c, DefaultOptions())
	if !IsTooFew(err) || !strings.Contains(err.Error(), "a/em: too few distinct x values: got 3, need at least 4") {
		t.Fatalf("err = %v", err)
	}
}

// TestFourLevelsWithoutVariance: four unweighted points give "insufficient"
// (any sigmoid fits them exactly), not a verdict.
func TestFourLevelsWithoutVariance(t *testing.T) {
	c := &Curve{Task: "a", Metric: "em"}
	for i, v := range []float64{0, 0, 1, 1} {
		c.Points = append(c.Points, Point{X: float64(int(10) << i), Value: v})
	}
	r, err := Analyze(context.Background(), c, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictInsufficient {
		t.Errorf("verdict %s, want insufficient", r.Verdict)
	}
}

// TestCSVOptionalColumns: seed, n, chance, low/high and group are read;
// seeds at one x pool into a level with their spread.
func TestCSVOptionalColumns(t *testing.T) {
	csv := "Task, Metric ,x,value,seed,n,chance,low,high,group\n" +
		"add,em,100,0.2,s1,50,0.1,0.1,0.3,g\n" +
		"add,em,100,0.4,s2,50,0.1,,,g\n" +
		"add,lp,100,-2.5,s1,,,,,\n"
	cs, err := ReadCurvesCSV(strings.NewReader(csv), AxisParams)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Key() != "add/em" || cs[1].Key() != "add/lp" || !cs[0].HasChance || cs[0].Chance != 0.1 || cs[1].HasChance {
		t.Fatalf("curves %+v %+v", cs[0], cs[1])
	}
	want := Point{X: 100, Value: 0.2, Seed: "s1", N: 50, Stderr: 0.2 / (2 * 1.959964), Group: "g", Line: "line 2"}
	if !reflect.DeepEqual(cs[0].Points[0], want) {
		t.Errorf("point %+v, want %+v", cs[0].Points[0], want)
	}
	lv, err := Pool(cs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Mean 0.3, sd of {0.2, 0.4} = 0.1414, 100 items in all.
	if len(lv) != 1 || lv[0].Seeds != 2 || lv[0].N != 100 || math.Abs(lv[0].Mean-0.3) > 1e-12 || lv[0].SD < 0.1414 || lv[0].SD > 0.1415 {
		t.Errorf("level %+v", lv[0])
	}
}

// TestCancel: a cancelled context stops the bootstrap with its error.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, err := os.Open("testdata/ladder.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := ReadCurvesCSV(f, AxisParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Analyze(ctx, cs[0], DefaultOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestLM: Levenberg–Marquardt reaches the exact parameters of a noise-free
// exponential from a poor start (tolerance 1e-6: the data are exact, so
// only the stopping rule limits the accuracy).
func TestLM(t *testing.T) {
	f := func(p []float64, x float64) float64 { return p[0] * math.Exp(-p[1]*x) }
	var x, y, w []float64
	for i := 0; i < 20; i++ {
		xi := float64(i) / 4
		x, y, w = append(x, xi), append(y, 3*math.Exp(-0.7*xi)), append(w, 1)
	}
	p, s := lmFit(pointwise(f), x, y, w, []float64{1, 3})
	if math.Abs(p[0]-3) > 1e-6 || math.Abs(p[1]-0.7) > 1e-6 || s > 1e-12 {
		t.Errorf("p = %v, S = %g; want [3 0.7], 0", p, s)
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{4, 1, 3, 2, math.Inf(1)}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {0.25, 2}, {0.125, 1.5}, {1, math.Inf(1)}} {
		if got := quantile(v, c.q); got != c.want {
			t.Errorf("quantile(%g) = %g, want %g", c.q, got, c.want)
		}
	}
}

// TestChanceNotApplicable: a chance rate on a log-probability curve is
// ignored (said in the evidence), and a sharp jump in it can still be
// emergent through the "starts flat" test.
func TestChanceNotApplicable(t *testing.T) {
	c := &Curve{Task: "add", Metric: "logprob", Axis: AxisParams, Chance: 0.01, HasChance: true}
	for i := 0; i < 8; i++ {
		tt := 4 + 3*float64(i)/7
		v := -3 + 2.5*logistic((tt-5.5)/0.05)
		for s := 0; s < 3; s++ {
			c.Points = append(c.Points, Point{X: math.Pow(10, tt), Value: v + 0.01*float64(s-1), Seed: string(rune('a' + s))})
		}
	}
	o := DefaultOptions()
	o.Boot = 0
	r, err := Analyze(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{}
	for _, e := range r.Evidence {
		tests[e.Test] = e.Pass
	}
	if _, ok := tests["chance_rate"]; !ok || !tests["starts_flat"] || r.Verdict != VerdictEmergent {
		t.Errorf("verdict %s, evidence %v; want emergent via starts_flat with the chance rate ignored", r.Verdict, tests)
	}
}
