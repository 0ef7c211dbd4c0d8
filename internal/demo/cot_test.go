package demo

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEarlier(t *testing.T) {
	inf := math.Inf(1)
	nan := math.NaN()
	r := func(task string, x, lo, hi float64) *reach {
		return &reach{Task: task, X: x, Lo: lo, Hi: hi, Largest: 1e5, Verdict: "emergent", XStar: nan}
	}
	cases := []struct {
		name string
		a, b *reach
		want string
	}{
		{"apart", r("a", 8e3, 6e3, 1e4), r("b", 5e4, 3e4, 7e4), VerdictSupported},
		{"b never reaches", r("a", 8e3, 6e3, 1e4), r("b", nan, 9e4, inf), VerdictSupported},
		{"b never, not even a replicate", r("a", 8e3, 6e3, 1e4), r("b", nan, inf, inf), VerdictSupported},
		{"overlap", r("a", 8e3, 6e3, 4e4), r("b", 5e4, 3e4, 7e4), VerdictInconclusive},
		{"a later", r("a", 6e4, 5e4, 7e4), r("b", 8e3, 6e3, 1e4), VerdictNotSupported},
		{"a never, b does", r("a", nan, inf, inf), r("b", 8e3, 6e3, 1e4), VerdictNotSupported},
		{"neither", r("a", nan, inf, inf), r("b", nan, inf, inf), VerdictInconclusive},
		{"no interval", r("a", 8e3, nan, nan), r("b", 5e4, nan, nan), VerdictInconclusive},
	}
	for _, c := range cases {
		if got, why := earlier(c.a, c.b); got != c.want || why == "" {
			t.Errorf("%s: %q (%s), want %q", c.name, got, why, c.want)
		}
	}
}

// writeCoT writes a synthetic chain-of-thought study: exact match per
// rung of each variant.
func writeCoT(t *testing.T, root string, add map[string][]float64, hop map[string][]float64) {
	t.Helper()
	sizes := []float64{4608, 7888, 16440, 28064, 60464, 105000}
	for _, format := range []string{"scratchpad", "plain"} {
		for i, p := range sizes {
			f := fake{params: p, seed: 1, exact: map[string]float64{}, chance: 0.0005}
			for d := 1; d <= 4; d++ {
				task := fmt.Sprintf("add/%s/%d", format, d)
				f.exact[task] = add[task][i]
			}
			f.write(t, filepath.Join(root, cotAddSweep, fmt.Sprintf("%s-r%d", format, i)))
		}
	}
	for i, p := range sizes {
		f := fake{params: p + 256, seed: 1, exact: map[string]float64{"multihop/cot": hop["cot"][i], "multihop/direct": hop["direct"][i]}, chance: 0.088}
		f.write(t, filepath.Join(root, cotMultihopSweep, fmt.Sprintf("r%d", i)))
	}
}

func TestCoTJudge(t *testing.T) {
	zero := []float64{0, 0, 0, 0, 0, 0}
	scratch := map[string][]float64{
		"add/scratchpad/1": {0.62, 0.77, 0.77, 0.85, 0.85, 0.85}, "add/scratchpad/2": {0.5, 0.88, 1, 1, 1, 1},
		"add/scratchpad/3": {0.01, 0.3, 0.97, 1, 1, 1}, "add/scratchpad/4": zero,
		"add/plain/1": {0.77, 0.85, 0.85, 0.85, 0.85, 0.85}, "add/plain/2": {0.08, 0.1, 0.11, 0.3, 0.98, 0.99},
		"add/plain/3": {0.01, 0.01, 0.01, 0.04, 0.11, 0.3}, "add/plain/4": zero,
	}
	hop := map[string][]float64{"cot": {0.1, 0.4, 0.65, 0.85, 0.9, 0.92}, "direct": {0.06, 0.1, 0.19, 0.15, 0.26, 0.24}}
	root := t.TempDir()
	writeCoT(t, root, scratch, hop)
	j := judgeDir(t, "cot", root)
	want := []string{VerdictSupported, VerdictNotSupported, VerdictSupported}
	if len(j.Findings) != 3 {
		t.Fatalf("%d findings", len(j.Findings))
	}
	for i, f := range j.Findings {
		if f.Verdict != want[i] || f.Pass != (want[i] == VerdictSupported) || len(f.Items) < 2 {
			t.Errorf("finding %d (%s): %s — %s %q, want %s", i, f.Claim, f.Verdict, f.Detail, f.Items, want[i])
		}
	}
	if !strings.Contains(j.Findings[0].Detail, "add/scratchpad/3 reaches 0.5") {
		t.Errorf("detail %q does not say where the scratchpad reaches 0.5", j.Findings[0].Detail)
	}
	if j.Section == nil || len(j.Section.Figures) != 5 {
		t.Errorf("section: %+v, want a figure per length and one for multihop", j.Section)
	}

	// Swap the formats: the plain answer now comes first.
	swapped := map[string][]float64{}
	for k, v := range scratch {
		if strings.Contains(k, "scratchpad") {
			swapped[strings.Replace(k, "scratchpad", "plain", 1)] = v
		} else {
			swapped[strings.Replace(k, "plain", "scratchpad", 1)] = v
		}
	}
	root = t.TempDir()
	writeCoT(t, root, swapped, map[string][]float64{"cot": hop["direct"], "direct": hop["cot"]})
	j = judgeDir(t, "cot", root)
	for i, f := range j.Findings {
		if f.Verdict != VerdictNotSupported {
			t.Errorf("swapped, finding %d (%s): %s — %s, want not supported", i, f.Claim, f.Verdict, f.Detail)
		}
	}
}

// TestFinishWritesStudySection: judging a claims study through Finish
// writes its objects, all with its id, and a report whose claims table
// links each to the study's own section.
func TestFinishWritesStudySection(t *testing.T) {
	root := t.TempDir()
	flat := []float64{0, 0, 0, 0, 0, 0}
	add := map[string][]float64{}
	for _, f := range []string{"scratchpad", "plain"} {
		for d := 1; d <= 4; d++ {
			add[fmt.Sprintf("add/%s/%d", f, d)] = flat
		}
	}
	writeCoT(t, root, add, map[string][]float64{"cot": flat, "direct": flat})
	s, _ := Lookup("cot")
	o := FinishOptions{Out: root, Studies: []*Study{s}, Analyze: AnalyzeOptions(true)}
	o.Analyze.Stats.Boot = 20
	res, err := Finish(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 3 {
		t.Fatalf("%d findings", len(res.Findings))
	}
	for _, f := range res.Findings {
		if f.ID != "cot" {
			t.Errorf("finding %q has id %q", f.Claim, f.ID)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Count(html, `<a href="#study-cot">cot</a>`) != 3 || !strings.Contains(html, `<section id="study-cot">`) {
		t.Error("the claims table does not link cot's three claims to its section")
	}
	if _, err := os.Stat(filepath.Join(root, AnalysisFile)); err == nil {
		t.Error("analysis.json written although no study read the demo ladder's analysis")
	}
}
