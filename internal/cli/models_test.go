package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/hf"
	"emlab/internal/hf/hftest"
	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// Models trained elsewhere in these tests are random-weight models derived
// from package hf's committed fixtures (their tokenizers, 280 ids), with a
// 64-token context so the tasks' items fit.

// neoxModel writes a GPT-NeoX model directory (Pythia's family).
func neoxModel(t *testing.T, dir string, seed uint64, set map[string]any) int64 {
	t.Helper()
	cfg := map[string]any{"max_position_embeddings": 64}
	for k, v := range set {
		cfg[k] = v
	}
	return hftest.Derive(t, hftest.Fixture("neox_f32"), dir, cfg, seed)
}

// gpt2Model writes a GPT-2 model directory.
func gpt2Model(t *testing.T, dir string, seed uint64) {
	t.Helper()
	hftest.Derive(t, hftest.Fixture("gpt2_f32"), dir, map[string]any{"n_positions": 64, "n_ctx": 64}, seed)
}

const modelTasks = "add(digits=1),file:../../examples/tasks/compare.toml"

func evalsOf(t *testing.T, dir string) []rundir.Eval {
	t.Helper()
	rs, err := rundir.ReadEvals(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 {
		t.Fatalf("no results in %s", rundir.Path(dir, rundir.EvalsFile))
	}
	return rs
}

func find(rs []rundir.Eval, step int, task, metric string) (rundir.Eval, bool) {
	for _, r := range rs {
		if r.Step == step && r.Task == task && r.Metric == metric && !r.Breakdown() {
			return r, true
		}
	}
	return rundir.Eval{}, false
}

// TestEvalProbeModelDirectory: eval and probe take a Hugging Face model
// directory (GPT-2 here), score built-in tasks and task files with the
// model's own tokenizer, and write results beside it through rundir, with
// emlab-run.json making it a run the analysis reads.
func TestEvalProbeModelDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gpt2")
	gpt2Model(t, dir, 1)
	runCLI(t, "eval", "--run", dir, "--tasks", modelTasks, "--n", "16", "--quiet")
	rs := evalsOf(t, dir)
	r, err := rundir.ReadRun(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := hf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.External || r.Config == nil || r.Config.Params != int64(m.Net.Params().Count()) || r.Config.Model.Arch != "gpt2" || r.Config.Data.Tasks != modelTasks {
		t.Fatalf("run read back: external %v config %+v", r.External, r.Config)
	}
	// The scores are the model's on its own tokenization: recompute the
	// multiple-choice grade of compare/d=2 and the log-probability of
	// add/plain/1 by hand.
	mix, err := tasks.ParseMixture(modelTasks)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ task, variant, metric string }{{"compare", "compare/d=2", rundir.MCGrade}, {"add", "add/plain/1", rundir.LogProb}} {
		var task tasks.Task
		for _, tk := range mix.Tasks() {
			if tk.Name() == c.task {
				task = tk
			}
		}
		var sum float64
		n := 0
		for _, it := range task.Eval(0, 16) {
			if it.Variant != c.variant {
				continue
			}
			p, a, cs, err := tasks.EncodeItem(m.Tok, &it)
			if err != nil {
				t.Fatal(err)
			}
			score := func(cont []int32) (total float64) {
				seq := append(slices.Clone(p), cont...)
				m.Net.Forward(seq, nil, 1, len(seq))
				lg, V := m.Net.Logits(), m.Net.Config().DVocab
				for j, id := range cont {
					row := lg[(len(p)-1+j)*V : (len(p)+j)*V]
					mx := slices.Max(row)
					var z float64
					for _, x := range row {
						z += math.Exp(float64(x - mx))
					}
					total += float64(row[id]-mx) - math.Log(z)
				}
				return total
			}
			if c.metric == rundir.MCGrade {
				best, bestLP := -1, math.Inf(-1)
				for k, ch := range cs {
					if lp := score(ch); lp > bestLP {
						best, bestLP = k, lp
					}
				}
				if best == it.Correct {
					sum++
				}
			} else {
				sum += score(a) / float64(len(a))
			}
			n++
		}
		if n == 0 {
			t.Fatalf("no items of %s", c.variant)
		}
		got, ok := find(rs, 0, c.variant, c.metric)
		t.Logf("%s %s: %v from the command, %v by hand (n=%d)", c.variant, c.metric, got.Value, sum/float64(n), n)
		// The harness batches items (one forward pass for many), the hand
		// computation runs them one by one: the same sums in another
		// order, so equal to float32 rounding of the logits (1e-4 nats).
		if !ok || got.N != n || math.Abs(got.Value-sum/float64(n)) > 1e-4 {
			t.Errorf("%s %s = %+v, recomputed %v over %d items", c.variant, c.metric, got, sum/float64(n), n)
		}
	}
	// Evaluating again without --tasks scores the recorded tasks.
	runCLI(t, "eval", "--run", dir, "--n", "16", "--quiet")
	if again := evalsOf(t, dir); len(again) != len(rs) {
		t.Errorf("re-evaluation with the recorded tasks: %d results, want %d", len(again), len(rs))
	}
	out := runCLI(t, "probe", "--run", dir, "--tasks", "add(digits=1)", "--probes", "prefix_matching,previous_token,copying,weight_norm", "--quiet")
	probes, err := rundir.ReadProbes(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, p := range probes {
		count[p.Probe]++
	}
	L, H := m.Net.Config().NLayers, m.Net.Config().NHeads
	if count[rundir.ProbePrefixMatching] != L*H || count[rundir.ProbePrevToken] != L*H || count[rundir.ProbeCopying] != L*H {
		t.Errorf("probe rows %v, want %d per head probe; output:\n%s", count, L*H, out)
	}
}

// TestEvalProbeStepFolder: a folder of step<N>/ checkpoints is one run
// with a checkpoint per step; streaming each into the first one's buffers
// gives exactly what loading each alone gives.
func TestEvalProbeStepFolder(t *testing.T) {
	root := t.TempDir()
	traj := filepath.Join(root, "pythia-tiny")
	steps := []int{0, 4, 16}
	for i, s := range steps {
		neoxModel(t, filepath.Join(traj, "step"+itoa(s)), uint64(10+i), nil)
	}
	runCLI(t, "eval", "--run", traj, "--all", "--tasks", modelTasks, "--n", "12", "--tokens-per-step", "1000", "--quiet")
	rs := evalsOf(t, traj)
	for _, s := range steps {
		if _, ok := find(rs, s, "add/plain/1", rundir.LogProb); !ok {
			t.Errorf("no add/plain/1 logprob at step %d", s)
		}
		// The same checkpoint alone, its results under --out.
		alone := filepath.Join(root, "alone", itoa(s))
		runCLI(t, "eval", "--run", filepath.Join(traj, "step"+itoa(s)), "--out", alone, "--tasks", modelTasks, "--n", "12", "--quiet")
		for _, r := range evalsOf(t, alone) {
			if r.Step != s {
				t.Errorf("checkpoint step%d evaluated alone at step %d", s, r.Step)
			}
			got, ok := find(rs, s, r.Task, r.Metric)
			if !r.Breakdown() && (!ok || got.Value != r.Value) {
				t.Errorf("step %d %s %s: %v in the trajectory, %v alone", s, r.Task, r.Metric, got.Value, r.Value)
			}
		}
	}
	a, _ := find(rs, 0, "add/plain/1", rundir.LogProb)
	b, _ := find(rs, 16, "add/plain/1", rundir.LogProb)
	if a.Value == b.Value {
		t.Errorf("steps 0 and 16 score the same (%v): were the weights reloaded?", a.Value)
	}
	ms, err := rundir.ReadMetrics(traj)
	if err != nil || len(ms) != 3 || ms[2].Step != 16 || ms[2].Tokens != 16000 || !(ms[2].FLOPs > 0) {
		t.Errorf("metrics %+v, %v: want tokens = step·1000 at each checkpoint", ms, err)
	}
	runCLI(t, "probe", "--run", traj, "--all", "--tasks", "add(digits=1)", "--probes", "prefix_matching,effective_rank", "--quiet")
	probes, err := rundir.ReadProbes(traj)
	if err != nil {
		t.Fatal(err)
	}
	at := map[int]int{}
	for _, p := range probes {
		at[p.Step]++
	}
	if len(at) != 3 {
		t.Errorf("probe rows by step %v, want the three checkpoints", at)
	}
	// The analysis reads the trajectory on the step and tokens axes.
	var buf bytes.Buffer
	if code := Main(context.Background(), []string{"analyze", "--runs", traj, "--x", "tokens", "--json", "--boot", "0"}, &buf, &bytes.Buffer{}); code != 0 {
		t.Fatalf("analyze on the tokens axis: exit %d", code)
	}
	if !strings.Contains(buf.String(), `"task":"add/plain/1"`) {
		t.Errorf("analyze output lacks add/plain/1:\n%s", buf.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestEvalLadderAndAnalyze: a folder of sizes is a ladder, each rung a run
// (results beside it or under --out/<rung>), which emlab analyze reads
// with the parameter counts of the models.
func TestEvalLadderAndAnalyze(t *testing.T) {
	root := t.TempDir()
	ladder := filepath.Join(root, "sizes")
	widths := []int{16, 32, 48, 64}
	for i, w := range widths {
		neoxModel(t, filepath.Join(ladder, "w"+itoa(w)), uint64(100+i), map[string]any{"hidden_size": w, "intermediate_size": 2 * w})
	}
	out := filepath.Join(root, "results")
	runCLI(t, "eval", "--run", ladder, "--out", out, "--tasks", modelTasks, "--n", "12", "--quiet")
	runCLI(t, "eval", "--run", ladder, "--tasks", modelTasks, "--n", "12", "--quiet")
	var params []int64
	for _, w := range widths {
		for _, d := range []string{filepath.Join(out, "w"+itoa(w)), filepath.Join(ladder, "w"+itoa(w))} {
			r, err := rundir.ReadRun(d, "")
			if err != nil || !r.External || len(r.Evals) == 0 {
				t.Fatalf("%s: %v (external %v, %d results)", d, err, r != nil && r.External, len(r.Evals))
			}
			if d == filepath.Join(out, "w"+itoa(w)) {
				params = append(params, r.Config.Params)
			}
		}
	}
	if !slices.IsSorted(params) || params[0] == params[3] {
		t.Errorf("parameter counts %v do not grow with the width", params)
	}
	for _, runs := range []string{ladder, out} {
		var buf, errb bytes.Buffer
		if code := Main(context.Background(), []string{"analyze", "--runs", runs, "--json", "--boot", "0"}, &buf, &errb); code != 0 {
			t.Fatalf("analyze --runs %s: exit %d: %s", runs, code, errb.String())
		}
		var res struct {
			Task   string `json:"task"`
			Metric string `json:"metric"`
			Points int    `json:"n_points"`
		}
		found := false
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				t.Fatal(err)
			}
			if res.Task == "compare/d=1" && res.Metric == rundir.MCGrade {
				found = true
			}
		}
		if !found {
			t.Errorf("analyze --runs %s: no compare/d=1 mc_grade result:\n%s", runs, buf.String())
		}
	}
	// The rungs re-open from their records (--out results know where the
	// models are).
	runCLI(t, "eval", "--run", filepath.Join(out, "w16"), "--n", "12", "--quiet")
	// The report reads the ladder as it reads emlab's runs.
	html := filepath.Join(root, "report.html")
	runCLI(t, "report", "--dir", out, "--out", html)
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "compare/d=1") {
		t.Errorf("the report on the ladder does not show compare/d=1 (%v)", err)
	}
}

// TestModelBadInput: a model directory that is not one coherent model
// fails the commands with an error naming the file and the tensor or key.
func TestModelBadInput(t *testing.T) {
	root := t.TempDir()
	good := filepath.Join(root, "good")
	neoxModel(t, good, 1, nil)
	spec, err := hf.ReadSpec(good)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(root, "missing")
	neoxModel(t, missing, 1, nil)
	hftest.WriteWeights(t, missing, hf.Layout(spec), 1, map[string]bool{"gpt_neox.layers.1.mlp.dense_4h_to_h.weight": true})
	shape := filepath.Join(root, "shape")
	neoxModel(t, shape, 1, nil)
	copyFile(t, filepath.Join(good, hf.WeightsFile), filepath.Join(root, "w"))
	neoxModel(t, shape, 1, map[string]any{"intermediate_size": 40})
	copyFile(t, filepath.Join(root, "w"), filepath.Join(shape, hf.WeightsFile))
	arch := filepath.Join(root, "llama")
	neoxModel(t, arch, 1, nil)
	cfg, err := os.ReadFile(filepath.Join(arch, hf.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(arch, hf.ConfigFile), bytes.Replace(cfg, []byte(`"gpt_neox"`), []byte(`"llama"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	vocab := filepath.Join(root, "vocab")
	neoxModel(t, vocab, 1, map[string]any{"vocab_size": 200})
	traj := filepath.Join(root, "traj")
	neoxModel(t, filepath.Join(traj, "step0"), 1, nil)
	neoxModel(t, filepath.Join(traj, "step8"), 2, map[string]any{"hidden_size": 48, "intermediate_size": 96})
	tokTraj := filepath.Join(root, "toktraj")
	neoxModel(t, filepath.Join(tokTraj, "step0"), 1, nil)
	neoxModel(t, filepath.Join(tokTraj, "step8"), 2, nil)
	tj, err := os.ReadFile(filepath.Join(tokTraj, "step8", hf.TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tokTraj, "step8", hf.TokenizerFile), append(tj, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(root, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"eval", "--run", missing, "--tasks", "add(digits=1)"}, []string{filepath.Join(missing, hf.WeightsFile), `missing tensor "gpt_neox.layers.1.mlp.dense_4h_to_h.weight"`}},
		{[]string{"probe", "--run", missing}, []string{`missing tensor "gpt_neox.layers.1.mlp.dense_4h_to_h.weight"`}},
		{[]string{"eval", "--run", shape, "--tasks", "add(digits=1)"}, []string{filepath.Join(shape, hf.WeightsFile), "has shape [48 32], want [40 32]", "intermediate_size"}},
		{[]string{"eval", "--run", arch, "--tasks", "add(digits=1)"}, []string{filepath.Join(arch, hf.ConfigFile), "llama"}},
		{[]string{"eval", "--run", vocab, "--tasks", "add(digits=1)"}, []string{filepath.Join(vocab, hf.TokenizerFile), "not below vocab_size 200", "does not belong to this model"}},
		{[]string{"eval", "--run", traj, "--all", "--tasks", "add(digits=1)"}, []string{filepath.Join(traj, "step8", hf.ConfigFile)}},
		{[]string{"eval", "--run", tokTraj, "--all", "--tasks", "add(digits=1)"}, []string{filepath.Join(tokTraj, "step8"), "another tokenizer"}},
		{[]string{"eval", "--run", good}, []string{"trained elsewhere", "give --tasks"}},
		{[]string{"eval", "--run", good, "--tasks", "add(digits=1)", "--out", filepath.Join(notDir, "res")}, []string{"give --out DIR"}},
		{[]string{"probe", "--run", good, "--tasks", "stories"}, []string{"longer than the window of 64 tokens"}},
		{[]string{"eval", "--run", root + "/nothing"}, []string{"no such file"}},
		{[]string{"eval", "--run", notDir}, []string{"not a directory"}},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append(c.args, "--quiet"), &out, &errb)
		for _, w := range c.want {
			if code == 0 || !strings.Contains(errb.String(), w) {
				t.Errorf("emlab %s: exit %d, stderr %q; want it to mention %q", strings.Join(c.args, " "), code, errb.String(), w)
			}
		}
	}
	if _, err := os.Stat(rundir.Path(missing, rundir.ExternalFile)); err == nil {
		t.Errorf("a model that failed to load was recorded as a run")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
