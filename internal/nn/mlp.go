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
	embed       []float32 // (B, T, D)     hook_embed
	concat      []float32 // (B, T, W·D)   x_t
	pre, post   []float32 // (B, T, DMLP)
	logits      []float32 // (B, T, V)
	dlogits     []float32 // (B, T, V)
	ready       bool

	dpost, dpre []float32 // (B, T, DMLP)
	dconcat     []float32 // (B, T, W·D)
	dembed      []float32 // (B, T, D)
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
	n := m.B * m.T * m.cfg.DVocab
	return m.logits[:n:n]
}

// ensure sizes the buffers for B·T rows, reallocating only when B·T grows.
func (m *mlpModel) ensure(B, T int) {
	m.B, m.T = B, T
	BT := B * T
	if BT <= m.capBT {
		return
	}
	D, WD, F, V := m.cfg.DModel, m.cfg.Window*m.cfg.DModel, m.cfg.HiddenMLP(), m.cfg.DVocab
	m.capBT = BT
	m.tokens = make([]int32, BT)
	m.embed = make([]float32, BT*D)
	m.concat = make([]float32, BT*WD)
	m.pre = make([]float32, BT*F)
	m.post = make([]float32, BT*F)
	m.logits = make([]float32, BT*V)
	m.dlogits = make([]float32, BT*V)
	m.dpost, m.dpre, m.dconcat, m.dembed = nil, nil, nil, nil
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
	WD := W * D
	copy(m.tokens, tokens[:BT])

	embed := m.embed[:BT*D] // (B, T, D)
	tensor.Gather(embed, m.ps.DataAt(m.pWte), m.tokens[:BT], D)
	concat := m.concat[:BT*WD] // (B, T, W·D): slot j holds position t−W+1+j
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			row := concat[(b*T+t)*WD : (b*T+t+1)*WD]
			for j := 0; j < W; j++ {
				s := t - W + 1 + j
				if s < 0 {
					clear(row[j*D : j*D+D])
				} else {
					copy(row[j*D:j*D+D], embed[(b*T+s)*D:(b*T+s+1)*D])
				}
			}
		}
	}
	pre, post := m.pre[:BT*F], m.post[:BT*F]                                           // (B, T, F)
	tensor.Gemm(false, false, BT, F, WD, concat, WD, m.ps.DataAt(m.pW1), F, 0, pre, F) // x·W1
	tensor.AddBias(pre, m.ps.DataAt(m.pB1), BT, F)
	if m.relu {
		tensor.ReLUForward(post, pre)
	} else {
		tensor.GELUForward(post, pre)
	}
	logits := m.logits[:BT*V]                                                         // (B, T, V)
	tensor.Gemm(false, false, BT, V, F, post, F, m.ps.DataAt(m.pW2), V, 0, logits, V) // post·W2
	tensor.AddBias(logits, m.ps.DataAt(m.pB2), BT, V)
	if targets == nil {
		return 0
	}
	loss := meanNextTokenLoss(m.dlogits[:BT*V], logits, targets[:BT], BT, V)
	m.ready = true
	return loss
}

// Backward implements Model.
func (m *mlpModel) Backward() {
	if !m.ready {
		panic("nn.mlp: Backward without a Forward with targets")
	}
	cfg := m.cfg
	B, T := m.B, m.T
	D, W, F, V, BT := cfg.DModel, cfg.Window, cfg.HiddenMLP(), cfg.DVocab, B*T
	WD := W * D
	if m.dpost == nil {
		m.dpost = make([]float32, m.capBT*F)
		m.dpre = make([]float32, m.capBT*F)
		m.dconcat = make([]float32, m.capBT*WD)
		m.dembed = make([]float32, m.capBT*D)
	}
	dlogits := m.dlogits[:BT*V] // (B, T, V)
	pre, post := m.pre[:BT*F], m.post[:BT*F]
	dpost, dpre := m.dpost[:BT*F], m.dpre[:BT*F]                                       // (B, T, F)
	tensor.Gemm(false, true, BT, F, V, dlogits, V, m.ps.DataAt(m.pW2), V, 0, dpost, F) // dpost = dlogits·W2ᵀ
	tensor.Gemm(true, false, F, V, BT, post, F, dlogits, V, 1, m.ps.GradAt(m.pW2), V)  // dW2 += postᵀ·dlogits
	tensor.BiasGrad(m.ps.GradAt(m.pB2), dlogits, BT, V)
	clear(dpre) // the activation backward kernels accumulate
	if m.relu {
		tensor.ReLUBackward(dpre, pre, dpost)
	} else {
		tensor.GELUBackward(dpre, pre, dpost)
	}
	concat, dconcat := m.concat[:BT*WD], m.dconcat[:BT*WD]                             // (B, T, W·D)
	tensor.Gemm(true, false, WD, F, BT, concat, WD, dpre, F, 1, m.ps.GradAt(m.pW1), F) // dW1 += xᵀ·dpre
	tensor.BiasGrad(m.ps.GradAt(m.pB1), dpre, BT, F)
	tensor.Gemm(false, true, BT, WD, F, dpre, F, m.ps.DataAt(m.pW1), F, 0, dconcat, WD) // dx = dpre·W1ᵀ
	// Un-concatenate: slot j of position t belongs to position t−W+1+j.
	// Summed per position first, then one scatter into wte, in a fixed order.
	dembed := m.dembed[:BT*D] // (B, T, D)
	clear(dembed)
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			row := dconcat[(b*T+t)*WD : (b*T+t+1)*WD]
			for j := 0; j < W; j++ {
				s := t - W + 1 + j
				if s < 0 {
					continue
				}
				de := dembed[(b*T+s)*D : (b*T+s+1)*D]
				for k, g := range row[j*D : j*D+D] {
					de[k] += g
				}
			}
		}
	}
	tensor.ScatterAdd(m.ps.GradAt(m.pWte), dembed, m.tokens[:BT], D)
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
