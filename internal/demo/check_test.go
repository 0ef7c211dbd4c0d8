package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"emlab/internal/report/assemble"
	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

// inductionRun is an attention-only run whose best layer-2 head's
// prefix-matching score is best[i] at step 100·i.
func inductionRun(layers int, best []float64) reporttest.Run {
	r := reporttest.Run{Config: map[string]any{"params": 40000.0, "model": map[string]any{"n_layers": layers}}, Done: true}
	for i, b := range best {
		s := 100 * i
		r.Metrics = append(r.Metrics, map[string]any{"step": s, "tokens": s * 2048, "flops": 1e9 * float64(s)})
		for l := 0; l < layers; l++ {
			for h := 0; h < 4; h++ {
				v := 0.02
				if l == layers-1 && h == 1 {
					v = b
				}
				r.Probes = append(r.Probes, map[string]any{"step": s, "probe": "prefix_matching", "layer": l, "head": h, "value": v})
			}
		}
	}
	return r
}

func grokRun(train, held []float64) reporttest.Run {
	r := reporttest.Run{Config: map[string]any{"params": 20000.0}, Done: true}
	for i := range train {
		s := 100 * i
		r.Metrics = append(r.Metrics, map[string]any{"step": s})
		r.Probes = append(r.Probes,
			map[string]any{"step": s, "probe": "train_acc", "layer": -1, "head": -1, "value": train[i]},
			map[string]any{"step": s, "probe": "heldout_acc", "layer": -1, "head": -1, "value": held[i]})
	}
	return r
}

func load(t *testing.T, root string) []*rundir.Run {
	t.Helper()
	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestCheckInduction(t *testing.T) {
	cases := []struct {
		name    string
		two     []float64
		one     []float64
		pass    bool
		mention string
	}{
		{"phase change", []float64{0.02, 0.05, 0.1, 0.7, 0.85}, []float64{0.05, 0.1, 0.12, 0.11, 0.1}, true, "≥ 0.5 at step 300"},
		{"never forms", []float64{0.02, 0.05, 0.1, 0.2, 0.25}, nil, false, "no crossing"},
		{"formed from the start", []float64{0.6, 0.7, 0.8}, nil, false, "no crossing"},
		{"control has a head", []float64{0.02, 0.7}, []float64{0.02, 0.4}, false, "best head ever 0.40"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			reporttest.Write(t, filepath.Join(root, "induction", "attn2"), inductionRun(2, c.two))
			if c.one != nil {
				reporttest.Write(t, filepath.Join(root, "induction", "attn1"), inductionRun(1, c.one))
			}
			f := checkInduction(load(t, root))
			if f.Pass != c.pass || !strings.Contains(strings.Join(f.Items, "\n"), c.mention) {
				t.Errorf("pass=%v items=%q; want pass=%v mentioning %q", f.Pass, f.Items, c.pass, c.mention)
			}
		})
	}
}

func TestCheckGrokking(t *testing.T) {
	cases := []struct {
		name        string
		train, held []float64
		pass        bool
	}{
		{"groks after memorising", []float64{0.1, 0.995, 1, 1, 1}, []float64{0.02, 0.05, 0.1, 0.6, 0.95}, true},
		{"never generalises", []float64{0.1, 1, 1, 1}, []float64{0.02, 0.03, 0.04, 0.05}, false},
		{"generalises with memorising", []float64{0.1, 0.5, 0.995, 1}, []float64{0.02, 0.5, 0.95, 0.97}, false},
		{"never below 20%", []float64{0.995, 1, 1}, []float64{0.3, 0.6, 0.95}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			reporttest.Write(t, filepath.Join(root, "grokking", "wd2"), grokRun(c.train, c.held))
			if f := checkGrokking(load(t, root)); f.Pass != c.pass {
				t.Errorf("pass=%v items=%q, want %v", f.Pass, f.Items, c.pass)
			}
		})
	}
	if f := checkGrokking(nil); f.Pass || !strings.Contains(f.Detail, "no grokking run") {
		t.Errorf("no runs: %+v", f)
	}
}

func TestCheckQuanta(t *testing.T) {
	write := func(t *testing.T, root string, solved [][]int) {
		for i, s := range solved {
			r := reporttest.QuantaRun(float64(1000*(i+1)), 0)
			r.Evals = nil
			for sub := 0; sub < 8; sub++ {
				v := 0.5
				for _, x := range s {
					if x == sub {
						v = 1
					}
				}
				r.Evals = append(r.Evals, map[string]any{"step": 3000, "task": "parity/t", "metric": "exact_match", "value": v, "stderr": 0.01, "n": 200, "chance": 0.5, "subtask": sub})
			}
			reporttest.Write(t, filepath.Join(root, "quanta", fmt.Sprintf("w%d", i)), r)
		}
	}
	cases := []struct {
		name   string
		solved [][]int
		pass   bool
	}{
		{"frequency order", [][]int{{0}, {0, 1}, {0, 1, 2}, {0, 1, 2, 3, 4}}, true},
		{"reverse order", [][]int{{7}, {6, 7}, {5, 6, 7}}, false},
		{"no growth", [][]int{{0, 1}, {0, 1}, {0, 1}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, c.solved)
			if f := checkQuanta(load(t, root)); f.Pass != c.pass {
				t.Errorf("pass=%v detail=%s items=%q, want %v", f.Pass, f.Detail, f.Items, c.pass)
			}
		})
	}
}

// analysisLines writes results as emlab analyze --json does and reads them
// back as the demo does (assemble.ParseAnalysis).
func analysisLines(t *testing.T, results ...*stats.Result) []assemble.Line {
	t.Helper()
	var b bytes.Buffer
	for _, r := range results {
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	lines, err := assemble.ParseAnalysis(&b)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestCheckEmergentAndArtifact(t *testing.T) {
	nan := math.NaN()
	res := func(task, metric, verdict string, lo float64) *stats.Result {
		r := &stats.Result{Task: task, Metric: metric, Axis: "params", Verdict: verdict, Emergent: verdict == stats.VerdictEmergent,
			XStar: lo * 1.5, XStarLo: lo, XStarHi: lo * 2, Fit: stats.ModelSigmoid, NMin: 200, FamilySD: nan, XCross: nan, XCrossLo: nan, XCrossHi: nan}
		if verdict == stats.VerdictFlat {
			r.Fit, r.NotApplicable = "", "every level is 0"
		}
		return r
	}
	ladder := []*rundir.Run{{Config: &rundir.RunConfig{Info: rundir.Info{Params: 1000}}}, {Config: &rundir.RunConfig{Info: rundir.Info{Params: 100000}}}}
	rs := []*stats.Result{
		res("a", "exact_match", "emergent", 5000),
		res("b", "exact_match", "emergent", 5000),
		res("b", "mc_grade", "emergent", 5000),       // same task: counted once
		res("c", "exact_match", "emergent", 500),     // interval reaches below the smallest rung
		res("d", "token_accuracy", "emergent", 5000), // not a sharp metric
		res("f", "exact_match", "smooth", 5000),      // not emergent: its x* is no transition
	}
	if f := checkEmergent(analysisLines(t, rs...), ladder); f.Pass || len(f.Items) != 2 {
		t.Errorf("two abilities: %+v", f)
	}
	few := res("e", "exact_match", "emergent", 20000)
	few.NMin, few.FewItems = 13, true
	rs = append(rs, few)
	if f := checkEmergent(analysisLines(t, rs...), ladder); !f.Pass || len(f.Items) != 3 || !strings.Contains(strings.Join(f.Items, "\n"), "e exact_match x*=30k [20k, 40k] (few items: 13 per evaluation)") {
		t.Errorf("three abilities, one on few items: %+v", f)
	}
	if f := checkArtifact(analysisLines(t, rs...), true); f.Pass {
		t.Errorf("artifact without a smooth metric: %+v", f)
	}
	// A flat exact match beside a smooth logprob: hidden progress, not an
	// artifact (nothing sharp to explain).
	mFlat, mLP := res("m", "exact_match", "flat", 0), res("m", "logprob", "smooth", 0)
	mLP.Fit = stats.ModelLinear
	mFlat.Mirage = stats.JudgeMirage(mFlat, []*stats.Result{mLP}, nil, 0)
	rs = append(rs, mFlat, mLP)
	if f := checkArtifact(analysisLines(t, rs...), true); f.Pass || !strings.Contains(f.Detail, "hidden progress") || !strings.Contains(f.Detail, "m") {
		t.Errorf("flat sharp, smooth logprob: %+v", f)
	}
	// The mirage test's artifact verdict is what counts.
	a := rs[0]
	a.Mirage = &stats.MirageResult{SharpMetric: "exact_match", SharpVerdict: "emergent", SmoothMetric: "token_accuracy", SmoothVerdict: "smooth",
		SmoothFit: stats.ModelLinear, Verdict: stats.MirageArtifact, Mirage: true, SmoothGOFP: 0.5}
	if f := checkArtifact(analysisLines(t, rs...), true); !f.Pass || len(f.Items) != 1 || !strings.HasPrefix(f.Items[0], "a: exact_match emergent while token_accuracy smooth") {
		t.Errorf("one artifact: %+v", f)
	}
}

// TestFinishDeterministic: Finish writes analysis.json, findings.json and
// report.html, and a second call on the same runs writes the same bytes.
func TestFinishDeterministic(t *testing.T) {
	root := t.TempDir()
	reporttest.Tree(t, root)
	reporttest.Write(t, filepath.Join(root, "induction", "attn1"), inductionRun(1, []float64{0.02, 0.1}))
	o := FinishOptions{Out: root, Studies: DemoStudies(), Analyze: AnalyzeOptions(true)}
	o.Analyze.Stats.Boot, o.Analyze.LossBoot = 20, 10
	res, err := Finish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string][]byte{}
	for _, f := range []string{AnalysisFile, FindingsFile, ReportFile} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		first[f] = b
	}
	if _, err := Finish(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	for f, b := range first {
		if again, _ := os.ReadFile(filepath.Join(root, f)); !bytes.Equal(b, again) {
			t.Errorf("%s differs between two runs", f)
		}
	}
	// The synthetic tree has one emergent ability (add/plain/2), a grokking
	// run and frequency-ordered quanta.
	if len(res.Findings) != 5 {
		t.Fatalf("%d findings", len(res.Findings))
	}
	want := []struct {
		id, verdict string
	}{
		{"emergence", VerdictNotSupported}, {"artifact", VerdictSupported},
		{"induction", VerdictInconclusive}, // the synthetic runs record no n_layers: no 2-layer run to judge
		{"grokking", VerdictSupported}, {"quanta", VerdictSupported},
	}
	for i, f := range res.Findings {
		if f.ID != want[i].id || f.Verdict != want[i].verdict || f.Pass != (f.Verdict == VerdictSupported) {
			t.Errorf("finding %d: id %q verdict %q pass %v, want %q %q (%s; %q)", i, f.ID, f.Verdict, f.Pass, want[i].id, want[i].verdict, f.Detail, f.Items)
		}
	}
	html := string(first[ReportFile])
	for _, s := range []string{`<section id="claims">`, "emergent abilities", `<a href="#abilities">emergence</a>`, `<a href="#quanta">quanta</a>`} {
		if !strings.Contains(html, s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

// TestReportAnalysisFindingsAgree: on one run set, the report's header,
// analysis.json and findings.json name the same metric artifacts, and the
// findings' emergent abilities are among those the header and the analysis
// call emergent; a flat exact match (mul, whose token accuracy rises) is
// an artifact in none of them.
//
// The same run set has events that never happen (a grokking run that never
// generalises, a control with no induction head): no "step -1" sentinel may
// leak into any of the three files, "never" stands for it.
func TestReportAnalysisFindingsAgree(t *testing.T) {
	root := t.TempDir()
	reporttest.Tree(t, root)
	reporttest.Write(t, filepath.Join(root, "grokking", "wd0"), grokRun([]float64{0.1, 1, 1, 1}, []float64{0.02, 0.03, 0.04, 0.05}))
	reporttest.Write(t, filepath.Join(root, "induction", "attn1"), inductionRun(1, []float64{0.02, 0.1}))
	o := FinishOptions{Out: root, Studies: DemoStudies(), Analyze: AnalyzeOptions(true)}
	o.Analyze.Stats.Boot, o.Analyze.LossBoot = 20, 10
	res, err := Finish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// analysis.json, read as a plain JSON reader would: the sharp metric's
	// verdict and its mirage verdict.
	b, err := os.ReadFile(filepath.Join(root, AnalysisFile))
	if err != nil {
		t.Fatal(err)
	}
	var anaEmergent, anaArtifact []string
	var doc struct {
		Results []struct {
			Task, Metric, Axis, Verdict string
			Mirage                      *struct{ Verdict string }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not one JSON document: %v", AnalysisFile, err)
	}
	for _, l := range doc.Results {
		if l.Axis != "params" || !rundir.IsSharp(l.Metric) {
			continue
		}
		if l.Verdict == "emergent" {
			anaEmergent = append(anaEmergent, l.Task)
		}
		if l.Mirage != nil && l.Mirage.Verdict == "artifact" {
			anaArtifact = append(anaArtifact, l.Task)
		}
	}
	// The report's header.
	html, err := os.ReadFile(filepath.Join(root, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := func(re string) []string {
		m := regexp.MustCompile(re).FindSubmatch(html)
		if m == nil {
			return nil
		}
		return strings.Split(string(m[1]), ", ")
	}
	repEmergent := listed(`Emergent \(sharp metric\): ([^<]*)\.`)
	repArtifact := listed(`Metric artifacts \(mirage test[^)]*\): ([^<]*)\.`)
	// findings.json.
	var findings []Finding
	fb, err := os.ReadFile(filepath.Join(root, FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(fb, &findings); err != nil {
		t.Fatal(err)
	}
	tasksOf := func(items []string, sep string) []string {
		var out []string
		for _, it := range items {
			task, _, _ := strings.Cut(it, sep)
			out = append(out, task)
		}
		return out
	}
	byID := map[string]Finding{}
	for _, f := range findings {
		byID[f.ID] = f
	}
	finEmergent, finArtifact := tasksOf(byID["emergence"].Items, " "), tasksOf(byID["artifact"].Items, ":")
	t.Logf("emergent: analysis %v, report %v, findings %v; artifacts: analysis %v, report %v, findings %v",
		anaEmergent, repEmergent, finEmergent, anaArtifact, repArtifact, finArtifact)
	if len(anaArtifact) == 0 || fmt.Sprint(anaArtifact) != fmt.Sprint(repArtifact) || fmt.Sprint(anaArtifact) != fmt.Sprint(finArtifact) {
		t.Errorf("artifacts disagree: analysis %v, report %v, findings %v", anaArtifact, repArtifact, finArtifact)
	}
	if len(anaEmergent) == 0 || fmt.Sprint(anaEmergent) != fmt.Sprint(repEmergent) {
		t.Errorf("emergent abilities disagree: analysis %v, report %v", anaEmergent, repEmergent)
	}
	for _, task := range finEmergent {
		if !slices.Contains(repEmergent, task) {
			t.Errorf("findings call %s emergent, the report does not (%v)", task, repEmergent)
		}
	}
	for _, a := range [][]string{anaArtifact, repArtifact, finArtifact} {
		if slices.Contains(a, "mul/plain/2") {
			t.Errorf("mul/plain/2 (flat exact match) counted as an artifact: %v", a)
		}
	}
	sentinel := regexp.MustCompile(`(?i)step[^0-9<]{0,3}[-−]1\b|at -1\b`)
	for name, b := range map[string][]byte{AnalysisFile: b, ReportFile: html, FindingsFile: fb} {
		if m := sentinel.Find(b); m != nil {
			t.Errorf("%s shows a step sentinel: %q", name, m)
		}
	}
	if !strings.Contains(string(fb), "step never") {
		t.Errorf("findings.json does not say 'never' for the grokking run that never generalises")
	}
	if d := byID["artifact"].Detail; !strings.Contains(d, "hidden progress") || !strings.Contains(d, "mul/plain/2") {
		t.Errorf("the flat exact match beside a rising smooth metric is not named as hidden progress: %s", d)
	}
	if len(res.Findings) != len(findings) {
		t.Errorf("Finish returned %d findings, findings.json holds %d", len(res.Findings), len(findings))
	}
}
