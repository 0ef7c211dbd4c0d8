package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"emlab/internal/tensor"
)

// skipTargets are the target patterns the skip tests run: the tiny batch's
// two ignored rows, runs of ignored rows covering about 40% of the batch
// (the shape of the packed data stream's separators and padding), every
// row ignored, and none.
func skipTargets(V, B, T int, rng *rand.Rand) map[string][]int32 {
	_, two := tinyBatch(V, B, T, rng)
	runs := slices.Clone(two)
	for r := 0; r < B*T; {
		l := 1 + rng.IntN(6)
		ignore := rng.Float64() < 0.4
		for ; l > 0 && r < B*T; l, r = l-1, r+1 {
			if ignore {
				runs[r] = -1
			}
		}
	}
	all := slices.Clone(two)
	none := slices.Clone(two)
	for i := range all {
		all[i] = -1
		none[i] = int32(rng.IntN(V))
	}
	return map[string][]int32{"two": two, "runs": runs, "all": all, "none": none}
}

// skipConfigs are the GPT variants of the skip tests: every tiny variant,
// each also with one layer and with a head mask, and a larger model whose
// micro-batches span several k-blocks of the weight-gradient products and
// several chunks of the row reductions (B·T/2 = 384 rows).
func skipConfigs() []struct {
	name string
	cfg  Config
	mask bool
	B, T int
} {
	type tc = struct {
		name string
		cfg  Config
		mask bool
		B, T int
	}
	var out []tc
	for _, c := range tinyGPTConfigs() {
		one := c.cfg
		one.NLayers = 1
		out = append(out, tc{c.name, c.cfg, false, 3, 7}, tc{c.name + "/L1/B4", one, false, 4, 6},
			tc{c.name + "/mask/B1", c.cfg, true, 1, 7})
	}
	big := Config{Arch: ArchGPT, NLayers: 2, DModel: 64, NHeads: 4, NCtx: 96, DVocab: 61,
		LayerNorm: true, TiedEmbeddings: false, Act: "gelu", InitStd: 0.1}
	out = append(out, tc{"big/untied", big, false, 8, 96})
	return out
}

// TestGPTSkipIgnoredBitIdentical checks that a GPT skipping the rows of
// ignored targets (SetSkipIgnored) gives bit for bit the loss, every
// gradient and the kept rows' logits of the same GPT without skipping, for
// every variant and target pattern, on 1 and 2 threads; over two
// Forward/Backward passes that accumulate (the second finds the first's
// compacted rows in the buffers), and again after a Forward without
// targets. After a skipping Forward, Logits panics and the skipped names
// are refused.
func TestGPTSkipIgnoredBitIdentical(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	for _, threads := range []int{1, 2} {
		tensor.SetThreads(threads)
		if tensor.Threads() != threads {
			t.Logf("skipping threads=%d: GOMAXPROCS %d cannot run it", threads, runtime.GOMAXPROCS(0))
			continue
		}
		for _, tc := range skipConfigs() {
			rng := rand.New(rand.NewPCG(11, 12))
			tokens, _ := tinyBatch(tc.cfg.DVocab, tc.B, tc.T, rng)
			pats := skipTargets(tc.cfg.DVocab, tc.B, tc.T, rng)
			for _, pat := range []string{"two", "runs", "all", "none"} {
				name := tc.name + "/" + pat + "/threads=" + strconv.Itoa(threads)
				t.Run(name, func(t *testing.T) {
					ref := newSkipGPT(t, tc.cfg, tc.mask, false)
					got := newSkipGPT(t, tc.cfg, tc.mask, true)
					// Two passes, accumulating; the second with the targets
					// of another pattern so the kept rows move.
					second := pats["runs"]
					if pat == "runs" {
						second = pats["two"]
					}
					for pass, tg := range [][]int32{pats[pat], second} {
						lr := ref.Forward(tokens, tg, tc.B, tc.T)
						lg := got.Forward(tokens, tg, tc.B, tc.T)
						if math.Float32bits(lr) != math.Float32bits(lg) {
							t.Fatalf("pass %d: loss %v with skipping, %v without", pass, lg, lr)
						}
						checkKeptLogits(t, ref, got, tg)
						ref.Backward()
						got.Backward()
						if i, ok := firstBitDiff(ref.Params().Grad, got.Params().Grad); !ok {
							t.Fatalf("pass %d: gradient %s differs: %v with skipping, %v without", pass,
								paramAt(ref.Params(), i), got.Params().Grad[i], ref.Params().Grad[i])
						}
					}
					checkSkippedRefused(t, got)
					// A Forward without targets computes every row again.
					ref.Forward(tokens, nil, tc.B, tc.T)
					got.Forward(tokens, nil, tc.B, tc.T)
					if i, ok := firstBitDiff(ref.Logits(), got.Logits()); !ok {
						t.Fatalf("logits without targets differ at %d", i)
					}
				})
			}
		}
	}
}

// newSkipGPT builds the test GPT (randomised weights, optionally a head
// mask with a zero-ablated and a halved head) with skipping on or off.
func newSkipGPT(t *testing.T, cfg Config, mask, skip bool) *GPT {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	m := NewGPT(cfg, rng)
	randomizeParams(m.Params(), 0.3, rng)
	if mask {
		hm := make([]float32, cfg.NLayers*cfg.NHeads)
		for i := range hm {
			hm[i] = 1
		}
		hm[0], hm[len(hm)-1] = 0, 0.5
		if err := m.SetHeadMask(hm); err != nil {
			t.Fatal(err)
		}
	}
	m.SetSkipIgnored(skip)
	return m
}

// checkKeptLogits compares the kept rows' logits of the skipping model
// (compacted at the start of each micro-batch's rows, see forwardMicro)
// with the full model's, bit for bit.
func checkKeptLogits(t *testing.T, ref, got *GPT, targets []int32) {
	t.Helper()
	V, T := ref.cfg.DVocab, ref.T
	full := ref.Logits()
	kept := 0
	for k := 0; k < got.nMicro; k++ {
		mb := &got.micro[k]
		for i, r := range mb.keep.Idx {
			row := mb.b0*T + int(r)
			if targets[row] < 0 {
				t.Fatalf("micro-batch %d keeps row %d, whose target is ignored", k, row)
			}
			g := got.act.logits[(mb.b0*T+i)*V : (mb.b0*T+i+1)*V]
			if _, ok := firstBitDiff(full[row*V:(row+1)*V], g); !ok {
				t.Fatalf("logits of kept row %d differ", row)
			}
			kept++
		}
	}
	want := 0
	for _, tg := range targets[:ref.B*T] {
		if tg >= 0 {
			want++
		}
	}
	if kept != want {
		t.Fatalf("the micro-batches keep %d rows, want the %d with a target", kept, want)
	}
}

// checkSkippedRefused checks that after a skipping Forward the model
// refuses what it did not compute and still answers the rest.
func checkSkippedRefused(t *testing.T, m *GPT) {
	t.Helper()
	L := m.cfg.NLayers
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Logits after a skipping Forward did not panic")
			}
		}()
		m.Logits()
	}()
	for _, name := range []string{ActName("logits", -1), ActName("z", L-1), ActName("resid_post", L-1)} {
		if _, _, ok := m.Activation(name); ok {
			t.Errorf("Activation(%s) answered after a skipping Forward", name)
		}
	}
	if _, _, ok := m.Activation(ActName("pattern", L-1)); !ok {
		t.Error("Activation(pattern) of the last block refused, though it is complete")
	}
}

// firstBitDiff returns the first index where a and b differ in their bits
// and false, or −1 and true when they are identical.
func firstBitDiff(a, b []float32) (int, bool) {
	if len(a) != len(b) {
		return 0, false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return -1, true
}

// paramAt names the parameter holding flat index i.
func paramAt(ps *ParamSet, i int) string {
	for _, p := range ps.Params {
		if i >= p.Off && i < p.Off+p.Size {
			return p.Name + "[" + strconv.Itoa(i-p.Off) + "]"
		}
	}
	return strconv.Itoa(i)
}
