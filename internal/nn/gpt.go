package nn

// gpt.go is emlab's GPT: GPT-2's pre-LayerNorm transformer (Radford
// et al. 2019), written llm.c style with each layer's forward and backward
// side by side and the shape on every buffer. The attention-only variant of
// the induction-head studies (Olsson et al. 2022; Config.AttnOnly, with
// Config.LayerNorm optional) is the same code with the MLP blocks skipped.
//
//	x₀ = wte[tokens] + wpe[0:T]
//	x ← x + attn(ln_1(x))          for each block
//	x ← x + mlp(ln_2(x))           (not with AttnOnly)
//	logits = ln_f(x)·wteᵀ          (or ·lm_head.weight when not tied)
//
// Without LayerNorm the ln_1, ln_2 and ln_f steps are the identity and have no
// parameters.
//
// What this file deliberately does not do: dropout (the calibrated runs use
// none), key/value caching for generation (decode_gpt.go, which reuses this
// file's buffers and kernels), mixed precision, or allocation per
// step (activations are allocated once for the largest (B, T) seen).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"emlab/internal/tensor"
)

func init() {
	builders[ArchGPT] = func(c Config, r *rand.Rand) Model { return NewGPT(c, r) }
}

// lnEps is torch.nn.LayerNorm's default epsilon, which GPT-2 uses.
const lnEps = 1e-5

// attnGroups is the number of fixed groups a micro-batch's (b, head) pairs
// of the attention (forward and backward) are split into: enough to keep 2
// to 8 threads busy when the micro-batch runs alone.
const attnGroups = 16

// gptMicroBatches is the number of micro-batches a batch of B ≥ 2 sequences
// is cut into (B/2 each). Each runs Forward and Backward on one core (the
// other core joins its kernels once it has finished its own half), so a
// step synchronises the cores a few times instead of around every kernel
// (hundreds of times for a small model). The number
// is fixed, never the thread count, so that the gradient sums are the same
// bits on any number of threads: micro-batch 0 accumulates into Grad as a
// whole batch would, micro-batch 1 into its own buffer, added to Grad last.
const gptMicroBatches = 2

// GPT is a GPT-2 style language model (see the file comment). It implements
// Model. A GPT is not safe for concurrent use: Forward and Backward share
// the activation buffers.
type GPT struct {
	cfg Config
	ps  *ParamSet
	w   gptWeights // views into ps.Data
	g   gptWeights // the same views into ps.Grad

	headMask []float32 // (NLayers, NHeads) scale on each head's z, nil = all ones

	act     gptActs
	B, T    int     // shape of the last Forward (0 before the first)
	tokens  []int32 // (B, T) copy of the last Forward's tokens
	ready   bool    // the last Forward had targets: Backward may run
	actFns  map[string]func() ([]float32, []int)
	actList []string

	micro   [gptMicroBatches]gptMicro
	nMicro  int     // micro-batches of the last Forward
	targets []int32 // the running Forward's targets (nil: no loss)
	count   int     // counted targets of the last Forward
	// attZero: the running Forward's pattern buffer already holds zeros
	// above every head's diagonal (the last Forward had this shape), so
	// tensor.AttentionHeadForward need not write them again.
	attZero bool
	// The micro-batch loops, built once so that a step allocates nothing.
	fwdFn, bwdFn func(k int)

	// skipIgnored: a Forward with targets computes the last block after
	// its attention, ln_f, the unembedding and the loss only on the rows
	// whose target is not ignored (SetSkipIgnored). skipping: the running
	// or last Forward did.
	skipIgnored, skipping bool
	keepIdx, keepTgt      []int32 // (B, T): each micro-batch's kept rows and their targets, from its first row
	tailActs              map[string]bool

	// pieceSeqs: the sequences per piece of the backward's attention and
	// c_attn (backwardMicro); 0 takes a k-block's worth of rows. Tests set
	// it to the whole micro-batch: the products over all rows at once.
	pieceSeqs int
}

// gptMicro is one micro-batch of the current batch: sequences [b0, b1),
// which it runs through Forward and Backward on its rows of the model's
// buffers, with its own gradients.
type gptMicro struct {
	m      *GPT
	b0, b1 int
	g      gptWeights // its gradient views: micro-batch 0's are the model's Grad
	grad   []float32  // micro-batches ≥ 1: their gradient buffer (allocated by the first Backward)
	loss   float64    // Σ −log p over its counted targets (Forward)

	// When the Forward skips ignored rows: keep names the micro-batch's
	// rows with a target (Full = its rows), keepTgt their targets, and the
	// last block's buffers after the attention hold only those rows,
	// compacted at the start of the micro-batch's rows (see forwardMicro).
	keep    tensor.RowSet
	keepTgt []int32

	// The attention loops over groups of pairs, built once, and the layer,
	// the sequences [s0, s1) and the whole-batch buffers they run on.
	attnFwd, attnBwd      func(grp int)
	layer, s0, s1         int
	qkv, att, z, dz, dqkv []float32

	// c_attn's Wᵀ packed once per layer for the backward's dX pieces.
	qkvWT tensor.PackedB
}

// gptWeights are named views of one flat buffer (values or gradients).
type gptWeights struct {
	wte    []float32 // (V, C)
	wpe    []float32 // (NCtx, C)
	lnfW   []float32 // (C), nil without LayerNorm
	lnfB   []float32 // (C)
	lmHead []float32 // (C, V), nil when tied
	layers []gptLayerWeights
}

type gptLayerWeights struct {
	ln1W, ln1B []float32 // (C), nil without LayerNorm
	qkvW       []float32 // (C, 3C): columns [0,C) are Q, [C,2C) K, [2C,3C) V; head h is columns h·Dh.. of each
	qkvB       []float32 // (3C)
	projW      []float32 // (C, C) W_O
	projB      []float32 // (C)
	ln2W, ln2B []float32 // (C), nil without LayerNorm or MLP
	fcW        []float32 // (C, F), nil with AttnOnly
	fcB        []float32 // (F)
	fcProjW    []float32 // (F, C)
	fcProjB    []float32 // (C)
}

// gptActs holds the activations of one Forward (kept for Backward and for
// the probes) and the scratch of Backward. Per-layer slabs are laid out as
// (L, B, T, ·) with the strides of the current (B, T); they are allocated
// for the largest B·T (and B·H·T·T) seen and reused.
type gptActs struct {
	capBT, capAtt int // capacity in tokens and in attention entries per layer
	capT          int // capacity in context length (of the backward's scratch)
	// attB, attT: the batch shape whose patterns att holds, upper
	// triangles 0 (0, 0 for a new buffer); see GPT.attZero.
	attB, attT int

	embed    []float32 // (B, T, C) wte[tokens]: hook_embed
	posEmbed []float32 // (T, C) wpe[0:T]: hook_pos_embed
	encoded  []float32 // (B, T, C) embed + pos: resid_pre of block 0
	ln1      []float32 // (L, B, T, C)
	ln1Mean  []float32 // (L, B, T)
	ln1Rstd  []float32 // (L, B, T)
	qkv      []float32 // (L, B, T, 3C) per token [q | k | v], each (H, Dh)
	att      []float32 // (L, B, H, T, T) softmax probabilities, upper triangle 0: pattern
	atty     []float32 // (L, B, T, C) = (L, B, T, H, Dh) head outputs z (after the head mask)
	attProj  []float32 // (L, B, T, C) attn_out
	resid2   []float32 // (L, B, T, C) resid_mid (resid_post with AttnOnly)
	ln2      []float32 // (L, B, T, C)
	ln2Mean  []float32 // (L, B, T)
	ln2Rstd  []float32 // (L, B, T)
	fch      []float32 // (L, B, T, F) mlp pre-activation
	fchAct   []float32 // (L, B, T, F) mlp post-activation
	fcProj   []float32 // (L, B, T, C) mlp_out
	resid3   []float32 // (L, B, T, C) resid_post
	lnf      []float32 // (B, T, C)
	lnfMean  []float32 // (B, T)
	lnfRstd  []float32 // (B, T)
	logits   []float32 // (B, T, V)
	dlogits  []float32 // (B, T, V) d(mean loss)/d(logits), written by Forward with targets

	dresid []float32 // (B, T, C) gradient of the residual stream, flowing down
	dC     []float32 // (B, T, C) scratch: d(ln_f out), d(z), d(ln out)
	dF     []float32 // (B, T, F) d(mlp post)
	dF2    []float32 // (B, T, F) d(mlp pre)
	dqkv   []float32 // (B, T, 3C)
}

// NewGPT builds a GPT with weights drawn from rng: N(0, InitStd²) for
// matrices, InitStd/√(2·NLayers) for the residual projections attn.c_proj and
// mlp.c_proj (GPT-2's scaled init), N(0, EmbedInitStd²) for wte and wpe
// (EmbedInitStd 0 means InitStd; InitStd 0 means GPT-2's 0.02), biases 0 and
// LayerNorm gains 1. Weight decay is on for the 2-D matrices except the
// embeddings. cfg must be valid (New validates; NewGPT panics on a config
// that Validate rejects, a programming error).
func NewGPT(cfg Config, rng *rand.Rand) *GPT {
	if err := cfg.Validate(); err != nil {
		panic("nn.NewGPT: " + err.Error())
	}
	if cfg.Arch != ArchGPT {
		panic("nn.NewGPT: config arch is " + cfg.Arch)
	}
	C, V, F, L := cfg.DModel, cfg.DVocab, cfg.HiddenMLP(), cfg.NLayers
	var b paramBuilder
	b.add("wte.weight", false, V, C)
	b.add("wpe.weight", false, cfg.NCtx, C)
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("h.%d.", l)
		if cfg.LayerNorm {
			b.add(p+"ln_1.weight", false, C)
			b.add(p+"ln_1.bias", false, C)
		}
		b.add(p+"attn.c_attn.weight", true, C, 3*C)
		b.add(p+"attn.c_attn.bias", false, 3*C)
		b.add(p+"attn.c_proj.weight", true, C, C)
		b.add(p+"attn.c_proj.bias", false, C)
		if !cfg.AttnOnly {
			if cfg.LayerNorm {
				b.add(p+"ln_2.weight", false, C)
				b.add(p+"ln_2.bias", false, C)
			}
			b.add(p+"mlp.c_fc.weight", true, C, F)
			b.add(p+"mlp.c_fc.bias", false, F)
			b.add(p+"mlp.c_proj.weight", true, F, C)
			b.add(p+"mlp.c_proj.bias", false, C)
		}
	}
	if cfg.LayerNorm {
		b.add("ln_f.weight", false, C)
		b.add("ln_f.bias", false, C)
	}
	if !cfg.TiedEmbeddings {
		b.add("lm_head.weight", true, C, V)
	}
	m := &GPT{cfg: cfg, ps: b.build()}
	m.w = m.views(m.ps.Data)
	m.g = m.views(m.ps.Grad)

	std := cfg.InitStd
	if std == 0 {
		std = 0.02
	}
	estd := cfg.EmbedInitStd
	if estd == 0 {
		estd = std
	}
	rstd := std / math.Sqrt(2*float64(L))
	for _, p := range m.ps.Params {
		x := m.ps.Data[p.Off : p.Off+p.Size]
		switch {
		case p.Name == "wte.weight" || p.Name == "wpe.weight":
			normal(x, estd, rng)
		case strings.HasSuffix(p.Name, "c_proj.weight"):
			normal(x, rstd, rng)
		case strings.HasSuffix(p.Name, ".bias"):
			// zero
		case strings.Contains(p.Name, "ln_"):
			fill(x, 1)
		default:
			normal(x, std, rng)
		}
	}
	m.buildActivationIndex()
	m.fwdFn = m.forwardMicro
	m.bwdFn = m.backwardMicro
	for k := range m.micro {
		mb := &m.micro[k]
		mb.m = m
		mb.attnFwd, mb.attnBwd = mb.attentionForwardGroup, mb.attentionBackwardGroup
	}
	return m
}

// views cuts buf (Data or Grad) into the named tensors.
func (m *GPT) views(buf []float32) gptWeights { return viewGPTWeights(m.ps, buf, m.cfg.NLayers) }

// Config returns the model's configuration.
func (m *GPT) Config() Config { return m.cfg }

// Params returns the parameter set.
func (m *GPT) Params() *ParamSet { return m.ps }

// SetSkipIgnored turns on (or off) skipping, in every later Forward with
// targets, the work that only feeds the logits of ignored targets (target
// < 0). In the last block such a row matters only through its keys and
// values, which later rows attend to; everything after the attention
// (attn.c_proj, the residual, ln_2, the MLP, ln_f, the unembedding and the
// loss) feeds only its own logits, whose loss gradient is zero. So those
// steps run on the kept rows alone, compacted, in Forward and in
// Backward's products for the activations, while the weight gradients sum
// over the kept rows in the chunks of the full batch (tensor.RowSet): the
// loss, every gradient and the kept rows' logits are bit for bit those
// without skipping. What is lost is the skipped rows' logits and last-block
// activations: Logits panics and Activation refuses those names after such
// a Forward, so the setting is for a loop that reads only the loss and the
// gradients (the trainer). A Forward without targets computes every row.
func (m *GPT) SetSkipIgnored(on bool) { m.skipIgnored = on }

// SetHeadMask sets a per-head scale on the attention heads' outputs z:
// head h of layer l contributes mask[l·NHeads + h]·z to attn.c_proj, in every
// later Forward and Backward, until changed. 0 zero-ablates a head; 1 leaves
// it unchanged; nil removes the mask. The stored hook_z is the scaled z (what
// c_proj sees). The mask is copied. It fails if len(mask) is not
// NLayers·NHeads.
func (m *GPT) SetHeadMask(mask []float32) error {
	return setHeadMask(&m.headMask, mask, m.cfg.NLayers*m.cfg.NHeads, "gpt head mask")
}

// HeadMask returns a copy of the current head mask (nil when none).
func (m *GPT) HeadMask() []float32 { return copyHeadMask(m.headMask) }

// setHeadMask is SetHeadMask for every model: nil removes *dst, a mask of
// want = NLayers·NHeads values is copied into it, any other length is an
// error prefixed with what.
func setHeadMask(dst *[]float32, mask []float32, want int, what string) error {
	if mask == nil {
		*dst = nil
		return nil
	}
	if len(mask) != want {
		return fmt.Errorf("%s: got %d values, want NLayers·NHeads = %d", what, len(mask), want)
	}
	*dst = append((*dst)[:0], mask...)
	return nil
}

// copyHeadMask is HeadMask for every model: a copy, nil for none.
func copyHeadMask(mask []float32) []float32 {
	if mask == nil {
		return nil
	}
	return append([]float32(nil), mask...)
}

// FLOPsPerToken is 6·N + 6·NLayers·T·DModel (Kaplan et al. 2020, Table 1:
// forward 2N + 2·n_layer·n_ctx·d_attn, backward twice that), where N counts
// the weight matrices that multiply activations: per block c_attn, c_proj and
// (without AttnOnly) the two MLP matrices, plus the unembedding (tied or not).
// Embedding lookups, biases and norms are not counted. Note that Kaplan's
// attention term counts only the QKᵀ product; the engine also computes the
// pattern·V product, so its arithmetic is 6·NLayers·T·DModel higher.
func (m *GPT) FLOPsPerToken(T int) float64 {
	C, F, L, V := float64(m.cfg.DModel), float64(m.cfg.HiddenMLP()), float64(m.cfg.NLayers), float64(m.cfg.DVocab)
	perLayer := 3*C*C + C*C
	if !m.cfg.AttnOnly {
		perLayer += 2 * C * F
	}
	n := L*perLayer + C*V
	return 6*n + 6*L*float64(T)*C
}

// ensure sizes the activation buffers for a (B, T) batch, reallocating only
// when B·T or B·H·T·T exceeds what was allocated before.
func (m *GPT) ensure(B, T int) {
	a := &m.act
	BT, att := B*T, B*m.cfg.NHeads*T*T
	if BT <= a.capBT && att <= a.capAtt && T <= a.capT {
		return
	}
	BT, att, T = max(BT, a.capBT), max(att, a.capAtt), max(T, a.capT)
	C, F, L, V := m.cfg.DModel, m.cfg.HiddenMLP(), m.cfg.NLayers, m.cfg.DVocab
	mlp := !m.cfg.AttnOnly
	ln := m.cfg.LayerNorm
	f := func(n int, keep bool) []float32 {
		if !keep {
			return nil
		}
		return make([]float32, n)
	}
	*a = gptActs{capBT: BT, capAtt: att, capT: T,
		embed: f(BT*C, true), posEmbed: f(m.cfg.NCtx*C, true), encoded: f(BT*C, true),
		ln1: f(L*BT*C, ln), ln1Mean: f(L*BT, ln), ln1Rstd: f(L*BT, ln),
		qkv: f(L*BT*3*C, true), att: f(L*att, true), atty: f(L*BT*C, true),
		attProj: f(L*BT*C, true), resid2: f(L*BT*C, true),
		ln2: f(L*BT*C, ln && mlp), ln2Mean: f(L*BT, ln && mlp), ln2Rstd: f(L*BT, ln && mlp),
		fch: f(L*BT*F, mlp), fchAct: f(L*BT*F, mlp), fcProj: f(L*BT*C, mlp), resid3: f(L*BT*C, mlp),
		lnf: f(BT*C, ln), lnfMean: f(BT, ln), lnfRstd: f(BT, ln),
		logits: f(BT*V, true), dlogits: f(BT*V, true),
		dresid: f(BT*C, true), dC: f(BT*C, true), dF: f(BT*F, mlp), dF2: f(BT*F, mlp),
		dqkv: f(BT*3*C, true),
	}
	m.tokens = make([]int32, BT)
	m.keepIdx, m.keepTgt = make([]int32, BT), make([]int32, BT)
}

// layer slices the per-layer slab s (L, B, T, n) at layer l for the current
// (B, T).
func (m *GPT) layer(s []float32, l, n int) []float32 {
	sz := m.B * m.T * n
	return s[l*sz : (l+1)*sz : (l+1)*sz]
}

// resIn is the residual stream entering block l, (B, T, C).
func (m *GPT) resIn(l int) []float32 {
	if l == 0 {
		return m.act.encoded[: m.B*m.T*m.cfg.DModel : m.B*m.T*m.cfg.DModel]
	}
	return m.resOut(l - 1)
}

// resOut is the residual stream leaving block l, (B, T, C).
func (m *GPT) resOut(l int) []float32 {
	if m.cfg.AttnOnly {
		return m.layer(m.act.resid2, l, m.cfg.DModel)
	}
	return m.layer(m.act.resid3, l, m.cfg.DModel)
}

// Forward runs the model on tokens (B, T); see Model.Forward. It panics on
// shapes or token ids out of range (programming errors: the data pipeline
// guarantees them).
//
// The batch is cut into micro-batches (gptMicroBatches) that run in
// parallel, each on its own rows of the buffers; every row's arithmetic is
// the same whatever the cut, so the logits do not depend on it.
func (m *GPT) Forward(tokens, targets []int32, B, T int) float32 {
	cfg := m.cfg
	V := cfg.DVocab
	BT := B * T
	if B <= 0 || T <= 0 || T > cfg.NCtx || len(tokens) < BT || (targets != nil && len(targets) < BT) {
		panic(fmt.Sprintf("nn.GPT.Forward: bad shape B=%d T=%d (n_ctx %d, %d tokens, %d targets)", B, T, cfg.NCtx, len(tokens), len(targets)))
	}
	for _, id := range tokens[:BT] {
		if id < 0 || int(id) >= V {
			panic(fmt.Sprintf("nn.GPT.Forward: token id %d outside [0, %d)", id, V))
		}
	}
	count := 0
	if targets != nil {
		for _, tg := range targets[:BT] {
			if int(tg) >= V {
				panic(fmt.Sprintf("nn.GPT.Forward: target id %d outside [0, %d)", tg, V))
			}
			if tg >= 0 {
				count++
			}
		}
	}
	m.ensure(B, T)
	m.B, m.T, m.ready = B, T, false
	m.attZero = m.act.attB == B && m.act.attT == T
	m.act.attB, m.act.attT = B, T
	copy(m.tokens, tokens[:BT])
	copy(m.act.posEmbed[:T*cfg.DModel], m.w.wpe[:T*cfg.DModel]) // (T, C)
	m.targets, m.count = targets, count
	m.skipping = m.skipIgnored && targets != nil
	m.nMicro = min(B, gptMicroBatches)
	for k := 0; k < m.nMicro; k++ {
		mb := &m.micro[k]
		mb.b0, mb.b1 = k*B/m.nMicro, (k+1)*B/m.nMicro
		mb.loss = 0
		if m.skipping {
			r0, n := mb.b0*T, (mb.b1-mb.b0)*T
			idx, tgt := m.keepIdx[r0:r0], m.keepTgt[r0:r0]
			for r, tg := range targets[r0 : r0+n] {
				if tg >= 0 {
					idx, tgt = append(idx, int32(r)), append(tgt, tg)
				}
			}
			mb.keep, mb.keepTgt = tensor.RowSet{Idx: idx, Full: n}, tgt
		}
	}
	tensor.ParallelFor(m.nMicro, m.fwdFn)
	m.targets = nil
	if targets == nil {
		return 0
	}
	m.ready = true
	if count == 0 {
		return 0
	}
	var sum float64
	for k := 0; k < m.nMicro; k++ {
		sum += m.micro[k].loss
	}
	return float32(sum / float64(count))
}

// rows is the slice of a (B, T, n) buffer s holding micro-batch mb's rows.
func (mb *gptMicro) rows(s []float32, n int) []float32 {
	T := mb.m.T
	return s[mb.b0*T*n : mb.b1*T*n : mb.b1*T*n]
}

// first is the first r of micro-batch mb's rows of a (B, T, n) buffer s.
func (mb *gptMicro) first(s []float32, n, r int) []float32 {
	r0 := mb.b0 * mb.m.T
	return s[r0*n : (r0+r)*n : (r0+r)*n]
}

// tailRows is how many rows the blocks' work after attention runs on in
// layer l: all of the micro-batch's, or in the last block of a Forward
// that skips ignored rows only the kept ones (compacted, see SetSkipIgnored).
func (mb *gptMicro) tailRows(l int) int {
	m := mb.m
	if m.skipping && l == m.cfg.NLayers-1 {
		return len(mb.keep.Idx)
	}
	return (mb.b1 - mb.b0) * m.T
}

// gradGemm accumulates a weight gradient dW (m, n) += Xᵀ·dY over the k
// rows of X (k, m) and dY (k, n): the rows of the micro-batch, or its
// compacted kept rows (tensor.GemmTNRows, the same bits).
func (mb *gptMicro) gradGemm(compact bool, m, n, k int, x []float32, ldx int, dy []float32, ldy int, dw []float32, ldw int) {
	if compact {
		tensor.GemmTNRows(m, n, x, ldx, dy, ldy, dw, ldw, &mb.keep)
		return
	}
	tensor.Gemm(true, false, m, n, k, x, ldx, dy, ldy, 1, dw, ldw)
}

// lnBackward is tensor.LayerNormBackward on the micro-batch's rows, or on
// its compacted kept rows (LayerNormBackwardRows, the same bits).
func (mb *gptMicro) lnBackward(compact bool, dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, rows, n int) {
	if compact {
		tensor.LayerNormBackwardRows(dx, dgamma, dbeta, dout, x, gamma, mean, rstd, &mb.keep, n)
		return
	}
	tensor.LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd, rows, n)
}

// forwardMicro is Forward on micro-batch k.
func (m *GPT) forwardMicro(k int) {
	mb := &m.micro[k]
	cfg := m.cfg
	C, V, F, H, T := cfg.DModel, cfg.DVocab, cfg.HiddenMLP(), cfg.NHeads, m.T
	n := (mb.b1 - mb.b0) * T // rows of this micro-batch
	a, w := &m.act, &m.w

	// Embeddings: x₀ = wte[tokens] + wpe[0:T].
	embed := mb.rows(a.embed, C)
	tensor.Gather(embed, w.wte, mb.rows32(m.tokens), C) // (n, C)
	pos := a.posEmbed[:T*C]
	enc := mb.rows(a.encoded, C)
	for b := 0; b < mb.b1-mb.b0; b++ {
		tensor.Add(enc[b*T*C:(b+1)*T*C], embed[b*T*C:(b+1)*T*C], pos) // (T, C)
	}

	for l := 0; l < cfg.NLayers; l++ {
		lw := &w.layers[l]
		x := mb.rows(m.resIn(l), C) // (n, C)

		// ln_1
		h := x
		if cfg.LayerNorm {
			h = mb.rows(m.layer(a.ln1, l, C), C)
			tensor.LayerNormForward(h, mb.rows(m.layer(a.ln1Mean, l, 1), 1), mb.rows(m.layer(a.ln1Rstd, l, 1), 1), x, lw.ln1W, lw.ln1B, n, C, lnEps)
		}
		// c_attn: qkv = h·W + b
		qkv := m.layer(a.qkv, l, 3*C) // (B, T, 3C)
		tensor.GemmBias(false, false, n, 3*C, C, h, C, lw.qkvW, 3*C, lw.qkvB, mb.rows(qkv, 3*C), 3*C)
		// causal self-attention per (b, head) -> z
		z := m.layer(a.atty, l, C) // (B, T, C)
		mb.layer, mb.qkv, mb.att, mb.z = l, qkv, m.layer(a.att, l, H*T), z
		mb.attentionForward()
		// After the attention, the block runs on nr rows: all n, or in the
		// last block of a Forward that skips ignored rows the kept ones,
		// compacted at the start of the micro-batch's rows (z in place,
		// resid_pre into resid_mid's rows; SetSkipIgnored).
		nr := mb.tailRows(l)
		zr, xr := mb.rows(z, C), x
		if nr < n {
			tensor.GatherRows(zr, zr, &mb.keep, C)
			xr = mb.first(m.layer(a.resid2, l, C), C, nr)
			tensor.GatherRows(xr, x, &mb.keep, C)
		}
		// c_proj: attn_out = z·W_O + b
		ao := mb.first(m.layer(a.attProj, l, C), C, nr) // (nr, C)
		tensor.GemmBias(false, false, nr, C, C, zr, C, lw.projW, C, lw.projB, ao, C)
		r2 := mb.first(m.layer(a.resid2, l, C), C, nr) // (nr, C)
		tensor.Add(r2, xr, ao)                         // resid_mid = resid_pre + attn_out

		if cfg.AttnOnly {
			continue
		}
		// ln_2
		h2 := r2
		if cfg.LayerNorm {
			h2 = mb.first(m.layer(a.ln2, l, C), C, nr)
			tensor.LayerNormForward(h2, mb.first(m.layer(a.ln2Mean, l, 1), 1, nr), mb.first(m.layer(a.ln2Rstd, l, 1), 1, nr), r2, lw.ln2W, lw.ln2B, nr, C, lnEps)
		}
		// c_fc, activation, c_proj
		pre := mb.first(m.layer(a.fch, l, F), F, nr) // (nr, F)
		tensor.GemmBias(false, false, nr, F, C, h2, C, lw.fcW, F, lw.fcB, pre, F)
		post := mb.first(m.layer(a.fchAct, l, F), F, nr) // (nr, F)
		if cfg.Act == "relu" {
			tensor.ReLUForward(post, pre)
		} else {
			tensor.GELUForward(post, pre)
		}
		mo := mb.first(m.layer(a.fcProj, l, C), C, nr) // (nr, C)
		tensor.GemmBias(false, false, nr, C, F, post, F, lw.fcProjW, C, lw.fcProjB, mo, C)
		r3 := mb.first(m.layer(a.resid3, l, C), C, nr) // (nr, C)
		tensor.Add(r3, r2, mo)                         // resid_post = resid_mid + mlp_out
	}

	// ln_f and the unembedding, on the last block's nr rows.
	nr := mb.tailRows(cfg.NLayers - 1)
	xf := mb.first(m.resOut(cfg.NLayers-1), C, nr) // (nr, C)
	if cfg.LayerNorm {
		y := mb.first(a.lnf, C, nr)
		tensor.LayerNormForward(y, mb.first(a.lnfMean, 1, nr), mb.first(a.lnfRstd, 1, nr), xf, w.lnfW, w.lnfB, nr, C, lnEps)
		xf = y
	}
	logits := mb.first(a.logits, V, nr) // (nr, V)
	if cfg.TiedEmbeddings {
		tensor.Gemm(false, true, nr, V, C, xf, C, w.wte, C, 0, logits, V)
	} else {
		tensor.Gemm(false, false, nr, V, C, xf, C, w.lmHead, V, 0, logits, V)
	}
	if m.targets == nil {
		return
	}
	// Cross-entropy over the counted targets (of the whole batch), fused
	// with its gradient.
	dlogits := mb.first(a.dlogits, V, nr)
	if m.count == 0 {
		clear(dlogits)
		return
	}
	if nr < n {
		mb.loss, _ = tensor.SoftmaxCrossEntropyRows(dlogits, logits, mb.keepTgt, &mb.keep, V, 1/float32(m.count))
		return
	}
	mb.loss, _ = tensor.SoftmaxCrossEntropy(dlogits, logits, mb.rows32(m.targets), n, V, 1/float32(m.count))
}

// rows32 is the slice of a (B, T) token buffer holding mb's rows.
func (mb *gptMicro) rows32(s []int32) []int32 {
	T := mb.m.T
	return s[mb.b0*T : mb.b1*T : mb.b1*T]
}

// attentionForward computes, for every (b, head) pair of the micro-batch,
// the causal softmax pattern and z = pattern·V of layer mb.layer, in
// attnGroups fixed groups that run in parallel when the micro-batch runs
// alone. Each pair writes only its own (T, T) pattern and its own Dh
// columns of z, so the result does not depend on the grouping.
func (mb *gptMicro) attentionForward() {
	mb.s0, mb.s1 = mb.b0, mb.b1
	tensor.ParallelFor(min(attnGroups, (mb.b1-mb.b0)*mb.m.cfg.NHeads), mb.attnFwd)
}

// pairs is group grp's (b, head) pairs [i0, i1) of the sequences [s0, s1),
// numbered b·H + h over the whole batch.
func (mb *gptMicro) pairs(grp int) (i0, i1 int) {
	H := mb.m.cfg.NHeads
	p0, n := mb.s0*H, (mb.s1-mb.s0)*H
	groups := min(attnGroups, n)
	return p0 + grp*n/groups, p0 + (grp+1)*n/groups
}

func (mb *gptMicro) attentionForwardGroup(grp int) {
	m := mb.m
	T, C, H := m.T, m.cfg.DModel, m.cfg.NHeads
	Dh := C / H
	scale := float32(1 / math.Sqrt(float64(Dh)))
	var mask []float32
	if m.headMask != nil {
		mask = m.headMask[mb.layer*H : (mb.layer+1)*H]
	}
	sp := tensor.Scratch(T * Dh)
	defer tensor.Release(sp)
	kT := *sp
	i0, i1 := mb.pairs(grp)
	for i := i0; i < i1; i++ {
		b, h := i/H, i%H
		q := mb.qkv[b*T*3*C+h*Dh:] // (T, Dh), row stride 3C
		k := q[C:]                 // (T, Dh), row stride 3C
		v := q[2*C:]               // (T, Dh), row stride 3C
		p := mb.att[i*T*T : (i+1)*T*T]
		zh := mb.z[b*T*C+h*Dh:] // (T, Dh), row stride C
		// pattern = causal softmax(q·kᵀ/√Dh) (T, T); z (T, Dh) = pattern·v
		tensor.AttentionHeadForward(p, zh, C, q, k, v, 3*C, T, Dh, scale, kT, m.attZero)
		if mask != nil && mask[h] != 1 {
			for t := 0; t < T; t++ {
				tensor.Scale(zh[t*C:t*C+Dh], mask[h])
			}
		}
	}
}

// attentionBackward writes the rows of sequences [s0, s1) of dqkv (B, T,
// 3C) for layer mb.layer from dz (B, T, C), scaling dz by the head mask in
// place. Each pair writes its own columns of its sequence's rows, so the
// grouping of pairs does not change the result.
func (mb *gptMicro) attentionBackward(s0, s1 int) {
	mb.s0, mb.s1 = s0, s1
	tensor.ParallelFor(min(attnGroups, (s1-s0)*mb.m.cfg.NHeads), mb.attnBwd)
}

// attnScratchLen is the attention backward's scratch per head: d(pattern),
// d(scores·scale) and the head's vᵀ.
func attnScratchLen(T, Dh int) int { return 2*T*T + Dh*T }

func (mb *gptMicro) attentionBackwardGroup(grp int) {
	m := mb.m
	T, C, H := m.T, m.cfg.DModel, m.cfg.NHeads
	Dh := C / H
	scale := float32(1 / math.Sqrt(float64(Dh)))
	var mask []float32
	if m.headMask != nil {
		mask = m.headMask[mb.layer*H : (mb.layer+1)*H]
	}
	sp := tensor.Scratch(attnScratchLen(T, Dh))
	defer tensor.Release(sp)
	i0, i1 := mb.pairs(grp)
	for i := i0; i < i1; i++ {
		b, h := i/H, i%H
		off := b*T*3*C + h*Dh
		q, k, v := mb.qkv[off:], mb.qkv[off+C:], mb.qkv[off+2*C:]       // (T, Dh), row stride 3C
		dq, dk, dv := mb.dqkv[off:], mb.dqkv[off+C:], mb.dqkv[off+2*C:] // (T, Dh), row stride 3C
		p := mb.att[i*T*T : (i+1)*T*T]                                  // (T, T)
		dzh := mb.dz[b*T*C+h*Dh:]                                       // (T, Dh), row stride C
		if mask != nil && mask[h] != 1 {
			for t := 0; t < T; t++ {
				tensor.Scale(dzh[t*C:t*C+Dh], mask[h])
			}
		}
		// dp = dz·vᵀ, dv = pᵀ·dz, dpre = scale·p⊙(dp − rowsum(dp⊙p)),
		// dq = dpre·k, dk = dpreᵀ·q (each head's columns of dqkv are
		// written by this pair only, so overwrite).
		tensor.AttentionHeadBackward(dq, dk, dv, 3*C, dzh, C, q, k, v, p, T, Dh, scale, *sp)
	}
}

// Backward accumulates the gradient of the last Forward's mean loss into
// Params().Grad. It panics if the last Forward had no targets.
//
// Each micro-batch runs the backward of its rows into its own gradients;
// micro-batch 1's are then added to Grad (see gptMicroBatches).
func (m *GPT) Backward() {
	if !m.ready {
		panic("nn.GPT.Backward: the last Forward had no targets")
	}
	for k := 1; k < m.nMicro; k++ {
		mb := &m.micro[k]
		if mb.grad == nil {
			mb.grad = make([]float32, len(m.ps.Grad))
			mb.g = m.views(mb.grad)
		}
	}
	m.micro[0].g = m.g
	tensor.ParallelFor(m.nMicro, m.bwdFn)
	for k := 1; k < m.nMicro; k++ {
		tensor.Add(m.ps.Grad, m.ps.Grad, m.micro[k].grad)
	}
}

// backwardMicro is Backward on micro-batch k, into its gradients
// (micro-batches ≥ 1 clear theirs first).
func (m *GPT) backwardMicro(k int) {
	mb := &m.micro[k]
	if k > 0 {
		clear(mb.grad)
	}
	cfg := m.cfg
	C, V, F, T := cfg.DModel, cfg.DVocab, cfg.HiddenMLP(), m.T
	n := (mb.b1 - mb.b0) * T
	a, w, g := &m.act, &m.w, &mb.g
	// The last block after its attention, ln_f and the unembedding ran on
	// nr rows, compacted when nr < n (forwardMicro); so do their backward
	// products here, the weight gradients through the compacted kernels
	// that give the full products' bits (tensor.RowSet).
	nr := mb.tailRows(cfg.NLayers - 1)
	compact := nr < n
	dlogits := mb.first(a.dlogits, V, nr) // (nr, V)
	dresid := mb.first(a.dresid, C, nr)   // (nr, C) d loss / d residual stream, flowing down
	dC := mb.first(a.dC, C, nr)           // (nr, C) scratch

	// Unembedding: logits = xf·wteᵀ (or xf·lm_head).
	xf := mb.first(m.resOut(cfg.NLayers-1), C, nr)
	if cfg.LayerNorm {
		xf = mb.first(a.lnf, C, nr)
	}
	dxf := dresid // without ln_f, d(xf) is the residual gradient itself
	if cfg.LayerNorm {
		dxf = dC
	}
	if cfg.TiedEmbeddings {
		tensor.Gemm(false, false, nr, C, V, dlogits, V, w.wte, C, 0, dxf, C)
		mb.gradGemm(compact, V, C, nr, dlogits, V, xf, C, g.wte, C)
	} else {
		tensor.Gemm(false, true, nr, C, V, dlogits, V, w.lmHead, V, 0, dxf, C)
		mb.gradGemm(compact, C, V, nr, xf, C, dlogits, V, g.lmHead, V)
	}
	if cfg.LayerNorm {
		clear(dresid)
		mb.lnBackward(compact, dresid, g.lnfW, g.lnfB, dxf, mb.first(m.resOut(cfg.NLayers-1), C, nr), w.lnfW, mb.first(a.lnfMean, 1, nr), mb.first(a.lnfRstd, 1, nr), nr, C)
	}

	for l := cfg.NLayers - 1; l >= 0; l-- {
		lw, lg := &w.layers[l], &g.layers[l]
		if l < cfg.NLayers-1 {
			nr, compact = n, false
			dresid, dC = mb.rows(a.dresid, C), mb.rows(a.dC, C)
		}
		r2 := mb.first(m.layer(a.resid2, l, C), C, nr)
		if !cfg.AttnOnly {
			// resid_post = resid_mid + mlp_out: d(mlp_out) = dresid.
			pre, post := mb.first(m.layer(a.fch, l, F), F, nr), mb.first(m.layer(a.fchAct, l, F), F, nr)
			dpost, dpre := mb.first(a.dF, F, nr), mb.first(a.dF2, F, nr)
			// c_proj: mlp_out = post·W + b
			tensor.Gemm(false, true, nr, F, C, dresid, C, lw.fcProjW, C, 0, dpost, F)
			mb.gradGemm(compact, F, C, nr, post, F, dresid, C, lg.fcProjW, C)
			tensor.BiasGrad(lg.fcProjB, dresid, nr, C)
			// activation and c_fc's bias: dpre (overwritten), fcB += Σ dpre
			if cfg.Act == "relu" {
				clear(dpre)
				tensor.ReLUBackward(dpre, pre, dpost)
				tensor.BiasGrad(lg.fcB, dpre, nr, F)
			} else {
				tensor.GELUBiasBackward(dpre, lg.fcB, pre, dpost, nr, F)
			}
			// c_fc: pre = h2·W + b
			h2 := r2
			if cfg.LayerNorm {
				h2 = mb.first(m.layer(a.ln2, l, C), C, nr)
			}
			mb.gradGemm(compact, C, F, nr, h2, C, dpre, F, lg.fcW, F)
			if cfg.LayerNorm {
				tensor.Gemm(false, true, nr, C, F, dpre, F, lw.fcW, F, 0, dC, C)
				// ln_2 accumulates into dresid, which becomes d(resid_mid).
				mb.lnBackward(compact, dresid, lg.ln2W, lg.ln2B, dC, r2, lw.ln2W, mb.first(m.layer(a.ln2Mean, l, 1), 1, nr), mb.first(m.layer(a.ln2Rstd, l, 1), 1, nr), nr, C)
			} else {
				tensor.Gemm(false, true, nr, C, F, dpre, F, lw.fcW, F, 1, dresid, C)
			}
		}

		// resid_mid = resid_pre + attn_out: d(attn_out) = dresid.
		z := mb.first(m.layer(a.atty, l, C), C, nr)
		tensor.Gemm(false, true, nr, C, C, dresid, C, lw.projW, C, 0, dC, C) // dz
		mb.gradGemm(compact, C, C, nr, z, C, dresid, C, lg.projW, C)
		tensor.BiasGrad(lg.projB, dresid, nr, C)
		if compact {
			// Back to all rows: an ignored row's d(z) and d(resid_mid)
			// are zero (its K and V still get gradients from later rows).
			dresid, dC = mb.rows(a.dresid, C), mb.rows(a.dC, C)
			tensor.ExpandRows(dC, &mb.keep, C)
			tensor.ExpandRows(dresid, &mb.keep, C)
		}
		// c_attn's dX is ln_1's output gradient, or without LayerNorm
		// part of the residual stream's.
		x := mb.rows(m.resIn(l), C)
		if !cfg.LayerNorm {
			m.qkvBackward(mb, l, x, dresid, 1)
		} else {
			m.qkvBackward(mb, l, mb.rows(m.layer(a.ln1, l, C), C), dC, 0)
			tensor.LayerNormBackward(dresid, lg.ln1W, lg.ln1B, dC, x, lw.ln1W, mb.rows(m.layer(a.ln1Mean, l, 1), 1), mb.rows(m.layer(a.ln1Rstd, l, 1), 1), n, C)
		}
	}

	// x₀ = wte[tokens] + wpe[0:T]
	tensor.ScatterAdd(g.wte, dresid, mb.rows32(m.tokens), C)
	tensor.BiasGrad(g.wpe[:T*C], dresid, mb.b1-mb.b0, T*C)
}

// qkvBackward runs layer l's attention backward and c_attn's on micro-batch
// mb: dqkv from dz (in dC), then c_attn's weight and bias gradients from
// dqkv and its input h (ln_1's output, or the residual stream), and
// dX = dqkv·Wᵀ, written to dx with beta 0 or added to it with beta 1.
//
// The attention backward runs a few sequences at a time, and c_attn's
// products take each finished piece of dqkv's rows while it is in L2
// (whole, it is 3C floats a row, several MB, read back cold). The weight
// gradient's pieces start at multiples of the GEMM's k-block, so its bits
// are those of one product over all rows; BiasGrad sums rows in order and
// the dX rows are independent. dX may overwrite dC, which holds dz: only
// rows of sequences whose attention backward has already read them.
func (m *GPT) qkvBackward(mb *gptMicro, l int, h, dx []float32, beta float32) {
	C, H, T, a := m.cfg.DModel, m.cfg.NHeads, m.T, &m.act
	lw, lg := &m.w.layers[l], &mb.g.layers[l]
	mb.layer, mb.qkv, mb.att = l, m.layer(a.qkv, l, 3*C), m.layer(a.att, l, H*T)
	mb.dz, mb.dqkv = a.dC[:m.B*T*C], a.dqkv[:m.B*T*3*C]
	dqkv := mb.rows(a.dqkv, 3*C)
	mb.qkvWT.Pack(true, C, 3*C, lw.qkvW, 3*C)
	kb := tensor.GemmKBlock()
	seqs := max(1, (kb+T-1)/T)
	if m.pieceSeqs > 0 {
		seqs = m.pieceSeqs
	}
	for s0, r0 := mb.b0, 0; s0 < mb.b1; {
		s1 := min(s0+seqs, mb.b1)
		mb.attentionBackward(s0, s1)
		s0 = s1
		r1 := (s1 - mb.b0) * T
		if s1 < mb.b1 {
			r1 -= r1 % kb
		}
		if r1 == r0 {
			continue
		}
		rows, dq := r1-r0, dqkv[r0*3*C:]
		tensor.Gemm(true, false, C, 3*C, rows, h[r0*C:], C, dq, 3*C, 1, lg.qkvW, 3*C)
		tensor.BiasGrad(lg.qkvB, dq, rows, 3*C)
		tensor.GemmPackedB(rows, dq, 3*C, &mb.qkvWT, beta, dx[r0*C:], C)
		r0 = r1
	}
}

// Logits returns the logits of the last Forward, (B, T, DVocab); the slice
// is the model's buffer, overwritten by the next Forward. It panics if the
// last Forward skipped the rows of ignored targets (SetSkipIgnored): those
// logits were never computed.
func (m *GPT) Logits() []float32 {
	if m.skipping {
		panic("nn.GPT.Logits: the last Forward skipped the rows of ignored targets (SetSkipIgnored), so it has no logits for them")
	}
	n := m.B * m.T * m.cfg.DVocab
	return m.act.logits[:n:n]
}

// ActivationNames lists the names Activation answers for this model.
func (m *GPT) ActivationNames() []string { return append([]string(nil), m.actList...) }

// Activation returns a named activation of the last Forward (see
// ActivationNames), with its shape:
//
//	hook_embed, blocks.<l>.hook_resid_pre/mid/post, blocks.<l>.hook_attn_out,
//	blocks.<l>.attn.hook_z, ln_final.hook_normalized    (B, T, DModel) (z as (B, T, NHeads, DHead))
//	hook_pos_embed                                       (T, DModel)
//	blocks.<l>.attn.hook_q/k/v                           (B, T, NHeads, DHead)
//	blocks.<l>.attn.pattern                              (B, NHeads, T, T), 0 above the diagonal
//	blocks.<l>.mlp.pre/post                              (B, T, DMLP)
//	hook_logits                                          (B, T, DVocab)
//
// hook_resid_mid and the mlp names exist only with an MLP. hook_z is after
// the head mask. ln_final.hook_normalized is the final LayerNorm's output
// after its gain and bias (TransformerLens hooks it before them), the input
// of the unembedding; it exists only with LayerNorm. q, k and v are copied
// out of the fused QKV buffer; every other name returns a view of the
// model's buffer, valid until the next Forward, which the caller must not
// modify. After a Forward that skipped the rows of ignored targets
// (SetSkipIgnored), the last block's names from hook_z on, ln_final and
// hook_logits are not available (ok = false).
func (m *GPT) Activation(name string) ([]float32, []int, bool) {
	if m.B == 0 || m.skipping && m.tailActs[name] {
		return nil, nil, false
	}
	fn, ok := m.actFns[name]
	if !ok {
		return nil, nil, false
	}
	d, s := fn()
	return d, s, true
}

func (m *GPT) buildActivationIndex() {
	cfg := m.cfg
	C, F, H, V := cfg.DModel, cfg.HiddenMLP(), cfg.NHeads, cfg.DVocab
	Dh := cfg.DHead()
	m.actFns = map[string]func() ([]float32, []int){}
	add := func(name string, fn func() ([]float32, []int)) {
		m.actFns[name] = fn
		m.actList = append(m.actList, name)
	}
	btc := func(buf func() []float32) func() ([]float32, []int) {
		return func() ([]float32, []int) { return buf(), []int{m.B, m.T, C} }
	}
	add(ActName("embed", -1), btc(func() []float32 { return m.act.embed[: m.B*m.T*C : m.B*m.T*C] }))
	add(ActName("pos_embed", -1), func() ([]float32, []int) {
		return m.act.posEmbed[: m.T*C : m.T*C], []int{m.T, C}
	})
	for l := 0; l < cfg.NLayers; l++ {
		add(ActName("resid_pre", l), btc(func() []float32 { return m.resIn(l) }))
		for j, kind := range []string{"q", "k", "v"} {
			add(ActName(kind, l), func() ([]float32, []int) {
				qkv := m.layer(m.act.qkv, l, 3*C)
				out := make([]float32, m.B*m.T*C)
				for r := 0; r < m.B*m.T; r++ {
					copy(out[r*C:(r+1)*C], qkv[r*3*C+j*C:r*3*C+(j+1)*C])
				}
				return out, []int{m.B, m.T, H, Dh}
			})
		}
		add(ActName("pattern", l), func() ([]float32, []int) {
			return m.layer(m.act.att, l, H*m.T), []int{m.B, H, m.T, m.T}
		})
		add(ActName("z", l), func() ([]float32, []int) {
			return m.layer(m.act.atty, l, C), []int{m.B, m.T, H, Dh}
		})
		add(ActName("attn_out", l), btc(func() []float32 { return m.layer(m.act.attProj, l, C) }))
		if cfg.AttnOnly {
			add(ActName("resid_post", l), btc(func() []float32 { return m.layer(m.act.resid2, l, C) }))
			continue
		}
		add(ActName("resid_mid", l), btc(func() []float32 { return m.layer(m.act.resid2, l, C) }))
		add(ActName("mlp_pre", l), func() ([]float32, []int) {
			return m.layer(m.act.fch, l, F), []int{m.B, m.T, F}
		})
		add(ActName("mlp_post", l), func() ([]float32, []int) {
			return m.layer(m.act.fchAct, l, F), []int{m.B, m.T, F}
		})
		add(ActName("mlp_out", l), btc(func() []float32 { return m.layer(m.act.fcProj, l, C) }))
		add(ActName("resid_post", l), btc(func() []float32 { return m.layer(m.act.resid3, l, C) }))
	}
	if cfg.LayerNorm {
		add(ActName("ln_final", -1), btc(func() []float32 { return m.act.lnf[: m.B*m.T*C : m.B*m.T*C] }))
	}
	add(ActName("logits", -1), func() ([]float32, []int) { return m.Logits(), []int{m.B, m.T, V} })

	// The names a Forward that skips ignored rows leaves incomplete.
	m.tailActs = map[string]bool{ActName("ln_final", -1): true, ActName("logits", -1): true}
	for _, kind := range []string{"z", "attn_out", "resid_mid", "mlp_pre", "mlp_post", "mlp_out", "resid_post"} {
		m.tailActs[ActName(kind, cfg.NLayers-1)] = true
	}
}
