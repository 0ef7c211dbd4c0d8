package nn

import (
	"encoding/json"
	"fmt"
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

// seqBatch is a (B, T) batch of tokens and next-token targets.
type seqBatch struct {
	tokens, targets []int32
	B, T            int
}

// randomSeqBatch draws tokens uniformly from [0, V) and marks about one
// target in five as ignored (−1), so the masked mean is exercised.
func randomSeqBatch(rng *rand.Rand, B, T, V int) seqBatch {
	s := seqBatch{tokens: make([]int32, B*T), targets: make([]int32, B*T), B: B, T: T}
	for i := range s.tokens {
		s.tokens[i] = int32(rng.IntN(V))
		s.targets[i] = int32(rng.IntN(V))
		if rng.IntN(5) == 0 {
			s.targets[i] = -1
		}
	}
	return s
}

// fdTol is the tolerance of a finite-difference gradient check:
// |fd − analytic| ≤ Abs + Rel·|analytic|.
type fdTol struct {
	Eps      float64 // step along the perturbation direction
	Abs, Rel float64
}

// seqFDCheck compares the gradient of the mean loss of m on batch with
// central differences, for every element of every parameter tensor and for
// two directional derivatives per tensor (along the gradient itself, where
// the signal is largest, and along a random unit direction).
//
// The model computes in float32, so the check uses the perturbation that
// was actually stored (float32(θ ± ε) − θ, in float64) and compares
// (L⁺ − L⁻) with g·(Δ⁺ − Δ⁻): rounding of the perturbed parameters then
// cannot masquerade as a gradient error. Differences are taken in float64.
//
// stable, if not nil, is called after each perturbed forward and returns
// false when the perturbation crossed a non-differentiable point (a ReLU
// kink), where a central difference is meaningless. Such a check is
// retried with ε/10 and ε/100 (and Abs×10 each time, since the rounding
// noise scales with 1/ε), and skipped only if it still crosses; more than
// 2% skipped checks fail the test, so kinks cannot hide a whole tensor.
func seqFDCheck(t *testing.T, m Model, b seqBatch, tol fdTol, stable func() bool) {
	t.Helper()
	ps := m.Params()
	ps.ZeroGrad()
	m.Forward(b.tokens, b.targets, b.B, b.T)
	m.Backward()
	grad := slices.Clone(ps.Grad)
	// dirDeriv perturbs the tensor p by ±eps·u and returns the central
	// difference and the analytic prediction for the stored perturbations,
	// both divided by 2·eps, and ok=false if a kink was crossed.
	dirDeriv := func(p Param, u []float64, eps float64) (fd, an float64, ok bool) {
		x := ps.Data[p.Off : p.Off+p.Size]
		g := grad[p.Off : p.Off+p.Size]
		orig := slices.Clone(x)
		defer copy(x, orig)
		ok = true
		var dPlus, dMinus []float64
		for sign := 1.0; sign >= -1; sign -= 2 {
			d := make([]float64, len(x))
			for i := range x {
				if u[i] != 0 {
					x[i] = float32(float64(orig[i]) + sign*eps*u[i])
				}
				d[i] = float64(x[i]) - float64(orig[i])
			}
			l := float64(m.Forward(b.tokens, b.targets, b.B, b.T))
			if stable != nil && !stable() {
				ok = false
			}
			copy(x, orig)
			if sign > 0 {
				fd, dPlus = l, d
			} else {
				fd, dMinus = fd-l, d
			}
		}
		for i := range x {
			an += float64(g[i]) * (dPlus[i] - dMinus[i])
		}
		return fd / (2 * eps), an / (2 * eps), ok
	}
	var checks, skipped int
	var worst float64
	check := func(label string, p Param, u []float64) {
		checks++
		eps, abs := tol.Eps, tol.Abs
		fd, an, ok := dirDeriv(p, u, eps)
		for retry := 0; !ok && retry < 2; retry++ {
			eps, abs = eps/10, abs*10
			fd, an, ok = dirDeriv(p, u, eps)
		}
		if !ok {
			skipped++
			return
		}
		err := math.Abs(fd - an)
		bound := abs + tol.Rel*math.Abs(an)
		worst = max(worst, err/bound)
		if err > bound {
			t.Errorf("%s %s: finite difference %.8g, backward %.8g (|Δ| %.3g > %.3g, ε %g)", p.Name, label, fd, an, err, bound, eps)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, p := range ps.Params {
		g := grad[p.Off : p.Off+p.Size]
		var gn float64
		for _, v := range g {
			gn += float64(v) * float64(v)
		}
		if gn = math.Sqrt(gn); gn > 0 {
			u := make([]float64, p.Size)
			for i, v := range g {
				u[i] = float64(v) / gn
			}
			check("along the gradient", p, u)
		}
		r := make([]float64, p.Size)
		var rn float64
		for i := range r {
			r[i] = rng.NormFloat64()
			rn += r[i] * r[i]
		}
		for i := range r {
			r[i] /= math.Sqrt(rn)
		}
		check("along a random direction", p, r)
		for i := 0; i < p.Size; i++ {
			u := make([]float64, p.Size)
			u[i] = 1
			check(fmt.Sprintf("[%d]", i), p, u)
		}
	}
	t.Logf("%d checks, %d skipped at kinks; worst error / tolerance %.3f", checks, skipped, worst)
	if skipped*50 > checks {
		t.Errorf("%d of %d checks crossed a kink even at ε/10: the check no longer covers the gradient", skipped, checks)
	}
}

func tinyLSTMConfig(tied bool, initStd float64) Config {
	c := DefaultConfig(ArchLSTM)
	c.NLayers, c.DModel, c.NCtx, c.DVocab, c.TiedEmbeddings, c.InitStd = 2, 6, 8, 11, tied, initStd
	return c
}

// TestLSTMGradFD checks the hand-written backward pass through time against
// central differences for every parameter tensor of a 2-layer LSTM.
//
// Tolerances: the loss is computed in float32 (logits carry a relative
// rounding error of a few 1e-7, summed in float64), so L⁺ − L⁻ carries noise
// of ≈ 1e-7·L ≈ 3e-7; divided by 2ε = 2e-2 that is ≈ 1.5e-5, hence
// Abs = 5e-5. The O(ε²) truncation error (ε²/6·L‴ ≈ 2e-5·L‴) is covered by
// Rel = 2e-3 for the larger gradients. A wrong gate derivative, a missed
// recurrent term or a transposed weight gives errors of order the gradient
// itself (≥ 1e-2 here), far outside these bounds.
func TestLSTMGradFD(t *testing.T) {
	tol := fdTol{Eps: 1e-2, Abs: 5e-5, Rel: 2e-3}
	for _, tc := range []struct {
		name    string
		tied    bool
		initStd float64
	}{
		{"tied/torch-init", true, 0},
		{"untied/torch-init", false, 0},
		{"untied/std0.3", false, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyLSTMConfig(tc.tied, tc.initStd)
			m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			b := randomSeqBatch(rand.New(rand.NewPCG(3, 4)), 3, 5, cfg.DVocab)
			seqFDCheck(t, m, b, tol, nil)
		})
	}
}

// TestLSTMBackwardAccumulates checks that Backward adds to Params().Grad
// (as the Model contract says) rather than overwriting it: two backward
// passes give exactly twice one, which catches any gradient written with
// beta = 0.
func TestLSTMBackwardAccumulates(t *testing.T) {
	for _, arch := range []string{ArchLSTM, ArchMLP} {
		t.Run(arch, func(t *testing.T) {
			var cfg Config
			if arch == ArchLSTM {
				cfg = tinyLSTMConfig(false, 0)
			} else {
				cfg = tinyMLPConfig(3, "gelu")
			}
			m, err := New(cfg, rand.New(rand.NewPCG(5, 6)))
			if err != nil {
				t.Fatal(err)
			}
			b := randomSeqBatch(rand.New(rand.NewPCG(7, 8)), 2, 4, cfg.DVocab)
			ps := m.Params()
			ps.ZeroGrad()
			m.Forward(b.tokens, b.targets, b.B, b.T)
			m.Backward()
			once := slices.Clone(ps.Grad)
			m.Forward(b.tokens, b.targets, b.B, b.T)
			m.Backward()
			for i, g := range ps.Grad {
				// Accumulating the same terms again differs from 2·g only by
				// float32 rounding of the sums: a few ulp of the sum, but
				// relative to a gradient that is itself a difference of
				// larger terms (7 ulp ≈ 5e-7 was seen with the plain-Go
				// GEMM); an overwrite would leave g = once, off by 100%.
				if math.Abs(float64(g-2*once[i])) > 1e-5*math.Abs(float64(once[i]))+1e-12 {
					t.Fatalf("grad[%d] after two backward passes = %g, want 2×%g", i, g, once[i])
				}
			}
		})
	}
}

// TestSeqModelsDeterministic: one seed gives bit-identical weights and
// losses, and the thread count does not change a single bit of the loss,
// the logits or the gradients (the kernels split work in fixed chunks and
// the models' per-sequence loops write disjoint rows).
func TestSeqModelsDeterministic(t *testing.T) {
	defer tensor.SetThreads(tensor.Threads())
	for _, cfg := range []Config{tinyLSTMConfig(true, 0), tinyLSTMConfig(false, 0), tinyMLPConfig(2, "relu")} {
		t.Run(cfg.Arch+fmt.Sprintf("/tied=%v", cfg.TiedEmbeddings), func(t *testing.T) {
			b := randomSeqBatch(rand.New(rand.NewPCG(11, 12)), 33, 7, cfg.DVocab) // B = 33: uneven chunks
			type result struct {
				init, logits, grad []float32
				loss               float32
			}
			run := func(threads int) result {
				tensor.SetThreads(threads)
				m, err := New(cfg, rand.New(rand.NewPCG(42, 0)))
				if err != nil {
					t.Fatal(err)
				}
				r := result{init: slices.Clone(m.Params().Data)}
				r.loss = m.Forward(b.tokens, b.targets, b.B, b.T)
				m.Backward()
				r.logits, r.grad = slices.Clone(m.Logits()), slices.Clone(m.Params().Grad)
				return r
			}
			a, b1, c := run(1), run(1), run(2)
			for _, o := range []struct {
				name string
				r    result
			}{{"same seed", b1}, {"2 threads", c}} {
				if math.Float32bits(a.loss) != math.Float32bits(o.r.loss) {
					t.Errorf("%s: loss %v != %v", o.name, o.r.loss, a.loss)
				}
				if !slices.Equal(a.init, o.r.init) || !slices.Equal(a.logits, o.r.logits) || !slices.Equal(a.grad, o.r.grad) {
					t.Errorf("%s: weights, logits or gradients differ", o.name)
				}
			}
			m2, _ := New(cfg, rand.New(rand.NewPCG(43, 0)))
			if slices.Equal(a.init, m2.Params().Data) {
				t.Errorf("a different seed gave the same weights")
			}
		})
	}
}

// TestLSTMStateResetsPerSequence: each sequence of a batch starts from
// h = c = 0, so a sequence's logits do not depend on the other rows of the
// batch, and the logits at position t do not depend on later tokens
// (causality).
func TestLSTMStateResetsPerSequence(t *testing.T) {
	for _, cfg := range []Config{tinyLSTMConfig(false, 0), tinyMLPConfig(3, "relu")} {
		t.Run(cfg.Arch, func(t *testing.T) {
			m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			V, T := cfg.DVocab, 6
			b := randomSeqBatch(rand.New(rand.NewPCG(2, 2)), 3, T, V)
			m.Forward(b.tokens, nil, 3, T)
			full := slices.Clone(m.Logits())
			m.Forward(b.tokens[T:2*T], nil, 1, T) // the second row alone
			if !slices.Equal(m.Logits(), full[T*V:2*T*V]) {
				t.Errorf("row 1 alone gives different logits than inside the batch")
			}
			tok := slices.Clone(b.tokens[T : 2*T])
			tok[4] = (tok[4] + 1) % int32(V) // change a late token
			m.Forward(tok, nil, 1, T)
			if !slices.Equal(m.Logits()[:4*V], full[T*V:T*V+4*V]) {
				t.Errorf("changing token 4 changed logits before position 4")
			}
			if slices.Equal(m.Logits()[4*V:5*V], full[T*V+4*V:T*V+5*V]) {
				t.Errorf("changing token 4 did not change the logits at position 4")
			}
		})
	}
}

// TestSeqModelsActivations checks every documented activation name, its
// shape, and that the cached buffers are what the forward used.
func TestSeqModelsActivations(t *testing.T) {
	lstm := tinyLSTMConfig(true, 0)
	mlp := tinyMLPConfig(2, "gelu")
	for _, tc := range []struct {
		cfg   Config
		names map[string][]int // name → shape for B=2, T=3
	}{
		{lstm, map[string][]int{
			"hook_embed": {2, 3, 6}, "blocks.0.hook_hidden": {2, 3, 6}, "blocks.1.hook_hidden": {2, 3, 6}, "hook_logits": {2, 3, 11},
		}},
		{mlp, map[string][]int{
			"hook_embed": {2, 3, 5}, "blocks.0.mlp.pre": {2, 3, 7}, "blocks.0.mlp.post": {2, 3, 7}, "hook_logits": {2, 3, 13},
		}},
	} {
		t.Run(tc.cfg.Arch, func(t *testing.T) {
			m, err := New(tc.cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, ok := m.Activation("hook_logits"); ok {
				t.Errorf("an activation before any Forward")
			}
			b := randomSeqBatch(rand.New(rand.NewPCG(2, 2)), 2, 3, tc.cfg.DVocab)
			m.Forward(b.tokens, b.targets, 2, 3)
			for name, shape := range tc.names {
				d, s, ok := m.Activation(name)
				if !ok || !slices.Equal(s, shape) || len(d) != shape[0]*shape[1]*shape[2] {
					t.Errorf("%s: ok=%v shape %v len %d, want shape %v", name, ok, s, len(d), shape)
				}
			}
			lister, ok := m.(interface{ ActivationNames() []string })
			if !ok {
				t.Fatalf("no ActivationNames method")
			}
			names := lister.ActivationNames()
			if len(names) != len(tc.names) {
				t.Errorf("ActivationNames %v, want the %d names %v", names, len(tc.names), tc.names)
			}
			for _, n := range names {
				if _, want := tc.names[n]; !want {
					t.Errorf("ActivationNames lists %q, not documented", n)
				}
			}
			if _, _, ok := m.Activation("blocks.7.hook_hidden"); ok {
				t.Errorf("an unknown activation was found")
			}
			lg, _, _ := m.Activation("hook_logits")
			if !slices.Equal(lg, m.Logits()) {
				t.Errorf("hook_logits differs from Logits()")
			}
			// The embedding hook is wte's row of each token.
			e, _, _ := m.Activation("hook_embed")
			D := tc.cfg.DModel
			wte := m.Params().Get("wte.weight")
			for i, tok := range b.tokens {
				if !slices.Equal(e[i*D:i*D+D], wte[int(tok)*D:int(tok)*D+D]) {
					t.Fatalf("hook_embed row %d is not wte[%d]", i, tok)
				}
			}
		})
	}
}

// TestLSTMInit checks PyTorch's default ranges: LSTM tensors and the untied
// head inside ±1/√H with a spread close to the uniform's (std = k/√3), and
// the embedding N(0, 1).
func TestLSTMInit(t *testing.T) {
	cfg := DefaultConfig(ArchLSTM)
	cfg.TiedEmbeddings = false
	m, err := New(cfg, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	k := 1 / math.Sqrt(float64(cfg.DModel))
	for _, p := range m.Params().Params {
		x := m.Params().Get(p.Name)
		var s, ss, mx float64
		for _, v := range x {
			s += float64(v)
			ss += float64(v) * float64(v)
			mx = max(mx, math.Abs(float64(v)))
		}
		n := float64(len(x))
		std := math.Sqrt(ss/n - (s/n)*(s/n))
		want := k / math.Sqrt(3)
		if p.Name == "wte.weight" {
			want = 1
		} else if mx > k {
			t.Errorf("%s: |w| up to %g, beyond 1/√H = %g", p.Name, mx, k)
		}
		// n ≥ 128 draws: the sample std is within ≈ 3/√(2n) ≤ 19% of the
		// true one with overwhelming probability; 25% leaves margin.
		if math.Abs(std-want) > 0.25*want {
			t.Errorf("%s: std %g, want ≈ %g", p.Name, std, want)
		}
	}
	if got, want := m.FLOPsPerToken(64), 6*float64(2*8*64*64+64*128); got != want {
		t.Errorf("FLOPsPerToken = %g, want %g", got, want)
	}
}

// refTol is a per-tensor tolerance for matching PyTorch: an element passes
// when |got − want| ≤ Rel·max|want| over the tensor, i.e. relative to the
// tensor's scale rather than to each element (float32 rounding errors scale
// with the magnitudes summed, not with a result that cancels to near 0).
type refTol struct{ Logits, Loss, Grad, AdamW float64 }

// TestSeqModelsReference matches the LSTM and the MLP against PyTorch 1.13
// state written by tools/reference/lstm_mlp.py: logits, loss, every
// gradient, and the losses of 10 AdamW steps replayed with tensor.AdamW.
//
// Tolerances (float32 unit roundoff u ≈ 6e-8):
//   - logits 1e-5 of the tensor's max: each logit is a length-16 to 32 dot
//     product after up to 9 recurrent steps × 2 layers; summation order
//     differs from PyTorch's (OpenBLAS), giving errors of order u·√k·depth
//     ≈ 1e-6 of the scale. Measured (t.Logf lines): ≤ 2.3e-7 for logits
//     and ≤ 4e-7 for gradients against PyTorch's OpenBLAS; the margin is
//     for the assembly kernels' different (FMA, blocked) summation order.
//   - loss 2e-6 relative: a mean of float64-summed log-softmaxes of those
//     logits, so it inherits their ≈ 1e-7 absolute error.
//   - gradients 1e-5 of each tensor's max: sums over B·T = 28–36 rows of
//     products of back-propagated float32 values, in a different order.
//   - AdamW losses 1e-5 relative: ten steps of lr 1e-3 move each weight by
//     ≤ 1e-2, and the normalised Adam update amplifies gradient rounding
//     only for gradients that are ≈ 0 (those are exactly 0 in both here:
//     unused embedding rows, dead ReLU units).
func TestSeqModelsReference(t *testing.T) {
	tol := refTol{Logits: 1e-5, Loss: 2e-6, Grad: 1e-5, AdamW: 1e-5}
	for _, name := range []string{"lstm_v1", "lstm_tied_v1", "mlp_v1", "mlp_gelu_v1"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".safetensors")
			f, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with /usr/bin/python3 tools/reference/lstm_mlp.py)", err)
			}
			if got := f.Metadata["format"]; got != "emlab-nn-reference-v1" {
				t.Fatalf("%s: format %q, want emlab-nn-reference-v1", path, got)
			}
			var cfg Config
			if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
				t.Fatalf("%s: config: %v", path, err)
			}
			B, errB := strconv.Atoi(f.Metadata["B"])
			T, errT := strconv.Atoi(f.Metadata["T"])
			if errB != nil || errT != nil {
				t.Fatalf("%s: bad B/T metadata: %v %v", path, errB, errT)
			}
			m, err := New(cfg, rand.New(rand.NewPCG(0, 0)))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			ps := m.Params()
			mustF32 := func(name string, shape []int) []float32 {
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
			// Every weight of the fixture maps onto one of ours and back.
			nWeights := 0
			for _, n := range f.Names {
				switch {
				case strings.HasPrefix(n, "grad."), n == "tokens", n == "targets", n == "logits", n == "loss", n == "adamw_losses":
				default:
					nWeights++
				}
			}
			if nWeights != len(ps.Params) {
				t.Fatalf("%s: %d weight tensors, the model has %d", path, nWeights, len(ps.Params))
			}
			for _, p := range ps.Params {
				copy(ps.Get(p.Name), mustF32(p.Name, p.Shape))
			}
			tokens, _, err := f.I32("tokens")
			if err != nil {
				t.Fatal(err)
			}
			targets, _, err := f.I32("targets")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(targets, -1) {
				t.Fatalf("%s: the batch has no ignored target", path)
			}
			// compare reports the worst scaled error of got against want.
			compare := func(what string, got, want []float32, rel float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
				}
				var scale, worst float64
				for _, w := range want {
					scale = max(scale, math.Abs(float64(w)))
				}
				at := -1
				for i := range got {
					if e := math.Abs(float64(got[i]) - float64(want[i])); e > worst {
						worst, at = e, i
					}
				}
				if scale == 0 {
					scale = 1 // an all-zero reference must be matched exactly up to rel
				}
				t.Logf("%-26s max |Δ| / max|ref| = %.2e", what, worst/scale)
				if worst > rel*scale {
					t.Errorf("%s: element %d is %.9g, PyTorch %.9g (|Δ| %.3g > %.1e·%.3g)", what, at, got[at], want[at], worst, rel, scale)
				}
			}

			ps.ZeroGrad()
			loss := m.Forward(tokens, targets, B, T)
			compare("logits", m.Logits(), mustF32("logits", []int{B, T, cfg.DVocab}), tol.Logits)
			wantLoss := mustF32("loss", nil)[0]
			e := math.Abs(float64(loss-wantLoss)) / float64(wantLoss)
			t.Logf("loss %.7f, PyTorch %.7f, relative error %.2e", loss, wantLoss, e)
			if e > tol.Loss {
				t.Errorf("loss %.9g, PyTorch %.9g (relative %.2e > %.1e)", loss, wantLoss, e, tol.Loss)
			}
			m.Backward()
			for _, p := range ps.Params {
				compare("grad."+p.Name, ps.GradOf(p.Name), mustF32("grad."+p.Name, p.Shape), tol.Grad)
			}

			// Replay the optimizer: wd 0.1 on Decay tensors only, as the
			// script's two parameter groups.
			var hp struct {
				LR, Beta1, Beta2, Eps, WeightDecay float64
				Steps                              int
			}
			if err := json.Unmarshal([]byte(f.Metadata["adamw"]), &struct {
				LR          *float64 `json:"lr"`
				Beta1       *float64 `json:"beta1"`
				Beta2       *float64 `json:"beta2"`
				Eps         *float64 `json:"eps"`
				WeightDecay *float64 `json:"weight_decay"`
				Steps       *int     `json:"steps"`
			}{&hp.LR, &hp.Beta1, &hp.Beta2, &hp.Eps, &hp.WeightDecay, &hp.Steps}); err != nil {
				t.Fatalf("%s: adamw metadata: %v", path, err)
			}
			want := mustF32("adamw_losses", []int{hp.Steps})
			mom, vel := make([]float32, len(ps.Data)), make([]float32, len(ps.Data))
			got := make([]float32, hp.Steps)
			for step := 0; step < hp.Steps; step++ {
				ps.ZeroGrad()
				got[step] = m.Forward(tokens, targets, B, T)
				m.Backward()
				for _, p := range ps.Params {
					h := tensor.AdamWParams{LR: float32(hp.LR), Beta1: float32(hp.Beta1), Beta2: float32(hp.Beta2),
						Eps: float32(hp.Eps), Step: step + 1}
					if p.Decay {
						h.WeightDecay = float32(hp.WeightDecay)
					}
					r := p.Off
					tensor.AdamW(ps.Data[r:r+p.Size], ps.Grad[r:r+p.Size], mom[r:r+p.Size], vel[r:r+p.Size], h)
				}
			}
			var worstStep float64
			for i := range got {
				e := math.Abs(float64(got[i]-want[i])) / float64(want[i])
				worstStep = max(worstStep, e)
				if e > tol.AdamW {
					t.Errorf("AdamW step %d: loss %.9g, PyTorch %.9g (relative %.2e > %.1e)", i, got[i], want[i], e, tol.AdamW)
				}
			}
			if !(got[hp.Steps-1] < got[0]) {
				t.Errorf("AdamW did not lower the loss: %v", got)
			}
			t.Logf("AdamW losses %.6f … %.6f (PyTorch %.6f … %.6f), worst relative error %.2e",
				got[0], got[hp.Steps-1], want[0], want[hp.Steps-1], worstStep)
		})
	}
}

// TestSeqModelsShapeChanges: buffers are reused across batch shapes (grown
// when B·T grows), and a model that has seen other shapes gives bit-for-bit
// the logits and gradients of a fresh one.
func TestSeqModelsShapeChanges(t *testing.T) {
	for _, cfg := range []Config{tinyLSTMConfig(false, 0), tinyMLPConfig(3, "gelu")} {
		t.Run(cfg.Arch, func(t *testing.T) {
			used, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, 2))
			for _, s := range [][2]int{{2, 3}, {4, 8}, {1, 1}, {1, 2}, {3, 5}} {
				b := randomSeqBatch(rng, s[0], s[1], cfg.DVocab)
				fresh, _ := New(cfg, rand.New(rand.NewPCG(1, 1)))
				for _, m := range []Model{used, fresh} {
					m.Params().ZeroGrad()
					m.Forward(b.tokens, b.targets, b.B, b.T)
					m.Backward()
				}
				if !slices.Equal(used.Logits(), fresh.Logits()) || !slices.Equal(used.Params().Grad, fresh.Params().Grad) {
					t.Errorf("B=%d T=%d: a reused model differs from a fresh one", s[0], s[1])
				}
				if _, shape, _ := used.Activation("hook_logits"); !slices.Equal(shape, []int{s[0], s[1], cfg.DVocab}) {
					t.Errorf("B=%d T=%d: hook_logits shape %v", s[0], s[1], shape)
				}
			}
		})
	}
}

// benchStep times one training step (forward, backward) and reports
// tokens/s and GFLOP/s by FLOPsPerToken.
func benchStep(b *testing.B, cfg Config, B, T int) {
	m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	batch := randomSeqBatch(rand.New(rand.NewPCG(2, 2)), B, T, cfg.DVocab)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Params().ZeroGrad()
		m.Forward(batch.tokens, batch.targets, B, T)
		m.Backward()
	}
	tps := float64(b.N*B*T) / b.Elapsed().Seconds()
	b.ReportMetric(tps, "tokens/s")
	b.ReportMetric(tps*m.FLOPsPerToken(T)/1e9, "GFLOP/s")
}

// BenchmarkLSTMStep: a 2-layer H = 128 LSTM on the tiny preset's batch.
func BenchmarkLSTMStep(b *testing.B) {
	cfg := DefaultConfig(ArchLSTM)
	cfg.DModel = 128
	benchStep(b, cfg, 32, 64)
}
