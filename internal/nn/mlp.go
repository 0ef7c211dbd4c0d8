package nn

// This file holds the window MLP language model of Bengio et al. 2003 ("A
// Neural Probabilistic Language Model", without the direct input→output
// connections): the next token is predicted from the concatenated
// embeddings of the last Window tokens through one hidden layer. It is the
// cheapest model that groks modular addition (Nanda et al. 2023's
// embedding + MLP setting: d = 64, window 2, 256 ReLU, AdamW weight
// decay 1.0; docs/calibration.md) and, over one-hot-like inputs, the
// sparse-parity learner of Michaud et al. 2023.
//
// The first layer's input is a concatenation of embedding rows, so its
// product splits by slot: x_t·W1 = Σ_j wte[tok_{t−W+1+j}]·W1_j with W1_j the
// D rows of W1 that slot j multiplies. The engine computes P_j = wte·W1_j
// once per pass (V·D·DMLP per slot, against B·T·D·DMLP for the product over
// the batch) and sums the P_j rows of each position's tokens (Devlin et al.
// 2014's pre-computation for the same kind of network); the backward sums
// each slot's dpre rows per token first (S_j, V × DMLP), so that
// dW1_j = wteᵀ·S_j and dwte += S_j·W1_jᵀ are products over V rows, not B·T.
//
// Training on task documents counts the loss at a few positions per
// document (the answer). A Forward with targets therefore runs only the
// counted positions (compacted; the backward runs on them too) and leaves
// the other positions' activations and logits to be computed when Logits
// or Activation asks for them, from the weights the Forward saw (the
// layers are per position, so the values are those a full pass gives).
//
// What it deliberately does not do: a tied unembedding (the hidden width
// differs from the embedding width in every calibrated setting), more than
// one hidden layer, dropout.

import (
	"fmt"
	"math"
	"math/rand/v2"

	"emlab/internal/tensor"
)

func init() {
	builders[ArchMLP] = func(cfg Config, rng *rand.Rand) Model { return newMLP(cfg, rng) }
}

// mlpModel computes, for every position t of a (B, T) batch,
//
//	x_t    = [wte[tok_{t−W+1}], …, wte[tok_t]]   (W·D; zero vectors before position 0)
//	pre_t  = x_t·W1 + b1                          (DMLP)   blocks.0.mlp.pre
//	post_t = act(pre_t)                           (DMLP)   blocks.0.mlp.post
//	logits = post_t·W2 + b2                       (V)      hook_logits
//
// with W = Window, D = DModel. Each sequence starts afresh: positions before
// 0 are zero vectors, never the previous sequence's tokens.
type mlpModel struct {
	cfg  Config
	relu bool

	ps                       *ParamSet
	pWte, pW1, pB1, pW2, pB2 int

	B, T, capBT int
	tokens      []int32   // (B, T)
	slots       []int32   // (W, B, T) slot j's token at each position, −1 before position 0
	embed       []float32 // (B, T, D)     hook_embed
	pre, post   []float32 // (B, T, DMLP)  valid when !partial or full
	logits      []float32 // (B, T, V)
	ready       bool
	proj        []float32 // (W, V, DMLP) P_j = wte·W1_j

	// The positions the last Forward with targets ran: all of them, or
	// (partial) the n counted ones, compacted into the C buffers. full
	// says pre, post and logits have since been completed for every
	// position, from the weights saved at the Forward.
	partial, full bool
	n             int
	slotsC        []int32   // (W, n) the counted positions' slot tokens
	targetsC      []int32   // (n)
	preC, postC   []float32 // (n, DMLP)
	logitsC       []float32 // (n, V)
	b1, w2, b2    []float32 // c_fc.bias, lm_head.weight and .bias as the Forward saw them
	dlogits       []float32 // (n, V)
	dpost, dpre   []float32 // (n, DMLP)
	dslots        []float32 // (W, V, DMLP) S_j: dpre summed per token of slot j
}

func newMLP(cfg Config, rng *rand.Rand) *mlpModel {
	D, W, F, V := cfg.DModel, cfg.Window, cfg.HiddenMLP(), cfg.DVocab
	var pb paramBuilder
	// All three matrices are decayed, the embedding included: Nanda et al.
	// 2023 decay every weight (AdamW wd 1.0), and grokking needs it
	// (docs/calibration.md: with wd 0 the held-out accuracy stays 0). Biases are
	// not, as everywhere in emlab.
	pb.add("wte.weight", true, V, D)
	pb.add("h.0.mlp.c_fc.weight", true, W*D, F) // W1, (in, out) as GPT-2
	pb.add("h.0.mlp.c_fc.bias", false, F)
	pb.add("lm_head.weight", true, F, V) // W2, (in, out)
	pb.add("lm_head.bias", false, V)
	m := &mlpModel{cfg: cfg, relu: cfg.Act == "relu", ps: pb.build(), pWte: 0, pW1: 1, pB1: 2, pW2: 3, pB2: 4}
	m.init(rng)
	return m
}

// init draws the weights in layout order. InitStd = 0 reproduces PyTorch's
// defaults: nn.Embedding N(0, 1) and nn.Linear(in, out) weight and bias
// U(−1/√in, 1/√in). InitStd > 0 draws the matrices from N(0, InitStd²)
// (the embedding from EmbedInitStd when set) and zeroes the biases.
func (m *mlpModel) init(rng *rand.Rand) {
	cfg := m.cfg
	embStd := cfg.EmbedInitStd
	if embStd == 0 {
		embStd = cfg.InitStd
	}
	if embStd == 0 {
		embStd = 1
	}
	normal(m.ps.DataAt(m.pWte), embStd, rng)
	fanIn := []float64{float64(cfg.Window * cfg.DModel), float64(cfg.HiddenMLP())}
	for i, pair := range [][2]int{{m.pW1, m.pB1}, {m.pW2, m.pB2}} {
		if cfg.InitStd == 0 {
			k := 1 / math.Sqrt(fanIn[i])
			uniform(m.ps.DataAt(pair[0]), k, rng)
			uniform(m.ps.DataAt(pair[1]), k, rng)
		} else {
			normal(m.ps.DataAt(pair[0]), cfg.InitStd, rng)
			fill(m.ps.DataAt(pair[1]), 0)
		}
	}
}

func (m *mlpModel) Config() Config    { return m.cfg }
func (m *mlpModel) Params() *ParamSet { return m.ps }

// Logits implements Model; the slice is the model's buffer (capacity capped),
// overwritten by the next Forward.
func (m *mlpModel) Logits() []float32 {
	m.complete()
	n := m.B * m.T * m.cfg.DVocab
	return m.logits[:n:n]
}

// complete computes every position's activations and logits after a
// partial Forward, from the projections and weights it saved.
func (m *mlpModel) complete() {
	if !m.partial || m.full {
		return
	}
	BT, F, V := m.B*m.T, m.cfg.HiddenMLP(), m.cfg.DVocab
	m.forwardRows(m.pre[:BT*F], m.post[:BT*F], m.logits[:BT*V], m.slots[:m.cfg.Window*BT], BT, m.b1, m.w2, m.b2)
	m.full = true
}

// ensure sizes the buffers for B·T rows, reallocating only when B·T grows.
func (m *mlpModel) ensure(B, T int) {
	m.B, m.T = B, T
	BT := B * T
	if BT <= m.capBT {
		return
	}
	D, W, F, V := m.cfg.DModel, m.cfg.Window, m.cfg.HiddenMLP(), m.cfg.DVocab
	m.capBT = BT
	m.tokens = make([]int32, BT)
	m.slots = make([]int32, W*BT)
	m.embed = make([]float32, BT*D)
	m.pre = make([]float32, BT*F)
	m.post = make([]float32, BT*F)
	m.logits = make([]float32, BT*V)
	m.dlogits = make([]float32, BT*V)
	m.slotsC, m.targetsC, m.preC, m.postC, m.logitsC = nil, nil, nil, nil, nil
	m.dpost, m.dpre = nil, nil
	if m.proj == nil {
		m.proj = make([]float32, W*V*F)
	}
}

// projectSlots sets proj to P_j = wte·W1_j (V, DMLP) for every slot j: the
// first layer's contribution of each token in each slot.
func (m *mlpModel) projectSlots(proj []float32) {
	D, F, V := m.cfg.DModel, m.cfg.HiddenMLP(), m.cfg.DVocab
	wte, w1 := m.ps.DataAt(m.pWte), m.ps.DataAt(m.pW1)
	for j := 0; j < m.cfg.Window; j++ {
		tensor.Gemm(false, false, V, F, D, wte, D, w1[j*D*F:], F, 0, proj[j*V*F:(j+1)*V*F], F)
	}
}

// firstLayer sets pre (n, DMLP) = Σ_j P_j[slots_j] + b1 for n positions
// whose slot-j tokens are slots[j·n : (j+1)·n] (−1: a zero vector), summing
// the slots in order and the bias last.
func (m *mlpModel) firstLayer(pre, proj []float32, slots []int32, n int, b1 []float32) {
	F, V := m.cfg.HiddenMLP(), m.cfg.DVocab
	clear(pre[:n*F])
	for j := 0; j < m.cfg.Window; j++ {
		tensor.GatherAdd(pre, proj[j*V*F:(j+1)*V*F], slots[j*n:(j+1)*n], F)
	}
	tensor.AddBias(pre, b1, n, F)
}

// forwardRows runs both layers on n positions (slots as firstLayer's) with
// the projections in m.proj: pre, post (n, DMLP) and logits (n, V).
func (m *mlpModel) forwardRows(pre, post, logits []float32, slots []int32, n int, b1, w2, b2 []float32) {
	F, V := m.cfg.HiddenMLP(), m.cfg.DVocab
	m.firstLayer(pre, m.proj, slots, n, b1) // x·W1 + b1
	if m.relu {
		tensor.ReLUForward(post[:n*F], pre[:n*F])
	} else {
		tensor.GELUForward(post[:n*F], pre[:n*F])
	}
	tensor.Gemm(false, false, n, V, F, post, F, w2, V, 0, logits, V) // post·W2
	tensor.AddBias(logits, b2, n, V)
}

// Forward implements Model.
func (m *mlpModel) Forward(tokens, targets []int32, B, T int) float32 {
	cfg := m.cfg
	if T > cfg.NCtx || len(tokens) < B*T || (targets != nil && len(targets) < B*T) {
		panic(fmt.Sprintf("nn.mlp: Forward(B=%d, T=%d) with n_ctx %d, %d tokens, %d targets", B, T, cfg.NCtx, len(tokens), len(targets)))
	}
	m.ensure(B, T)
	m.ready = false
	D, W, F, V, BT := cfg.DModel, cfg.Window, cfg.HiddenMLP(), cfg.DVocab, B*T
	copy(m.tokens, tokens[:BT])

	embed := m.embed[:BT*D] // (B, T, D)
	tensor.Gather(embed, m.ps.DataAt(m.pWte), m.tokens[:BT], D)
	// Slot j of position t holds position t−W+1+j's token.
	slots := m.slots[:W*BT]
	for j := 0; j < W; j++ {
		sj := slots[j*BT : (j+1)*BT]
		for b := 0; b < B; b++ {
			for t := 0; t < T; t++ {
				if s := t - W + 1 + j; s >= 0 {
					sj[b*T+t] = m.tokens[b*T+s]
				} else {
					sj[b*T+t] = -1
				}
			}
		}
	}
	m.projectSlots(m.proj)
	b1, w2, b2 := m.ps.DataAt(m.pB1), m.ps.DataAt(m.pW2), m.ps.DataAt(m.pB2)
	m.partial, m.full = false, false
	count := 0
	if targets != nil {
		for _, tg := range targets[:BT] {
			if tg >= 0 {
				count++
			}
		}
	}
	if targets == nil || count == BT {
		m.n = BT
		m.forwardRows(m.pre[:BT*F], m.post[:BT*F], m.logits[:BT*V], slots, BT, b1, w2, b2)
		if targets == nil {
			return 0
		}
		loss := meanNextTokenLoss(m.dlogits[:BT*V], m.logits[:BT*V], targets[:BT], BT, V)
		m.ready = true
		return loss
	}
	// Only the counted positions: compact their slot tokens and targets,
	// and save the weights a later complete() needs.
	n := count
	if m.slotsC == nil {
		m.slotsC, m.targetsC = make([]int32, W*m.capBT), make([]int32, m.capBT)
		m.preC, m.postC, m.logitsC = make([]float32, m.capBT*F), make([]float32, m.capBT*F), make([]float32, m.capBT*V)
	}
	k := 0
	for r, tg := range targets[:BT] {
		if tg < 0 {
			continue
		}
		for j := 0; j < W; j++ {
			m.slotsC[j*n+k] = slots[j*BT+r]
		}
		m.targetsC[k] = tg
		k++
	}
	m.b1, m.w2, m.b2 = append(m.b1[:0], b1...), append(m.w2[:0], w2...), append(m.b2[:0], b2...)
	m.partial, m.n = true, n
	m.forwardRows(m.preC[:n*F], m.postC[:n*F], m.logitsC[:n*V], m.slotsC[:W*n], n, b1, w2, b2)
	loss := meanNextTokenLoss(m.dlogits[:n*V], m.logitsC[:n*V], m.targetsC[:n], n, V)
	m.ready = true
	return loss
}

// Backward implements Model.
func (m *mlpModel) Backward() {
	if !m.ready {
		panic("nn.mlp: Backward without a Forward with targets")
	}
	cfg := m.cfg
	D, W, F, V, BT := cfg.DModel, cfg.Window, cfg.HiddenMLP(), cfg.DVocab, m.B*m.T
	if m.dpost == nil {
		m.dpost = make([]float32, m.capBT*F)
		m.dpre = make([]float32, m.capBT*F)
	}
	if m.dslots == nil {
		m.dslots = make([]float32, W*V*F)
	}
	// The positions the Forward ran: all, or the counted ones compacted.
	n, pre, post, slots := BT, m.pre[:BT*F], m.post[:BT*F], m.slots[:W*BT]
	if m.partial {
		n = m.n
		pre, post, slots = m.preC[:n*F], m.postC[:n*F], m.slotsC[:W*n]
	}
	dlogits := m.dlogits[:n*V]                                                        // (n, V)
	dpost, dpre := m.dpost[:n*F], m.dpre[:n*F]                                        // (n, F)
	tensor.Gemm(false, true, n, F, V, dlogits, V, m.ps.DataAt(m.pW2), V, 0, dpost, F) // dpost = dlogits·W2ᵀ
	tensor.Gemm(true, false, F, V, n, post, F, dlogits, V, 1, m.ps.GradAt(m.pW2), V)  // dW2 += postᵀ·dlogits
	tensor.BiasGrad(m.ps.GradAt(m.pB2), dlogits, n, V)
	clear(dpre) // the activation backward kernels accumulate
	if m.relu {
		tensor.ReLUBackward(dpre, pre, dpost)
	} else {
		tensor.GELUBackward(dpre, pre, dpost)
	}
	tensor.BiasGrad(m.ps.GradAt(m.pB1), dpre, n, F)
	// Slot j: S_j[v] = Σ dpre over the positions whose slot-j token is v;
	// dW1_j += wteᵀ·S_j, dwte += S_j·W1_jᵀ.
	wte, w1 := m.ps.DataAt(m.pWte), m.ps.DataAt(m.pW1)
	dwte, dw1 := m.ps.GradAt(m.pWte), m.ps.GradAt(m.pW1)
	for j := 0; j < W; j++ {
		sj := m.dslots[j*V*F : (j+1)*V*F] // (V, F)
		clear(sj)
		tensor.ScatterAdd(sj, dpre, slots[j*n:(j+1)*n], F)
		tensor.Gemm(true, false, D, F, V, wte, D, sj, F, 1, dw1[j*D*F:(j+1)*D*F], F)
		tensor.Gemm(false, true, V, D, F, sj, F, w1[j*D*F:], F, 1, dwte, D)
	}
}

// ActivationNames lists the names Activation answers, as the GPT does.
func (m *mlpModel) ActivationNames() []string {
	return []string{ActName("embed", -1), ActName("mlp_pre", 0), ActName("mlp_post", 0), ActName("logits", -1)}
}

// Activation implements Model: hook_embed (B, T, D), blocks.0.mlp.pre and
// blocks.0.mlp.post (B, T, DMLP), hook_logits (B, T, V).
func (m *mlpModel) Activation(name string) ([]float32, []int, bool) {
	if m.capBT == 0 {
		return nil, nil, false
	}
	B, T, BT, F := m.B, m.T, m.B*m.T, m.cfg.HiddenMLP()
	m.complete()
	switch name {
	case ActName("embed", -1):
		return m.embed[:BT*m.cfg.DModel], []int{B, T, m.cfg.DModel}, true
	case ActName("mlp_pre", 0):
		return m.pre[:BT*F], []int{B, T, F}, true
	case ActName("mlp_post", 0):
		return m.post[:BT*F], []int{B, T, F}, true
	case ActName("logits", -1):
		return m.Logits(), []int{B, T, m.cfg.DVocab}, true
	}
	return nil, nil, false
}

// FLOPsPerToken implements Model: 6·(W·D·DMLP + DMLP·V), the two weight
// matrices at 6 FLOPs per multiply-accumulate (Kaplan et al. 2020); the
// embedding lookup is a copy, and T does not enter.
func (m *mlpModel) FLOPsPerToken(T int) float64 {
	c := m.cfg
	return 6 * float64(c.Window*c.DModel*c.HiddenMLP()+c.HiddenMLP()*c.DVocab)
}
