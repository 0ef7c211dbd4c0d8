package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestJudgeMirage: every branch of the one mirage rule, on hand-made
// results.
func TestJudgeMirage(t *testing.T) {
	res := func(metric, verdict, fit string, gof float64) *Result {
		return &Result{Task: "x", Metric: metric, Verdict: verdict, Fit: fit, smoothGOFP: gof}
	}
	em := res("exact_match", VerdictEmergent, ModelSigmoid, math.NaN())
	// stepped is a smooth log-prob whose chosen power law has its exponent
	// at the given limit (bounds.go).
	stepped := func(limit string) *Result {
		r := res("logprob", VerdictSmooth, ModelPower, 0.4)
		r.Fits = []Fit{{Model: ModelLinear, AtBound: []string{}},
			{Model: ModelPower, AtBound: []string{paramAlpha}, ExponentLimit: map[string]string{paramAlpha: limit}}}
		return r
	}
	cases := []struct {
		name    string
		sharp   *Result
		others  []*Result
		verdict string
		smooth  string
		reason  string
		hidden  bool
	}{
		{"artifact", em, []*Result{res("logprob", VerdictSmooth, ModelPower, 0.4)}, MirageArtifact, "logprob", "improves smoothly", false},
		{"flat sharp metric: nothing to explain", res("exact_match", VerdictFlat, ModelConstant, math.NaN()),
			[]*Result{res("token_accuracy", VerdictSmooth, ModelLinear, 0.5)}, MirageNotApplicable, "token_accuracy", "nothing sharp to explain", true},
		{"inverse sharp metric", res("exact_match", VerdictInverse, ModelLinear, math.NaN()),
			[]*Result{res("token_accuracy", VerdictSmooth, ModelLinear, 0.5)}, MirageNotApplicable, "token_accuracy", "nothing sharp to explain", false},
		{"smooth metric fails goodness of fit", em, []*Result{res("token_accuracy", VerdictSmooth, ModelLinear, 0.001)}, MirageInconclusive, "token_accuracy", "goodness-of-fit", false},
		{"goodness of fit untestable", em, []*Result{res("token_accuracy", VerdictSmooth, ModelLinear, math.NaN())}, MirageInconclusive, "token_accuracy", "cannot be tested", false},
		{"smooth metric best fitted by a sigmoid", em, []*Result{res("token_accuracy", VerdictSmooth, ModelSigmoid, 0.5)}, MirageInconclusive, "token_accuracy", "not a line or a power law", false},
		{"smooth metric emergent too", em, []*Result{res("token_accuracy", VerdictEmergent, ModelSigmoid, 0.5)}, MirageNotArtifact, "token_accuracy", "rises sharply too", false},
		{"smooth metric flat", em, []*Result{res("token_accuracy", VerdictFlat, ModelConstant, 0.5)}, MirageInconclusive, "token_accuracy", "is flat", false},
		{"only insufficient metrics", em, []*Result{res("token_accuracy", VerdictInsufficient, "", math.NaN())}, MirageInconclusive, "", "too little data", false},
		{"no other metric", em, []*Result{em}, MirageNotApplicable, "", "no other metric", false},
		{"token accuracy preferred over log-prob", em, []*Result{res("logprob", VerdictSmooth, ModelLinear, 0.5), res("token_accuracy", VerdictEmergent, ModelSigmoid, 0.5)},
			MirageNotArtifact, "token_accuracy", "rises sharply", false},
		{"insufficient token accuracy skipped", em, []*Result{res("logprob", VerdictSmooth, ModelLinear, 0.5), res("token_accuracy", VerdictInsufficient, "", math.NaN())},
			MirageArtifact, "logprob", "improves smoothly", false},
		{"smooth metric on too few items", em, []*Result{{Task: "x", Metric: "token_accuracy", Verdict: VerdictSmooth, Fit: ModelLinear, smoothGOFP: 0.6, NMin: 13, FewItems: true}},
			MirageInconclusive, "token_accuracy", "13 items per evaluation", false},
		{"smooth metric's power law steps past the levels' resolution", em, []*Result{stepped(exponentUnresolved)}, MirageInconclusive, "logprob", "past what the sampled steps resolve", false},
		{"a power law with its exponent at 0 is a line in log x: smooth", em, []*Result{stepped(exponentZero)}, MirageArtifact, "logprob", "improves smoothly", false},
		{"another sharp metric is not a smooth one", em, []*Result{res("mc_grade", VerdictSmooth, ModelLinear, 0.5)}, MirageNotApplicable, "", "no other metric", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := JudgeMirage(c.sharp, c.others, nil, 0)
			if m.Verdict != c.verdict || m.SmoothMetric != c.smooth || !strings.Contains(m.Reason, c.reason) || m.HiddenProgress != c.hidden {
				t.Errorf("got %s with %q (hidden progress %v): %s; want %s with %q (%v), reason containing %q",
					m.Verdict, m.SmoothMetric, m.HiddenProgress, m.Reason, c.verdict, c.smooth, c.hidden, c.reason)
			}
			if m.Mirage != (m.Verdict == MirageArtifact) {
				t.Errorf("mirage %v with verdict %s", m.Mirage, m.Verdict)
			}
		})
	}
}

// TestPowerLNotApplicable: an exact match that is 0 everywhere, or one no
// answer length explains, gets no p^L check (NaN numbers, a reason).
func TestPowerLNotApplicable(t *testing.T) {
	lv := func(means ...float64) []Level {
		var out []Level
		for i, m := range means {
			out = append(out, Level{X: math.Pow(10, float64(4+i)), Mean: m, Var: 1e-4})
		}
		return out
	}
	cases := []struct {
		name     string
		em, tok  []Level
		reason   string
		applies  bool
		consists bool
	}{
		{"all-zero exact match", lv(0, 0, 0, 0, 0), lv(0.2, 0.4, 0.6, 0.8, 0.9), "at every scale", false, false},
		{"L at the edge", lv(0.9, 0.9, 0.95, 0.95, 0.99), lv(0.1, 0.2, 0.3, 0.4, 0.5), "edge of its range", false, false},
		{"not fractions", lv(0.1, 0.2, 0.3, 0.4, 0.5), lv(-3, -2, -1.5, -1, -0.5), "fractions", false, false},
		{"a real p^L", lv(math.Pow(0.5, 3), math.Pow(0.6, 3), math.Pow(0.7, 3), math.Pow(0.8, 3), math.Pow(0.9, 3)), lv(0.5, 0.6, 0.7, 0.8, 0.9), "", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl := powerL(&Result{Metric: "exact_match", Levels: c.em}, &Result{Metric: "token_accuracy", Levels: c.tok}, 0)
			if pl.Applicable != c.applies || pl.Consistent != c.consists || !strings.Contains(pl.Reason, c.reason) {
				t.Errorf("applicable %v consistent %v reason %q L %g; want %v %v %q", pl.Applicable, pl.Consistent, pl.Reason, pl.L, c.applies, c.consists, c.reason)
			}
			if !pl.Applicable && !(math.IsNaN(pl.L) && math.IsNaN(pl.RMSE)) {
				t.Errorf("not applicable but L = %g, RMSE = %g (want NaN: nothing to draw)", pl.L, pl.RMSE)
			}
			if pl.Applicable && math.Abs(pl.L-3) > 0.05 {
				t.Errorf("L = %g, want 3", pl.L)
			}
		})
	}
}

// TestJudgements: every metric of a task carries the task's mirage
// verdict; x* is given only for emergent curves.
func TestJudgements(t *testing.T) {
	em := &Result{Task: "x", Metric: "exact_match", Verdict: VerdictEmergent, Emergent: true, Fit: ModelSigmoid, XStar: 5, XStarLo: 4, XStarHi: 6}
	lp := &Result{Task: "x", Metric: "logprob", Verdict: VerdictSmooth, Fit: ModelPower, XStar: 7, smoothGOFP: 0.3}
	flat := &Result{Task: "y", Metric: "exact_match", Verdict: VerdictFlat, NotApplicable: "every level is 0"}
	em.Mirage = JudgeMirage(em, []*Result{lp}, nil, 0)
	js := Judgements([]*Result{em, lp, flat})
	if !js[0].Artifact || !js[1].Artifact || js[1].Mirage != em.Mirage || js[2].Mirage != nil {
		t.Errorf("mirage not shared across the task: %+v", js)
	}
	if js[0].XStar != 5 || !math.IsNaN(js[1].XStar) || js[2].Drawable || !js[0].Drawable {
		t.Errorf("x* or drawable: %+v", js)
	}
}

// TestReadJudgements: judgements read back from the analysis lines equal
// those of the results (the report and the findings read saved lines), and
// a task's mirage verdict stays on its own axis.
func TestReadJudgements(t *testing.T) {
	em := &Result{Task: "x", Metric: "exact_match", Axis: AxisParams, Verdict: VerdictEmergent, Emergent: true, Fit: ModelSigmoid,
		XStar: 5, XStarLo: 4, XStarHi: math.Inf(1), XStarSeeds: []SeedXStar{{"0", 6, 4.5}, {"1", 5, math.NaN()}}, NMin: 20, FewItems: true,
		FamilySD: math.NaN(), Breakthroughness: 3, Linearity: 1}
	lp := &Result{Task: "x", Metric: "logprob", Axis: AxisParams, Verdict: VerdictSmooth, Fit: ModelPower, XStar: 7, smoothGOFP: 0.3, FamilySD: 0.1}
	em.Mirage = JudgeMirage(em, []*Result{lp}, nil, 0)
	loss := &Result{Task: "x", Metric: "exact_match", Axis: AxisEvalLoss, Verdict: VerdictFlat, NotApplicable: "every level is 0", XStar: math.NaN()}
	results := []*Result{em, lp, loss}
	var lines []json.RawMessage
	for _, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
	}
	got, err := ReadJudgements(lines)
	if err != nil {
		t.Fatal(err)
	}
	want := Judgements(results)
	for i := range want {
		g, w := got[i], want[i]
		if g.Task != w.Task || g.Metric != w.Metric || g.Axis != w.Axis || g.Verdict != w.Verdict || g.Emergent != w.Emergent ||
			g.Drawable != w.Drawable || g.NotApplicable != w.NotApplicable || g.NMin != w.NMin || g.FewItems != w.FewItems ||
			g.Artifact != w.Artifact || !sameNum(g.XStar, w.XStar) || !sameNum(g.XStarLo, w.XStarLo) || len(g.XStarSeeds) != len(w.XStarSeeds) {
			t.Errorf("line %d: read %+v, want %+v", i, g, w)
		}
		if (g.Mirage == nil) != (w.Mirage == nil) || g.Mirage != nil && (g.Mirage.Verdict != w.Mirage.Verdict || g.Mirage.Reason != w.Mirage.Reason) {
			t.Errorf("line %d: mirage %+v, want %+v", i, g.Mirage, w.Mirage)
		}
	}
	if got[2].Mirage != nil {
		t.Errorf("the params axis' mirage verdict leaked onto the eval-loss curve")
	}
	if !math.IsInf(got[0].XStarHi, 0) && !math.IsNaN(got[0].XStarHi) {
		t.Errorf("open interval end read as %g", got[0].XStarHi)
	}
	if _, err := ReadJudgements([]json.RawMessage{[]byte(`{"task":"x"}`)}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a line without a verdict: got %v, want an error naming line 1", err)
	}
}

// sameNum compares two numbers as the analysis writes them: NaN and ±Inf
// are all null.
func sameNum(a, b float64) bool {
	undef := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	return undef(a) && undef(b) || a == b
}
