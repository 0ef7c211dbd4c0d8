package demo

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// writeLongrange writes matched GPT and LSTM runs whose exact match at
// gaps 16, 32, 64 and 128 is given.
func writeLongrange(t *testing.T, root string, models []struct {
	arch   string
	params float64
	exact  [4]float64
}) {
	t.Helper()
	for i, m := range models {
		f := fake{params: m.params, seed: 1, chance: 0.1, exact: map[string]float64{}, logprob: map[string]float64{}, axes: map[string]string{"model": fmt.Sprintf("%s%d", m.arch, i)}}
		for j, g := range []int{16, 32, 64, 128} {
			task := fmt.Sprintf("longrange/retrieve/gap=%d", g)
			f.exact[task], f.logprob[task] = m.exact[j], -2*(1-m.exact[j])
		}
		f.write(t, filepath.Join(root, longrangeSweep, fmt.Sprintf("m%d", i)))
		// The LSTM's arch goes into config.json's model.
		if m.arch == "lstm" {
			patchArch(t, filepath.Join(root, longrangeSweep, fmt.Sprintf("m%d", i)))
		}
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
