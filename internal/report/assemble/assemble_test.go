package assemble

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"emlab/internal/report"
	"emlab/internal/report/reporttest"
	"emlab/internal/rundir"
	"emlab/internal/stats"
)

func fastOptions() AnalyzeOptions {
	o := DefaultAnalyzeOptions()
	o.Stats.Boot = 20 // intervals are not under test here; 20 replicates keep the test under a second
	return o
}

func buildTree(t *testing.T) (*report.Report, []Line) {
	t.Helper()
	root := t.TempDir()
	reporttest.Tree(t, root)
	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	ladder, group := ChooseLadder(runs)
	if group != "ladder" || len(ladder) != len(reporttest.Sizes) {
		t.Fatalf("ladder %q with %d runs, want group ladder with %d", group, len(ladder), len(reporttest.Sizes))
	}
	js, notes, err := Analyze(context.Background(), ladder, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		t.Logf("analysis note: %s", n)
	}
	lines, err := ParseAnalysis(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(context.Background(), Input{Runs: runs, Ladder: ladder, Analysis: lines, Roles: Roles(runs, ladder),
		Scaling: stats.ScalingOptions{Delta: 1e-3, Boot: 10, Seed: 1, Level: 0.95}})
	if err != nil {
		t.Fatal(err)
	}
	return rep, lines
}

func TestBuildFromTree(t *testing.T) {
	rep, lines := buildTree(t)
	if len(rep.Runs) != 12 {
		t.Errorf("%d runs, want 12", len(rep.Runs))
	}
	// Per-position lines are not curves.
	for _, l := range lines {
		if l.Metric == "per_position_loss" {
			t.Errorf("per-position lines became a curve")
		}
	}
	var add *report.Ability
	for i := range rep.Abilities {
		if rep.Abilities[i].Task == "add/plain/2" {
			add = &rep.Abilities[i]
		}
	}
	if add == nil || add.Sharp == nil || add.Smooth == nil {
		t.Fatalf("no add ability with both panels: %+v", rep.Abilities)
	}
	if add.Sharp.Verdict != stats.VerdictEmergent {
		t.Errorf("add exact match verdict %q, want emergent", add.Sharp.Verdict)
	}
	// x* within a quarter decade of the synthetic midpoint: the sigmoid is
	// sampled at six rungs, two of them beside the jump.
	if d := math.Abs(math.Log10(add.Sharp.XStar / reporttest.XStar)); !(d < 0.25) {
		t.Errorf("x* = %g, want near %g", add.Sharp.XStar, reporttest.XStar)
	}
	if len(add.Sharp.Fitted.X) == 0 {
		t.Errorf("no fitted curve for the sharp metric")
	}
	if add.Mirage == nil {
		t.Errorf("no mirage test for add")
	}
	if rep.LossView == nil || len(rep.LossView.Panels) == 0 {
		t.Fatalf("no loss view")
	}
	if got := len(rep.LossView.Panels[0].Series); got != len(reporttest.Sizes) {
		t.Errorf("loss view has %d series, want one per size (%d)", got, len(reporttest.Sizes))
	}
	if rep.Induction == nil || len(rep.Induction.PrefixMatching) != 1 || len(rep.Induction.ICL) != 1 {
		t.Fatalf("induction section %+v", rep.Induction)
	}
	if pc := rep.Induction.PhaseChange; len(pc) != 1 || !strings.Contains(pc[0], "step 1400") {
		t.Errorf("phase change %q, want step 1400", pc)
	}
	if g := rep.Grokking; g == nil || len(g.Accuracy) != 2 || len(g.Loss) != 2 || len(g.WeightNorm) != 1 {
		t.Fatalf("grokking section %+v", rep.Grokking)
	} else if !strings.Contains(g.Summary[0], "held-out accuracy first ≥ 90% at step 2000") {
		t.Errorf("grokking summary %q", g.Summary)
	}
	q := rep.Quanta
	if q == nil || len(q.Map.Rows) != 6 || len(q.Map.Cols) != 4 {
		t.Fatalf("quanta %+v", q)
	}
	// Loss of subtask 5 falls only at the widest model.
	if v := q.Map.Values[5]; !(v[0] > 0.5 && v[3] < 0.05) {
		t.Errorf("subtask 5 losses %v", v)
	}
	if rep.Scaling == nil || len(rep.Scaling.Params) != 3 {
		t.Errorf("scaling %+v", rep.Scaling)
	}
	if len(rep.Forecasts) == 0 {
		t.Errorf("no forecasts")
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{`id="abilities"`, `id="loss-view"`, `id="induction"`, `id="grokking"`, `id="quanta"`, `id="scaling"`, `id="forecasts"`, "test-0123abc", "emlab train --set"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "http://") && !strings.Contains(html, "http://www.w3.org/2000/svg") {
		t.Errorf("report refers to an external resource")
	}
	t.Logf("report: %d bytes", len(html))
}

func TestBuildEmpty(t *testing.T) {
	rep, err := Build(context.Background(), Input{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No ability curves", "No induction data", "No grokking data", "No quanta data", "No scaling-law fit"} {
		if !strings.Contains(buf.String(), want) && !strings.Contains(buf.String(), "No analysis against parameters") {
			t.Errorf("empty report lacks the note %q", want)
		}
	}
}

// TestFitted checks the fitted curve the report draws, rebuilt from the
// parameters in the analysis JSON, against data the model describes
// exactly.
func TestFitted(t *testing.T) {
	xs := []float64{1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7}
	for _, c := range []struct {
		name, axis string
		f          func(x float64) float64
	}{
		{"sigmoid in log params", stats.AxisParams, func(x float64) float64 { return 0.05 + 0.9/(1+math.Exp(-(math.Log10(x)-5.5)/0.2)) }},
		{"line in log params", stats.AxisParams, func(x float64) float64 { return 0.1 + 0.1*math.Log10(x/1e4) }},
		{"power law in error", stats.AxisParams, func(x float64) float64 { return 0.9 - 0.8*math.Pow(x/1e4, -0.5) }},
		{"sigmoid in eval loss", stats.AxisEvalLoss, func(x float64) float64 { return 0.05 + 0.9/(1+math.Exp((math.Log10(x)-5.5)/0.2)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := &stats.Curve{Task: "t", Metric: "m", Axis: c.axis}
			for _, x := range xs {
				cv.Points = append(cv.Points, stats.Point{X: x, Value: c.f(x)})
			}
			o := stats.DefaultOptions()
			o.Boot = 0
			res, err := stats.Analyze(context.Background(), cv, o)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := encodeJSON(&buf, res); err != nil {
				t.Fatal(err)
			}
			lines, err := ParseAnalysis(&buf)
			if err != nil {
				t.Fatal(err)
			}
			fx, fy := fitted(&lines[0], 50)
			if len(fx) != 50 {
				t.Fatalf("fit %s: %d points", lines[0].Fit, len(fx))
			}
			// The analysis rounds parameters to 6 significant digits and the
			// optimiser stops near the exact fit: 0.01 score units is far
			// below anything visible and far above both.
			for i := range fx {
				if d := math.Abs(fy[i] - c.f(fx[i])); d > 0.01 {
					t.Fatalf("fit %s at x=%g: %g, data %g", lines[0].Fit, fx[i], fy[i], c.f(fx[i]))
				}
			}
			t.Logf("chosen fit %s", lines[0].Fit)
		})
	}
}

func TestReadRunSkipsBadLines(t *testing.T) {
	dir := t.TempDir()
	reporttest.Write(t, dir, reporttest.LadderRun(0))
	// A partial last line, as a crash mid-append leaves it.
	appendFile(t, rundir.Path(dir, rundir.EvalsFile), `{"step": 5, "task": "x"`)
	r, err := rundir.ReadRun(dir, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skipped) != 1 {
		t.Errorf("skipped %q, want one", r.Skipped)
	}
	if params(r) != reporttest.Sizes[0] || seedLabel(r) != "1" || r.Config.CodeVersion != "test-0123abc" {
		t.Errorf("config read as params %g seed %q version %q", params(r), seedLabel(r), r.Config.CodeVersion)
	}
	if got := CommandLine(r); got != "emlab train --set model.d_model=32" {
		t.Errorf("command %q", got)
	}
	if !slices.ContainsFunc(r.Evals, func(e rundir.Eval) bool { return e.PositionOr(-1) == 0 }) {
		t.Errorf("position not read")
	}
	rep, err := Build(context.Background(), Input{Runs: []*rundir.Run{r}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, rundir.EvalsFile+":") }) {
		t.Errorf("the report does not say a line was skipped: %q", rep.Notes)
	}
}

func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	return enc.Encode(v)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// An insufficient curve (two sizes) still shows its observed points.
func TestInsufficientShowsObserved(t *testing.T) {
	root := t.TempDir()
	for i := range 2 {
		reporttest.Write(t, filepath.Join(root, "lad", fmt.Sprint(i)), reporttest.LadderRun(i))
	}
	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	js, _, err := Analyze(context.Background(), runs, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseAnalysis(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(context.Background(), Input{Runs: runs, Ladder: runs, Analysis: lines})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Abilities) == 0 {
		t.Fatal("no abilities")
	}
	for _, a := range rep.Abilities {
		if a.Sharp.Verdict != stats.VerdictInsufficient || !strings.Contains(a.Note, "Insufficient") {
			t.Errorf("%s: verdict %q note %q", a.Task, a.Sharp.Verdict, a.Note)
		}
		if len(a.Sharp.Observed.X) != 2 {
			t.Errorf("%s: %d observed points, want the 2 sizes", a.Task, len(a.Sharp.Observed.X))
		}
	}
}

// TestQuantaSubtasksAcrossVariants: the parity task reports each subtask
// under its own variant (parity/t=00, parity/t=01, …); the heat map pools
// them by task family.
func TestQuantaSubtasksAcrossVariants(t *testing.T) {
	root := t.TempDir()
	for i, w := range []float64{8, 16, 32} {
		r := reporttest.QuantaRun(w*100, i+1)
		for _, e := range r.Evals {
			e["task"] = fmt.Sprintf("parity/t=%02d", e["subtask"])
		}
		reporttest.Write(t, filepath.Join(root, "quanta", fmt.Sprintf("w%d", int(w))), r)
	}
	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(context.Background(), Input{Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	q := rep.Quanta
	if q == nil || len(q.Map.Rows) != 6 || len(q.Map.Cols) != 3 {
		t.Fatalf("quanta %+v, want 6 subtasks × 3 widths", q)
	}
	if !strings.Contains(q.Map.Title, "parity") || strings.Contains(q.Map.Title, "t=00") {
		t.Errorf("title %q names a variant, not the task", q.Map.Title)
	}
}

// TestAnalysisIsOneDocument: analysis.json's bytes are one JSON document
// that a plain JSON reader loads whole; ParseAnalysis reads it, the same
// results as JSON lines and as an array, to the same lines.
func TestAnalysisIsOneDocument(t *testing.T) {
	root := t.TempDir()
	reporttest.Tree(t, root)
	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	ladder, _ := ChooseLadder(runs)
	js, _, err := Analyze(context.Background(), ladder, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	var doc AnalysisDocument
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("analysis is not one JSON document: %v", err)
	}
	if doc.Format != AnalysisFormat || doc.Version != AnalysisVersion || len(doc.Results) == 0 {
		t.Fatalf("document format %q version %d with %d results", doc.Format, doc.Version, len(doc.Results))
	}
	var lines, array bytes.Buffer
	array.WriteString("[")
	for i, r := range doc.Results {
		lines.Write(r)
		lines.WriteString("\n")
		if i > 0 {
			array.WriteString(",")
		}
		array.Write(r)
	}
	array.WriteString("]")
	want, err := ParseAnalysis(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"lines": lines.Bytes(), "array": array.Bytes()} {
		got, err := ParseAnalysis(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d results, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i].Task != want[i].Task || got[i].Metric != want[i].Metric || got[i].Judgement.Verdict != want[i].Judgement.Verdict {
				t.Errorf("%s result %d: %s %s %s, want %s %s %s", name, i, got[i].Task, got[i].Metric, got[i].Judgement.Verdict, want[i].Task, want[i].Metric, want[i].Judgement.Verdict)
			}
		}
	}
	bad := []byte(`{"format": "emlab analysis", "version": 99, "results": []}`)
	if _, err := ParseAnalysis(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("a later version: error %v, want one naming version 99", err)
	}
}

// TestBottomLine: the table that opens the report has one row per ability
// with the analysis' own verdict, x* only where emergent, the mirage
// verdict and the support; its reading names what survives the mirage
// test; a ladder trained for equal steps says size is what varies.
func TestBottomLine(t *testing.T) {
	rep, lines := buildTree(t)
	bl := rep.BottomLine
	if bl == nil || len(bl.Rows) != len(Verdicts(lines)) {
		t.Fatalf("bottom line %+v, want a row per ability (%d)", bl, len(Verdicts(lines)))
	}
	for _, row := range bl.Rows {
		var j stats.Judgement
		for _, v := range Verdicts(lines) {
			if v.Task == row.Ability {
				j = v.Sharp.Judgement
			}
		}
		if row.Verdict != j.Verdict || row.Emergent != j.Emergent || math.IsNaN(row.XStar) == j.Emergent {
			t.Errorf("%s: row %s emergent %v x* %g, judgement %s emergent %v", row.Ability, row.Verdict, row.Emergent, row.XStar, j.Verdict, j.Emergent)
		}
		if row.Items != 400 || row.Seeds != 1 || row.Reading == "" {
			t.Errorf("%s: %d items × %d seeds, reading %q", row.Ability, row.Items, row.Seeds, row.Reading)
		}
		if j.Mirage != nil && row.Mirage != j.Mirage.Verdict {
			t.Errorf("%s: mirage %q, want %q", row.Ability, row.Mirage, j.Mirage.Verdict)
		}
	}
	if !strings.HasPrefix(bl.Reading, "Of 2 abilities, 1 jump") || !strings.Contains(bl.Reading, "mirage test") {
		t.Errorf("reading %q", bl.Reading)
	}
	if !strings.Contains(rep.Ladder, "same number of steps") {
		t.Errorf("ladder sentence %q, want equal steps said", rep.Ladder)
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if i, j := strings.Index(html, `<section id="claims">`), strings.Index(html, `<section id="abilities">`); i < 0 || j < i {
		t.Errorf("the bottom-line table is not first (at %d, abilities at %d)", i, j)
	}
	for _, want := range []string{`<a href="#ability-add-plain-2">add/plain/2</a>`, `id="ability-add-plain-2"`, "<dt>x*</dt>", "<dt>mirage test</dt>", "<dt>p^L</dt>", "<dt>breakthroughness, linearity</dt>", "a red ✗ beside it"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestControlsLabelled: the grokking section shows the weight-decay run
// and its no-decay control, each with its own judgement ("never" where a
// threshold is never reached); the induction section labels a one-layer
// run as the one-layer control; a ladder whose steps grow with size says
// so before its curves.
func TestControlsLabelled(t *testing.T) {
	root := t.TempDir()
	ids := reporttest.Tree(t, root)
	ctrl := reporttest.GrokkingRun()
	ctrl.Config["optim"] = map[string]any{"weight_decay": 0.0}
	for i, p := range ctrl.Probes {
		if p["probe"] == "heldout_acc" {
			ctrl.Probes[i]["value"] = 0.01
		}
	}
	reporttest.Write(t, filepath.Join(root, "grokking/wd0"), ctrl)
	grok := reporttest.GrokkingRun()
	grok.Config["optim"] = map[string]any{"weight_decay": 2.0}
	reporttest.Write(t, filepath.Join(root, "grokking/modadd"), grok)
	one := reporttest.InductionRun()
	one.Config["model"] = map[string]any{"n_layers": 1}
	one.Config["params"] = 29100.0
	reporttest.Write(t, filepath.Join(root, "induction/attn1"), one)
	two := reporttest.InductionRun()
	two.Config["model"] = map[string]any{"n_layers": 2}
	reporttest.Write(t, filepath.Join(root, "induction/attn2"), two)
	// Larger rungs train longer: the last metrics line of rung i at a
	// later step.
	for i, id := range ids {
		appendFile(t, filepath.Join(root, id, rundir.MetricsFile), fmt.Sprintf(`{"step":%d,"tokens":%d,"eval_loss":2}`+"\n", 4000+1000*i, (4000+1000*i)*2048))
	}
	runs, err := rundir.LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	ladder, _ := ChooseLadder(runs)
	rep, err := Build(context.Background(), Input{Runs: runs, Ladder: ladder})
	if err != nil {
		t.Fatal(err)
	}
	g := rep.Grokking
	if g == nil || len(g.Accuracy) != 4 || len(g.Summary) != 2 {
		t.Fatalf("grokking %+v, want both runs", g)
	}
	if !strings.Contains(g.Summary[0], "grokking/modadd (weight decay 2)") || !strings.Contains(g.Summary[0], ": grokked") {
		t.Errorf("first summary %q, want the weight-decay run, grokked", g.Summary[0])
	}
	if s := g.Summary[1]; !strings.Contains(s, "weight decay 0, the control") || !strings.Contains(s, "held-out accuracy first ≥ 90% never") || !strings.Contains(s, "did not grok") || strings.Contains(s, "-1") {
		t.Errorf("control summary %q", s)
	}
	var labels []string
	for _, s := range rep.Induction.PrefixMatching {
		labels = append(labels, s.Label)
	}
	if len(labels) != 2 || !strings.Contains(labels[0], "1 layer (the one-layer control)") || !strings.Contains(labels[1], "2 layers") {
		t.Errorf("induction labels %q", labels)
	}
	if !strings.Contains(rep.Ladder, "emerges against training compute") || !strings.Contains(rep.Ladder, "4k to 9k steps") {
		t.Errorf("ladder sentence %q", rep.Ladder)
	}
}
