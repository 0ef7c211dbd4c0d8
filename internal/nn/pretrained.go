package nn

// pretrained.go is the transformer of models trained elsewhere and loaded
// for inference (package hf reads them from Hugging Face directories):
// GPT-2 (Radford et al. 2019) and GPT-NeoX/Pythia (Black et al. 2022;
// Biderman et al. 2023). Both are pre-LayerNorm decoder-only transformers;
// they differ in the options Spec spells out:
//
//	x₀ = wte[tokens] (+ wpe[0:T] with learned positions)
//	sequential (GPT-2):  x ← x + attn(ln_1(x));  x ← x + mlp(ln_2(x))
//	parallel (NeoX):     x ← x + attn(ln_1(x)) + mlp(ln_2(x))
//	attn:   q, k, v = h·W_QKV + b;  rotary on the first RotaryDims dims of
//	        each head's q and k (NeoX);  z = softmax(q·kᵀ·scale)·v;
//	        attn_out = z·W_O + b
//	mlp:    act(h·W_fc + b)·W_proj + b
//	logits = ln_f(x)·wteᵀ (tied) or ln_f(x)·lm_head
//
// The weights carry emlab's GPT names and (in, out) layout (the loader
// converts Hugging Face's), so what reads a GPT's matrices by name (the
// circuit probes, mean ablation) reads these the same way. The forward pass
// is GPT.Forward's, kernel for kernel, plus the options.
//
// What this file deliberately does not do: training (there are no
// gradients; Backward panics), dropout, attention variants the two families
// do not use (ALiBi, grouped queries, sliding windows), RMSNorm, or any
// family Spec does not name.

import (
	"errors"
	"fmt"
	"math"

	"emlab/internal/tensor"
)

// Families of models trained elsewhere, spelled as Hugging Face's
// config.json model_type.
const (
	ArchGPT2 = "gpt2"     // learned positions, sequential residual, tied unembedding
	ArchNeoX = "gpt_neox" // rotary positions, parallel residual (optional), untied unembedding
)

// MLP activations of a Spec (each exactly as named: a model trained with
// one and run with another is measurably off).
const (
	ActGELUTanh = "gelu_tanh" // GPT-2's tanh approximation (HF gelu_new, gelu_pytorch_tanh)
	ActGELUErf  = "gelu_erf"  // the exact x·Φ(x) (HF gelu)
	ActReLU     = "relu"
)

// IsTransformer reports whether arch is a transformer whose activations
// carry the blocks.<l>.attn.* names: emlab's GPT or a loaded family.
func IsTransformer(arch string) bool {
	return arch == ArchGPT || arch == ArchGPT2 || arch == ArchNeoX
}

// Spec describes a loaded transformer in the papers' notation plus the
// options that tell the families apart.
type Spec struct {
	Arch    string // ArchGPT2 or ArchNeoX
	NLayers int
	DModel  int
	NHeads  int
	DMLP    int // MLP hidden width (no default: loaded models state it)
	NCtx    int // longest context (learned positions or the rotary table)
	DVocab  int

	Act            string  // ActGELUTanh, ActGELUErf or ActReLU
	LNEps          float64 // LayerNorm epsilon (> 0)
	TiedEmbeddings bool    // logits = ln_f(x)·wteᵀ; otherwise lm_head (DModel, DVocab)

	// Rotary replaces learned positions (no wpe) by rotary embeddings on
	// the first RotaryDims (even, ≤ DHead) dims of every head's q and k,
	// with angles pos·RotaryBase^(−2i/RotaryDims).
	Rotary     bool
	RotaryDims int
	RotaryBase float64

	// ParallelResidual computes attention and MLP from the same residual
	// stream: x + attn(ln_1(x)) + mlp(ln_2(x)).
	ParallelResidual bool
	// ScaleAttnByLayer also divides layer l's attention scores by l+1
	// (GPT-2's scale_attn_by_inverse_layer_idx, used by Stanford CRFM's
	// GPT-2 runs).
	ScaleAttnByLayer bool
}

// DHead is the width of one head.
func (s Spec) DHead() int { return s.DModel / s.NHeads }

// Validate reports every problem with s, each naming its field.
func (s Spec) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("spec.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Arch != ArchGPT2 && s.Arch != ArchNeoX {
		bad("Arch", "unknown family %q (want %s or %s)", s.Arch, ArchGPT2, ArchNeoX)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"NLayers", s.NLayers}, {"DModel", s.DModel}, {"NHeads", s.NHeads}, {"DMLP", s.DMLP}, {"NCtx", s.NCtx}, {"DVocab", s.DVocab}} {
		if f.v <= 0 {
			bad(f.name, "must be positive, got %d", f.v)
		}
	}
	if s.NHeads > 0 && s.DModel%s.NHeads != 0 {
		bad("NHeads", "DModel %d is not divisible by NHeads %d", s.DModel, s.NHeads)
	}
	switch s.Act {
	case ActGELUTanh, ActGELUErf, ActReLU:
	default:
		bad("Act", "unknown activation %q (want %s, %s or %s)", s.Act, ActGELUTanh, ActGELUErf, ActReLU)
	}
	if !(s.LNEps > 0) {
		bad("LNEps", "must be positive, got %g", s.LNEps)
	}
	if len(errs) == 0 && !checkSize(PretrainedParamCount(s)) {
		errs = append(errs, fmt.Errorf("spec: %.3g parameters (DModel %d, NLayers %d, DMLP %d, NCtx %d, DVocab %d) exceed %.3g, more than any machine holds",
			PretrainedParamCount(s), s.DModel, s.NLayers, s.DMLP, s.NCtx, s.DVocab, float64(MaxElements)))
	}
	if s.Rotary {
		if s.RotaryDims <= 0 || s.RotaryDims%2 != 0 || (s.NHeads > 0 && s.RotaryDims > s.DHead()) {
			bad("RotaryDims", "must be even and in [2, DHead=%d], got %d", s.DModel/max(s.NHeads, 1), s.RotaryDims)
		}
		if !(s.RotaryBase > 0) {
			bad("RotaryBase", "must be positive, got %g", s.RotaryBase)
		}
	}
	return errors.Join(errs...)
}

// Pretrained is a loaded transformer (see the file comment). It implements
// Model (without Backward), Decoder and head masks. Its parameters start at
// zero: a loader fills Params().Data. Like GPT, it is not safe for
// concurrent use.
type Pretrained struct {
	spec Spec
	ps   *ParamSet
	w    gptWeights // views into ps.Data

	cos, sin []float32 // (NCtx, RotaryDims/2) rotary tables, nil without rotary

	headMask []float32 // (NLayers, NHeads), nil = all ones

	// qkvHook, when set, sees each layer's attention input (B·T, 3C)
	// during Forward, after the rotary embedding: the decoder's Prefill
	// fills its cache from it.
	qkvHook func(l int, qkv []float32)

	keep    bool // per-layer activations kept for Activation (else one layer's scratch, reused)
	act     pretrainedActs
	B, T    int
	actFns  map[string]func() ([]float32, []int)
	actList []string
}

// pretrainedActs are the forward's buffers. Per-layer slabs hold
// (Lk, B, T, ·) with Lk = NLayers when activations are kept, 1 otherwise.
type pretrainedActs struct {
	capBT, capAtt, capT int
	layers              int // Lk

	embed    []float32 // (B, T, C) wte[tokens]: hook_embed
	posEmbed []float32 // (T, C) wpe[0:T]: hook_pos_embed (learned positions only)
	encoded  []float32 // (B, T, C) resid_pre of block 0
	mean     []float32 // (B, T) LayerNorm scratch
	rstd     []float32 // (B, T)
	ln1      []float32 // (Lk, B, T, C)
	qkv      []float32 // (Lk, B, T, 3C) the attention's q | k | v (q, k after rotary)
	qk       []float32 // (Lk, B, T, 2C) q | k before rotary (rotary only)
	att      []float32 // (Lk, B, H, T, T) pattern
	z        []float32 // (Lk, B, T, C) head outputs after the head mask
	attnOut  []float32 // (Lk, B, T, C)
	residMid []float32 // (Lk, B, T, C) sequential residual only
	ln2      []float32 // (Lk, B, T, C)
	pre      []float32 // (Lk, B, T, F)
	post     []float32 // (Lk, B, T, F)
	mlpOut   []float32 // (Lk, B, T, C)
	resid    []float32 // (Lk, B, T, C) resid_post
	lnf      []float32 // (B, T, C)
	logits   []float32 // (B, T, V)
	scratch  []float32 // attention scratch per group
}

// NewPretrained allocates a model for s with every weight 0 and no
// gradients (one float32 copy of the weights). It fails when s is invalid.
func NewPretrained(s Spec) (*Pretrained, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	C, V, F, L := s.DModel, s.DVocab, s.DMLP, s.NLayers
	var b paramBuilder
	b.add("wte.weight", false, V, C)
	if !s.Rotary {
		b.add("wpe.weight", false, s.NCtx, C)
	}
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("h.%d.", l)
		b.add(p+"ln_1.weight", false, C)
		b.add(p+"ln_1.bias", false, C)
		b.add(p+"attn.c_attn.weight", true, C, 3*C)
		b.add(p+"attn.c_attn.bias", false, 3*C)
		b.add(p+"attn.c_proj.weight", true, C, C)
		b.add(p+"attn.c_proj.bias", false, C)
		b.add(p+"ln_2.weight", false, C)
		b.add(p+"ln_2.bias", false, C)
		b.add(p+"mlp.c_fc.weight", true, C, F)
		b.add(p+"mlp.c_fc.bias", false, F)
		b.add(p+"mlp.c_proj.weight", true, F, C)
		b.add(p+"mlp.c_proj.bias", false, C)
	}
	b.add("ln_f.weight", false, C)
	b.add("ln_f.bias", false, C)
	if !s.TiedEmbeddings {
		b.add("lm_head.weight", true, C, V)
	}
	m := &Pretrained{spec: s, ps: b.buildNoGrad(), keep: true}
	m.w = viewGPTWeights(m.ps, m.ps.Data, L)
	if s.Rotary {
		m.cos, m.sin = tensor.RotaryTables(s.NCtx, tensor.RotaryInvFreq(s.RotaryDims, s.RotaryBase))
	}
	m.buildActivationIndex()
	return m, nil
}

// viewGPTWeights cuts buf into the GPT's named tensors (nil when absent).
func viewGPTWeights(ps *ParamSet, buf []float32, L int) gptWeights {
	get := func(name string) []float32 {
		p, ok := ps.Lookup(name)
		if !ok {
			return nil
		}
		return buf[p.Off : p.Off+p.Size : p.Off+p.Size]
	}
	w := gptWeights{wte: get("wte.weight"), wpe: get("wpe.weight"), lnfW: get("ln_f.weight"),
		lnfB: get("ln_f.bias"), lmHead: get("lm_head.weight")}
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("h.%d.", l)
		w.layers = append(w.layers, gptLayerWeights{
			ln1W: get(p + "ln_1.weight"), ln1B: get(p + "ln_1.bias"),
			qkvW: get(p + "attn.c_attn.weight"), qkvB: get(p + "attn.c_attn.bias"),
			projW: get(p + "attn.c_proj.weight"), projB: get(p + "attn.c_proj.bias"),
			ln2W: get(p + "ln_2.weight"), ln2B: get(p + "ln_2.bias"),
			fcW: get(p + "mlp.c_fc.weight"), fcB: get(p + "mlp.c_fc.bias"),
			fcProjW: get(p + "mlp.c_proj.weight"), fcProjB: get(p + "mlp.c_proj.bias"),
		})
	}
	return w
}

// Spec returns the model's description.
func (m *Pretrained) Spec() Spec { return m.spec }

// Config returns the Spec in Model's terms: Arch is the family, Act is
// "gelu" for the tanh approximation (emlab's meaning of it) and the Spec's
// name otherwise, LayerNorm is on.
func (m *Pretrained) Config() Config {
	s := m.spec
	act := s.Act
	if act == ActGELUTanh {
		act = "gelu"
	}
	return Config{Arch: s.Arch, NLayers: s.NLayers, DModel: s.DModel, NHeads: s.NHeads, DMLP: s.DMLP,
		NCtx: s.NCtx, DVocab: s.DVocab, LayerNorm: true, TiedEmbeddings: s.TiedEmbeddings, Act: act}
}

// Params returns the parameters; Grad is nil.
func (m *Pretrained) Params() *ParamSet { return m.ps }

// Backward panics: a loaded model is for inference only.
func (m *Pretrained) Backward() {
	panic("nn.Pretrained.Backward: loaded models are inference-only")
}

// FLOPsPerToken is GPT.FLOPsPerToken's formula for this shape: 6·N +
// 6·NLayers·T·DModel, N the matrices c_attn, c_proj, c_fc, mlp.c_proj per
// block plus the unembedding.
func (m *Pretrained) FLOPsPerToken(T int) float64 {
	s := m.spec
	C, F, L, V := float64(s.DModel), float64(s.DMLP), float64(s.NLayers), float64(s.DVocab)
	n := L*(4*C*C+2*C*F) + C*V
	return 6*n + 6*L*float64(T)*C
}

// SetHeadMask scales head h of layer l's z by mask[l·NHeads+h] in every
// later Forward and Step (see GPT.SetHeadMask); nil removes it.
func (m *Pretrained) SetHeadMask(mask []float32) error {
	return setHeadMask(&m.headMask, mask, m.spec.NLayers*m.spec.NHeads, "head mask")
}

// HeadMask returns a copy of the head mask (nil when none).
func (m *Pretrained) HeadMask() []float32 { return copyHeadMask(m.headMask) }

// SetKeepActivations chooses whether Forward keeps every layer's
// activations for Activation (the default) or reuses one layer's buffers
// for all layers: evaluating a large model needs only the logits, and
// keeping NLayers copies of (B, T, 4·DMLP + 10·DModel) floats is most of
// its memory. With keep off, the per-layer names are unavailable
// (Activation answers ok=false) and ActivationNames lists only the
// model-level ones. It takes effect at the next Forward.
func (m *Pretrained) SetKeepActivations(keep bool) {
	if keep != m.keep {
		m.keep = keep
		m.act = pretrainedActs{}
		m.B, m.T = 0, 0
	}
}

// ensure sizes the buffers for a (B, T) batch.
func (m *Pretrained) ensure(B, T int) {
	a := &m.act
	s := m.spec
	BT, att := B*T, B*s.NHeads*T*T
	Lk := 1
	if m.keep {
		Lk = s.NLayers
	}
	if BT <= a.capBT && att <= a.capAtt && T <= a.capT && Lk == a.layers {
		return
	}
	BT, att, T = max(BT, a.capBT), max(att, a.capAtt), max(T, a.capT)
	C, F, V := s.DModel, s.DMLP, s.DVocab
	f := func(n int, on bool) []float32 {
		if !on {
			return nil
		}
		return make([]float32, n)
	}
	*a = pretrainedActs{capBT: BT, capAtt: att, capT: T, layers: Lk,
		embed: f(BT*C, true), posEmbed: f(s.NCtx*C, !s.Rotary), encoded: f(BT*C, true),
		mean: f(BT, true), rstd: f(BT, true),
		ln1: f(Lk*BT*C, true), qkv: f(Lk*BT*3*C, true), qk: f(Lk*BT*2*C, s.Rotary),
		att: f(Lk*att, true), z: f(Lk*BT*C, true), attnOut: f(Lk*BT*C, true),
		residMid: f(Lk*BT*C, !s.ParallelResidual), ln2: f(Lk*BT*C, true),
		pre: f(Lk*BT*F, true), post: f(Lk*BT*F, true), mlpOut: f(Lk*BT*C, true), resid: f(Lk*BT*C, true),
		lnf: f(BT*C, true), logits: f(BT*V, true),
		scratch: f(attnGroups*attnScratchLen(T, s.DHead()), true),
	}
}

// layer slices the slab s (Lk, B, T, n) at layer l for the current (B, T)
// (layer 0's slice for every l when activations are not kept).
func (m *Pretrained) layer(s []float32, l, n int) []float32 {
	if !m.keep {
		l = 0
	}
	sz := m.B * m.T * n
	return s[l*sz : (l+1)*sz : (l+1)*sz]
}

// resIn is the residual stream entering block l (B, T, C).
func (m *Pretrained) resIn(l int) []float32 {
	if l == 0 {
		n := m.B * m.T * m.spec.DModel
		return m.act.encoded[:n:n]
	}
	return m.layer(m.act.resid, l-1, m.spec.DModel)
}

// attnScale is layer l's score scale: 1/√Dh, and 1/(l+1) more with
// ScaleAttnByLayer.
func (m *Pretrained) attnScale(l int) float32 {
	s := 1 / math.Sqrt(float64(m.spec.DHead()))
	if m.spec.ScaleAttnByLayer {
		s /= float64(l + 1)
	}
	return float32(s)
}

// activate applies the Spec's MLP activation: post = act(pre).
func (m *Pretrained) activate(post, pre []float32) {
	switch m.spec.Act {
	case ActGELUTanh:
		tensor.GELUForward(post, pre)
	case ActGELUErf:
		tensor.GELUErfForward(post, pre)
	default:
		tensor.ReLUForward(post, pre)
	}
}

// rotateRow applies the rotary embedding at position p to the q and k of
// one token's qkv row (3C).
func (m *Pretrained) rotateRow(row []float32, p int) {
	C, H, Dh, half := m.spec.DModel, m.spec.NHeads, m.spec.DHead(), m.spec.RotaryDims/2
	c, s := m.cos[p*half:(p+1)*half], m.sin[p*half:(p+1)*half]
	tensor.RotaryForward(row[:C], H, Dh, c, s)
	tensor.RotaryForward(row[C:2*C], H, Dh, c, s)
}

// Forward runs the model on tokens (B, T); see Model.Forward. With targets
// it returns the mean cross-entropy over targets ≥ 0 (no gradient). It
// panics on shapes or ids out of range (programming errors).
func (m *Pretrained) Forward(tokens, targets []int32, B, T int) float32 {
	s := m.spec
	C, V, F, H := s.DModel, s.DVocab, s.DMLP, s.NHeads
	BT := B * T
	if B <= 0 || T <= 0 || T > s.NCtx || len(tokens) < BT || (targets != nil && len(targets) < BT) {
		panic(fmt.Sprintf("nn.Pretrained.Forward: bad shape B=%d T=%d (n_ctx %d, %d tokens, %d targets)", B, T, s.NCtx, len(tokens), len(targets)))
	}
	for _, id := range tokens[:BT] {
		if id < 0 || int(id) >= V {
			panic(fmt.Sprintf("nn.Pretrained.Forward: token id %d outside [0, %d)", id, V))
		}
	}
	m.ensure(B, T)
	m.B, m.T = B, T
	a, w := &m.act, &m.w

	embed := a.embed[:BT*C]
	tensor.Gather(embed, w.wte, tokens[:BT], C) // (B, T, C)
	enc := a.encoded[:BT*C]
	if s.Rotary {
		copy(enc, embed)
	} else {
		pos := a.posEmbed[:T*C]
		copy(pos, w.wpe[:T*C]) // (T, C)
		for b := 0; b < B; b++ {
			tensor.Add(enc[b*T*C:(b+1)*T*C], embed[b*T*C:(b+1)*T*C], pos)
		}
	}
	mean, rstd := a.mean[:BT], a.rstd[:BT]
	eps := float32(s.LNEps)
	for l := 0; l < s.NLayers; l++ {
		lw := &w.layers[l]
		x := m.resIn(l) // (B, T, C)

		h := m.layer(a.ln1, l, C)
		tensor.LayerNormForward(h, mean, rstd, x, lw.ln1W, lw.ln1B, BT, C, eps)
		qkv := m.layer(a.qkv, l, 3*C) // (B, T, 3C)
		tensor.GemmBias(false, false, BT, 3*C, C, h, C, lw.qkvW, 3*C, lw.qkvB, qkv, 3*C)
		if s.Rotary {
			qk := m.layer(a.qk, l, 2*C) // (B, T, 2C) before rotary
			for r := 0; r < BT; r++ {
				copy(qk[r*2*C:(r+1)*2*C], qkv[r*3*C:r*3*C+2*C])
			}
			for r := 0; r < BT; r++ {
				m.rotateRow(qkv[r*3*C:(r+1)*3*C], r%T)
			}
		}
		if m.qkvHook != nil {
			m.qkvHook(l, qkv)
		}
		att := m.layer(a.att, l, H*T) // (B, H, T, T)
		z := m.layer(a.z, l, C)       // (B, T, C)
		m.attentionForward(l, qkv, att, z)
		ao := m.layer(a.attnOut, l, C) // (B, T, C)
		tensor.GemmBias(false, false, BT, C, C, z, C, lw.projW, C, lw.projB, ao, C)

		// The MLP reads ln_2 of resid_pre (parallel) or of resid_mid.
		mlpIn := x
		if !s.ParallelResidual {
			mlpIn = m.layer(a.residMid, l, C)
			tensor.Add(mlpIn, x, ao) // resid_mid = resid_pre + attn_out
		}
		h2 := m.layer(a.ln2, l, C)
		tensor.LayerNormForward(h2, mean, rstd, mlpIn, lw.ln2W, lw.ln2B, BT, C, eps)
		pre := m.layer(a.pre, l, F) // (B, T, F)
		tensor.GemmBias(false, false, BT, F, C, h2, C, lw.fcW, F, lw.fcB, pre, F)
		post := m.layer(a.post, l, F)
		m.activate(post, pre)
		mo := m.layer(a.mlpOut, l, C)
		tensor.GemmBias(false, false, BT, C, F, post, F, lw.fcProjW, C, lw.fcProjB, mo, C)
		r := m.layer(a.resid, l, C) // resid_post; may alias x when activations are not kept
		if s.ParallelResidual {
			// (resid_pre + attn_out) + mlp_out: in place when r aliases x.
			tensor.Add(r, x, ao)
			tensor.Add(r, r, mo)
		} else {
			tensor.Add(r, mlpIn, mo) // resid_post = resid_mid + mlp_out
		}
	}

	xf := m.layer(a.resid, s.NLayers-1, C)
	y := a.lnf[:BT*C]
	tensor.LayerNormForward(y, mean, rstd, xf, w.lnfW, w.lnfB, BT, C, eps)
	logits := a.logits[:BT*V]
	if s.TiedEmbeddings {
		tensor.Gemm(false, true, BT, V, C, y, C, w.wte, C, 0, logits, V)
	} else {
		tensor.Gemm(false, false, BT, V, C, y, C, w.lmHead, V, 0, logits, V)
	}
	if targets == nil {
		return 0
	}
	count := 0
	for _, tg := range targets[:BT] {
		if int(tg) >= V {
			panic(fmt.Sprintf("nn.Pretrained.Forward: target id %d outside [0, %d)", tg, V))
		}
		if tg >= 0 {
			count++
		}
	}
	if count == 0 {
		return 0
	}
	sum, _ := tensor.SoftmaxCrossEntropy(nil, logits, targets[:BT], BT, V, 0)
	return float32(sum / float64(count))
}

// attentionForward is GPT.attentionForward with this layer's scale.
func (m *Pretrained) attentionForward(l int, qkv, att, z []float32) {
	B, T, C, H := m.B, m.T, m.spec.DModel, m.spec.NHeads
	Dh := C / H
	scale := m.attnScale(l)
	var mask []float32
	if m.headMask != nil {
		mask = m.headMask[l*H : (l+1)*H]
	}
	pairs := B * H
	groups := min(attnGroups, pairs)
	tensor.ParallelFor(groups, func(grp int) {
		n := attnScratchLen(T, Dh)
		kT := m.act.scratch[grp*n : grp*n+T*Dh]
		for i := grp * pairs / groups; i < (grp+1)*pairs/groups; i++ {
			b, h := i/H, i%H
			q := qkv[b*T*3*C+h*Dh:] // (T, Dh), row stride 3C
			p := att[i*T*T : (i+1)*T*T]
			zh := z[b*T*C+h*Dh:] // (T, Dh), row stride C
			tensor.AttentionHeadForward(p, zh, C, q, q[C:], q[2*C:], 3*C, T, Dh, scale, kT)
			if mask != nil && mask[h] != 1 {
				for t := 0; t < T; t++ {
					tensor.Scale(zh[t*C:t*C+Dh], mask[h])
				}
			}
		}
	})
}

// Logits returns the last Forward's logits (B, T, DVocab), a view of the
// model's buffer.
func (m *Pretrained) Logits() []float32 {
	n := m.B * m.T * m.spec.DVocab
	return m.act.logits[:n:n]
}

// ActivationNames lists the names Activation answers (only the model-level
// ones when activations are not kept).
func (m *Pretrained) ActivationNames() []string {
	var out []string
	for _, n := range m.actList {
		if m.keep || !perLayer(n) {
			out = append(out, n)
		}
	}
	return out
}

func perLayer(name string) bool { return len(name) > 7 && name[:7] == "blocks." }

// Activation returns a named activation of the last Forward and its shape:
// the GPT's names and shapes (see GPT.Activation), where
//
//	hook_pos_embed                     exists only with learned positions
//	blocks.<l>.attn.hook_q/k           are before the rotary embedding
//	blocks.<l>.attn.hook_rot_q/rot_k   after it (rotary only; TransformerLens's names)
//	blocks.<l>.hook_resid_mid          exists only with a sequential residual
//
// q, k, v and rot_q/rot_k are copies; the rest are views valid until the
// next Forward. Per-layer names answer ok=false when activations are not
// kept (SetKeepActivations).
func (m *Pretrained) Activation(name string) ([]float32, []int, bool) {
	if m.B == 0 || (!m.keep && perLayer(name)) {
		return nil, nil, false
	}
	fn, ok := m.actFns[name]
	if !ok {
		return nil, nil, false
	}
	d, s := fn()
	return d, s, true
}

func (m *Pretrained) buildActivationIndex() {
	s := m.spec
	C, F, H, V, Dh := s.DModel, s.DMLP, s.NHeads, s.DVocab, s.DHead()
	m.actFns = map[string]func() ([]float32, []int){}
	add := func(name string, fn func() ([]float32, []int)) {
		m.actFns[name] = fn
		m.actList = append(m.actList, name)
	}
	btc := func(buf func() []float32) func() ([]float32, []int) {
		return func() ([]float32, []int) { return buf(), []int{m.B, m.T, C} }
	}
	// cols copies columns [j·C, (j+1)·C) of a (B·T, width) slab as (B, T, H, Dh).
	cols := func(slab func() []float32, width, j int) func() ([]float32, []int) {
		return func() ([]float32, []int) {
			src := slab()
			out := make([]float32, m.B*m.T*C)
			for r := 0; r < m.B*m.T; r++ {
				copy(out[r*C:(r+1)*C], src[r*width+j*C:r*width+(j+1)*C])
			}
			return out, []int{m.B, m.T, H, Dh}
		}
	}
	add(ActName("embed", -1), btc(func() []float32 { return m.act.embed[: m.B*m.T*C : m.B*m.T*C] }))
	if !s.Rotary {
		add(ActName("pos_embed", -1), func() ([]float32, []int) {
			return m.act.posEmbed[: m.T*C : m.T*C], []int{m.T, C}
		})
	}
	for l := 0; l < s.NLayers; l++ {
		qkv := func() []float32 { return m.layer(m.act.qkv, l, 3*C) }
		add(ActName("resid_pre", l), btc(func() []float32 { return m.resIn(l) }))
		if s.Rotary {
			qk := func() []float32 { return m.layer(m.act.qk, l, 2*C) }
			add(ActName("q", l), cols(qk, 2*C, 0))
			add(ActName("k", l), cols(qk, 2*C, 1))
			add(ActName("rot_q", l), cols(qkv, 3*C, 0))
			add(ActName("rot_k", l), cols(qkv, 3*C, 1))
		} else {
			add(ActName("q", l), cols(qkv, 3*C, 0))
			add(ActName("k", l), cols(qkv, 3*C, 1))
		}
		add(ActName("v", l), cols(qkv, 3*C, 2))
		add(ActName("pattern", l), func() ([]float32, []int) {
			return m.layer(m.act.att, l, H*m.T), []int{m.B, H, m.T, m.T}
		})
		add(ActName("z", l), func() ([]float32, []int) {
			return m.layer(m.act.z, l, C), []int{m.B, m.T, H, Dh}
		})
		add(ActName("attn_out", l), btc(func() []float32 { return m.layer(m.act.attnOut, l, C) }))
		if !s.ParallelResidual {
			add(ActName("resid_mid", l), btc(func() []float32 { return m.layer(m.act.residMid, l, C) }))
		}
		add(ActName("mlp_pre", l), func() ([]float32, []int) { return m.layer(m.act.pre, l, F), []int{m.B, m.T, F} })
		add(ActName("mlp_post", l), func() ([]float32, []int) { return m.layer(m.act.post, l, F), []int{m.B, m.T, F} })
		add(ActName("mlp_out", l), btc(func() []float32 { return m.layer(m.act.mlpOut, l, C) }))
		add(ActName("resid_post", l), btc(func() []float32 { return m.layer(m.act.resid, l, C) }))
	}
	add(ActName("ln_final", -1), btc(func() []float32 { return m.act.lnf[: m.B*m.T*C : m.B*m.T*C] }))
	add(ActName("logits", -1), func() ([]float32, []int) { return m.Logits(), []int{m.B, m.T, V} })
}
