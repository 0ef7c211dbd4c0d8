package demo

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"emlab/internal/stats"
)

// writeForecastLadder writes a demo-like ladder of 8 rungs with two
// abilities whose final exact match is exact(i, task), and checkpoints
// along the way whose exact match follows the eval loss through
// byLoss(task, loss) when byLoss is given.
func writeForecastLadder(t *testing.T, root string, exact func(i int, task string) float64, byLoss func(task string, loss float64) float64) {
	t.Helper()
	tasks := []string{"add/plain/2", "add/reversed/2"}
	for i := range 8 {
		n := 2000 * math.Pow(2, float64(i))
		f := fake{params: n, seed: 1, chance: 0.0056, exact: map[string]float64{}}
		final := 3.0 - 0.25*float64(i)
		f.evalLoss = final
		for _, task := range tasks {
			f.exact[task] = exact(i, task)
		}
		if byLoss != nil {
			for k, step := range []int{250, 500, 1000, 2000} {
				loss := final + 0.6*float64(4-k)/4
				c := checkpoint{step: step, evalLoss: loss, exact: map[string]float64{}}
				for _, task := range tasks {
					c.exact[task] = byLoss(task, loss)
				}
				f.history = append(f.history, c)
			}
			for _, task := range tasks {
				f.exact[task] = byLoss(task, final)
			}
		}
		f.write(t, filepath.Join(root, ladderSweep, fmt.Sprintf("r%d", i)))
	}
}

func TestForecastJudge(t *testing.T) {
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	// Abrupt: at chance on every rung below the jump, 1 from rung 6 on.
	abrupt := func(i int, task string) float64 {
		if i >= 6 {
			return 0.98
		}
		return 0.006
	}
	// Visible: a sharp rise whose first half lies on the rungs fitted.
	gradual := func(i int, task string) float64 { return 0.01 + 0.98*sig((float64(i)-5.3)/0.5) }
	oneCurve := func(task string, loss float64) float64 { return 0.006 + 0.98*sig((1.9-loss)/0.06) }
	cases := []struct {
		name   string
		exact  func(int, string) float64
		byLoss func(string, float64) float64
		want   [2]string
	}{
		{"abrupt: forecasts miss", abrupt, nil, [2]string{VerdictSupported, VerdictInconclusive}},
		{"transition under way: forecasts hit", gradual, nil, [2]string{VerdictNotSupported, VerdictInconclusive}},
		{"one curve of loss", nil, oneCurve, [2]string{"", VerdictSupported}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			ex := c.exact
			if ex == nil {
				ex = gradual
			}
			writeForecastLadder(t, root, ex, c.byLoss)
			j := judgeDir(t, "forecast", root)
			for i, f := range j.Findings {
				if c.want[i] != "" && f.Verdict != c.want[i] {
					t.Errorf("finding %d: %s — %s %q, want %s", i, f.Verdict, f.Detail, f.Items, c.want[i])
				}
			}
		})
	}
}

func TestHoldoutFor(t *testing.T) {
	levels := make([]stats.Level, 9)
	for i := range levels {
		levels[i].X = float64(1000 * (i + 1))
	}
	for _, c := range []struct {
		xStar float64
		want  int
	}{{8500, 1}, {6500, 3}, {2500, 5}, {500, 5}, {1e9, 1}} {
		if got := holdoutFor(levels, c.xStar); got != c.want {
			t.Errorf("x* %g: hold out %d, want %d", c.xStar, got, c.want)
		}
	}
}

// TestLossFigureSizesInOrder: the loss view's legend lists the model
// sizes largest first, whatever order their points come in.
func TestLossFigureSizesInOrder(t *testing.T) {
	c := &stats.Curve{Task: "add/plain/2", Points: []stats.Point{
		{X: 1.1, Value: 0.9, Group: "107264"}, {X: 1.5, Value: 0.2, Group: "62016"},
		{X: 2.5, Value: 0, Group: "3252"}, {X: 3.9, Value: 0, Group: "1784"}, {X: 2.0, Value: 0, Group: "29056"},
	}}
	lt := &stats.LossThreshold{LStar: 1.3, LStarLo: 1.2, LStarHi: 1.4, R2All: 0.9, R2PerGroup: 0.95}
	fig := lossFigure2("add/plain/2", c, lt, "one curve")
	var got []string
	for _, s := range fig.Plots[0].Series {
		got = append(got, s.Label)
	}
	want := []string{"107k params", "62k params", "29.1k params", "3.25k params", "1.78k params"}
	if !slices.Equal(got, want) {
		t.Errorf("legend %q, want %q", got, want)
	}
}
