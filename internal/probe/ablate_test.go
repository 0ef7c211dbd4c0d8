package probe

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"emlab/internal/nn"
)

// handBuiltGPT is a 1-layer, 2-head attention-only GPT whose weights are
// set by hand so that head 0 copies the previous token to the output and
// head 1 writes nothing (its W_V is 0): the task "predict the previous
// token" needs head 0 and not head 1.
//
// Residual stream (C = 24): dims 0–7 one-hot token, 8–15 one-hot position,
// 16–23 the copied previous token. Head 0 (Dh = 12): q_t = α·e_t from the
// position, k_s = e_{s+1}, so q_t·k_s = α exactly when s = t−1; v = the
// token one-hot; W_O writes it to dims 16–23; the unembedding reads those
// with gain β.
func handBuiltGPT(t *testing.T) *nn.GPT {
	t.Helper()
	const V, P, C = 8, 8, 24
	cfg := nn.Config{Arch: nn.ArchGPT, NLayers: 1, DModel: C, NHeads: 2, NCtx: P, DVocab: V,
		AttnOnly: true, Act: "gelu", InitStd: 0.02}
	m := nn.NewGPT(cfg, rand.New(rand.NewPCG(1, 1)))
	ps := m.Params()
	clear(ps.Data)
	// Attention logit gap α/√Dh = 20: the pattern is one-hot to within e^−20.
	alpha, beta := float32(20*math.Sqrt(12)), float32(10)
	wte, wpe := ps.Get("wte.weight"), ps.Get("wpe.weight")
	qkv, proj, lm := ps.Get("h.0.attn.c_attn.weight"), ps.Get("h.0.attn.c_proj.weight"), ps.Get("lm_head.weight")
	for v := range V {
		wte[v*C+v] = 1
		qkv[v*3*C+2*C+v] = 1  // head 0 W_V: token → z_v
		proj[v*C+16+v] = 1    // head 0 W_O: z_v → dim 16+v
		lm[(16+v)*V+v] = beta // unembedding reads dims 16–23
	}
	for p := range P {
		wpe[p*C+8+p] = 1
		qkv[(8+p)*3*C+p] = alpha  // head 0 W_Q: position p → q index p
		qkv[(8+p)*3*C+C+p+1] = 1  // head 0 W_K: position s → k index s+1
		qkv[(8+p)*3*C+12+p] = 1   // head 1 W_Q: attends somewhere, but…
		qkv[(8+p)*3*C+C+12+p] = 1 // …its W_V and W_O are zero
	}
	return m
}

// previousTokenBatch is B random sequences with targets = the previous
// token (none at position 0).
func previousTokenBatch(B, T, V int) (tokens, targets []int32) {
	r := rand.New(rand.NewPCG(3, 4))
	tokens, targets = make([]int32, B*T), make([]int32, B*T)
	for b := range B {
		for t := range T {
			tokens[b*T+t] = int32(r.IntN(V))
			targets[b*T+t] = -1
			if t > 0 {
				targets[b*T+t] = tokens[b*T+t-1]
			}
		}
	}
	return tokens, targets
}

func TestAblationOfNeededAndUnusedHeads(t *testing.T) {
	m := handBuiltGPT(t)
	const B, T = 16, 8
	tokens, targets := previousTokenBatch(B, T, 8)
	metric := func(m nn.Model) (float64, error) { return float64(m.Forward(tokens, targets, B, T)), nil }
	before := slices.Clone(m.Params().Data)
	lnV := math.Log(8)
	cases := []struct {
		name     string
		head     int
		mode     string
		min, max float64 // bounds on the change of loss
	}{
		// Without head 0 the logits are 0: loss ln 8 ≈ 2.08, from ≈ 0.
		{"zero-ablate the copying head", 0, ZeroAblate, lnV - 0.01, lnV + 0.01},
		// Its mean output is ≈ uniform over tokens: loss ≈ ln 8 again
		// (within 0.2: the batch's token frequencies are not exactly 1/8).
		{"mean-ablate the copying head", 0, MeanAblate, lnV - 0.2, lnV + 0.2},
		// Head 1 writes exactly 0, so ablating it changes nothing.
		{"zero-ablate the unused head", 1, ZeroAblate, -1e-6, 1e-6},
		{"mean-ablate the unused head", 1, MeanAblate, -1e-6, 1e-6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := AblateHead(m, 0, c.head, c.mode, tokens, B, T, metric)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("loss %.5f → %.5f", r.Base, r.Ablated)
			if r.Base > 1e-3 {
				t.Errorf("intact loss %.5f, want ≈ 0 (the hand-built model solves the task)", r.Base)
			}
			if d := r.Delta(); d < c.min || d > c.max {
				t.Errorf("change %.5f outside [%.3f, %.3f]", d, c.min, c.max)
			}
			if !slices.Equal(m.Params().Data, before) {
				t.Error("the ablation left the weights changed")
			}
			if m.HeadMask() != nil {
				t.Errorf("the ablation left a head mask %v", m.HeadMask())
			}
		})
	}
	// The ablation restores a mask that was set before.
	if err := m.SetHeadMask([]float32{1, 0.5}); err != nil {
		t.Fatal(err)
	}
	if _, err := AblateHead(m, 0, 0, ZeroAblate, nil, 0, 0, metric); err != nil {
		t.Fatal(err)
	}
	if got := m.HeadMask(); !slices.Equal(got, []float32{1, 0.5}) {
		t.Errorf("mask after ablation %v, want [1 0.5]", got)
	}
	for _, bad := range []struct {
		layer, head int
		mode        string
	}{{1, 0, ZeroAblate}, {0, 2, ZeroAblate}, {0, 0, "half"}, {0, 0, MeanAblate}} {
		if _, err := AblateHead(m, bad.layer, bad.head, bad.mode, nil, 0, 0, metric); err == nil {
			t.Errorf("ablate %d.%d %s: no error", bad.layer, bad.head, bad.mode)
		}
	}
}

// TestHandBuiltHeadScores: the hand-built head 0 is a perfect
// previous-token head and its OV circuit copies; the detectors must say so.
func TestHandBuiltHeadScores(t *testing.T) {
	m := handBuiltGPT(t)
	tokens, _ := previousTokenBatch(4, 8, 8)
	c, err := RunWithCache(m, tokens, 4, 8, nn.ActName("pattern", 0))
	if err != nil {
		t.Fatal(err)
	}
	s, err := HeadScores(c, 1, PrevToken)
	if err != nil {
		t.Fatal(err)
	}
	// One-hot to within 7·e^−20 per row.
	if s[0][0] < 1-1e-6 {
		t.Errorf("previous-token score of head 0 = %v, want 1", s[0][0])
	}
	if s[0][1] > 0.5 {
		t.Errorf("previous-token score of head 1 = %v, want low", s[0][1])
	}
}
