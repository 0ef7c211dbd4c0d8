package probe_test

import (
	"math"
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
