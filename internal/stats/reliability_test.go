package stats

import (
	"context"
	"strings"
	"testing"
)

// TestReliabilityNonFiniteChance: a NaN or infinite chance column is an
// error saying so, on its first row (it read "chance NaN differs from NaN"
// on the second).
func TestReliabilityNonFiniteChance(t *testing.T) {
	for v, shown := range map[string]string{"NaN": "NaN", "Inf": "+Inf", "-Inf": "-Inf"} {
		t.Run(v, func(t *testing.T) {
			csv := "task,metric,x,value,chance\na,em,1,0.1," + v + "\na,em,2,0.2," + v + "\n"
			_, err := ReadCurvesCSV(strings.NewReader(csv), "")
			if err == nil || !strings.Contains(err.Error(), "line 2: column chance: "+shown) || !strings.Contains(err.Error(), "is not a probability") {
				t.Errorf("chance %s: err = %v", v, err)
			}
		})
	}
}

// TestReliabilityChanceAndNames: a chance rate outside [0, 1] (chance = 5
// was analysed as given) and task or metric names that are not UTF-8
// (passed through to the output) are errors naming the line, from a CSV
// and from curves built elsewhere (the runs' reader).
func TestReliabilityChanceAndNames(t *testing.T) {
	rows := func(task, metric, chance string) string {
		return "task,metric,x,value,chance\n" + task + "," + metric + ",1,0.1," + chance + "\n" + task + "," + metric + ",2,0.2," + chance + "\n"
	}
	cases := []struct{ name, csv, want string }{
		{"chance 5", rows("a", "em", "5"), "line 2: column chance: 5 is not a probability in [0, 1]"},
		{"chance 1.5", rows("a", "em", "1.5"), "line 2: column chance: 1.5 is not a probability"},
		{"chance -0.1", rows("a", "em", "-0.1"), "line 2: column chance: -0.1 is not a probability"},
		{"task not UTF-8", rows("ad\xffd", "em", "0.1"), "line 2: column task: \"ad\\xffd\" is not valid UTF-8"},
		{"metric not UTF-8", rows("a", "e\xc3m", "0.1"), "line 2: column metric: \"e\\xc3m\" is not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run("csv/"+c.name, func(t *testing.T) {
			_, err := ReadCurvesCSV(strings.NewReader(c.csv), "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	curve := func(task string, chance float64) *Curve {
		return &Curve{Task: task, Metric: "exact_match", Chance: chance, HasChance: true,
			Points: []Point{{X: 1, Value: 0.1}, {X: 2, Value: 0.2}, {X: 4, Value: 0.3}, {X: 8, Value: 0.4}}}
	}
	for _, c := range []struct {
		name  string
		curve *Curve
		want  string
	}{
		{"chance 5", curve("a", 5), "chance 5 is not a probability in [0, 1]"},
		{"task not UTF-8", curve("ad\xffd", 0.1), "must be valid UTF-8"},
	} {
		t.Run("curve/"+c.name, func(t *testing.T) {
			err := c.curve.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
			if _, err := Analyze(context.Background(), c.curve, DefaultOptions()); err == nil {
				t.Errorf("Analyze accepted the curve")
			}
		})
	}
}

// TestReliabilityConstantLoss: a loss that is the same at every point has
// no scaling law; each fit says so rather than "converging" on α = 0 (any
// exponent fits a constant with A = 0).
func TestReliabilityConstantLoss(t *testing.T) {
	ns := []float64{1e6, 2e6, 4e6, 8e6, 16e6, 32e6}
	L := []float64{3.2, 3.2, 3.2, 3.2, 3.2, 3.2}
	var pts []ScalingPoint
	for i, n := range ns {
		for _, d := range []float64{1e8, 4e8} {
			pts = append(pts, ScalingPoint{N: n, D: d, L: L[i], Line: "line"})
		}
	}
	o := DefaultScalingOptions()
	o.Boot = 0
	fits := map[string]func() (any, error){
		"chinchilla": func() (any, error) { return FitChinchilla(context.Background(), pts, o) },
		"power law":  func() (any, error) { return FitPowerLaw(context.Background(), ns, L, o) },
		"kaplan":     func() (any, error) { return FitKaplan(context.Background(), ns, L, o) },
	}
	for name, fit := range fits {
		t.Run(name, func(t *testing.T) {
			f, err := fit()
			if err == nil || !strings.Contains(err.Error(), "a constant has no scaling law") {
				t.Errorf("fit %+v, err = %v; want the constant named", f, err)
			}
		})
	}
}
