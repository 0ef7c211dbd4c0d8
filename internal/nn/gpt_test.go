package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/tensor"
)

// tinyGPTConfigs are the variants every GPT test runs: the full model tied
// and untied, with ReLU, and the attention-only model with and without
// LayerNorm, tied and untied. Sizes are small enough for per-entry finite
// differences but keep every dimension distinct (C=8, H=2, Dh=4, F=12, V=11,
// NCtx=7) so a transposed or mis-strided product cannot pass by symmetry.
func tinyGPTConfigs() []struct {
	name string
	cfg  Config
} {
	base := Config{Arch: ArchGPT, NLayers: 2, DModel: 8, NHeads: 2, DMLP: 12, NCtx: 7, DVocab: 11,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.02}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	return []struct {
		name string
		cfg  Config
	}{
		{"gpt/tied", base},
		{"gpt/untied", with(func(c *Config) { c.TiedEmbeddings = false })},
		{"gpt/relu", with(func(c *Config) { c.Act = "relu" })},
		{"gpt/noLN", with(func(c *Config) { c.LayerNorm = false })},
		{"attn/LN/tied", with(func(c *Config) { c.AttnOnly = true })},
		{"attn/noLN/tied", with(func(c *Config) { c.AttnOnly, c.LayerNorm = true, false })},
		{"attn/noLN/untied", with(func(c *Config) { c.AttnOnly, c.LayerNorm, c.TiedEmbeddings = true, false, false })},
		{"attn/LN/untied/1layer", with(func(c *Config) { c.AttnOnly, c.TiedEmbeddings, c.NLayers = true, false, 1 })},
	}
}

// randomizeParams replaces the init with N(0, std²) everywhere (LayerNorm
// gains 1 + N(0, std²)), so biases and norm parameters are not at the
// special values 0 and 1 where some forward mistakes are invisible.
func randomizeParams(ps *ParamSet, std float64, rng *rand.Rand) {
	for _, p := range ps.Params {
		x := ps.Data[p.Off : p.Off+p.Size]
		normal(x, std, rng)
		if strings.Contains(p.Name, "ln_") && strings.HasSuffix(p.Name, ".weight") {
			for i := range x {
				x[i]++
			}
		}
	}
}

// tinyBatch draws a (B, T) batch with targets, two of them ignored (−1).
func tinyBatch(V, B, T int, rng *rand.Rand) (tokens, targets []int32) {
	tokens = make([]int32, B*T)
	targets = make([]int32, B*T)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(V))
		targets[i] = int32(rng.IntN(V))
	}
	targets[1] = -1
	targets[B*T-1] = -1
	return tokens, targets
}

// TestGPTGradFDModel perturbs the float32 parameters of each tiny model and
// compares central differences of the float64 loss with Backward.
//
// Tolerances: with weights of scale 0.5 the logits are O(1) and the forward's
// float32 rounding changes the float64 loss by ε_L ≈ 1e-7 between two
// evaluations; with h = 1e-2 that is ≈ 1e-5 in the difference quotient, and
// the O(h²·L‴) truncation of a central difference is ≈ 1e-5 for these
// O(1) third derivatives. Hence AbsTol 1e-4 and RelTol 1e-3 (measured
// worst: see the log). Any real bug (sign, missing term, wrong transpose)
// is O(1) relative.
func TestGPTGradFDModel(t *testing.T) {
	for _, tc := range tinyGPTConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Act == "relu" {
				// Steps of 2h = 0.02 cross ReLU's kink for a good share of
				// the pre-activations, where a difference quotient says
				// nothing about the derivative. The float64 reference check
				// (h = 1e-6) covers the ReLU model.
				t.Skip("ReLU kinks: covered by TestGPTGradFDReference")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			m := NewGPT(tc.cfg, rng)
			randomizeParams(m.Params(), 0.3, rng)
			B, T := 2, 6
			tokens, targets := tinyBatch(tc.cfg.DVocab, B, T, rng)
			opt := fdOptions{H: 1e-2, Entries: 4, AbsTol: 1e-4, RelTol: 1e-3}
			rs := checkModelFD(t, m, tokens, targets, B, T, rng, opt)
			w := worstFD(rs, opt.AbsTol, opt.RelTol)
			t.Logf("%d comparisons; worst %s %s: fd %.8g backward %.8g", len(rs), w.Param, w.What, w.FD, w.Grad)
		})
	}
}

// TestGPTThreadsBitIdentical checks that logits and gradients do not depend
// on the number of kernel threads (fixed chunks), bit for bit.
func TestGPTThreadsBitIdentical(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	// Big enough that the matrix products span several row chunks
	// (B·T = 256 rows) and attention several (b, head) pairs.
	cfg := Config{Arch: ArchGPT, NLayers: 2, DModel: 64, NHeads: 4, NCtx: 32, DVocab: 61,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.1}
	run := func(threads int) ([]float32, []float32, float32) {
		tensor.SetThreads(threads)
		if tensor.Threads() != threads {
			t.Skipf("GOMAXPROCS %d cannot run %d kernel threads", runtime.GOMAXPROCS(0), threads)
		}
		m := NewGPT(cfg, rand.New(rand.NewPCG(3, 4)))
		tokens, targets := tinyBatch(cfg.DVocab, 8, 32, rand.New(rand.NewPCG(5, 6)))
		loss := m.Forward(tokens, targets, 8, 32)
		m.Backward()
		return slices.Clone(m.Logits()), slices.Clone(m.Params().Grad), loss
	}
	l1, g1, loss1 := run(1)
	l2, g2, loss2 := run(2)
	if loss1 != loss2 || !slices.Equal(l1, l2) || !slices.Equal(g1, g2) {
		t.Fatalf("results depend on threads: loss %v vs %v, logits equal %v, grads equal %v",
			loss1, loss2, slices.Equal(l1, l2), slices.Equal(g1, g2))
	}
}

// TestGPTBackwardAccumulates checks that two Forward/Backward passes without
// ZeroGrad give twice the gradient (the training loop's gradient
// accumulation relies on it). Kernels that sum over rows add the second
// pass's terms one by one onto the first pass's total, so the result is 2g
// only up to the rounding of those sums: |Δ| ≤ n·ε·Σ|terms| ≈ 12·6e-8 of the
// gradient scale here; 1e-5 relative plus 1e-7 absolute is above that and
// far below a missing or doubled accumulation (error = g).
func TestGPTBackwardAccumulates(t *testing.T) {
	cfg := tinyGPTConfigs()[0].cfg
	m := NewGPT(cfg, rand.New(rand.NewPCG(7, 8)))
	tokens, targets := tinyBatch(cfg.DVocab, 2, 5, rand.New(rand.NewPCG(9, 10)))
	m.Forward(tokens, targets, 2, 5)
	m.Backward()
	g1 := slices.Clone(m.Params().Grad)
	m.Forward(tokens, targets, 2, 5)
	m.Backward()
	for i, v := range m.Params().Grad {
		if math.Abs(float64(v)-2*float64(g1[i])) > 1e-7+1e-5*math.Abs(2*float64(g1[i])) {
			t.Fatalf("grad[%d] = %v after two passes, want 2·%v", i, v, g1[i])
		}
	}
}

// TestGPTShapeChanges runs a larger batch after a smaller one and back: the
// buffers grow once and the results for a shape do not depend on the shapes
// run before.
func TestGPTShapeChanges(t *testing.T) {
	cfg := tinyGPTConfigs()[0].cfg
	m := NewGPT(cfg, rand.New(rand.NewPCG(11, 12)))
	rng := rand.New(rand.NewPCG(13, 14))
	tokA, tgtA := tinyBatch(cfg.DVocab, 2, 4, rng)
	tokB, tgtB := tinyBatch(cfg.DVocab, 3, 7, rng)
	lossA := m.Forward(tokA, tgtA, 2, 4)
	logitsA := slices.Clone(m.Logits())
	m.Forward(tokB, tgtB, 3, 7)
	if got := m.Forward(tokA, tgtA, 2, 4); got != lossA || !slices.Equal(m.Logits(), logitsA) {
		t.Fatalf("loss %v after a larger batch, want %v (or logits differ)", got, lossA)
	}
	if n := len(m.Logits()); n != 2*4*cfg.DVocab {
		t.Fatalf("len(Logits) = %d, want %d", n, 2*4*cfg.DVocab)
	}
}

// TestGPTCausal checks that changing a later token changes no earlier
// position's logits (the causal mask), and does change its own position's.
func TestGPTCausal(t *testing.T) {
	for _, tc := range tinyGPTConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			m := NewGPT(tc.cfg, rng)
			randomizeParams(m.Params(), 0.5, rng)
			T, V := 6, tc.cfg.DVocab
			tokens, _ := tinyBatch(V, 1, T, rng)
			m.Forward(tokens, nil, 1, T)
			before := slices.Clone(m.Logits())
			tokens[4] = (tokens[4] + 1) % int32(V)
			m.Forward(tokens, nil, 1, T)
			after := m.Logits()
			if !slices.Equal(before[:4*V], after[:4*V]) {
				t.Errorf("positions 0..3 changed when token 4 changed")
			}
			if slices.Equal(before[4*V:5*V], after[4*V:5*V]) {
				t.Errorf("position 4's logits did not change with its own token")
			}
		})
	}
}

// TestGPTHeadMask checks SetHeadMask: an all-ones mask changes nothing
// (bit-identical), zeroing one head equals zeroing its columns of W_O (and
// of nothing else), and the masked model's gradient passes the FD check.
func TestGPTHeadMask(t *testing.T) {
	cfg := tinyGPTConfigs()[0].cfg
	rng := rand.New(rand.NewPCG(17, 18))
	m := NewGPT(cfg, rng)
	randomizeParams(m.Params(), 0.5, rng)
	B, T := 2, 6
	tokens, targets := tinyBatch(cfg.DVocab, B, T, rng)
	base := m.Forward(tokens, targets, B, T)
	ones := make([]float32, cfg.NLayers*cfg.NHeads)
	fill(ones, 1)
	if err := m.SetHeadMask(ones); err != nil {
		t.Fatal(err)
	}
	if got := m.Forward(tokens, targets, B, T); got != base {
		t.Errorf("all-ones mask: loss %v, want %v", got, base)
	}
	if err := m.SetHeadMask(ones[:1]); err == nil {
		t.Errorf("SetHeadMask accepted a mask of the wrong length")
	}

	// Ablate layer 1, head 0 by the mask ...
	mask := slices.Clone(ones)
	mask[1*cfg.NHeads+0] = 0
	if err := m.SetHeadMask(mask); err != nil {
		t.Fatal(err)
	}
	ablated := m.Forward(tokens, targets, B, T)
	// ... and by zeroing the rows of W_O that read head 0's z (rows 0..Dh-1
	// of the (C, C) c_proj weight in (in, out) layout).
	if err := m.SetHeadMask(nil); err != nil {
		t.Fatal(err)
	}
	wo := m.Params().Get("h.1.attn.c_proj.weight")
	saved := slices.Clone(wo)
	clear(wo[:cfg.DHead()*cfg.DModel])
	byWeights := m.Forward(tokens, targets, B, T)
	copy(wo, saved)
	// Same arithmetic up to the order of float32 sums of zeros: equal to
	// within a few ulps of the loss (≈ 2.4 here).
	if math.Abs(float64(ablated-byWeights)) > 1e-6 || ablated == base {
		t.Errorf("head ablation: mask loss %v, zeroed-W_O loss %v, unablated %v", ablated, byWeights, base)
	}

	mask[0] = 0.5
	if err := m.SetHeadMask(mask); err != nil {
		t.Fatal(err)
	}
	opt := fdOptions{H: 1e-2, Entries: 2, AbsTol: 1e-4, RelTol: 1e-3}
	checkModelFD(t, m, tokens, targets, B, T, rng, opt)
}

// TestGPTActivations checks the names, shapes and a few identities of the
// activation cache: resid_post(l) = resid_pre(l+1); resid_pre(0) = embed +
// pos_embed; pattern rows sum to 1 with zeros above the diagonal; z of head
// h = pattern·v for that head; hook_logits = Logits().
func TestGPTActivations(t *testing.T) {
	for _, tc := range tinyGPTConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			rng := rand.New(rand.NewPCG(19, 20))
			m := NewGPT(cfg, rng)
			if _, _, ok := m.Activation(ActName("pattern", 0)); ok {
				t.Errorf("activation available before any Forward")
			}
			randomizeParams(m.Params(), 0.5, rng)
			B, T := 2, 5
			C, H, Dh := cfg.DModel, cfg.NHeads, cfg.DHead()
			tokens, _ := tinyBatch(cfg.DVocab, B, T, rng)
			m.Forward(tokens, nil, B, T)
			get := func(name string, shape ...int) []float32 {
				t.Helper()
				d, s, ok := m.Activation(name)
				if !ok {
					t.Fatalf("no activation %q", name)
				}
				if !slices.Equal(s, shape) {
					t.Fatalf("%s: shape %v, want %v", name, s, shape)
				}
				n := 1
				for _, v := range shape {
					n *= v
				}
				if len(d) != n {
					t.Fatalf("%s: %d values for shape %v", name, len(d), shape)
				}
				return d
			}
			emb := get("hook_embed", B, T, C)
			pos := get("hook_pos_embed", T, C)
			r0 := get("blocks.0.hook_resid_pre", B, T, C)
			for b := 0; b < B; b++ {
				for i := 0; i < T*C; i++ {
					if r0[b*T*C+i] != emb[b*T*C+i]+pos[i] {
						t.Fatalf("resid_pre(0) ≠ embed + pos_embed at b=%d i=%d", b, i)
					}
				}
			}
			for l := 0; l < cfg.NLayers; l++ {
				post := get(ActName("resid_post", l), B, T, C)
				if l+1 < cfg.NLayers && !slices.Equal(post, get(ActName("resid_pre", l+1), B, T, C)) {
					t.Errorf("resid_post(%d) ≠ resid_pre(%d)", l, l+1)
				}
				get(ActName("attn_out", l), B, T, C)
				q := get(ActName("q", l), B, T, H, Dh)
				get(ActName("k", l), B, T, H, Dh)
				v := get(ActName("v", l), B, T, H, Dh)
				z := get(ActName("z", l), B, T, H, Dh)
				pat := get(ActName("pattern", l), B, H, T, T)
				_ = q
				for b := 0; b < B; b++ {
					for h := 0; h < H; h++ {
						for i := 0; i < T; i++ {
							row := pat[((b*H+h)*T+i)*T:][:T]
							var s float64
							for j, p := range row {
								if j > i && p != 0 {
									t.Fatalf("pattern[%d,%d,%d,%d] = %v above the diagonal", b, h, i, j, p)
								}
								s += float64(p)
							}
							if math.Abs(s-1) > 1e-6 {
								t.Fatalf("pattern row sums to %v", s)
							}
							for d := 0; d < Dh; d++ {
								var want float64
								for j := 0; j <= i; j++ {
									want += float64(row[j]) * float64(v[((b*T+j)*H+h)*Dh+d])
								}
								if got := z[((b*T+i)*H+h)*Dh+d]; math.Abs(float64(got)-want) > 1e-5 {
									t.Fatalf("z[%d,%d,%d,%d] = %v, pattern·v = %v", b, i, h, d, got, want)
								}
							}
						}
					}
				}
				if !cfg.AttnOnly {
					get(ActName("resid_mid", l), B, T, C)
					get(ActName("mlp_pre", l), B, T, cfg.HiddenMLP())
					get(ActName("mlp_post", l), B, T, cfg.HiddenMLP())
					get(ActName("mlp_out", l), B, T, C)
				} else if _, _, ok := m.Activation(ActName("mlp_post", l)); ok {
					t.Errorf("attention-only model has %s", ActName("mlp_post", l))
				}
			}
			if !slices.Equal(get("hook_logits", B, T, cfg.DVocab), m.Logits()) {
				t.Errorf("hook_logits ≠ Logits()")
			}
			if _, _, ok := m.Activation("blocks.9.attn.pattern"); ok {
				t.Errorf("activation for a layer that does not exist")
			}
			if len(m.ActivationNames()) == 0 {
				t.Errorf("no activation names")
			}
		})
	}
}

// TestGPTParamsAndInit checks the parameter names, shapes, decay flags and
// the init statistics against the documented scheme.
func TestGPTParamsAndInit(t *testing.T) {
	cfg := Config{Arch: ArchGPT, NLayers: 4, DModel: 64, NHeads: 4, NCtx: 64, DVocab: 128,
		LayerNorm: true, TiedEmbeddings: false, Act: "gelu", InitStd: 0.02, EmbedInitStd: 0.1}
	m := NewGPT(cfg, rand.New(rand.NewPCG(21, 22)))
	ps := m.Params()
	want := map[string][]int{
		"wte.weight": {128, 64}, "wpe.weight": {64, 64},
		"h.3.ln_1.weight": {64}, "h.3.attn.c_attn.weight": {64, 192}, "h.3.attn.c_attn.bias": {192},
		"h.3.attn.c_proj.weight": {64, 64}, "h.3.mlp.c_fc.weight": {64, 256}, "h.3.mlp.c_proj.weight": {256, 64},
		"ln_f.bias": {64}, "lm_head.weight": {64, 128},
	}
	for name, shape := range want {
		p, ok := ps.Lookup(name)
		if !ok || !slices.Equal(p.Shape, shape) {
			t.Errorf("%s: shape %v (present %v), want %v", name, p.Shape, ok, shape)
		}
	}
	std := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(len(x)))
	}
	for _, p := range ps.Params {
		x := ps.Data[p.Off : p.Off+p.Size]
		wantDecay := len(p.Shape) == 2 && !strings.HasPrefix(p.Name, "wte") && !strings.HasPrefix(p.Name, "wpe")
		if p.Decay != wantDecay {
			t.Errorf("%s: decay %v, want %v", p.Name, p.Decay, wantDecay)
		}
		var wantStd float64
		switch {
		case p.Name == "wte.weight" || p.Name == "wpe.weight":
			wantStd = 0.1
		case strings.HasSuffix(p.Name, "c_proj.weight"):
			wantStd = 0.02 / math.Sqrt(8)
		case strings.HasSuffix(p.Name, ".bias"):
			wantStd = 0
		case strings.Contains(p.Name, "ln_"):
			if slices.ContainsFunc(x, func(v float32) bool { return v != 1 }) {
				t.Errorf("%s: LayerNorm gain not 1", p.Name)
			}
			continue
		default:
			wantStd = 0.02
		}
		// ≥ 4096 draws: the sample std is within 5% of σ with overwhelming
		// probability (its relative sd is 1/√(2n) ≤ 1.1%).
		if got := std(x); math.Abs(got-wantStd) > 0.05*wantStd {
			t.Errorf("%s: init std %.4g, want %.4g", p.Name, got, wantStd)
		}
	}
	tied := cfg
	tied.TiedEmbeddings, tied.AttnOnly, tied.LayerNorm = true, true, false
	mt := NewGPT(tied, rand.New(rand.NewPCG(1, 1)))
	for _, p := range mt.Params().Params {
		if strings.Contains(p.Name, "ln_") || strings.Contains(p.Name, "mlp") || p.Name == "lm_head.weight" {
			t.Errorf("attention-only, no-LN, tied model has %s", p.Name)
		}
	}
	if _, err := New(tied, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Errorf("New(gpt): %v", err)
	}
}

// TestGPTFLOPs checks FLOPsPerToken against a hand count for the tiny preset:
// per layer 12·d² matrix weights (3d² + d² + 2·4d²), unembedding d·V.
func TestGPTFLOPs(t *testing.T) {
	cfg := Config{Arch: ArchGPT, NLayers: 2, DModel: 64, NHeads: 4, NCtx: 64, DVocab: 128,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.02}
	m := NewGPT(cfg, rand.New(rand.NewPCG(1, 1)))
	n := 2*12*64*64 + 64*128
	want := float64(6*n + 6*2*64*64)
	if got := m.FLOPsPerToken(64); got != want {
		t.Errorf("FLOPsPerToken = %v, want %v", got, want)
	}
}

// refGPT is a plain float64 GPT written from the equations, independent of
// the kernels: the oracle of TestGPTGradFDReference. It returns the logits
// (B, T, V) and the mean cross-entropy over targets ≥ 0.
func refGPT(cfg Config, P map[string][]float64, tokens, targets []int32, B, T int) ([]float64, float64) {
	C, H, F, V := cfg.DModel, cfg.NHeads, cfg.HiddenMLP(), cfg.DVocab
	Dh := C / H
	BT := B * T
	x := make([]float64, BT*C)
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			tok := int(tokens[b*T+t])
			for c := 0; c < C; c++ {
				x[(b*T+t)*C+c] = P["wte.weight"][tok*C+c] + P["wpe.weight"][t*C+c]
			}
		}
	}
	layerNorm := func(x []float64, w, bias []float64) []float64 {
		out := make([]float64, len(x))
		for r := 0; r < len(x)/C; r++ {
			row := x[r*C : (r+1)*C]
			var mu, vr float64
			for _, v := range row {
				mu += v
			}
			mu /= float64(C)
			for _, v := range row {
				vr += (v - mu) * (v - mu)
			}
			vr /= float64(C)
			for c, v := range row {
				out[r*C+c] = (v-mu)/math.Sqrt(vr+lnEps)*w[c] + bias[c]
			}
		}
		return out
	}
	linear := func(x []float64, in, out int, W, bias []float64) []float64 {
		rows := len(x) / in
		y := make([]float64, rows*out)
		for r := 0; r < rows; r++ {
			for o := 0; o < out; o++ {
				s := 0.0
				if bias != nil {
					s = bias[o]
				}
				for i := 0; i < in; i++ {
					s += x[r*in+i] * W[i*out+o]
				}
				y[r*out+o] = s
			}
		}
		return y
	}
	for l := 0; l < cfg.NLayers; l++ {
		p := "h." + strconv.Itoa(l) + "."
		h := x
		if cfg.LayerNorm {
			h = layerNorm(x, P[p+"ln_1.weight"], P[p+"ln_1.bias"])
		}
		qkv := linear(h, C, 3*C, P[p+"attn.c_attn.weight"], P[p+"attn.c_attn.bias"])
		z := make([]float64, BT*C)
		for b := 0; b < B; b++ {
			for hd := 0; hd < H; hd++ {
				at := func(t, part, d int) float64 { return qkv[(b*T+t)*3*C+part*C+hd*Dh+d] }
				for i := 0; i < T; i++ {
					sc := make([]float64, i+1)
					mx := math.Inf(-1)
					for j := 0; j <= i; j++ {
						for d := 0; d < Dh; d++ {
							sc[j] += at(i, 0, d) * at(j, 1, d)
						}
						sc[j] /= math.Sqrt(float64(Dh))
						mx = math.Max(mx, sc[j])
					}
					var sum float64
					for j := range sc {
						sc[j] = math.Exp(sc[j] - mx)
						sum += sc[j]
					}
					for d := 0; d < Dh; d++ {
						var v float64
						for j := range sc {
							v += sc[j] / sum * at(j, 2, d)
						}
						z[(b*T+i)*C+hd*Dh+d] = v
					}
				}
			}
		}
		ao := linear(z, C, C, P[p+"attn.c_proj.weight"], P[p+"attn.c_proj.bias"])
		for i := range x {
			x[i] += ao[i]
		}
		if cfg.AttnOnly {
			continue
		}
		h2 := x
		if cfg.LayerNorm {
			h2 = layerNorm(x, P[p+"ln_2.weight"], P[p+"ln_2.bias"])
		}
		a := linear(h2, C, F, P[p+"mlp.c_fc.weight"], P[p+"mlp.c_fc.bias"])
		for i, v := range a {
			if cfg.Act == "relu" {
				a[i] = math.Max(v, 0)
			} else {
				a[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
			}
		}
		mo := linear(a, F, C, P[p+"mlp.c_proj.weight"], P[p+"mlp.c_proj.bias"])
		for i := range x {
			x[i] += mo[i]
		}
	}
	if cfg.LayerNorm {
		x = layerNorm(x, P["ln_f.weight"], P["ln_f.bias"])
	}
	var logits []float64
	if cfg.TiedEmbeddings {
		wt := make([]float64, C*V) // wteᵀ as (C, V)
		for v := 0; v < V; v++ {
			for c := 0; c < C; c++ {
				wt[c*V+v] = P["wte.weight"][v*C+c]
			}
		}
		logits = linear(x, C, V, wt, nil)
	} else {
		logits = linear(x, C, V, P["lm_head.weight"], nil)
	}
	var loss float64
	n := 0
	for r := 0; r < BT; r++ {
		tg := targets[r]
		if tg < 0 {
			continue
		}
		row := logits[r*V : (r+1)*V]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		loss += mx + math.Log(s) - row[tg]
		n++
	}
	return logits, loss / float64(n)
}

// TestGPTGradFDReference compares the model's float32 forward with refGPT,
// and its float32 backward with float64 central differences of refGPT at
// every parameter entry.
//
// Tolerances. Forward: float32 logits of size O(1) after ≈ 10 rounded
// operations in sequence are within ≈ 1e-6 of the float64 values; 1e-5
// absolute. Gradients: the float64 difference quotient (h = 1e-6) is exact
// to ≈ 1e-9 (truncation h²·L‴ ≈ 1e-12, rounding 1e-16/h = 1e-10), so the
// residual is the float32 backward's rounding, ≈ ε·(sum of |terms|) ≈ 1e-7
// times the gradient's scale per accumulated product; we allow
// 1e-5·rms(grad of the tensor) + 1e-4·|grad| and log the worst ratio.
// A missing term, wrong transpose or wrong stride is O(1) relative.
func TestGPTGradFDReference(t *testing.T) {
	for _, tc := range tinyGPTConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			rng := rand.New(rand.NewPCG(23, 24))
			m := NewGPT(cfg, rng)
			randomizeParams(m.Params(), 0.3, rng)
			B, T := 2, 6
			tokens, targets := tinyBatch(cfg.DVocab, B, T, rng)
			ps := m.Params()
			P := map[string][]float64{}
			for _, p := range ps.Params {
				v := make([]float64, p.Size)
				for i, x := range ps.Data[p.Off : p.Off+p.Size] {
					v[i] = float64(x)
				}
				P[p.Name] = v
			}
			ps.ZeroGrad()
			loss := m.Forward(tokens, targets, B, T)
			m.Backward()
			refLogits, refLoss := refGPT(cfg, P, tokens, targets, B, T)
			if math.Abs(float64(loss)-refLoss) > 1e-5 {
				t.Errorf("loss %.8g, float64 reference %.8g", loss, refLoss)
			}
			for i, v := range m.Logits() {
				if math.Abs(float64(v)-refLogits[i]) > 1e-5 {
					t.Fatalf("logit %d: %.8g, float64 reference %.8g", i, v, refLogits[i])
				}
			}
			f := func() float64 { _, l := refGPT(cfg, P, tokens, targets, B, T); return l }
			worst, worstName := 0.0, ""
			for _, p := range ps.Params {
				g := ps.Grad[p.Off : p.Off+p.Size]
				var rms float64
				for _, v := range g {
					rms += float64(v) * float64(v)
				}
				rms = math.Sqrt(rms / float64(len(g)))
				bad := 0
				for i := range g {
					fd := fdGrad64(f, P[p.Name], i, 1e-6)
					tol := 1e-5*rms + 1e-4*math.Abs(fd)
					d := math.Abs(float64(g[i]) - fd)
					if r := d / tol; r > worst {
						worst, worstName = r, p.Name+"["+strconv.Itoa(i)+"]"
					}
					if d > tol || math.IsNaN(float64(g[i])) {
						if bad++; bad <= 3 {
							t.Errorf("%s[%d]: backward %.8g, float64 finite difference %.8g (tol %.2g)", p.Name, i, g[i], fd, tol)
						}
					}
				}
				if bad > 3 {
					t.Errorf("%s: %d of %d entries wrong", p.Name, bad, len(g))
				}
			}
			t.Logf("all %d parameters checked; worst |Δ|/tol = %.3f at %s", ps.Count(), worst, worstName)
		})
	}
}

// BenchmarkGPTStep times one training step (forward, backward, AdamW over
// all parameters) on the issue's presets with one and two kernel threads, and reports tokens/s and GFLOP/s (by
// FLOPsPerToken), and the CPU time per step of all threads (getrusage; on a
// shared machine compare it between builds at one thread, where wall time
// counts other processes' turns). Profile with
//
//	go test ./internal/nn -run '^$' -bench GPTStep/small/threads=1 -cpuprofile cpu.out
func BenchmarkGPTStep(b *testing.B) {
	for _, p := range []struct {
		name             string
		B, T, L, C, H, V int
	}{
		{"tiny", 32, 64, 2, 64, 4, 128},
		{"small", 32, 128, 4, 128, 4, 512},
		{"medium", 16, 256, 6, 256, 8, 2048},
	} {
		for _, threads := range []int{1, 2} {
			b.Run(p.name+"/threads="+strconv.Itoa(threads), func(b *testing.B) {
				defer tensor.SetThreads(tensor.Threads())
				tensor.SetThreads(threads)
				cfg := Config{Arch: ArchGPT, NLayers: p.L, DModel: p.C, NHeads: p.H, NCtx: p.T, DVocab: p.V,
					LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.02}
				m := NewGPT(cfg, rand.New(rand.NewPCG(1, 1)))
				tokens, targets := tinyBatch(p.V, p.B, p.T, rand.New(rand.NewPCG(2, 2)))
				ps := m.Params()
				mom, vel := make([]float32, ps.Count()), make([]float32, ps.Count())
				step := func(i int) {
					ps.ZeroGrad()
					m.Forward(tokens, targets, p.B, p.T)
					m.Backward()
					tensor.AdamW(ps.Data, ps.Grad, mom, vel, tensor.AdamWParams{LR: 1e-4, Beta1: 0.9, Beta2: 0.98, Eps: 1e-8, WeightDecay: 0.1, Step: i + 1})
				}
				step(0) // allocate the activations outside the timing
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					step(i + 1)
				}
				cpu := cpuTime() - cpu0
				tps := float64(b.N*p.B*p.T) / b.Elapsed().Seconds()
				b.ReportMetric(tps, "tokens/s")
				b.ReportMetric(tps*m.FLOPsPerToken(p.T)/1e9, "GFLOP/s")
				if cpu > 0 {
					b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/step")
				}
			})
		}
	}
}

// ExampleGPT builds the tiny preset's GPT, runs one training step's forward
// and backward, and reads an attention pattern for a probe.
func ExampleGPT() {
	cfg := DefaultConfig(ArchGPT) // L=2, d=64, H=4, NCtx=64, V=128
	m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	B, T := 2, 8
	tokens := make([]int32, B*T)
	targets := make([]int32, B*T)
	for i := range tokens {
		tokens[i], targets[i] = int32(i%cfg.DVocab), int32((i+1)%cfg.DVocab)
	}
	m.Params().ZeroGrad()
	loss := m.Forward(tokens, targets, B, T)
	m.Backward()
	_, shape, _ := m.Activation(ActName("pattern", 1))
	fmt.Printf("params %d, loss ≈ ln(128) = %.1f, pattern shape %v\n", m.Params().Count(), loss, shape)
	// Output: params 112384, loss ≈ ln(128) = 4.9, pattern shape [2 4 8 8]
}

// TestGPTPresetShapeReference checks the model at the tiny preset's widths
// (d=64, H=4, F=256, V=128, T=64; B=2 to keep the float64 oracle fast), where
// the matrix products run through the fast kernels' full tiles and edges
// rather than the tiny test sizes: logits against refGPT, and the gradient
// along one random unit direction per tensor against a float64 central
// difference of refGPT (h = 1e-6: error ≈ 1e-9). Tolerances as in
// TestGPTGradFDReference: logits 1e-5 absolute (O(1) logits), directional
// derivative 1e-4 relative plus 1e-5 of the tensor's gradient norm (a sum
// of up to 16K float32 products, each ≈ u relative).
func TestGPTPresetShapeReference(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 oracle at preset size takes ≈ 1 s")
	}
	cfg := DefaultConfig(ArchGPT)
	rng := rand.New(rand.NewPCG(25, 26))
	m := NewGPT(cfg, rng)
	randomizeParams(m.Params(), 0.1, rng)
	B, T := 2, 64
	tokens, targets := tinyBatch(cfg.DVocab, B, T, rng)
	ps := m.Params()
	P := map[string][]float64{}
	for _, p := range ps.Params {
		v := make([]float64, p.Size)
		for i, x := range ps.Data[p.Off : p.Off+p.Size] {
			v[i] = float64(x)
		}
		P[p.Name] = v
	}
	ps.ZeroGrad()
	m.Forward(tokens, targets, B, T)
	m.Backward()
	refLogits, _ := refGPT(cfg, P, tokens, targets, B, T)
	if d := maxAbsDiff(m.Logits(), refLogits); d > 1e-5 {
		t.Errorf("logits differ from the float64 reference by %.3g", d)
	}
	const h = 1e-6
	worst := 0.0
	for _, p := range ps.Params {
		g := ps.Grad[p.Off : p.Off+p.Size]
		x := P[p.Name]
		dir := make([]float64, p.Size)
		var nrm, gn float64
		for i := range dir {
			dir[i] = rng.NormFloat64()
			nrm += dir[i] * dir[i]
			gn += float64(g[i]) * float64(g[i])
		}
		var an float64
		for i := range dir {
			dir[i] /= math.Sqrt(nrm)
			an += float64(g[i]) * dir[i]
		}
		x0 := slices.Clone(x)
		eval := func(s float64) float64 {
			for i := range x {
				x[i] = x0[i] + s*dir[i]
			}
			_, l := refGPT(cfg, P, tokens, targets, B, T)
			return l
		}
		fd := (eval(h) - eval(-h)) / (2 * h)
		copy(x, x0)
		tol := 1e-4*math.Abs(fd) + 1e-5*math.Sqrt(gn)
		worst = max(worst, math.Abs(fd-an)/tol)
		if math.Abs(fd-an) > tol {
			t.Errorf("%s: directional derivative %.8g, float64 finite difference %.8g (tol %.2g)", p.Name, an, fd, tol)
		}
	}
	t.Logf("worst |Δ|/tol over %d tensors: %.3f", len(ps.Params), worst)
}

// TestPatternBufferAcrossShapes: a model's attention heads write the zeros
// above each pattern's diagonal only on the first Forward of a batch shape
// (later ones find them in the buffer), so a model that ran other shapes
// before must give the bits of a fresh model: every layer's pattern (zeros
// above the diagonal included) and the logits, for the GPT and a pretrained
// architecture, shapes growing, shrinking and repeating, with T past
// several row blocks of the heads' tiles.
func TestPatternBufferAcrossShapes(t *testing.T) {
	type fwdModel interface {
		Params() *ParamSet
		Forward(tokens, targets []int32, B, T int) float32
		Activation(name string) ([]float32, []int, bool)
		Logits() []float32
	}
	gcfg := Config{Arch: ArchGPT, NLayers: 2, DModel: 24, NHeads: 3, DMLP: 40, NCtx: 33, DVocab: 37,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.02}
	spec := pretrainedSpecs()["gpt2/tied"]
	for _, mk := range []struct {
		name   string
		layers int
		new    func() fwdModel
	}{
		{"gpt", gcfg.NLayers, func() fwdModel { return NewGPT(gcfg, rand.New(rand.NewPCG(5, 6))) }},
		{"pretrained", spec.NLayers, func() fwdModel { return randomPretrained(t, spec, 7) }},
	} {
		t.Run(mk.name, func(t *testing.T) {
			m := mk.new()
			randomizeParams(m.Params(), 0.5, rand.New(rand.NewPCG(8, 9)))
			rng := rand.New(rand.NewPCG(10, 11))
			for _, s := range []struct{ B, T int }{{2, 33}, {3, 20}, {3, 20}, {2, 33}, {1, 7}, {2, 33}, {2, 33}} {
				tokens, _ := tinyBatch(37, s.B, s.T, rng)
				m.Forward(tokens, nil, s.B, s.T)
				fresh := mk.new()
				copy(fresh.Params().Data, m.Params().Data)
				fresh.Forward(tokens, nil, s.B, s.T)
				for l := range mk.layers {
					name := ActName("pattern", l)
					got, _, _ := m.Activation(name)
					want, _, _ := fresh.Activation(name)
					if len(got) != len(want) {
						t.Fatalf("B=%d T=%d %s: %d values, fresh model %d", s.B, s.T, name, len(got), len(want))
					}
					if i, d := sameBits(got, want); i >= 0 {
						t.Fatalf("B=%d T=%d %s[%d] = %g, fresh model %g (|Δ| %g)", s.B, s.T, name, i, got[i], want[i], d)
					}
				}
				if i, d := sameBits(m.Logits(), fresh.Logits()); i >= 0 {
					t.Fatalf("B=%d T=%d logits[%d] differ from a fresh model's (|Δ| %g)", s.B, s.T, i, d)
				}
			}
		})
	}
}

// TestGPTBackwardPiecesBitIdentical checks that the backward's attention
// and c_attn products taken a few sequences at a time (pieces cut at the
// GEMM's k-blocks) give the bits of the products over the whole
// micro-batch, for each tiny model variant: T = 100 does not divide the
// k-block, so pieces end inside a sequence and carry rows to the next; T =
// 64 does; with ignored rows skipped too.
func TestGPTBackwardPiecesBitIdentical(t *testing.T) {
	for _, tc := range tinyGPTConfigs() {
		for _, T := range []int{100, 64} {
			for _, skip := range []bool{false, true} {
				cfg := tc.cfg
				cfg.NCtx, cfg.DModel, cfg.DMLP = T, 16, 24
				const B = 12 // two micro-batches of 6 sequences: 600 or 384 rows each
				run := func(pieceSeqs int) ([]float32, float32) {
					m := NewGPT(cfg, rand.New(rand.NewPCG(3, 4)))
					randomizeParams(m.Params(), 0.3, rand.New(rand.NewPCG(5, 6)))
					m.SetSkipIgnored(skip)
					m.pieceSeqs = pieceSeqs
					tokens, targets := tinyBatch(cfg.DVocab, B, T, rand.New(rand.NewPCG(7, 8)))
					loss := m.Forward(tokens, targets, B, T)
					m.Backward()
					return slices.Clone(m.Params().Grad), loss
				}
				gp, lp := run(0)
				gw, lw := run(B)
				if lp != lw || !bitsEqualNN(gp, gw) {
					t.Errorf("%s T=%d skip=%v: gradients in pieces differ from the whole products", tc.name, T, skip)
				}
			}
		}
	}
}

func bitsEqualNN(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
