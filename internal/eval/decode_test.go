package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"emlab/internal/data"
	"emlab/internal/nn"
)

// uncached hides a model's nn.Decoder, so Generate takes the full-forward
// path (only nn.Model's methods are promoted from the embedded interface).
type uncached struct{ nn.Model }

// randomModel builds a model of arch over the 11 ids of digitTok (0 is the
// separator) with weights N(0, std²) (LayerNorm gains 1 + N(0, std²)),
// std 0.3 for the GPT and 0.7 for the others: large enough that random models
// run on to the context end, and stop at the separator now and then (see
// below).
func randomModel(t testing.TB, arch string, nctx int, seed uint64) nn.Model {
	t.Helper()
	cfg := nn.DefaultConfig(arch)
	cfg.NCtx, cfg.DVocab = nctx, 11
	switch arch {
	case nn.ArchGPT:
		cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.DMLP = 2, 24, 3, 40
	case nn.ArchLSTM:
		cfg.NLayers, cfg.DModel = 2, 24
	case nn.ArchMLP:
		cfg.DModel, cfg.Window, cfg.DMLP = 8, 3, 16
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	m, err := nn.New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	std := 0.7
	if arch == nn.ArchGPT {
		std = 0.3
	}
	for _, p := range ps.Params {
		x := ps.Data[p.Off : p.Off+p.Size]
		for i := range x {
			x[i] = float32(rng.NormFloat64() * std)
			if strings.Contains(p.Name, "ln_") && strings.HasSuffix(p.Name, ".weight") {
				x[i]++ // LayerNorm gains near 1
			}
		}
	}
	// Random models rarely predict the separator on their own. Make its
	// unembedding 1.05 × that of token echo (tied wte rows for the GPT and
	// LSTM; lm_head column and bias for the MLP): the separator then wins
	// wherever echo would have won with a positive logit, so generations
	// stop about as often as echo is generated.
	const echo = 2
	for _, p := range ps.Params {
		x := ps.Data[p.Off : p.Off+p.Size]
		switch {
		case p.Name == "wte.weight" && cfg.TiedEmbeddings:
			for c := 0; c < cfg.DModel; c++ {
				x[c] = 1.05 * x[echo*cfg.DModel+c]
			}
		case p.Name == "lm_head.weight":
			for r := 0; r < p.Shape[0]; r++ {
				x[r*cfg.DVocab] = 1.05 * x[r*cfg.DVocab+echo]
			}
		case p.Name == "lm_head.bias":
			x[0] = x[echo]
		}
	}
	if _, ok := m.(nn.Decoder); !ok {
		t.Fatalf("%s model does not implement nn.Decoder", arch)
	}
	return m
}

// TestGenerateCachedMatchesUncached checks that "KV-cache generation
// equals generation without a cache, token for token": the same prompts
// through Generate with the model's DecodeState and with the full-forward
// path, for the GPT, the LSTM and the MLP, over batch sizes that do not
// divide the number of prompts (and one larger than it), prompts of every
// length up to n_ctx (so some fill the context at once and others reach its
// end while generating) and several maxNew. Equality is exact: the decode
// path's logits are bit-identical to Forward's (nn's decode tests), and
// both paths pick the lowest-index maximum.
//
// The test also requires that every stopping rule occurred (separator,
// maxNew, context end), so the comparison covers each way a row finishes.
func TestGenerateCachedMatchesUncached(t *testing.T) {
	const nctx, nPrompts = 24, 23
	tok := digitTok(t)
	for ai, arch := range []string{nn.ArchGPT, nn.ArchLSTM, nn.ArchMLP} {
		m := randomModel(t, arch, nctx, uint64(ai+1))
		rng := rand.New(rand.NewPCG(uint64(ai), 5))
		prompts := make([][]int32, nPrompts)
		for i := range prompts {
			n := 1 + rng.IntN(nctx)
			switch i {
			case 0, 7:
				n = nctx // fills the context: one token, then stop
			case 1:
				n = nctx - 1
			case 2:
				n = 1
			}
			prompts[i] = make([]int32, n)
			for j := range prompts[i] {
				prompts[i][j] = int32(1 + rng.IntN(10)) // digits, no separator
			}
		}
		stops := map[string]int{}
		for _, bs := range []int{1, 4, 7, 64} {
			for _, maxNew := range []int{0, 1, 6, 100} {
				t.Run(fmt.Sprintf("%s/bs=%d/maxNew=%d", arch, bs, maxNew), func(t *testing.T) {
					want, err := (&Harness{Model: uncached{m}, Tok: tok, BatchSize: bs}).Generate(prompts, maxNew)
					if err != nil {
						t.Fatal(err)
					}
					got, err := (&Harness{Model: m, Tok: tok, BatchSize: bs}).Generate(prompts, maxNew)
					if err != nil {
						t.Fatal(err)
					}
					for i := range prompts {
						if !slices.Equal(got[i], want[i]) {
							t.Errorf("prompt %d (%d tokens): cached %v, uncached %v", i, len(prompts[i]), got[i], want[i])
						}
						switch n := len(want[i]); {
						case len(prompts[i])+n >= nctx && n > 0:
							stops["context end"]++
						case n == maxNew:
							stops["maxNew"]++
						default:
							stops["separator"]++
						}
					}
				})
			}
		}
		for _, rule := range []string{"separator", "maxNew", "context end"} {
			if stops[rule] == 0 {
				t.Errorf("%s: no generation stopped at the %s; the comparison does not cover it (%v)", arch, rule, stops)
			}
		}
		t.Logf("%s: generations by stopping rule %v", arch, stops)
	}
}

// succDecoder is succModel with a DecodeState that records the calls, to
// check how Generate drives a Decoder: one Prefill per batch, then Steps on
// exactly the rows still running, with the token each just produced.
type succDecoder struct {
	*succModel
	prefills int
	steps    [][]int // rows of every Step
}

func (m *succDecoder) NewDecodeState(B int) nn.DecodeState { return &succState{m: m, B: B} }

type succState struct {
	m      *succDecoder
	B      int
	lens   []int
	logits []float32
}

func (s *succState) Rows() int     { return s.B }
func (s *succState) Len(i int) int { return s.lens[i] }
func (s *succState) emit(last []int32) []float32 {
	V := s.m.V
	s.logits = make([]float32, len(last)*V)
	for j, x := range last {
		s.logits[j*V+int(s.m.next(x))] = s.m.L
	}
	return s.logits
}
func (s *succState) Prefill(prompts [][]int32) []float32 {
	s.m.prefills++
	s.lens = make([]int, s.B)
	last := make([]int32, len(prompts))
	for i, p := range prompts {
		s.lens[i], last[i] = len(p), p[len(p)-1]
	}
	return s.emit(last)
}
func (s *succState) Step(rows []int, tokens []int32) []float32 {
	s.m.steps = append(s.m.steps, slices.Clone(rows))
	for _, r := range rows {
		s.lens[r]++
	}
	return s.emit(tokens)
}

// TestGenerateDrivesDecoder runs TestGenerateStopsAtSeparator's closed-form
// cases through the Decoder path and checks the calls: no Forward at all,
// one Prefill per batch, and Steps only on unfinished rows.
func TestGenerateDrivesDecoder(t *testing.T) {
	m := &succDecoder{succModel: &succModel{V: 11, nctx: 8, L: 5, stop: 7}}
	h := &Harness{Model: m, Tok: digitTok(t), BatchSize: 3}
	gens, err := h.Generate([][]int32{{1}, {4, 5}, {7}, {8}}, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{2, 3, 4, 5, 6, 7}, {6, 7}, {}, {9, 10}}
	for i := range want {
		if !slices.Equal(gens[i], want[i]) {
			t.Errorf("gen %d = %v, want %v", i, gens[i], want[i])
		}
	}
	if m.calls != 0 || m.prefills != 2 {
		t.Errorf("%d Forward calls and %d Prefills for 2 batches, want 0 and 2", m.calls, m.prefills)
	}
	// Batch 1: Prefill predicts 2, 6 and the separator (row 2 stops);
	// Steps feed 2, 6 then 3, 7 (after 7 row 1 predicts the separator),
	// then row 0 alone 4, 5, 6, 7. Batch 2: Prefill predicts 9, Steps feed
	// 9 then 10, after which the separator.
	wantSteps := [][]int{{0, 1}, {0, 1}, {0}, {0}, {0}, {0}, {0}, {0}}
	if !slices.EqualFunc(m.steps, wantSteps, slices.Equal) {
		t.Errorf("steps %v, want %v", m.steps, wantSteps)
	}
	// Context end and maxNew, as in TestGenerateStopsAtSeparator.
	m.stop = -1
	gens, _ = h.Generate([][]int32{{1, 2}}, 20)
	if len(gens[0]) != m.nctx-2 {
		t.Errorf("context end: %v", gens[0])
	}
	m.stop = 7
	gens, _ = h.Generate([][]int32{{1}}, 3)
	if !slices.Equal(gens[0], []int32{2, 3, 4}) {
		t.Errorf("maxNew: %v", gens[0])
	}
	if _, err := h.Generate([][]int32{{1}, {}}, 3); err == nil {
		t.Error("empty prompt accepted")
	}
	if _, err := h.Generate([][]int32{make([]int32, 9)}, 3); err == nil {
		t.Error("prompt longer than n_ctx accepted")
	}
}

// BenchmarkGenerate measures greedy generation of 1000 scratchpad-length
// answers (prompts of 10–13 tokens, as add/scratchpad/3–4 prompts; 54 new
// tokens, add's MaxLen + 1 at 3 digits) on the small preset's GPT shape
// (L=4, d=128, H=4, V=512, n_ctx=128) with random weights, which rarely
// predict the separator, so every row runs to maxNew: with and without the
// key/value cache, at the harness's default batch of 64.
//
//	go test ./internal/eval -run '^$' -bench Generate -benchtime 1x
func BenchmarkGenerate(b *testing.B) {
	cfg := nn.DefaultConfig(nn.ArchGPT)
	cfg.NCtx, cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.DVocab = 128, 4, 128, 4, 512
	m, err := nn.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	prompts := make([][]int32, 1000)
	for i := range prompts {
		prompts[i] = make([]int32, 10+rng.IntN(4))
		for j := range prompts[i] {
			prompts[i][j] = int32(1 + rng.IntN(cfg.DVocab-1))
		}
	}
	const maxNew = 54
	tok, err := data.NewCharTokenizer("0123456789") // only its separator is used
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		model nn.Model
	}{{"cached", m}, {"uncached", uncached{m}}} {
		b.Run(bc.name, func(b *testing.B) {
			h := &Harness{Model: bc.model, Tok: tok}
			newTokens := 0
			for b.Loop() {
				gens, err := h.Generate(prompts, maxNew)
				if err != nil {
					b.Fatal(err)
				}
				for _, g := range gens {
					newTokens += len(g)
				}
			}
			b.ReportMetric(float64(newTokens)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(len(prompts)*b.N)/b.Elapsed().Seconds(), "gens/s")
		})
	}
}

// testPretrained is a small GPT-NeoX-style model of n_ctx nctx over the
// digit vocabulary, its weights drawn from the returned generator (which
// the caller goes on drawing prompts from).
func testPretrained(t *testing.T, nctx int) (*nn.Pretrained, *rand.Rand) {
	t.Helper()
	s := nn.Spec{Arch: nn.ArchNeoX, NLayers: 2, DModel: 16, NHeads: 2, DMLP: 32, NCtx: nctx, DVocab: 11,
		Act: nn.ActGELUErf, LNEps: 1e-5, Rotary: true, RotaryDims: 4, RotaryBase: 10000, ParallelResidual: true}
	m, err := nn.NewPretrained(s)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range m.Params().Data {
		m.Params().Data[i] = float32(rng.NormFloat64() * 0.5)
	}
	return m, rng
}

// TestGenerateCachedPretrained: a loaded transformer's generations through
// a cache sized for the longest prompt plus maxNew (NewDecodeStateLen)
// equal those without a cache, token for token, for short and long
// generations and prompts up to n_ctx.
func TestGenerateCachedPretrained(t *testing.T) {
	const nctx = 24
	m, rng := testPretrained(t, nctx)
	tok := digitTok(t)
	prompts := make([][]int32, 9)
	for i := range prompts {
		n := 1 + rng.IntN(nctx)
		if i == 0 {
			n = nctx
		}
		prompts[i] = make([]int32, n)
		for j := range prompts[i] {
			prompts[i][j] = int32(1 + rng.IntN(10))
		}
	}
	for _, bs := range []int{2, 64} {
		for _, maxNew := range []int{1, 3, 100} {
			want, err := (&Harness{Model: uncached{m}, Tok: tok, BatchSize: bs}).Generate(prompts, maxNew)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&Harness{Model: m, Tok: tok, BatchSize: bs}).Generate(prompts, maxNew)
			if err != nil {
				t.Fatal(err)
			}
			for i := range prompts {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("bs=%d maxNew=%d prompt %d: cached %v, uncached %v", bs, maxNew, i, got[i], want[i])
				}
			}
		}
	}
}
