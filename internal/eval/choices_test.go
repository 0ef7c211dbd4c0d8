package eval_test

import (
	"math"
	"testing"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/tasks"
)

// TestOneTokenChoicesMatchOwnRequests: choices of one token each are read
// from the logits row after the prompt that the answer's request computes
// (or, for an item without an answer, one request on the first choice);
// each choice's log-prob must be bit-identical to scoring that choice as a
// request of its own, the definition. icl has one-token labels and an
// answer; the same items without their answers take the other path; add
// (no choices) and stories (choices of many tokens) are unchanged.
func TestOneTokenChoicesMatchOwnRequests(t *testing.T) {
	for _, spec := range []string{"icl", "stories"} {
		t.Run(spec, func(t *testing.T) {
			task, err := tasks.Lookup(spec)
			if err != nil {
				t.Fatal(err)
			}
			nctx := task.MaxLen() + 2
			st, err := tasks.NewStream(spec, data.MixtureConfig{Seed: 1, Label: "train", NCtx: nctx, Slot: 1})
			if err != nil {
				t.Fatal(err)
			}
			cfg := nn.DefaultConfig(nn.ArchGPT)
			cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 1, 32, 2, nctx, st.Vocab()
			m, err := nn.New(cfg, data.RNG(3, "init"))
			if err != nil {
				t.Fatal(err)
			}
			// Batches of 7 mix items of different lengths and cut the
			// requests differently in the two paths.
			h := &eval.Harness{Model: m, Tok: st.Tok, BatchSize: 7}
			items := task.Eval(0, 40)
			variants := map[string]tasks.Variant{}
			for _, v := range task.Variants() {
				variants[v.Name] = v
			}
			noAnswer := make([]tasks.Item, len(items))
			for i, it := range items {
				it.Answer = ""
				noAnswer[i] = it
			}
			for _, set := range []struct {
				name  string
				items []tasks.Item
			}{{"with answers", items}, {"without answers", noAnswer}} {
				scores, err := h.ScoreItems(task, set.items, variants)
				if err != nil {
					t.Fatal(err)
				}
				// The definition: one request per choice, its log-prob the
				// sum over its tokens.
				var reqs []eval.Continuation
				var owner, choice []int
				for i := range set.items {
					it := &set.items[i]
					p, _, chs, err := tasks.EncodeItem(st.Tok, it)
					if err != nil {
						t.Fatal(err)
					}
					for c, ids := range chs {
						reqs = append(reqs, eval.Continuation{Prompt: p, Cont: ids})
						owner, choice = append(owner, i), append(choice, c)
					}
				}
				if len(reqs) == 0 {
					t.Fatalf("%s: no choices to score", spec)
				}
				own, err := (&eval.Harness{Model: m, Tok: st.Tok}).ScoreContinuations(reqs, false)
				if err != nil {
					t.Fatal(err)
				}
				for r, cs := range own {
					var want float64
					for _, lp := range cs.LogProbs {
						want += lp
					}
					got := scores[owner[r]].ChoiceLP[choice[r]]
					if math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("%s, item %d choice %d: log-prob %v, its own request gives %v", set.name, owner[r], choice[r], got, want)
					}
				}
			}
		})
	}
}
