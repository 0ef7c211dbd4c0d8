package stats

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestRealScores: published scores of three model families (Pythia with
// two training runs per size, OPT, BLOOM; testdata/real_scores.csv, from
// tools/realscores/extract.py) get verdicts a researcher would sign:
// nothing emergent (these benchmarks improve smoothly), the MMLU subjects
// near chance flat despite their model-to-model scatter, perplexity
// oriented (lower is better) and improving, WSC's constant five-shot
// scores not fitted, and BLOOM's five sizes too few for a transition.
func TestRealScores(t *testing.T) {
	f, err := os.Open("testdata/real_scores.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	curves, err := ReadCurvesCSV(f, AxisParams)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Boot = 0
	rs, err := AnalyzeCurves(context.Background(), curves, AnalyzeConfig{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*Result{}
	mmlu, mmluFlat := 0, 0
	for _, r := range rs {
		byKey[r.Task+"/"+r.Metric] = r
		if r.Emergent {
			t.Errorf("%s/%s called emergent: %s", r.Task, r.Metric, r.Reason)
		}
		if strings.Contains(r.Task, "/mmlu_") {
			mmlu++
			if r.Verdict == VerdictFlat {
				mmluFlat++
			}
		}
		if r.Reason == "" {
			t.Errorf("%s/%s: %s without a reason", r.Task, r.Metric, r.Verdict)
		}
	}
	if mmlu != 171 || float64(mmluFlat) < 0.9*float64(mmlu) {
		t.Errorf("%d of %d MMLU subjects flat, want at least 90%%", mmluFlat, mmlu)
	}
	for _, c := range []struct{ key, verdict, direction string }{
		{"pythia/lambada_openai/0shot/ppl", VerdictSmooth, DirectionImproves},
		{"pythia/lambada_openai/0shot/acc", VerdictSmooth, DirectionImproves},
		{"opt/lambada_openai/0shot/ppl", VerdictSmooth, DirectionImproves},
		{"pythia/sciq/0shot/acc", VerdictSmooth, DirectionImproves},
		{"pythia/wsc/5shot/acc", VerdictFlat, DirectionNone},
		{"bloom/lambada_openai/0shot/acc", VerdictInsufficient, DirectionImproves},
	} {
		r := byKey[c.key]
		if r == nil || r.Verdict != c.verdict || r.Direction != c.direction {
			t.Errorf("%s: %+v, want %s %s", c.key, r, c.verdict, c.direction)
		}
	}
	if r := byKey["pythia/lambada_openai/0shot/ppl"]; !r.LowerIsBetter {
		t.Errorf("perplexity not oriented")
	}
	if r := byKey["pythia/wsc/5shot/acc"]; r.NotApplicable == "" || r.Drawable() {
		t.Errorf("constant WSC five-shot scores fitted: %+v", r)
	}
	if r := byKey["pythia/sciq/0shot/acc"]; r.Levels[0].Seeds != 2 || r.NMin != 1000 {
		t.Errorf("Pythia's two runs per size: seeds %d, n_min %d", r.Levels[0].Seeds, r.NMin)
	}
}
