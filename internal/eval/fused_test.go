package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/tasks"
)

// TestScoreAndGenerateMatchesPlainPath checks the fused path (fused.go)
// against its oracle, the plain path: ScoreContinuations for the answer's
// log-probs and argmax, and Generate without a cache for the greedy
// continuation. Equality is exact, bit for bit: both read logits that nn's
// decode contract makes identical, and both pick the lowest-index maximum.
//
// The answers are drawn so that greedy decoding leaves them at every
// position: each is the model's own greedy continuation (with the plain
// path) cut at a random length, with one token changed at a random place
// for a third of the requests, and some carry the separator or run to the
// context's end.
// The test requires that each way the fused path can end a row occurred:
// an answer followed to its end or left before it (before its last token,
// with decoding going on, so that the row is cut back), generation ending among
// the tokens the teacher-forced pass knows, and decoding on past them to
// the separator, maxNew or the context end.
func TestScoreAndGenerateMatchesPlainPath(t *testing.T) {
	const nctx, nReqs = 24, 41
	tok := digitTok(t)
	m := randomModel(t, nn.ArchGPT, nctx, 3)
	rng := rand.New(rand.NewPCG(7, 9))
	prompts := make([][]int32, nReqs)
	for i := range prompts {
		n := 1 + rng.IntN(nctx-2)
		if i == 0 {
			n = 1
		}
		prompts[i] = make([]int32, n)
		for j := range prompts[i] {
			prompts[i][j] = int32(1 + rng.IntN(10))
		}
	}
	greedy, err := (&Harness{Model: uncached{m}, Tok: tok}).Generate(prompts, nctx)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]Continuation, nReqs)
	for i, p := range prompts {
		g := greedy[i]
		n := rng.IntN(len(g) + 2) // up to the whole generation and one more
		cont := append([]int32(nil), g[:min(n, len(g))]...)
		if n > len(g) && len(p)+len(cont) < nctx {
			cont = append(cont, tok.Sep()) // the answer holds the stop itself
		}
		if len(cont) > 0 && i%3 == 0 {
			j := rng.IntN(len(cont))
			cont[j] = int32(1 + (int(cont[j])+rng.IntN(9))%10)
		}
		reqs[i] = Continuation{Prompt: p, Cont: cont}
	}
	seen := map[string]int{}
	for _, bs := range []int{1, 5, 64} {
		for _, maxNew := range []int{0, 1, 3, nctx} {
			t.Run(fmt.Sprintf("bs=%d/maxNew=%d", bs, maxNew), func(t *testing.T) {
				plain := &Harness{Model: uncached{m}, Tok: tok, BatchSize: bs}
				want, err := plain.ScoreContinuations(reqs, false)
				if err != nil {
					t.Fatal(err)
				}
				wantGen, err := plain.Generate(prompts, maxNew)
				if err != nil {
					t.Fatal(err)
				}
				h := &Harness{Model: m, Tok: tok, BatchSize: bs}
				st := h.rewindState(min(bs, nReqs), nctx)
				if st == nil {
					t.Fatal("the GPT's decode state is not an nn.Rewinder")
				}
				got, err := h.scoreAndGenerate(st, reqs, maxNew)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range reqs {
					if !sameFloats(got[i].logProbs, want[i].LogProbs) || !slices.Equal(got[i].correct, want[i].Correct) {
						t.Errorf("request %d: log-probs %v argmax %v, plain %v %v", i, got[i].logProbs, got[i].correct, want[i].LogProbs, want[i].Correct)
					}
					if !slices.Equal(got[i].gen, wantGen[i]) {
						t.Errorf("request %d (prompt %d, answer %v): generated %v, plain %v", i, len(r.Prompt), r.Cont, got[i].gen, wantGen[i])
					}
					path, end := fusedEnd(r, wantGen[i], want[i].Correct, maxNew, nctx)
					seen[path]++
					seen[end]++
				}
			})
		}
	}
	for _, end := range []string{"answer followed", "answer left", "answer left early, decoded on", "among known", "separator after", "maxNew after", "context end after"} {
		if seen[end] == 0 {
			t.Errorf("no request ended with %q (%v): the comparison misses a case", end, seen)
		}
	}
}

// fusedEnd names how the fused path ends a row: greedy decoding follows
// the whole answer or leaves it, and it stops among the tokens the
// teacher-forced pass knows (the answer's agreeing prefix and the greedy
// token after it) or past them, on the separator, at maxNew or at the
// context end.
func fusedEnd(r Continuation, gen []int32, correct []bool, maxNew, nctx int) (path, end string) {
	k := slices.Index(correct, false)
	switch {
	case k < 0:
		k, path = len(correct), "answer followed"
	case k < len(correct)-1 && len(gen) > k:
		path = "answer left early, decoded on" // the row is cut back
	default:
		path = "answer left"
	}
	switch {
	case len(gen) <= k:
		end = "among known"
	case len(r.Prompt)+len(gen) >= nctx:
		end = "context end after"
	case len(gen) == maxNew:
		end = "maxNew after"
	default:
		end = "separator after"
	}
	return path, end
}

func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// testGPT is a two-layer GPT of d_model 16 and n_ctx 64 over a task
// stream's vocabulary of V tokens, seed 1.
func testGPT(t *testing.T, V int) *nn.GPT {
	t.Helper()
	cfg := nn.DefaultConfig(nn.ArchGPT)
	cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NCtx, cfg.DVocab = 2, 16, 2, 64, V
	m, err := nn.New(cfg, data.RNG(1, "init"))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*nn.GPT)
}

// TestScoreItemsFusedMatchesPlain checks ScoreItems end to end: a GPT
// (whose decode state can be cut back, so generated items take the fused
// path) and the same GPT without its decoder (the plain path throughout)
// give the same item scores, bit for bit, on tasks with generated answers
// and with one-token choices beside them.
func TestScoreItemsFusedMatchesPlain(t *testing.T) {
	for _, spec := range []string{"add(digits=2)", "add(digits=2,format=reversed)", "icl"} {
		t.Run(spec, func(t *testing.T) {
			task, err := tasks.Lookup(spec)
			if err != nil {
				t.Fatal(err)
			}
			st, err := tasks.NewStream(spec, data.MixtureConfig{Seed: 1, Label: "train", NCtx: 64, Slot: 1})
			if err != nil {
				t.Fatal(err)
			}
			m := testGPT(t, st.Vocab())
			items := task.Eval(0, 40)
			vm := map[string]tasks.Variant{}
			for _, v := range task.Variants() {
				vm[v.Name] = v
			}
			want, err := (&Harness{Model: uncached{m}, Tok: st.Tok, BatchSize: 16}).ScoreItems(task, items, vm)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&Harness{Model: m, Tok: st.Tok, BatchSize: 16}).ScoreItems(task, items, vm)
			if err != nil {
				t.Fatal(err)
			}
			for i := range items {
				g, w := got[i], want[i]
				if !sameFloats(g.LogProbs, w.LogProbs) || !slices.Equal(g.Correct, w.Correct) || !sameFloats(g.ChoiceLP, w.ChoiceLP) ||
					g.HasGen != w.HasGen || !slices.Equal(g.GenIDs, w.GenIDs) || g.Generated != w.Generated || g.Exact != w.Exact || g.Edit != w.Edit {
					t.Errorf("item %d (%s %q): fused %+v, plain %+v", i, items[i].Variant, items[i].Prompt, g, w)
				}
			}
		})
	}
}
