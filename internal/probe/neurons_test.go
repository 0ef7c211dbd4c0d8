package probe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"emlab/internal/nn"
)

func TestSelectivity(t *testing.T) {
	// Two classes of 50 rows each. Column 0 is the label; column 1 is
	// the label plus ±s alternating within each class (within-class
	// variance exactly s², between-class 1/4: η² = 0.25 / (0.25 + s²));
	// column 2 is constant; column 3 alternates ±1 in a way independent of
	// the label (the same mean in both classes: η² = 0).
	const n, d, s = 100, 4, 0.5
	x := make([]float64, n*d)
	y := make([]int, n)
	for i := range n {
		y[i] = i % 2
		sign := float64(1 - 2*(i/2%2))
		x[i*d] = float64(y[i])
		x[i*d+1] = float64(y[i]) + s*sign
		x[i*d+2] = 7
		x[i*d+3] = sign
	}
	got, err := Selectivity(x, y, n, d)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 0.25 / (0.25 + s*s), 0, 0}
	for j := range want {
		// Exact sums of squares: only round-off.
		if math.Abs(got[j]-want[j]) > 1e-12 {
			t.Errorf("column %d: η² = %v, want %v", j, got[j], want[j])
		}
	}
	if _, err := Selectivity(x, y[:3], n, d); err == nil {
		t.Error("labels of the wrong length accepted")
	}
}

// TestSingleNeuronAgainstLayer: a label carried by one neuron is read as
// well from that neuron as from the layer; a label spread over m neurons
// (the sign of their sum) is read from the layer, while a single neuron
// agrees with it with probability 1/2 + arcsin(1/√m)/π (0.580 for m = 16;
// the sign of one standard Gaussian coordinate against the sign of the
// sum of m).
func TestSingleNeuronAgainstLayer(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n, d, nTrain = 1000, 16, 600
	x := make([]float64, n*d)
	local, spread := make([]int, n), make([]int, n)
	for i := range n {
		var sum float64
		for j := range d {
			x[i*d+j] = r.NormFloat64()
			sum += x[i*d+j]
		}
		if sum > 0 {
			spread[i] = 1
		}
		if x[i*d+5] > 0 {
			local[i] = 1
		}
	}
	j, one, err := BestSingleNeuron(x, local, n, d, nTrain)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := LinearProbe(x, local, n, d, nTrain)
	if err != nil {
		t.Fatal(err)
	}
	// 400 test rows: a threshold learned on 600 separable rows misses few.
	if j != 5 || one.Accuracy < 0.97 || whole.Accuracy < 0.95 {
		t.Errorf("localist label: best neuron %d at %.3f, layer %.3f; want neuron 5 and both ≈ 1", j, one.Accuracy, whole.Accuracy)
	}
	_, one, err = BestSingleNeuron(x, spread, n, d, nTrain)
	if err != nil {
		t.Fatal(err)
	}
	whole, err = LinearProbe(x, spread, n, d, nTrain)
	if err != nil {
		t.Fatal(err)
	}
	single := 0.5 + math.Asin(1/math.Sqrt(d))/math.Pi
	t.Logf("distributed label: best neuron %.3f (theory %.3f), layer %.3f", one.Accuracy, single, whole.Accuracy)
	// The chosen neuron's held-out accuracy has standard error ≈ 0.025
	// on 400 rows; picking the best of 16 on the training rows adds a
	// little: 0.1 above theory is > 3 σ plus that.
	if one.Accuracy > single+0.1 || whole.Accuracy < 0.95 {
		t.Errorf("distributed label: best neuron %.3f (want ≈ %.3f), layer %.3f (want ≥ 0.95)", one.Accuracy, single, whole.Accuracy)
	}
}

// randomMLPGPT is a 2-layer GPT with MLPs and random weights.
func randomMLPGPT(t *testing.T) *nn.GPT {
	t.Helper()
	cfg := nn.Config{Arch: nn.ArchGPT, NLayers: 2, DModel: 16, NHeads: 2, NCtx: 8, DVocab: 10,
		LayerNorm: true, TiedEmbeddings: true, Act: "gelu", InitStd: 0.3}
	return nn.NewGPT(cfg, rand.New(rand.NewPCG(2, 3)))
}

// TestMLPAblationMatchesItsDefinition: after ApplyMLPAblations the
// model's mlp_out is (h − P(h − mean))·W + b computed from the intact
// model's mlp_post h, for neuron and random directions alike; the
// weights come back bit for bit; bad ablations are errors that change
// nothing.
func TestMLPAblationMatchesItsDefinition(t *testing.T) {
	m := randomMLPGPT(t)
	cfg := m.Config()
	F, C := cfg.HiddenMLP(), cfg.DModel
	const B, T = 3, 8
	r := rand.New(rand.NewPCG(4, 5))
	toks := make([]int32, B*T)
	for i := range toks {
		toks[i] = int32(r.IntN(cfg.DVocab))
	}
	rnd, err := RandomDirections(r, 5, F)
	if err != nil {
		t.Fatal(err)
	}
	mean := make([]float64, F)
	for i := range mean {
		mean[i] = r.NormFloat64()
	}
	orig := slices.Clone(m.Params().Data)
	for _, c := range []struct {
		name string
		dirs [][]float64
	}{{"neurons 3, 17, 40", NeuronDirs([]int{3, 17, 40}, F)}, {"5 random directions", rnd}} {
		const layer = 1
		// Ablating layer 1 leaves layer 1's input unchanged, so the intact
		// h is the ablated model's h too.
		c0, err := RunWithCache(m, toks, B, T, nn.ActName("mlp_post", layer))
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := c0.Get(nn.ActName("mlp_post", layer))
		W := m.Params().Get(fmt.Sprintf("h.%d.mlp.c_proj.weight", layer))
		b := m.Params().Get(fmt.Sprintf("h.%d.mlp.c_proj.bias", layer))
		want := make([]float64, B*T*C)
		for i := range B * T {
			hh := make([]float64, F)
			for f := range F {
				hh[f] = float64(h[i*F+f])
			}
			for _, dir := range c.dirs {
				var proj float64
				for f := range F {
					proj += (hh[f] - mean[f]) * dir[f]
				}
				for f := range F {
					hh[f] -= proj * dir[f]
				}
			}
			for o := range C {
				s := float64(b[o])
				for f := range F {
					s += hh[f] * float64(W[f*C+o])
				}
				want[i*C+o] = s
			}
		}
		restore, err := ApplyMLPAblations(m, []MLPAblation{{Layer: layer, Dirs: c.dirs, Mean: mean}})
		if err != nil {
			t.Fatal(err)
		}
		c1, err := RunWithCache(m, toks, B, T, nn.ActName("mlp_out", layer))
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := c1.Get(nn.ActName("mlp_out", layer))
		var worst float64
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got[i])-want[i])/(1+math.Abs(want[i])))
		}
		// float32 weights and activations: a few ulps of sums of F = 64 terms.
		if worst > 1e-4 {
			t.Errorf("%s: mlp_out differs from its definition by %.3g (relative)", c.name, worst)
		}
		restore()
		if !slices.Equal(m.Params().Data, orig) {
			t.Fatalf("%s: weights not restored bit for bit", c.name)
		}
	}
	bad := []MLPAblation{
		{Layer: 2, Dirs: NeuronDirs([]int{0}, F), Mean: mean},
		{Layer: 0, Dirs: [][]float64{make([]float64, F)}, Mean: mean},                             // not unit length
		{Layer: 0, Dirs: append(NeuronDirs([]int{1}, F), NeuronDirs([]int{1}, F)...), Mean: mean}, // not orthogonal
		{Layer: 0, Dirs: NeuronDirs([]int{0}, F), Mean: mean[:3]},
		{Layer: 0, Dirs: [][]float64{{1}}, Mean: mean},
	}
	for i, a := range bad {
		// A good ablation first: a failure must undo it too.
		if _, err := ApplyMLPAblations(m, []MLPAblation{{Layer: 0, Dirs: NeuronDirs([]int{2}, F), Mean: mean}, a}); err == nil {
			t.Errorf("bad ablation %d accepted", i)
		}
		if !slices.Equal(m.Params().Data, orig) {
			t.Fatalf("bad ablation %d changed the weights", i)
		}
	}
}

// identityMLPGPT is a 1-layer GPT (no LayerNorm) whose answer "the next
// token is the current one" is carried by V of its F = 8V MLP neurons:
// neuron v fires (ReLU, value 5) exactly on token v and writes to the
// residual dimension V+v, which the unembedding reads with gain 4 (logit
// 20 for the right token, 0 for the others). Attention writes nothing;
// the other 7V neurons are silent.
func identityMLPGPT(t *testing.T) *nn.GPT {
	t.Helper()
	const V = 8
	cfg := nn.Config{Arch: nn.ArchGPT, NLayers: 1, DModel: 2 * V, NHeads: 2, NCtx: 8, DVocab: V, Act: "relu", InitStd: 0.02}
	m := nn.NewGPT(cfg, rand.New(rand.NewPCG(1, 1)))
	ps := m.Params()
	clear(ps.Data)
	C, F := cfg.DModel, cfg.HiddenMLP()
	wte, fc, fcB := ps.Get("wte.weight"), ps.Get("h.0.mlp.c_fc.weight"), ps.Get("h.0.mlp.c_fc.bias")
	proj, lm := ps.Get("h.0.mlp.c_proj.weight"), ps.Get("lm_head.weight")
	for v := range V {
		wte[v*C+v] = 1
		fc[v*F+v] = 10 // pre = 10·[token = v] − 5
		fcB[v] = -5
		proj[v*C+V+v] = 1
		lm[(V+v)*V+v] = 4
	}
	return m
}

// TestSelectiveAblationFindsTheCarriers: on identityMLPGPT, ablating the
// V most selective neurons (η² for the current token) removes the
// ability: every carrier then sits at its mean, 5 × the frequency of its
// token, for every input, so the model predicts the batch's most frequent
// token everywhere and its accuracy is that token's frequency. V random
// directions of the 8V-dimensional layer remove about 1/8 of each
// carrier's signal and leave the ability intact.
func TestSelectiveAblationFindsTheCarriers(t *testing.T) {
	m := identityMLPGPT(t)
	cfg := m.Config()
	V, F := cfg.DVocab, cfg.HiddenMLP()
	const B, T = 16, 8
	r := rand.New(rand.NewPCG(9, 9))
	toks := make([]int32, B*T)
	labels := make([]int, B*T)
	for i := range toks {
		toks[i] = int32(r.IntN(V))
		labels[i] = int(toks[i])
	}
	c, err := RunWithCache(m, toks, B, T, nn.ActName("mlp_post", 0))
	if err != nil {
		t.Fatal(err)
	}
	h32, _, _ := c.Get(nn.ActName("mlp_post", 0))
	h := make([]float64, len(h32))
	mean := make([]float64, F)
	for i, v := range h32 {
		h[i] = float64(v)
		mean[i%F] += float64(v) / float64(B*T)
	}
	sel, err := Selectivity(h, labels, B*T, F)
	if err != nil {
		t.Fatal(err)
	}
	accuracy := func(m nn.Model) (float64, error) {
		m.Forward(toks, nil, B, T)
		lg := m.Logits()
		hit := 0.0
		for i := range B * T {
			row := lg[i*V : (i+1)*V]
			best := 0
			for v := range row {
				if row[v] > row[best] {
					best = v
				}
			}
			if best == labels[i] {
				hit++
			}
		}
		return hit / float64(B*T), nil
	}
	rng := func(k, d int) *rand.Rand { return rand.New(rand.NewPCG(uint64(k), uint64(d))) }
	intact, pts, err := SelectiveAblation(m, [][]float64{sel}, [][]float64{mean}, []int{1, V}, 4, rng, accuracy)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("intact %.3f; %+v", intact, pts)
	if intact != 1 {
		t.Fatalf("intact accuracy %v, want 1", intact)
	}
	// One carrier at its mean still leaves its token's logit (4 × 5/V·…)
	// above the others' 0 on that token, and takes nothing from the
	// others: the ability stays, for selective and random alike.
	if p := pts[0]; p.Selective != 1 || p.Random < 0.99 {
		t.Errorf("k=1: selective %.3f, random %.3f, want 1 and ≈ 1", p.Selective, p.Random)
	}
	counts := make([]int, V)
	for _, l := range labels {
		counts[l]++
	}
	mostFrequent := float64(slices.Max(counts)) / float64(B*T)
	if p := pts[1]; math.Abs(p.Selective-mostFrequent) > 1e-9 || p.Random < 0.9 {
		t.Errorf("k=V: selective %.3f (want the most frequent token's share %.3f), random %.3f (want ≈ 1)", p.Selective, mostFrequent, p.Random)
	}
	if _, _, err := SelectiveAblation(m, [][]float64{sel}, [][]float64{mean}, []int{F + 1}, 1, rng, accuracy); err == nil {
		t.Error("k above the number of neurons accepted")
	}
}

func TestRandomDirectionsOrthonormal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dirs, err := RandomDirections(r, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkAblation(nn.Config{NLayers: 1, DModel: 10, DMLP: 10}, MLPAblation{Dirs: dirs, Mean: make([]float64, 10)}); err != nil {
		t.Error(err)
	}
	if _, err := RandomDirections(r, 11, 10); err == nil {
		t.Error("11 directions in 10 dimensions accepted")
	}
}
