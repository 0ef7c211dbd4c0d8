package rundir

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ip(i int) *int { return &i }

// The one rule for .jsonl files, on each reader.
func TestTolerance(t *testing.T) {
	const ok = `{"step":1,"task":"a","metric":"exact_match","value":0.5}` + "\n"
	cases := []struct {
		name, text string
		want       int    // lines read
		partial    bool   // a partial last line was skipped
		err        string // else the error names file:line
	}{
		{"clean", ok + ok, 1, false, ""}, // the repeat keeps one line
		{"partial last line", ok + `{"step":2,"task":"a","me`, 1, true, ""},
		{"blank lines", "\n" + ok + "\n\n", 1, false, ""},
		{"empty", "", 0, false, ""},
		{"damage in the middle", ok + "garbage\n" + ok, 0, false, "evals.jsonl:2"},
		{"truncated line with its newline", ok + `{"step":2,"task":"a"` + "\n", 0, false, "evals.jsonl:2"},
		{"missing value", `{"step":1,"task":"a","metric":"m"}` + "\n", 0, false, `evals.jsonl:1: missing "value"`},
		{"missing value on the last line", ok + `{"step":1,"task":"a","metric":"m"}`, 0, false, `evals.jsonl:2: missing "value"`},
		{"negative n", `{"step":1,"task":"a","metric":"m","value":1,"n":-1}` + "\n", 0, false, "evals.jsonl:1"},
		{"fractional n", `{"step":1,"task":"a","metric":"m","value":1,"n":1.5}` + "\n", 0, false, "evals.jsonl:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, EvalsFile, c.text)
			r, err := ReadRun(dir, "r")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("err = %v, want %q and the directory", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Evals) != c.want || (len(r.Skipped) == 1) != c.partial {
				t.Fatalf("%d lines, skipped %q; want %d, partial %v", len(r.Evals), r.Skipped, c.want, c.partial)
			}
		})
	}
}

// The wire form of each line is what emlab has always written, so run
// directories written before rundir read the same and merges rewrite them
// byte for byte.
func TestWireForm(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"metrics at step 0", Metrics{Step: 0, Loss: math.NaN(), EvalLoss: 4.5, LR: 1e-3},
			`{"step":0,"tokens":0,"flops":0,"eval_loss":4.5,"lr":0.001,"grad_norm":0,"seconds":0}`},
		{"metrics", Metrics{Step: 8, Tokens: 512, FLOPs: 1e6, Loss: 2.5, EvalLoss: math.NaN(), LR: 1e-3, GradNorm: 0.5, Seconds: 1.25},
			`{"step":8,"tokens":512,"flops":1000000,"loss":2.5,"lr":0.001,"grad_norm":0.5,"seconds":1.25}`},
		{"eval", Eval{Step: 2, Task: "add/plain/2", Metric: ExactMatch, Value: 0.25, Stderr: 0.1, N: 20, Chance: 0.01},
			`{"step":2,"task":"add/plain/2","metric":"exact_match","value":0.25,"stderr":0.1,"n":20,"chance":0.01}`},
		{"eval per position", Eval{Step: 2, Task: "t", Metric: PerPositionLoss, Value: 1, Chance: 0, Position: ip(3)},
			`{"step":2,"task":"t","metric":"per_position_loss","value":1,"stderr":0,"n":0,"chance":0,"position":3}`},
		{"probe", Probe{Step: 1, Probe: ProbePrefixMatching, Layer: 1, Head: 0, Value: 0.75},
			`{"step":1,"probe":"prefix_matching","layer":1,"head":0,"value":0.75}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.v)
			if err != nil || string(b) != c.want {
				t.Fatalf("%s %v\nwant %s", b, err, c.want)
			}
			back := reflect.New(reflect.TypeOf(c.v))
			if err := json.Unmarshal(b, back.Interface()); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(back.Elem().Interface())
			if string(again) != c.want {
				t.Errorf("round trip %s", again)
			}
		})
	}
	var m Metrics
	if err := json.Unmarshal([]byte(`{"tokens":3}`), &m); err == nil {
		t.Errorf("a metrics line without step was accepted")
	}
	var p Probe
	if err := json.Unmarshal([]byte(`{"step":3,"probe":"weight_norm","value":2}`), &p); err != nil || p.Layer != -1 || p.Head != -1 {
		t.Errorf("probe without layer/head: %+v %v", p, err)
	}
}

func TestMergeEvals(t *testing.T) {
	dir := t.TempDir()
	e := func(step int, task, metric string, v float64, pos *int) Eval {
		return Eval{Step: step, Task: task, Metric: metric, Value: v, N: 10, Chance: 0.1, Position: pos}
	}
	if err := MergeEvals(dir, []Eval{e(1, "b", LogProb, 1, nil), e(1, "a", PerPositionLoss, 2, ip(1)), e(1, "a", PerPositionLoss, 3, ip(0))}); err != nil {
		t.Fatal(err)
	}
	if err := MergeEvals(dir, []Eval{e(2, "a", ExactMatch, 0.5, nil)}); err != nil {
		t.Fatal(err)
	}
	// Re-evaluating (1, a) replaces both its lines and keeps (1, b).
	if err := MergeEvals(dir, []Eval{e(1, "a", ExactMatch, 0.25, nil)}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEvals(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, g := range got {
		keys = append(keys, g.Task+"/"+g.Metric)
	}
	want := []string{"b/logprob", "a/exact_match", "a/exact_match"}
	if !reflect.DeepEqual(keys, want) || got[2].Step != 1 || got[2].Value != 0.25 || got[0].Line != 1 {
		t.Fatalf("lines %v (%+v), want %v", keys, got, want)
	}
	// NaN cannot be written: the error names the file and the result.
	err = MergeEvals(dir, []Eval{e(3, "a", LogProb, math.NaN(), nil)})
	if err == nil || !strings.Contains(err.Error(), EvalsFile) || !strings.Contains(err.Error(), "step 3 a logprob") {
		t.Errorf("NaN: %v", err)
	}
	if got2, _ := ReadEvals(dir); len(got2) != 3 {
		t.Errorf("a failed merge changed the file: %d lines", len(got2))
	}
}

func TestMergeProbesAndSamples(t *testing.T) {
	dir := t.TempDir()
	rows := []Probe{{Step: 2, Probe: "x", Layer: 0, Head: 1, Value: 1}, {Step: 1, Probe: "x", Layer: 0, Head: 0, Value: 2},
		{Step: 1, Probe: ProbeICLLoss, Layer: -1, Head: -1, Index: ip(1), Value: 3}, {Step: 1, Probe: ProbeICLLoss, Layer: -1, Head: -1, Index: ip(0), Value: 4}}
	if err := MergeProbes(dir, rows); err != nil {
		t.Fatal(err)
	}
	// Re-probing step 1 with x replaces (1, x) and keeps (1, icl_loss)
	// and (2, x).
	if err := MergeProbes(dir, []Probe{{Step: 1, Probe: "x", Layer: 1, Head: 0, Value: 5}}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadProbes(dir)
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, g := range got {
		desc = append(desc, g.Probe)
	}
	// Sorted by step, probe, layer, head, index; (1, x) replaced whole.
	if want := []string{ProbeICLLoss, ProbeICLLoss, "x", "x"}; !reflect.DeepEqual(desc, want) || got[0].IndexOr(-1) != 0 || got[2].Value != 5 || got[3].Step != 2 {
		t.Fatalf("%+v", got)
	}
	ss := []Sample{{Step: 1, Task: "add/plain/2", Item: "12+34", Prompt: "12+34=", Target: "46", Generated: "46",
		Scores: map[string]float64{ExactMatch: 1}, AnswerLogProb: -0.5}}
	if err := MergeSamples(dir, ss); err != nil {
		t.Fatal(err)
	}
	if err := MergeSamples(dir, ss); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSamples(dir)
	if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], ss[0]) {
		t.Fatalf("samples %+v %v", back, err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := struct {
		Model struct {
			Arch    string `json:"arch"`
			NLayers int    `json:"n_layers"`
		} `json:"model"`
	}{}
	cfg.Model.Arch, cfg.Model.NLayers = "gpt", 2
	info := Info{Params: 1000, NonEmbeddingParams: 600, Seed: 7, CodeVersion: "v", Command: []string{"emlab", "train"}}
	if err := WriteConfig(dir, cfg, info); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	// The configuration's keys first, then Info's, indented: the layout
	// of a struct embedding both.
	want, _ := json.MarshalIndent(struct {
		Model any `json:"model"`
		Info
	}{cfg.Model, info}, "", "  ")
	if string(b) != string(want)+"\n" {
		t.Fatalf("config.json:\n%s\nwant:\n%s", b, want)
	}
	c, err := ReadRunConfig(dir)
	if err != nil || c.Params != 1000 || c.Model.NLayers != 2 || c.SeedLabel() != "7" || c.Command[1] != "train" {
		t.Fatalf("%+v %v", c, err)
	}
	write(t, dir, ConfigFile, `{"params": -5}`)
	if _, err := ReadRunConfig(dir); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("negative params: %v", err)
	}
	write(t, dir, ConfigFile, `{"params": 10, "non_embedding_params": 5}`)
	if c, err := ReadRunConfig(dir); err != nil || c.SeedLabel() != "" {
		t.Errorf("no seed: %+v %v", c, err)
	}
	if _, err := ReadRunConfig(t.TempDir()); !errors.Is(err, ErrNotRun) {
		t.Errorf("no config: %v", err)
	}
}

func TestFindAndStatus(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a"), ConfigFile, `{"params": 10, "non_embedding_params": 5}`)
	write(t, filepath.Join(root, "a", CheckpointsDir, "inner"), MetricsFile, "") // inside a run: not a run
	write(t, filepath.Join(root, "exp", "b"), SweepSpecFile, `{"experiment":"e","run":{"axes":{"size":"s"}}}`)
	write(t, filepath.Join(root, ".hidden", "c"), DoneFile, "")
	write(t, filepath.Join(root, "x", "y", "z", "d"), DoneFile, "")
	write(t, filepath.Join(root, "x", "y", "z", "w", "e"), DoneFile, "") // below MaxDepth
	ids, err := FindRuns(root)
	if err != nil || !reflect.DeepEqual(ids, []string{"a", "exp/b", "x/y/z/d"}) {
		t.Fatalf("ids %v %v", ids, err)
	}
	runs, err := LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	if runs[1].Experiment() != "e" || runs[1].Spec.Run.Axes["size"] != "s" || runs[1].Config != nil || runs[0].Config == nil {
		t.Errorf("runs %+v %+v", runs[0], runs[1])
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		r    Run
		want string
	}{
		{"done", Run{Done: true, Metrics: []Metrics{{}}}, StateDone},
		{"failed", Run{Sweep: &SweepStatus{State: StateFailed}, Metrics: []Metrics{{}}}, StateFailed},
		{"sweep running", Run{Sweep: &SweepStatus{State: StateRunning}}, StateRunning},
		{"fresh metrics", Run{Metrics: []Metrics{{}}, MetricsMod: now.Add(-10 * time.Second)}, StateRunning},
		{"stale metrics", Run{Metrics: []Metrics{{}}, MetricsMod: now.Add(-time.Hour)}, StateInterrupted},
		{"nothing yet", Run{}, StatePending},
	} {
		if got := c.r.Status(now, time.Minute); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// The chance rate applies to the sharp fractions only.
func TestChanceRule(t *testing.T) {
	for _, m := range []string{ExactMatch, MCGrade, TokenAccuracy, LogProb, EditDistance, "unknown"} {
		e := Eval{Metric: m, Chance: 0.1}
		_, ok := e.ChanceOf()
		if want := IsSharp(m); ok != want {
			t.Errorf("%s: chance applies %v, want %v", m, ok, want)
		}
	}
	if _, ok := (&Eval{Metric: ExactMatch, Chance: math.NaN()}).ChanceOf(); ok {
		t.Errorf("a line without chance has one")
	}
	if got := SharpMetrics(); !reflect.DeepEqual(got, []string{ExactMatch, MCGrade}) {
		t.Errorf("sharp %v", got)
	}
	for _, m := range SmoothMetrics() {
		if k, _ := KindOf(m); k.Sharp || k.PerPosition || k.Chance {
			t.Errorf("smooth metric %s: %+v", m, k)
		}
	}
}
