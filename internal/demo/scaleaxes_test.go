package demo

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/report"
)

// writeScale writes the three designs of the scale-axes study with final
// eval loss L(N, D) and addition's exact match add(N, D, C).
func writeScale(t *testing.T, root string, loss func(n, d float64) float64, add func(n, d, c float64) float64) {
	t.Helper()
	i := 0
	put := func(design string, n float64, steps int) {
		tokens := steps * 2048
		d := float64(tokens)
		c := 6 * n * d
		// A deterministic wobble, so that the fits see noise.
		w := 1 + 0.01*math.Sin(float64(7*i))
		f := fake{params: n, seed: 1, steps: steps, tokens: tokens, flops: c, evalLoss: loss(n, d) * w, chance: 0.0056,
			exact: map[string]float64{scaleTask: math.Min(1, math.Max(0, add(n, d, c)+0.01*math.Sin(float64(3*i))))}}
		f.write(t, filepath.Join(root, design, fmt.Sprintf("r%02d", i)))
		i++
	}
	for k, n := range []float64{1784, 3252, 5104, 9960, 16352, 29056, 62016, 107264, 164800} {
		put(ladderSweep, n, []int{100, 120, 150, 280, 460, 810, 1740, 3000, 4300}[k])
	}
	for _, s := range []int{178, 316, 562, 1000, 1780, 3160, 5620} {
		put(scaleDataSweep, 62016, s)
	}
	for _, c := range []float64{3e11, 1e12, 3e12} {
		for _, n := range []float64{16352, 29056, 62016, 107264} {
			put(scaleISOFLOPSweep, n, int(c/(6*n*2048)))
		}
	}
}

func TestScaleAxesJudge(t *testing.T) {
	chinchilla := func(n, d float64) float64 { return 0.9 + 300*math.Pow(n, -0.6) + 900*math.Pow(d, -0.4) }
	byCompute := func(_, _, c float64) float64 { return 1 / (1 + math.Exp(-(math.Log10(c)-11.8)/0.12)) }
	byParams := func(n, _, _ float64) float64 { return 1 / (1 + math.Exp(-(math.Log10(n)-4.6)/0.1)) }
	// Past the runs: the largest compute sampled is 8.7e12 (log 12.94),
	// so a midpoint at 13.3 leaves every score under 0.06.
	pastRuns := func(_, _, c float64) float64 { return 1 / (1 + math.Exp(-(math.Log10(c)-13.3)/0.12)) }
	// A step at 6.3e11 FLOPs, sharper than the runs can resolve.
	stepCompute := func(_, _, c float64) float64 { return math.Round(1 / (1 + math.Exp(-(math.Log10(c)-11.8)/1e-3))) }
	cases := []struct {
		name string
		loss func(n, d float64) float64
		add  func(n, d, c float64) float64
		want [2]string // "" for the second: not checked
		axis string    // the best axis of the second finding; "" not checked
		// limit is what the flops item of the second finding must say
		// of a fit at a limit (stats.CollapseAxis.BoundNote); "" when
		// nothing in that finding may speak of one.
		limit string
	}{
		{"both axes, compute", chinchilla, byCompute, [2]string{VerdictSupported, VerdictSupported}, "flops", ""},
		{"both axes, parameters", chinchilla, byParams, [2]string{VerdictSupported, VerdictSupported}, "params", ""},
		{"no data axis", func(n, _ float64) float64 { return 0.9 + 300*math.Pow(n, -0.6) }, byCompute, [2]string{VerdictNotSupported, VerdictSupported}, "flops", ""},
		{"transition past the runs", chinchilla, pastRuns, [2]string{VerdictSupported, ""}, "", "x* is an extrapolation"},
		{"step in compute", chinchilla, stepCompute, [2]string{VerdictSupported, VerdictSupported}, "flops", "the runs cannot resolve it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeScale(t, root, c.loss, c.add)
			j := judgeDir(t, "scale-axes", root)
			for i, f := range j.Findings {
				if c.want[i] != "" && f.Verdict != c.want[i] {
					t.Errorf("finding %d: %s — %s %q, want %s", i, f.Verdict, f.Detail, f.Items, c.want[i])
				}
			}
			f2 := j.Findings[1]
			if d := f2.Detail; c.axis != "" && !strings.HasPrefix(d, "against "+c.axis+" ") {
				t.Errorf("detail %q, want the %s axis", d, c.axis)
			}
			var flops string
			for _, it := range f2.Items {
				if strings.HasPrefix(it, "against flops:") {
					flops = it
				}
			}
			switch all := f2.Detail + strings.Join(f2.Items, " "); {
			case c.limit == "" && strings.Contains(all, "At a limit"):
				t.Errorf("a fit inside the runs said to be at a limit: %s", all)
			case c.limit != "" && !strings.Contains(flops, c.limit):
				t.Errorf("flops item %q does not say %q", flops, c.limit)
			case c.limit != "" && c.axis == "flops" && f2.Verdict == VerdictSupported && !strings.Contains(f2.Detail, c.limit):
				t.Errorf("supported on flops at a limit, but the detail %q does not say %q", f2.Detail, c.limit)
			}
			t.Logf("%s: %s %q", f2.Verdict, f2.Detail, f2.Items[:3])
			if j.Section == nil || len(j.Section.Figures) != 3 {
				t.Fatalf("section: %+v", j.Section)
			}
			checkEStatement(t, j.Findings[0].Items, j.Section.Figures[0].Table)
		})
	}
}

// TestISOFLOPBudgets: each iso-FLOP run's planned training FLOPs are within
// 0.3 % of the budget its label names (a step of the shortest run is 0.4 %), the data ladder holds one size
// over at least 1.5 decades of tokens, and every group has 4 sizes.
func TestISOFLOPBudgets(t *testing.T) {
	for _, quick := range []bool{false, true} {
		p, err := LoadPlan(scaleISOFLOPSweep, quick)
		if err != nil {
			t.Fatal(err)
		}
		groups := map[string]int{}
		for _, r := range p.Runs {
			// Labels are C<budget>-<size> ('-' reads '_' in run ids).
			budget := strings.FieldsFunc(r.Axes["run"], func(c rune) bool { return c == '-' || c == '_' })[0]
			c, err := strconv.ParseFloat(strings.TrimPrefix(budget, "C"), 64)
			if err != nil {
				t.Fatalf("run %s: label %q names no budget", r.ID, r.Axes["run"])
			}
			groups[budget]++
			if math.Abs(r.FLOPs/c-1) > 3e-3 {
				t.Errorf("quick=%v run %s: %.4g FLOPs, budget %.4g", quick, r.ID, r.FLOPs, c)
			}
		}
		if len(groups) != 3 {
			t.Errorf("quick=%v: %d budgets, want 3", quick, len(groups))
		}
		for g, n := range groups {
			if n < 4 {
				t.Errorf("quick=%v: budget %s has %d sizes, want ≥ 4", quick, g, n)
			}
		}
		d, err := LoadPlan(scaleDataSweep, quick)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := math.Inf(1), 0.0
		for _, r := range d.Runs {
			if r.Params != d.Runs[0].Params {
				t.Errorf("quick=%v: the data ladder has sizes %d and %d", quick, r.Params, d.Runs[0].Params)
			}
			lo, hi = math.Min(lo, float64(r.Tokens)), math.Max(hi, float64(r.Tokens))
		}
		if math.Log10(hi/lo) < 1.5-1e-9 {
			t.Errorf("quick=%v: the data ladder spans %.2f decades of tokens, want ≥ 1.5", quick, math.Log10(hi/lo))
		}
	}
}

// checkEStatement: the L(N, D) finding states E's profile range, and its
// table marks E "not identified" exactly when an item says so — both come
// from stats.ChinchillaFit's one judgement.
func checkEStatement(t *testing.T, items []string, tab *report.Table) {
	t.Helper()
	all := strings.Join(items, "\n")
	if !strings.Contains(all, "the profile of the fit's objective in E keeps E from") {
		t.Errorf("no E profile among the items %q", items)
	}
	if tab == nil || len(tab.Rows) == 0 {
		t.Fatalf("no parameter table")
	}
	t.Logf("E row %q; items %q", tab.Rows[0][0], items)
	if inItems, inRow := strings.Contains(all, "not identified"), strings.Contains(tab.Rows[0][0], "not identified"); inItems != inRow {
		t.Errorf("items say E not identified: %v, table row %q says so: %v", inItems, tab.Rows[0][0], inRow)
	}
}
