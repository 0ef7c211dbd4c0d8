package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"emlab/internal/tensor"
)

// decodeCase is one model the decode tests run, with an optional head mask.
type decodeCase struct {
	name string
	cfg  Config
	spec Spec // a loaded transformer (nn.Pretrained) instead of cfg, when Arch is set
	mask []float32
}

// decodeCases covers every architecture and option a DecodeState has a code
// path for. The GPT widths are chosen off the Gemm kernels' tile sizes (C=24,
// Dh=8, F=40, V=37, NCtx=33 > 32 columns), so edge tiles are exercised;
// "gpt/longctx" has NCtx 300 > 256, the Gemm k-block, so a query's product
// over the cache splits into k-blocks as Forward's does.
func decodeCases() []decodeCase {
	base := Config{Arch: ArchGPT, NLayers: 2, DModel: 24, NHeads: 3, DMLP: 40, NCtx: 33, DVocab: 37,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.02}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	lstmU := tinyLSTMConfig(false, 0)
	lstmU.NCtx, lstmU.DModel, lstmU.DVocab = 21, 24, 37
	lstmT := tinyLSTMConfig(true, 0)
	lstmT.NCtx, lstmT.DModel, lstmT.DVocab = 21, 24, 37
	mlp := func(w int, act string) Config { c := tinyMLPConfig(w, act); c.NCtx = 21; return c }
	return append([]decodeCase{
		{name: "gpt/LN/tied", cfg: base},
		{name: "gpt/LN/untied", cfg: with(func(c *Config) { c.TiedEmbeddings = false })},
		{name: "gpt/noLN/relu", cfg: with(func(c *Config) { c.LayerNorm, c.Act = false, "relu" })},
		{name: "gpt/headmask", cfg: base, mask: []float32{1, 0, 0.5, -1, 1, 2}},
		{name: "attn/LN/tied", cfg: with(func(c *Config) { c.AttnOnly = true })},
		{name: "attn/noLN/untied", cfg: with(func(c *Config) { c.AttnOnly, c.LayerNorm, c.TiedEmbeddings = true, false, false })},
		{name: "gpt/longctx", cfg: with(func(c *Config) { c.NLayers, c.DModel, c.NHeads, c.DMLP, c.NCtx = 1, 8, 2, 12, 300 })},
		{name: "lstm/tied", cfg: lstmT},
		{name: "lstm/untied", cfg: lstmU},
		{name: "mlp/w1", cfg: mlp(1, "relu")},
		{name: "mlp/w3", cfg: mlp(3, "relu")},
		{name: "mlp/w3/gelu", cfg: mlp(3, "gelu")},
	}, pretrainedDecodeCases()...)
}

// build makes the case's model with randomized weights, large enough that
// greedy generations are not one repeated token: N(0, 0.3²) makes the GPT's
// logits O(1) and varied; the small LSTM and MLP need N(0, 1) to leave
// their fixed points.
func (c decodeCase) build(t testing.TB, seed uint64) (Model, func(B int) DecodeState) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var m Model
	var err error
	if c.spec.Arch != "" {
		m, err = NewPretrained(c.spec)
	} else {
		m, err = New(c.cfg, rng)
	}
	if err != nil {
		t.Fatal(err)
	}
	std := 0.3
	if c.cfg.Arch != ArchGPT && c.spec.Arch == "" {
		std = 1
	}
	randomizeParams(m.Params(), std, rng)
	if c.mask != nil {
		hm, ok := m.(interface{ SetHeadMask([]float32) error })
		if !ok {
			t.Fatalf("%s has no head mask", c.name)
		}
		if err := hm.SetHeadMask(c.mask); err != nil {
			t.Fatal(err)
		}
	}
	dec, ok := m.(Decoder)
	if !ok {
		t.Fatalf("%s does not implement Decoder", c.name)
	}
	return m, dec.NewDecodeState
}

// sameBits reports the first index where got and want differ in their bits,
// and the largest absolute difference, or −1 when they are bit-identical.
func sameBits(got, want []float32) (first int, maxDiff float64) {
	first = -1
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if first < 0 {
				first = i
			}
			maxDiff = max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		}
	}
	return first, maxDiff
}

// TestDecodeMatchesForward checks the DecodeState contract: the logits of
// Prefill and of every Step equal, bit for bit, Forward's logits at the same
// position of the same sequence. The tolerance is zero because the decode
// path runs the same kernels in the same order on fewer rows (decode.go);
// a mismatch is reported with its size, so a kernel that loses row
// independence (a reassociation, |Δ| ~ 1e-7 relative) is told apart from a
// decoding bug (|Δ| of order the logits).
//
// Rows get random prompt lengths (1 and NCtx included) and then advance at
// different rates (a random subset steps each time), so rows at different
// positions share a Step and rows left out must keep their state. The state
// is reused for a second round with fewer rows, as the harness does.
//
// It runs with 1 and 2 kernel threads: the Step's parallel loops write
// disjoint outputs, so the thread count must not change a bit either.
func TestDecodeMatchesForward(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	for _, threads := range []int{1, 2} {
		tensor.SetThreads(threads)
		if tensor.Threads() != threads {
			t.Logf("skipping %d threads: GOMAXPROCS is %d", threads, runtime.GOMAXPROCS(0))
			continue
		}
		for ci, c := range decodeCases() {
			testDecodeMatchesForward(t, fmt.Sprintf("threads=%d/%s", threads, c.name), ci, c)
		}
	}
}

func testDecodeMatchesForward(t *testing.T, name string, ci int, c decodeCase) {
	t.Run(name, func(t *testing.T) {
		m, newState := c.build(t, uint64(100+ci))
		N, V := m.Config().NCtx, m.Config().DVocab
		const B = 5
		st := newState(B)
		rng := rand.New(rand.NewPCG(uint64(ci), 1))
		steps := 0
		for round, n := range []int{B, 3} {
			seqs := make([]int32, n*N) // (n, NCtx) the full sequences
			for i := range seqs {
				seqs[i] = int32(rng.IntN(V))
			}
			m.Forward(seqs, nil, n, N)
			want := slices.Clone(m.Logits()) // (n, NCtx, V)
			lens := make([]int, n)
			prompts := make([][]int32, n)
			for i := range prompts {
				switch i {
				case 0:
					lens[i] = 1
				case 1:
					lens[i] = N
				default:
					lens[i] = 1 + rng.IntN(N)
				}
				prompts[i] = seqs[i*N : i*N+lens[i]]
			}
			check := func(what string, got []float32, row, pos int) {
				t.Helper()
				ref := want[(row*N+pos)*V : (row*N+pos+1)*V]
				if i, d := sameBits(got, ref); i >= 0 {
					t.Fatalf("round %d %s: row %d position %d: logit %d = %v, Forward %v (max |Δ| %.3g over the row)",
						round, what, row, pos, i, got[i], ref[i], d)
				}
			}
			got := st.Prefill(prompts)
			for i := range prompts {
				check("Prefill", got[i*V:(i+1)*V], i, lens[i]-1)
				if st.Len(i) != lens[i] {
					t.Fatalf("Len(%d) = %d after Prefill of %d tokens", i, st.Len(i), lens[i])
				}
			}
			for {
				var rows []int
				var toks []int32
				for i := range n {
					if lens[i] < N && rng.IntN(3) > 0 {
						rows = append(rows, i)
						toks = append(toks, seqs[i*N+lens[i]])
					}
				}
				if len(rows) == 0 {
					if !slices.ContainsFunc(lens, func(l int) bool { return l < N }) {
						break
					}
					continue
				}
				got := st.Step(rows, toks)
				steps++
				for j, r := range rows {
					check("Step", got[j*V:(j+1)*V], r, lens[r])
					lens[r]++
					if st.Len(r) != lens[r] {
						t.Fatalf("Len(%d) = %d, want %d", r, st.Len(r), lens[r])
					}
				}
			}
		}
		t.Logf("%d steps bit-identical to Forward", steps)
	})
}

// argmax32 is the greedy choice: the first maximum (so ties break the same
// way on both paths).
func argmax32(row []float32) int32 {
	best := 0
	for v, x := range row {
		if x > row[best] {
			best = v
		}
	}
	return int32(best)
}

// TestDecodeGreedyMatchesFullForward generates greedily to the end of the
// context from many prompts of different lengths, once by re-running Forward
// over each whole sequence at every token (the reference: no cache, one
// sequence at a time) and once with a DecodeState stepping all rows
// together, and requires the same tokens. The token sequences are also
// required to vary (more than one distinct token per sequence on average),
// so the comparison is not between two constant outputs.
func TestDecodeGreedyMatchesFullForward(t *testing.T) {
	for ci, c := range decodeCases() {
		if c.cfg.NCtx > 64 {
			continue // the per-token full reference is O(NCtx²) forwards per prompt; the long context is covered above
		}
		t.Run(c.name, func(t *testing.T) {
			m, newState := c.build(t, uint64(200+ci))
			N, V := c.cfg.NCtx, c.cfg.DVocab
			rng := rand.New(rand.NewPCG(uint64(ci), 2))
			const nPrompts = 16
			prompts := make([][]int32, nPrompts)
			for i := range prompts {
				l := 1 + rng.IntN(N)
				if i == 0 {
					l = N // a prompt that fills the context gets one token
				}
				prompts[i] = make([]int32, l)
				for j := range prompts[i] {
					prompts[i][j] = int32(rng.IntN(V))
				}
			}
			// Reference: no cache. A prompt of NCtx tokens still gets the
			// one token its last position predicts.
			want := make([][]int32, nPrompts)
			for i, p := range prompts {
				seq := slices.Clone(p)
				for {
					T := len(seq)
					m.Forward(seq, nil, 1, T)
					seq = append(seq, argmax32(m.Logits()[(T-1)*V:T*V]))
					if len(seq) > N-1 {
						break
					}
				}
				want[i] = seq[len(p):]
			}
			// Cached, all prompts in one state.
			st := newState(nPrompts)
			logits := st.Prefill(prompts)
			got := make([][]int32, nPrompts)
			rows := make([]int, nPrompts)
			for i := range rows {
				rows[i] = i
			}
			for len(rows) > 0 {
				var next []int
				var toks []int32
				for j, r := range rows {
					tok := argmax32(logits[j*V : (j+1)*V])
					got[r] = append(got[r], tok)
					if len(prompts[r])+len(got[r]) < N {
						next = append(next, r)
						toks = append(toks, tok)
					}
				}
				rows = next
				if len(rows) > 0 {
					logits = st.Step(rows, toks)
				}
			}
			distinct := 0
			for i := range prompts {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("prompt %d (%d tokens): cached %v, uncached %v", i, len(prompts[i]), got[i], want[i])
				}
				seen := map[int32]bool{}
				for _, tok := range want[i] {
					seen[tok] = true
				}
				distinct += len(seen)
			}
			t.Logf("%.1f distinct tokens per generation on average", float64(distinct)/nPrompts)
			if distinct <= nPrompts {
				t.Errorf("degenerate generations (%d distinct tokens over %d sequences): the comparison tests little", distinct, nPrompts)
			}
		})
	}
}

// TestDecodeContractPanics checks that every broken DecodeState contract is
// caught with a message naming it, before any state changes.
func TestDecodeContractPanics(t *testing.T) {
	for _, c := range []decodeCase{decodeCases()[0], decodeCases()[7], decodeCases()[10]} {
		_, newState := c.build(t, 1)
		N := c.cfg.NCtx
		st := newState(3)
		st.Prefill([][]int32{{1, 2}, make([]int32, N)})
		cases := []struct {
			name, want string
			fn         func()
		}{
			{"new state B=0", "B = 0", func() { newState(0) }},
			{"too many prompts", "4 prompts", func() { st.Prefill(make([][]int32, 4)) }},
			{"empty prompt", "0 tokens", func() { st.Prefill([][]int32{{1}, {}}) }},
			{"prompt past n_ctx", "want 1..n_ctx", func() { st.Prefill([][]int32{make([]int32, N+1)}) }},
			{"token out of vocab", "outside", func() { st.Step([]int{0}, []int32{int32(c.cfg.DVocab)}) }},
			{"row not started", "started by Prefill", func() { st.Step([]int{2}, []int32{1}) }},
			{"rows not increasing", "increasing", func() { st.Step([]int{0, 0}, []int32{1, 1}) }},
			{"row full", "already holds", func() { st.Step([]int{1}, []int32{1}) }},
			{"rows and tokens differ", "rows and", func() { st.Step([]int{0}, nil) }},
		}
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				defer func() {
					r := recover()
					if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
						t.Errorf("panic %v, want one containing %q", r, tc.want)
					}
				}()
				tc.fn()
			})
		}
		if st.Len(0) != 2 || st.Len(1) != N || st.Len(2) != 0 {
			t.Errorf("%s: a rejected call changed the lengths: %d %d %d", c.name, st.Len(0), st.Len(1), st.Len(2))
		}
	}
}

// BenchmarkGPTDecodeStep times one Step of 64 rows on the small preset's
// GPT shape (L=4, d=128, H=4, V=512, n_ctx=128), rows at positions 16..79
// (refilled when the longest reaches the context), with its allocations.
func BenchmarkGPTDecodeStep(b *testing.B) {
	cfg := DefaultConfig(ArchGPT)
	cfg.NCtx, cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.DVocab = 128, 4, 128, 4, 512
	m := NewGPT(cfg, rand.New(rand.NewPCG(1, 2)))
	const B = 64
	rng := rand.New(rand.NewPCG(3, 4))
	prompts := make([][]int32, B)
	rows := make([]int, B)
	toks := make([]int32, B)
	for i := range prompts {
		prompts[i] = make([]int32, 16+i)
		for j := range prompts[i] {
			prompts[i][j] = int32(rng.IntN(cfg.DVocab))
		}
		rows[i], toks[i] = i, int32(rng.IntN(cfg.DVocab))
	}
	st := m.NewDecodeState(B)
	st.Prefill(prompts)
	b.ReportAllocs()
	for b.Loop() {
		if st.Len(B-1) == cfg.NCtx {
			b.StopTimer()
			st.Prefill(prompts)
			b.StartTimer()
		}
		st.Step(rows, toks)
	}
}
