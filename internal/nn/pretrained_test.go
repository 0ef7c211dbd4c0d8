package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pretrainedSpecs are loaded-transformer shapes covering each option the
// forward and decode paths branch on. Widths are off the Gemm tiles as in
// decodeCases; "neox/longctx" has NCtx 300 > 256 (the Gemm k-block) so the
// rotary table and a query's product over the cache run past one block.
func pretrainedSpecs() map[string]Spec {
	gpt2 := Spec{Arch: ArchGPT2, NLayers: 2, DModel: 24, NHeads: 3, DMLP: 40, NCtx: 33, DVocab: 37,
		Act: ActGELUTanh, LNEps: 1e-5, TiedEmbeddings: true}
	neox := Spec{Arch: ArchNeoX, NLayers: 2, DModel: 24, NHeads: 2, DMLP: 40, NCtx: 33, DVocab: 37,
		Act: ActGELUErf, LNEps: 1e-5, Rotary: true, RotaryDims: 4, RotaryBase: 10000, ParallelResidual: true}
	with := func(s Spec, f func(*Spec)) Spec { f(&s); return s }
	return map[string]Spec{
		"gpt2/tied":        gpt2,
		"gpt2/untied/relu": with(gpt2, func(s *Spec) { s.TiedEmbeddings, s.Act, s.ScaleAttnByLayer = false, ActReLU, true }),
		"neox/parallel":    neox,
		"neox/sequential":  with(neox, func(s *Spec) { s.ParallelResidual, s.RotaryDims, s.Act = false, 12, ActGELUTanh }),
		"neox/longctx":     with(neox, func(s *Spec) { s.NLayers, s.DModel, s.NHeads, s.DMLP, s.NCtx = 1, 8, 1, 12, 300 }),
	}
}

func pretrainedDecodeCases() []decodeCase {
	specs := pretrainedSpecs()
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []decodeCase
	for _, n := range names {
		s := specs[n]
		out = append(out, decodeCase{name: "pretrained/" + n, spec: s,
			cfg: Config{Arch: s.Arch, NCtx: s.NCtx, DVocab: s.DVocab}})
	}
	s := specs["neox/parallel"]
	out = append(out, decodeCase{name: "pretrained/neox/headmask", spec: s,
		cfg: Config{Arch: s.Arch, NCtx: s.NCtx, DVocab: s.DVocab}, mask: []float32{1, 0, 0.5, -1}})
	return out
}

func randomPretrained(t *testing.T, s Spec, seed uint64) *Pretrained {
	t.Helper()
	m, err := NewPretrained(s)
	if err != nil {
		t.Fatal(err)
	}
	randomizeParams(m.Params(), 0.3, rand.New(rand.NewPCG(seed, 3)))
	return m
}

// TestPretrainedKeepActivationsOff: with per-layer activations off, the
// logits and the loss are bit-identical to the default (the layers reuse one
// set of buffers, which must not change any value), per-layer names are
// unavailable and model-level ones still answer.
func TestPretrainedKeepActivationsOff(t *testing.T) {
	for name, s := range pretrainedSpecs() {
		t.Run(name, func(t *testing.T) {
			m := randomPretrained(t, s, 1)
			rng := rand.New(rand.NewPCG(2, 2))
			B, T := 3, min(s.NCtx, 17)
			tokens, targets := make([]int32, B*T), make([]int32, B*T)
			for i := range tokens {
				tokens[i], targets[i] = int32(rng.IntN(s.DVocab)), int32(rng.IntN(s.DVocab))
			}
			lossKeep := m.Forward(tokens, targets, B, T)
			want := slices.Clone(m.Logits())
			if _, _, ok := m.Activation(ActName("mlp_post", 0)); !ok {
				t.Fatal("activations kept by default, but mlp_post is missing")
			}
			m.SetKeepActivations(false)
			loss := m.Forward(tokens, targets, B, T)
			if i, d := sameBits(m.Logits(), want); i >= 0 || loss != lossKeep {
				t.Fatalf("logits differ at %d (max |Δ| %.3g) or loss %v vs %v", i, d, loss, lossKeep)
			}
			if _, _, ok := m.Activation(ActName("resid_post", 0)); ok {
				t.Error("per-layer activation answered with keep off")
			}
			if _, _, ok := m.Activation(ActName("ln_final", -1)); !ok {
				t.Error("ln_final should answer with keep off")
			}
			for _, n := range m.ActivationNames() {
				if strings.HasPrefix(n, "blocks.") {
					t.Errorf("ActivationNames lists %s with keep off", n)
				}
			}
			if !(loss > 0) {
				t.Errorf("loss %v", loss)
			}
		})
	}
}

// TestPretrainedSpecValidate: each invalid field is reported by name.
func TestPretrainedSpecValidate(t *testing.T) {
	good := pretrainedSpecs()["neox/parallel"]
	for _, tc := range []struct {
		field string
		edit  func(*Spec)
	}{
		{"Arch", func(s *Spec) { s.Arch = "llama" }},
		{"NHeads", func(s *Spec) { s.NHeads = 5 }},
		{"DMLP", func(s *Spec) { s.DMLP = 0 }},
		{"Act", func(s *Spec) { s.Act = "gelu" }},
		{"LNEps", func(s *Spec) { s.LNEps = 0 }},
		{"RotaryDims", func(s *Spec) { s.RotaryDims = 3 }},
		{"RotaryDims", func(s *Spec) { s.RotaryDims = 14 }},
		{"RotaryBase", func(s *Spec) { s.RotaryBase = -1 }},
	} {
		s := good
		tc.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "spec."+tc.field) {
			t.Errorf("%s: Validate() = %v", tc.field, err)
		}
		if _, err := NewPretrained(s); err == nil {
			t.Errorf("%s: NewPretrained accepted an invalid spec", tc.field)
		}
	}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
}

// TestPretrainedIsInferenceOnly: Backward panics with a message that says
// why, and there are no gradients to hold.
func TestPretrainedIsInferenceOnly(t *testing.T) {
	m := randomPretrained(t, pretrainedSpecs()["gpt2/tied"], 1)
	if m.Params().Grad != nil {
		t.Error("a loaded model allocates gradients")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "inference-only") {
			t.Errorf("Backward: recover() = %v", r)
		}
	}()
	m.Backward()
}

// TestPretrainedHeadMaskZeroesZ: a head masked to 0 writes zeros into
// hook_z and changes the logits; mask 1 everywhere is bit-identical to no
// mask.
func TestPretrainedHeadMaskZeroesZ(t *testing.T) {
	s := pretrainedSpecs()["neox/parallel"]
	m := randomPretrained(t, s, 4)
	tokens := []int32{1, 5, 9, 2, 7, 3}
	m.Forward(tokens, nil, 1, 6)
	base := slices.Clone(m.Logits())
	ones := []float32{1, 1, 1, 1}
	if err := m.SetHeadMask(ones); err != nil {
		t.Fatal(err)
	}
	m.Forward(tokens, nil, 1, 6)
	if i, _ := sameBits(m.Logits(), base); i >= 0 {
		t.Error("an all-ones mask changed the logits")
	}
	if err := m.SetHeadMask([]float32{1, 0, 1, 1}); err != nil {
		t.Fatal(err)
	}
	m.Forward(tokens, nil, 1, 6)
	z, shape, _ := m.Activation(ActName("z", 0))
	H, Dh := shape[2], shape[3]
	for tt := 0; tt < 6; tt++ {
		for d := 0; d < Dh; d++ {
			if v := z[(tt*H+1)*Dh+d]; v != 0 {
				t.Fatalf("masked head 0.1 has z = %v", v)
			}
		}
	}
	if i, _ := sameBits(m.Logits(), base); i < 0 {
		t.Error("masking a head left the logits unchanged")
	}
	if err := m.SetHeadMask([]float32{1}); err == nil {
		t.Error("a mask of the wrong length was accepted")
	}
}

// TestPretrainedRotaryIsRotation: the rotary embedding of position p is a
// rotation (it keeps each (i, i+R/2) pair's norm) by the angle p·θ_i, and
// q·k after rotating q at position p and k at position p' depends only on
// p − p' (RoFormer's relative-position property), checked in float64 to
// float32 accuracy.
func TestPretrainedRotaryIsRotation(t *testing.T) {
	s := pretrainedSpecs()["neox/sequential"] // RotaryDims 12 of DHead 12
	m, err := NewPretrained(s)
	if err != nil {
		t.Fatal(err)
	}
	C, Dh := s.DModel, s.DHead()
	rng := rand.New(rand.NewPCG(5, 5))
	row := func() []float32 {
		r := make([]float32, 3*C)
		for i := range r {
			r[i] = float32(rng.NormFloat64())
		}
		return r
	}
	q, k := row(), row()
	dot := func(p, pk int) float64 {
		a, b := slices.Clone(q), slices.Clone(k)
		m.rotateRow(a, p)
		m.rotateRow(b, pk)
		var s float64
		for d := 0; d < Dh; d++ {
			s += float64(a[d]) * float64(b[C+d]) // head 0: q·k
		}
		return s
	}
	ref := dot(3, 1)
	for _, pp := range [][2]int{{5, 3}, {12, 10}, {30, 28}} {
		if d := math.Abs(dot(pp[0], pp[1]) - ref); d > 1e-4*math.Abs(ref)+1e-5 {
			t.Errorf("q·k at positions %v = %v, at (3, 1) = %v: not a function of the offset", pp, dot(pp[0], pp[1]), ref)
		}
	}
	if d := math.Abs(dot(7, 1) - ref); d < 1e-3 {
		t.Errorf("q·k does not change with the offset (%v vs %v)", dot(7, 1), ref)
	}
}

// TestDecodeStateLenMatchesFull: a key/value cache sized for n < NCtx
// tokens gives bit for bit the logits of the full-sized one (the cache's
// row stride is all that changes), up to n tokens a row.
func TestDecodeStateLenMatchesFull(t *testing.T) {
	for _, c := range pretrainedDecodeCases() {
		t.Run(c.name, func(t *testing.T) {
			m, _ := c.build(t, 5)
			p := m.(*Pretrained)
			n := p.spec.NCtx / 2
			rng := rand.New(rand.NewPCG(9, 9))
			prompts := make([][]int32, 3)
			for i := range prompts {
				prompts[i] = make([]int32, 2+i)
				for j := range prompts[i] {
					prompts[i][j] = int32(rng.IntN(p.spec.DVocab))
				}
			}
			full, short := p.NewDecodeState(3), p.NewDecodeStateLen(3, n)
			a, b := slices.Clone(full.Prefill(prompts)), short.Prefill(prompts)
			if i, d := sameBits(b, a); i >= 0 {
				t.Fatalf("prefill logits differ at %d by %g", i, d)
			}
			rows := []int{0, 1, 2}
			for step := 0; short.Len(2) < n; step++ {
				toks := []int32{int32(step % p.spec.DVocab), int32((step * 7) % p.spec.DVocab), int32((step * 3) % p.spec.DVocab)}
				a, b := slices.Clone(full.Step(rows, toks)), short.Step(rows, toks)
				if i, d := sameBits(b, a); i >= 0 {
					t.Fatalf("step %d logits differ at %d by %g", step, i, d)
				}
			}
		})
	}
}
