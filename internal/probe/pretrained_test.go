package probe

import (
	"math/rand/v2"
	"slices"
	"testing"

	"emlab/internal/nn"
)

// TestProbesOnLoadedTransformer: a transformer loaded from elsewhere
// (nn.Pretrained, here a GPT-NeoX shape with random weights) answers the
// probes the GPT answers: the activation cache, the pattern detectors, the
// circuit weights (its parameters carry the GPT's names and layout) and
// head ablation, which restores the weights bit for bit.
func TestProbesOnLoadedTransformer(t *testing.T) {
	s := nn.Spec{Arch: nn.ArchNeoX, NLayers: 2, DModel: 16, NHeads: 2, DMLP: 32, NCtx: 16, DVocab: 20,
		Act: nn.ActGELUErf, LNEps: 1e-5, Rotary: true, RotaryDims: 4, RotaryBase: 10000, ParallelResidual: true}
	m, err := nn.NewPretrained(s)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range m.Params().Data {
		m.Params().Data[i] = float32(rng.NormFloat64() * 0.3)
	}
	toks, err := RepeatedSequences(rng, 3, 12, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	if err != nil {
		t.Fatal(err)
	}
	c, err := RunWithCache(m, toks, 3, 12)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Names(), nn.ActName("rot_q", 1)) {
		t.Errorf("cache lacks the rotary q: %v", c.Names())
	}
	for _, det := range HeadDetectors {
		sc, err := HeadScores(c, s.NLayers, det)
		if err != nil || len(sc) != s.NLayers || len(sc[0]) != s.NHeads {
			t.Errorf("%s: %v %v", det, sc, err)
		}
	}
	w, err := ReadGPTWeights(m.Config(), m.Params())
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := CopyingScores(w); err != nil || len(cs) != s.NLayers {
		t.Errorf("copying scores: %v %v", cs, err)
	}
	before := slices.Clone(m.Params().Data)
	metric := SecondHalfLoss(toks, 3, 12)
	for _, mode := range []string{ZeroAblate, MeanAblate} {
		r, err := AblateHead(m, 1, 0, mode, toks, 3, 12, metric)
		if err != nil {
			t.Fatal(err)
		}
		if r.Delta() == 0 {
			t.Errorf("%s ablation of head 1.0 changed nothing", mode)
		}
		if !slices.Equal(m.Params().Data, before) || m.HeadMask() != nil {
			t.Errorf("%s ablation did not restore the model", mode)
		}
	}
}
