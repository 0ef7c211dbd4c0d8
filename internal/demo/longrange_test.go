package demo

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// writeLongrange writes matched GPT and LSTM runs whose exact match at
// gaps 16, 32, 64 and 128 is given, of the study's own design.
func writeLongrange(t *testing.T, root string, models []struct {
	arch   string
	params float64
	exact  [4]float64
}) {
	t.Helper()
	d, err := longrangeDesign(true)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range models {
		writeLongrangeRun(t, filepath.Join(root, longrangeSweep, fmt.Sprintf("m%d", i)), fmt.Sprintf("%s%d", m.arch, i), m.arch, m.params, m.exact, d)
	}
}

// writeLongrangeRun writes one longrange run of design d.
func writeLongrangeRun(t *testing.T, dir, label, arch string, params float64, exact [4]float64, d lrDesign) {
	t.Helper()
	f := fake{params: params, seed: 1, chance: 0.1, steps: d.Steps, exact: map[string]float64{}, logprob: map[string]float64{}, axes: map[string]string{"model": label}}
	for j, g := range []int{16, 32, 64, 128} {
		task := fmt.Sprintf("longrange/retrieve/gap=%d", g)
		f.exact[task], f.logprob[task] = exact[j], -2*(1-exact[j])
	}
	f.write(t, dir)
	patchConfig(t, dir, func(c map[string]any) {
		c["data"] = map[string]any{"source": "tasks", "tasks": d.Tasks}
		c["model"].(map[string]any)["n_ctx"] = d.NCtx
		if arch == "lstm" {
			c["model"].(map[string]any)["arch"] = "lstm"
		}
	})
}

// TestLongrangeDesign: the quick and full sweeps train one design, and the
// judgement pairs only runs of it: stale runs of another design in the
// sweep's directory (a shorter training, other gaps) are named and left
// out, never paired by size rank.
func TestLongrangeDesign(t *testing.T) {
	quick, err := longrangeDesign(true)
	if err != nil {
		t.Fatal(err)
	}
	full, err := longrangeDesign(false)
	if err != nil {
		t.Fatal(err)
	}
	if quick != full {
		t.Fatalf("quick design %s, full %s: one directory would hold two designs", quick, full)
	}
	older := quick
	older.Steps = 1000
	otherGaps := quick
	otherGaps.Tasks = "longrange(gap=32,eval_gap=64,pairs=1,loss=answer)"
	flat, falls := [4]float64{1, 1, 1, 1}, [4]float64{1, 0.6, 0.3, 0.2}
	cases := []struct {
		name  string
		stale []lrDesign
		want  string
	}{
		{"none", nil, VerdictSupported},
		// Alone, a stale GPT (flat) of 9k would be paired with the 9.5k
		// LSTM (falls) and the stale LSTM (flat) with the 31k GPT: the
		// verdict would turn.
		{"a shorter training", []lrDesign{older}, VerdictSupported},
		{"other gaps", []lrDesign{otherGaps}, VerdictSupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, longrangeSweep)
			writeLongrangeRun(t, filepath.Join(dir, "gpt-31k"), "gpt-d32L2", "gpt", 31000, flat, quick)
			writeLongrangeRun(t, filepath.Join(dir, "lstm-29k"), "lstm-H56", "lstm", 29000, falls, quick)
			for i, d := range c.stale {
				writeLongrangeRun(t, filepath.Join(dir, fmt.Sprint("stale-gpt", i)), "gpt-d16L2", "gpt", 9000, [4]float64{1, 1, 1, 0.2}, d)
				writeLongrangeRun(t, filepath.Join(dir, fmt.Sprint("stale-lstm", i)), "lstm-H32", "lstm", 9500, flat, d)
			}
			j := judgeDir(t, "longrange", root)
			for i, f := range j.Findings {
				if f.Verdict != c.want {
					t.Errorf("finding %d: %s — %s %q, want %s", i, f.Verdict, f.Detail, f.Items, c.want)
				}
				left := 0
				for _, it := range f.Items {
					if strings.HasPrefix(it, "not compared, another design: ") && strings.Contains(it, "not this study's "+quick.String()) {
						left++
					}
				}
				if left != 2*len(c.stale) {
					t.Errorf("finding %d: %d stale runs named as another design, want %d: %q", i, left, 2*len(c.stale), f.Items)
				}
			}
			if rows := len(j.Section.Figures[0].Table.Rows); rows != 2 {
				t.Errorf("%d models in the table, want the 2 of the study's design", rows)
			}
		})
	}
}

func TestLongrangeJudge(t *testing.T) {
	type model = struct {
		arch   string
		params float64
		exact  [4]float64
	}
	cases := []struct {
		name   string
		models []model
		want   [2]string // trained gaps, untrained gap
	}{
		{"the claim", []model{{"gpt", 9000, [4]float64{1, 1, 1, 1}}, {"lstm", 9500, [4]float64{1, 0.8, 0.5, 0.3}},
			{"gpt", 31000, [4]float64{1, 1, 0.99, 1}}, {"lstm", 29000, [4]float64{1, 0.9, 0.6, 0.4}}}, [2]string{VerdictSupported, VerdictSupported}},
		{"calibration's opposite", []model{{"gpt", 31000, [4]float64{1, 1, 1, 0.27}}, {"lstm", 29000, [4]float64{1, 1, 1, 1}}},
			[2]string{VerdictNotSupported, VerdictNotSupported}},
		{"nothing learned", []model{{"gpt", 31000, [4]float64{0.1, 0.1, 0.1, 0.1}}, {"lstm", 29000, [4]float64{0.12, 0.1, 0.1, 0.1}}},
			[2]string{VerdictInconclusive, VerdictInconclusive}},
		{"unmatched sizes", []model{{"gpt", 90000, [4]float64{1, 1, 1, 1}}, {"lstm", 29000, [4]float64{1, 0.5, 0.2, 0.1}}},
			[2]string{VerdictInconclusive, VerdictInconclusive}},
		{"a small fall", []model{{"gpt", 31000, [4]float64{1, 1, 1, 1}}, {"lstm", 29000, [4]float64{1, 0.97, 0.93, 0.9}}},
			[2]string{VerdictInconclusive, VerdictSupported}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeLongrange(t, root, c.models)
			j := judgeDir(t, "longrange", root)
			for i, f := range j.Findings {
				if f.Verdict != c.want[i] {
					t.Errorf("finding %d: %s — %s %q, want %s", i, f.Verdict, f.Detail, f.Items, c.want[i])
				}
			}
			if j.Section == nil || len(j.Section.Figures) != 1 || len(j.Section.Figures[0].Table.Rows) != len(c.models) {
				t.Errorf("section %+v", j.Section)
			}
		})
	}
}

func TestGapOf(t *testing.T) {
	for task, want := range map[string]int{"longrange/retrieve/gap=64": 64, "longrange/brackets/gap=8": 8, "add/plain/2": 0, "longrange/retrieve/gap=x": 0} {
		if g, ok := gapOf(task); g != want || ok != (want > 0) {
			t.Errorf("%s: %d %v, want %d", task, g, ok, want)
		}
	}
	if !strings.Contains(mustPlanTasks(t, longrangeSweep), fmt.Sprintf("gap=%d,eval_gap=%d", longrangeGap, longrangeEvalGap)) {
		t.Errorf("the longrange sweep does not train gap=%d with eval_gap=%d, which the judgement assumes", longrangeGap, longrangeEvalGap)
	}
}
