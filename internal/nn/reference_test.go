package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"emlab/internal/safetensors"
	"emlab/internal/tensor"
)

// gptRefTol are the tolerances of TestGPTReference, each relative to a
// scale stated in the test's comment.
type gptRefTol struct {
	Logits float64 // |Δ| / max|logits|
	Loss   float64 // |Δ| / loss
	Grad   float64 // |Δ| / max|grad| of the tensor
	AdamW  float64 // |Δ| / loss, per step
}

// TestGPTReference matches the GPT and the attention-only model against
// PyTorch 1.13 state written by tools/reference/gpt.py (float64 in torch, so
// the fixture is the exact answer for the float32 weights it stores):
// logits, loss, every gradient, and the losses of 10 AdamW steps replayed
// with tensor.AdamW (weight decay only on Decay tensors).
//
// Tolerances (float32 unit roundoff u ≈ 6e-8; the measured worst cases are
// logged; at the first commit: 1.7e-7 logits, 1.3e-8 loss, 4.8e-7
// gradients, 5.5e-8 AdamW losses):
//   - logits 1e-5 of max|logits|: each logit is a length-16 dot product at
//     the end of a 2-block network whose every step rounds once (≈ 30
//     roundings in sequence, plus length-16 to 64 sums), so ≈ u·√30·few
//     ≈ 1e-6 of the scale; 10× margin for the assembly kernels' blocked FMA
//     summation order.
//   - loss 2e-6 relative: a float64 mean of log-softmaxes of those logits.
//   - gradients 1e-5 of the tensor's max|grad|: they go back through the
//     same depth again and sum over B·T = 48 rows (u·√48·depth ≈ 3e-6).
//     The attention bias of K has a gradient of 0 in exact arithmetic
//     (softmax ignores a per-row constant), so its Q and V thirds set the
//     scale and its K third is checked to be ≈ 0 on that scale.
//   - AdamW losses 2e-6 relative, like the loss: ten steps of lr 1e-3 move
//     each weight by ≤ 1e-2; Adam's normalised update m/√v turns a gradient's relative
//     rounding error δ into the same relative error of the update, except
//     for gradients ≈ 0 (the K bias: its noise ≈ 1e-9 sits below eps = 1e-8,
//     so its updates stay ≈ 1e-4·lr, and softmax ignores it anyway).
//
// A wrong sign, a missing bias, a transposed or mis-strided weight changes
// these quantities at order 1, far above every tolerance.
func TestGPTReference(t *testing.T) {
	tol := gptRefTol{Logits: 1e-5, Loss: 2e-6, Grad: 1e-5, AdamW: 2e-6}
	for _, tc := range []struct {
		file string
		want func(Config) bool // what the fixture claims to test
	}{
		{"gpt_v1", func(c Config) bool { return !c.AttnOnly && c.LayerNorm && c.TiedEmbeddings && c.Act == "gelu" }},
		{"attn_v1", func(c Config) bool { return c.AttnOnly && !c.LayerNorm && !c.TiedEmbeddings }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file+".safetensors")
			f, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with /usr/bin/python3 tools/reference/gpt.py)", err)
			}
			var cfg Config
			if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
				t.Fatalf("%s: config metadata: %v", path, err)
			}
			if !tc.want(cfg) {
				t.Fatalf("%s: config %+v is not the variant this fixture is for", path, cfg)
			}
			B, errB := strconv.Atoi(f.Metadata["B"])
			T, errT := strconv.Atoi(f.Metadata["T"])
			if errB != nil || errT != nil {
				t.Fatalf("%s: bad B/T metadata: %v %v", path, errB, errT)
			}
			var hp struct {
				LR, Beta1, Beta2, Eps float64
				WeightDecay           float64 `json:"weight_decay"`
				Steps                 int
			}
			if err := json.Unmarshal([]byte(f.Metadata["adamw"]), &hp); err != nil {
				t.Fatalf("%s: adamw metadata: %v", path, err)
			}
			m, err := New(cfg, rand.New(rand.NewPCG(0, 0)))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			ps := m.Params()
			f32 := func(name string, shape []int) []float32 {
				t.Helper()
				v, s, err := f.F32(name)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if shape != nil && !slices.Equal(s, shape) {
					t.Fatalf("%s: %s has shape %v, want %v", path, name, s, shape)
				}
				return v
			}
			f64 := func(name string) []float64 {
				t.Helper()
				v, _, err := f.F64(name)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				return v
			}
			// The fixture's weights and our parameters are the same set.
			var weights []string
			for _, n := range f.Names {
				if !strings.HasPrefix(n, "grad.") && !slices.Contains([]string{"tokens", "targets", "logits", "loss", "losses"}, n) {
					weights = append(weights, n)
				}
			}
			var ours []string
			for _, p := range ps.Params {
				ours = append(ours, p.Name)
				copy(ps.Get(p.Name), f32(p.Name, p.Shape))
			}
			slices.Sort(weights)
			slices.Sort(ours)
			if !slices.Equal(weights, ours) {
				t.Fatalf("%s: fixture weights %v, model parameters %v", path, weights, ours)
			}
			tokens, _, err := f.I32("tokens")
			if err != nil {
				t.Fatal(err)
			}
			targets, _, err := f.I32("targets")
			if err != nil {
				t.Fatal(err)
			}
			if len(tokens) != B*T || len(targets) != B*T || !slices.Contains(targets, -1) {
				t.Fatalf("%s: want %d tokens and targets with some −1", path, B*T)
			}

			// Forward: logits and loss.
			ps.ZeroGrad()
			loss := m.Forward(tokens, targets, B, T)
			wantLogits := f64("logits")
			worst := maxAbsDiff(m.Logits(), wantLogits) / maxAbs64(wantLogits)
			t.Logf("logits: max |Δ| / max|logit| = %.2g", worst)
			if worst > tol.Logits || len(wantLogits) != len(m.Logits()) {
				t.Errorf("logits differ from PyTorch by %.3g of their scale (tolerance %.3g)", worst, tol.Logits)
			}
			wantLoss := f64("loss")[0]
			if d := math.Abs(float64(loss)-wantLoss) / wantLoss; d > tol.Loss {
				t.Errorf("loss %.8g, PyTorch %.8g (relative %.3g > %.3g)", loss, wantLoss, d, tol.Loss)
			} else {
				t.Logf("loss %.8g, PyTorch %.8g (relative %.2g)", loss, wantLoss, d)
			}

			// Backward: every gradient.
			m.Backward()
			worstG, worstName := 0.0, ""
			for _, p := range ps.Params {
				want := f64("grad." + p.Name)
				scale := maxAbs64(want)
				d := maxAbsDiff(ps.GradOf(p.Name), want) / scale
				if d > worstG {
					worstG, worstName = d, p.Name
				}
				if d > tol.Grad || math.IsNaN(d) {
					t.Errorf("grad %s: max |Δ| = %.3g of max|grad| %.3g (tolerance %.3g)", p.Name, d, scale, tol.Grad)
				}
			}
			t.Logf("gradients: worst max |Δ| / max|grad| = %.2g (%s)", worstG, worstName)

			// 10 AdamW steps on the same batch.
			wantLosses := f64("losses")
			if len(wantLosses) != hp.Steps || hp.Steps == 0 {
				t.Fatalf("%s: %d losses for %d steps", path, len(wantLosses), hp.Steps)
			}
			mom, vel := make([]float32, ps.Count()), make([]float32, ps.Count())
			worstA := 0.0
			for step := 1; step <= hp.Steps; step++ {
				ps.ZeroGrad()
				l := m.Forward(tokens, targets, B, T)
				want := wantLosses[step-1]
				d := math.Abs(float64(l)-want) / want
				worstA = max(worstA, d)
				if d > tol.AdamW {
					t.Errorf("AdamW step %d: loss %.8g, PyTorch %.8g (relative %.3g > %.3g)", step, l, want, d, tol.AdamW)
				}
				m.Backward()
				for _, p := range ps.Params {
					wd := 0.0
					if p.Decay {
						wd = hp.WeightDecay
					}
					s := p.Off
					e := s + p.Size
					tensor.AdamW(ps.Data[s:e], ps.Grad[s:e], mom[s:e], vel[s:e], tensor.AdamWParams{
						LR: float32(hp.LR), Beta1: float32(hp.Beta1), Beta2: float32(hp.Beta2),
						Eps: float32(hp.Eps), WeightDecay: float32(wd), Step: step})
				}
			}
			t.Logf("AdamW: losses %.6g → %.6g, worst relative |Δ| = %.2g", wantLosses[0], wantLosses[hp.Steps-1], worstA)
		})
	}
}

func maxAbsDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d float64
	for i, v := range got {
		d = max(d, math.Abs(float64(v)-want[i]))
	}
	return d
}

func maxAbs64(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}
