package probe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/probe"
	"emlab/internal/rundir"
	"emlab/internal/train"
)

// TestTaskProbesAtChanceOnARandomModel runs every task-specific probe on a
// freshly initialised GPT over a mixture of the tasks they read. A random
// model knows nothing, so each measure must sit at its documented "random"
// value: knowledge ≈ 0 bits, the parity Fourier coefficient ≈ 0, train and
// held-out accuracy ≈ 0, the modadd restricted loss ≈ the full loss ≈ ln p.
func TestTaskProbesAtChanceOnARandomModel(t *testing.T) {
	cfg := config.Default()
	cfg.Data.Source = "tasks"
	if err := cfg.Set("data.tasks=modadd:1,add:1,multihop(people=10):1,parity(tasks=3):1"); err != nil {
		t.Fatal(err)
	}
	tr, ev, err := train.Sources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.ResolveVocab(&cfg, tr.Vocab()); err != nil {
		t.Fatal(err)
	}
	m, err := nn.New(cfg.Model, data.RNG(1, "init"))
	if err != nil {
		t.Fatal(err)
	}
	env := &probe.Env{Model: m, Tok: train.Tokenizer(tr), Eval: ev, T: cfg.T(), Items: 64, Tasks: cfg.Data.Tasks.Tasks()}
	sel, err := probe.Select("fourier,linear_probe,train_heldout,knowledge,parity_progress", env)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]rundir.Probe{}
	for _, p := range sel {
		rows, err := p.Run(env, 0)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		for _, r := range rows {
			got[r.Probe] = append(got[r.Probe], r)
		}
	}
	one := func(name string) float64 {
		t.Helper()
		if len(got[name]) != 1 {
			t.Fatalf("%s: %d rows, want 1", name, len(got[name]))
		}
		return got[name][0].Value
	}
	// A random model knows no fact, so it cannot save bits: its total is
	// ≤ 0 up to noise (it is below 0 here because near-uniform per-token
	// probabilities favour the shorter values; see KnowledgeBits).
	bits, maxBits := one("knowledge_bits"), one("knowledge_bits_max")
	t.Logf("knowledge %.3f of %.1f bits", bits, maxBits)
	if maxBits < 50 || bits > 0.02*maxBits {
		t.Errorf("knowledge %.3f of %.1f bits, want ≤ ≈ 0 of ≥ 50", bits, maxBits)
	}
	// Init std 0.02: the outputs are within ≈ 1% of uniform, so the
	// other measures sit within a few percent of their random values.
	lnp := math.Log(53)
	full, restricted := one("fourier_full_loss"), one("fourier_restricted_loss")
	if math.Abs(full-lnp) > 0.05 || math.Abs(restricted-lnp) > 0.05 {
		t.Errorf("modadd losses full %.3f restricted %.3f, want ≈ ln 53 = %.3f", full, restricted, lnp)
	}
	if n := len(got["fourier_key"]); n != 6 {
		t.Errorf("%d key frequencies, want the cap 6 (a random embedding spreads its energy)", n)
	}
	if g := one("fourier_gini"); g > 0.3 {
		t.Errorf("Gini of a random embedding %.3f, want small", g)
	}
	for _, r := range got["parity_fourier"] {
		// 64 items per subtask: the coefficient's noise is ≪ 0.1 when the
		// outputs are near 0.5.
		if math.Abs(r.Value) > 0.1 {
			t.Errorf("parity subtask %d: coefficient %.3f, want ≈ 0", *r.Index, r.Value)
		}
	}
	if len(got["parity_saliency_ratio"]) != 3 {
		t.Errorf("%d saliency rows, want one per subtask (3)", len(got["parity_saliency_ratio"]))
	}
	for _, r := range append(got["train_acc"], got["heldout_acc"]...) {
		if r.Value > 0.1 {
			t.Errorf("%s %s: accuracy %.3f for a random model", r.Probe, r.Task, r.Value)
		}
	}
	vars := map[string]bool{}
	for _, r := range got["linear_probe"] {
		vars[r.Var] = true
		if r.Value < 0 || r.Value > 1 || r.Ref == nil {
			t.Errorf("linear probe row %+v", r)
		}
	}
	for _, v := range []string{"carry/0", "digits/0", "bridge"} {
		if !vars[v] {
			t.Errorf("no linear probe for %s (have %v)", v, vars)
		}
	}
}

// TestVariableProbesOnARandomModel runs the variable probes on a freshly
// initialised GPT over add and facts. The digit at the position read
// ("current") is the token there, so it is linearly readable from the
// embeddings of any model (accuracy 1); the units digit of the sum, (a₀ +
// b₀) mod 10, is not a linear function of the digits, so a random model's
// layers do not hold it much above the majority rate. (The carries are:
// a carry is a threshold on a₀ + b₀, which a linear probe reads from an
// average of the digits' embeddings, so even random attention exposes it.)
// Every high-level variable gets a whole-layer and a best-neuron row per
// MLP layer, the ablation gives a selective and a random row per k, a
// random model knows nothing of the facts, the weights are unchanged and
// a second run gives the same rows.
func TestVariableProbesOnARandomModel(t *testing.T) {
	m, env := randomTaskModel(t, "add:1,facts(entities=30):1", 2)
	sel, err := probe.Select("linear_probe,neurons,neuron_ablation,knowledge", env)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(m.Params().Data)
	run := func() []rundir.Probe {
		var all []rundir.Probe
		for _, p := range sel {
			rows, err := p.Run(env, 0)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			all = append(all, rows...)
		}
		return all
	}
	rows := run()
	if !slices.Equal(m.Params().Data, before) {
		t.Fatal("the probes changed the weights")
	}
	byProbe := map[string][]rundir.Probe{}
	for _, r := range rows {
		byProbe[r.Probe] = append(byProbe[r.Probe], r)
	}
	var current, units float64 = -1, -1
	lastVars, highVars := map[string]bool{}, 0
	for _, r := range byProbe["linear_probe"] {
		switch {
		case r.Var == "current" && r.Layer == -1:
			current = r.Value
		case r.Var == "digits/0" && r.Layer == 1:
			units = r.Value - *r.Ref
		}
		if r.Var != "current" && !lastVars[r.Var] {
			lastVars[r.Var] = true
			if rundir.VarLevel(r.Var) == rundir.VarHigh {
				highVars++
			}
		}
	}
	// 40 distinct (digit, position) embeddings in 16 dimensions, all seen
	// in training: linearly separable.
	if current < 0.99 {
		t.Errorf("current digit from the embeddings: accuracy %.3f, want 1", current)
	}
	// ≈ 30 test rows: the majority rate's noise is ≈ 0.07; 0.25 above it
	// would be a sum computed by random weights.
	if units > 0.25 {
		t.Errorf("digits/0 at layer 1 of a random model: %.3f above the majority rate", units)
	}
	for _, v := range []string{"a/0", "b/1", "carry/1", "digits/2"} {
		if !lastVars[v] {
			t.Errorf("no linear probe of %s (have %v)", v, lastVars)
		}
	}
	// carry/0, carry/1, digits/0, digits/1, digits/2.
	if want := 2 * 5 * m.Config().NLayers; highVars != 5 || len(byProbe["neuron_best"])+len(byProbe["neuron_layer"]) != want {
		t.Errorf("%d neuron rows for %d high-level variables, want %d (best and layer for 5 variables × %d layers)",
			len(byProbe["neuron_best"])+len(byProbe["neuron_layer"]), highVars, want, m.Config().NLayers)
	}
	for _, r := range append(byProbe["neuron_best"], byProbe["neuron_layer"]...) {
		if r.Value < 0 || r.Value > 1 || r.Ref == nil || (r.Probe == "neuron_best" && (r.Index == nil || *r.Index < 0 || *r.Index >= 4*16)) {
			t.Errorf("neuron row %+v", r)
		}
	}
	// k = 1, 2, …, 32 (a quarter of 2 × 64 neurons).
	if len(byProbe["ablate_selective"]) != 6 || len(byProbe["ablate_random"]) != 6 {
		t.Errorf("%d selective and %d random ablation rows, want 6 each", len(byProbe["ablate_selective"]), len(byProbe["ablate_random"]))
	}
	for _, r := range byProbe["knowledge_bits"] {
		// 120 facts of log2 10 bits: a random model is within a few bits of 0.
		if math.Abs(r.Value) > 10 {
			t.Errorf("a random model stores %.2f bits of %s", r.Value, r.Task)
		}
	}
	if len(byProbe["knowledge_bits"]) != 1 {
		t.Errorf("%d knowledge rows, want 1 (facts)", len(byProbe["knowledge_bits"]))
	}
	again := run()
	if len(again) != len(rows) {
		t.Fatalf("second run: %d rows, first %d", len(again), len(rows))
	}
	for i := range rows {
		if rows[i].Value != again[i].Value || rows[i].Var != again[i].Var {
			t.Fatalf("row %d differs between runs: %+v vs %+v", i, rows[i], again[i])
		}
	}
}

// TestVariableProbesStopOnContext: the variable, neuron and knowledge
// probes check the probe context while they draw items and run batches,
// so a cancelled run stops each of them with the context's error instead
// of finishing.
func TestVariableProbesStopOnContext(t *testing.T) {
	_, env := randomTaskModel(t, "add:1,facts(entities=30):1", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env.Ctx = ctx
	sel, err := probe.Select("linear_probe,neurons,neuron_ablation,knowledge", env)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sel {
		if _, err := p.Run(env, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", p.Name, err)
		}
	}
}

// TestVariableProbesParallelMatchSerial: the linear and neuron probes fit
// their (variable, layer) probes on GOMAXPROCS goroutines; the rows, their
// order and every bit of their values are those of one goroutine.
func TestVariableProbesParallelMatchSerial(t *testing.T) {
	_, env := randomTaskModel(t, "add:1,multihop(people=10):1", 2)
	sel, err := probe.Select("linear_probe,neurons", env)
	if err != nil {
		t.Fatal(err)
	}
	run := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var out []byte
		for _, p := range sel {
			rows, err := p.Run(env, 0)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			if len(rows) == 0 {
				t.Fatalf("%s: no rows", p.Name)
			}
			for _, r := range rows {
				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				out = append(append(out, b...), '\n')
			}
		}
		return out
	}
	serial := run(1)
	for _, procs := range []int{2, 5} {
		if got := run(procs); !bytes.Equal(got, serial) {
			t.Errorf("GOMAXPROCS %d: rows differ from GOMAXPROCS 1\n%s\nvs\n%s", procs, got, serial)
		}
	}
}

// randomTaskModel is an untrained GPT of nLayers layers (d_model 16) on
// the task mixture tasks, with the probes' environment over its evaluation
// stream (64 items).
func randomTaskModel(t *testing.T, tasks string, nLayers int) (nn.Model, *probe.Env) {
	t.Helper()
	cfg := config.Default()
	cfg.Data.Source = "tasks"
	if err := cfg.Set("data.tasks=" + tasks); err != nil {
		t.Fatal(err)
	}
	cfg.Model.NLayers, cfg.Model.DModel, cfg.Model.NHeads = nLayers, 16, 2
	tr, ev, err := train.Sources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.ResolveVocab(&cfg, tr.Vocab()); err != nil {
		t.Fatal(err)
	}
	m, err := nn.New(cfg.Model, data.RNG(1, "init"))
	if err != nil {
		t.Fatal(err)
	}
	env := &probe.Env{Model: m, Tok: train.Tokenizer(tr), Eval: ev, T: cfg.T(), Items: 64, Tasks: cfg.Data.Tasks.Tasks()}
	return m, env
}
