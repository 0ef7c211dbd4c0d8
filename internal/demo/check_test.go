package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/report/assemble"
	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
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

func TestCheckEmergentAndArtifact(t *testing.T) {
	line := func(task, metric, verdict string, emergent bool, lo float64) assemble.Line {
		return assemble.Line{Task: task, Metric: metric, Axis: "params", Verdict: verdict, Emergent: emergent,
			XStar: assemble.Float(lo * 1.5), XStarLo: assemble.Float(lo), XStarHi: assemble.Float(lo * 2)}
	}
	ladder := []*rundir.Run{{Config: &rundir.RunConfig{Info: rundir.Info{Params: 1000}}}, {Config: &rundir.RunConfig{Info: rundir.Info{Params: 100000}}}}
	lines := []assemble.Line{
		line("a", "exact_match", "emergent", true, 5000),
		line("b", "exact_match", "emergent", true, 5000),
		line("b", "mc_grade", "emergent", true, 5000),       // same task: counted once
		line("c", "exact_match", "emergent", true, 500),     // interval reaches below the smallest rung
		line("d", "token_accuracy", "emergent", true, 5000), // not a sharp metric
	}
	if f := checkEmergent(lines, ladder); f.Pass || len(f.Items) != 2 {
		t.Errorf("two abilities: %+v", f)
	}
	lines = append(lines, line("e", "exact_match", "emergent", true, 20000))
	if f := checkEmergent(lines, ladder); !f.Pass || len(f.Items) != 3 {
		t.Errorf("three abilities: %+v", f)
	}
	if f := checkArtifact(lines, true); f.Pass {
		t.Errorf("artifact without a smooth metric: %+v", f)
	}
	lines = append(lines, line("m", "exact_match", "flat", false, 0), line("m", "logprob", "smooth", false, 0))
	if f := checkArtifact(lines, true); !f.Pass || !strings.Contains(f.Items[0], "m: exact match flat") {
		t.Errorf("flat sharp, smooth logprob: %+v", f)
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
