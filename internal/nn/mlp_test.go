package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func tinyMLPConfig(window int, act string) Config {
	c := DefaultConfig(ArchMLP)
	c.DModel, c.Window, c.DMLP, c.NCtx, c.DVocab, c.Act = 5, window, 7, 8, 13, act
	return c
}

// TestMLPGradFD checks the MLP's backward pass (including the
// un-concatenation into the shared embedding, which a window > 1 makes
// non-trivial) against central differences for every parameter.
//
// Tolerances as in TestLSTMGradFD (float32 loss noise ≈ 3e-7 over 2ε = 2e-2
// gives ≈ 1.5e-5, hence Abs = 5e-5; Rel = 2e-3 for the ε² truncation). For
// ReLU a perturbation that flips a unit's sign crosses a kink, where the
// central difference is meaningless: seqFDCheck retries it with ε/10 and
// bounds how many it may skip.
func TestMLPGradFD(t *testing.T) {
	tol := fdTol{Eps: 1e-2, Abs: 5e-5, Rel: 2e-3}
	for _, tc := range []struct {
		name   string
		window int
		act    string
	}{
		{"window1/relu", 1, "relu"},
		{"window3/relu", 3, "relu"},
		{"window1/gelu", 1, "gelu"},
		{"window3/gelu", 3, "gelu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyMLPConfig(tc.window, tc.act)
			m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			b := randomSeqBatch(rand.New(rand.NewPCG(3, 4)), 3, 5, cfg.DVocab)
			var stable func() bool
			if tc.act == "relu" {
				m.Forward(b.tokens, b.targets, b.B, b.T)
				pre, _, _ := m.Activation("blocks.0.mlp.pre")
				sign := make([]bool, len(pre))
				margin := math.Inf(1)
				for i, v := range pre {
					sign[i] = v > 0
					margin = min(margin, math.Abs(float64(v)))
				}
				t.Logf("smallest |pre-activation| %.3g", margin)
				stable = func() bool {
					p, _, _ := m.Activation("blocks.0.mlp.pre")
					for i, v := range p {
						if (v > 0) != sign[i] {
							return false
						}
					}
					return true
				}
			}
			seqFDCheck(t, m, b, tol, stable)
		})
	}
}

// TestMLPWindowZeroPadding: with window 3 the first position sees two zero
// slots. The first layer's pre-activation (computed from the per-slot
// token products) is checked against the concatenated input times W1 plus
// b1 in float64, with zero vectors before position 0; 1e-5 absolute is a
// few float32 roundings of these O(1) sums.
func TestMLPWindowZeroPadding(t *testing.T) {
	cfg := tinyMLPConfig(3, "relu")
	mm, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	m := mm.(*mlpModel)
	tokens := []int32{4, 9, 2, 7}
	m.Forward(tokens, nil, 1, 4)
	D, F := cfg.DModel, cfg.HiddenMLP()
	wte, w1, b1 := m.Params().Get("wte.weight"), m.Params().Get("h.0.mlp.c_fc.weight"), m.Params().Get("h.0.mlp.c_fc.bias")
	pre, _, _ := m.Activation(ActName("mlp_pre", 0))
	for tpos := 0; tpos < 4; tpos++ {
		x := make([]float64, 3*D) // the concatenated window
		for j := 0; j < 3; j++ {
			if s := tpos - 2 + j; s >= 0 {
				for k := 0; k < D; k++ {
					x[j*D+k] = float64(wte[int(tokens[s])*D+k])
				}
			}
		}
		for f := 0; f < F; f++ {
			want := float64(b1[f])
			for i, xi := range x {
				want += xi * float64(w1[i*F+f])
			}
			if got := float64(pre[tpos*F+f]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("position %d unit %d: pre %g, concatenated window·W1 + b1 %g", tpos, f, got, want)
			}
		}
	}
}

func TestMLPConfig(t *testing.T) {
	c := DefaultConfig(ArchMLP)
	c.TiedEmbeddings = true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tied_embeddings") {
		t.Errorf("tied mlp: err = %v, want one naming tied_embeddings", err)
	}
	c = DefaultConfig(ArchMLP)
	c.Window = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("window 0: err = %v, want one naming window", err)
	}
	// The calibrated grokking model: d = 64, window 2, 256 ReLU, 53 outputs.
	c = DefaultConfig(ArchMLP)
	c.DVocab = 53
	m, err := New(c, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Params().Count(), 53*64+128*256+256+256*53+53; got != want {
		t.Errorf("parameter count %d, want %d", got, want)
	}
	for _, p := range m.Params().Params {
		if want := len(p.Shape) == 2; p.Decay != want {
			t.Errorf("%s: Decay = %v, want %v (matrices and the embedding decay, biases do not)", p.Name, p.Decay, want)
		}
	}
	if got, want := m.FLOPsPerToken(2), 6*float64(128*256+256*53); got != want {
		t.Errorf("FLOPsPerToken = %g, want %g", got, want)
	}
}

// BenchmarkMLPStep: the calibrated grokking MLP (d = 64, window 2, 256 ReLU,
// 53 outputs) on a full batch of 53²/2 pairs, one prediction per pair.
func BenchmarkMLPStep(b *testing.B) {
	cfg := DefaultConfig(ArchMLP)
	cfg.DVocab = 53
	benchStep(b, cfg, 1404, 2)
}

// TestMLPCountedPositions: a Forward with targets runs only the counted
// positions; Logits and Activation then complete the others from the
// weights that Forward saw. They must equal, bit for bit, a full Forward of
// an identical model, even after the first model's weights have changed;
// and the loss must be the mean cross-entropy of those logits over the
// counted positions (1e-5: float32 loss against a float64 recomputation).
func TestMLPCountedPositions(t *testing.T) {
	cfg := tinyMLPConfig(3, "relu")
	B, T := 3, 7
	tokens, targets := tinyBatch(cfg.DVocab, B, T, rand.New(rand.NewPCG(5, 6)))
	for i := range targets {
		if i%T != T-1 && i%4 != 0 {
			targets[i] = -1 // the answer position and a few others count
		}
	}
	a, err := New(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(cfg, rand.New(rand.NewPCG(3, 4)))
	a.Params().ZeroGrad()
	loss := a.Forward(tokens, targets, B, T)
	a.Backward()
	for i := range a.Params().Data {
		a.Params().Data[i] += 0.5 // as an optimizer step would
	}
	b.Forward(tokens, nil, B, T)
	for _, name := range a.(*mlpModel).ActivationNames() {
		ga, _, _ := a.Activation(name)
		gb, _, _ := b.Activation(name)
		if i, d := sameBits(ga, gb); i >= 0 {
			t.Fatalf("%s[%d]: completed %g, full Forward %g (|Δ| %g)", name, i, ga[i], gb[i], d)
		}
	}
	V := cfg.DVocab
	logits := b.Logits()
	var sum float64
	n := 0
	for r, tg := range targets {
		if tg < 0 {
			continue
		}
		row := logits[r*V : (r+1)*V]
		mx := float64(row[0])
		for _, x := range row {
			mx = math.Max(mx, float64(x))
		}
		var s float64
		for _, x := range row {
			s += math.Exp(float64(x) - mx)
		}
		sum += mx + math.Log(s) - float64(row[tg])
		n++
	}
	if want := sum / float64(n); math.Abs(float64(loss)-want) > 1e-5 {
		t.Fatalf("loss %g, mean cross-entropy of the full logits %g", loss, want)
	}
}
