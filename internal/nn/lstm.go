package nn

// This file holds the LSTM language model, the recurrent baseline for the
// long-range tasks, where the claim that self-attention carries
// long-range dependencies that RNNs lose is measured. It follows torch.nn.LSTM exactly (gate
// order i, f, g, o; two bias vectors; weights stored (4H, in) as PyTorch
// does) so the reference fixture maps tensor for tensor.
//
// What it deliberately does not do: dropout between layers, peephole
// connections, projections (proj_size), bidirectionality, or carrying the
// state across batches (every sequence starts from h = c = 0, so a batch's
// loss depends on that batch alone, as the training loop's determinism
// needs).

import (
	"fmt"
	"math"
	"math/rand/v2"

	"emlab/internal/tensor"
)

func init() {
	builders[ArchLSTM] = func(cfg Config, rng *rand.Rand) Model { return newLSTM(cfg, rng) }
}

// lstmModel is a stack of NLayers LSTM layers of hidden size H = DModel over
// a token embedding, with logits = h·wteᵀ (TiedEmbeddings) or
// h·lm_head.weight + lm_head.bias.
//
// Per layer and time step (Hochreiter & Schmidhuber 1997, with the forget
// gate of Gers et al. 2000, in torch.nn.LSTM's form):
//
//	[i f g o] = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh     (4H)
//	i, f, o = σ(·);  g = tanh(·)
//	c_t = f⊙c_{t−1} + i⊙g;  h_t = o⊙tanh(c_t)
type lstmModel struct {
	cfg Config
	ps  *ParamSet

	// Parameter indices into ps.Params (views are sliced on each call so a
	// caller may replace ps.Data's contents freely).
	pWte                   int
	pWih, pWhh, pBih, pBhh []int // per layer
	pHead, pHeadBias       int   // −1 when tied

	// Activations of the last Forward, sized for capBT = B·T rows and
	// reused while B·T does not grow.
	B, T, capBT int
	tokens      []int32     // (B, T) copy of the last input
	embed       []float32   // (B, T, H) wte[tokens]
	gates       [][]float32 // per layer (B, T, 4H): activated i, f, g, o
	cell        [][]float32 // per layer (B, T, H): c_t
	tanhCell    [][]float32 // per layer (B, T, H): tanh(c_t)
	hidden      [][]float32 // per layer (B, T, H): h_t (blocks.<l>.hook_hidden)
	logits      []float32   // (B, T, V)
	dlogits     []float32   // (B, T, V): d(mean loss)/d(logits), from the fused cross-entropy
	ready       bool        // dlogits belongs to the last Forward

	// Backward scratch.
	dGates []float32 // (B, T, 4H): d loss / d pre-activation gates
	dh, dx []float32 // (B, T, H): gradient w.r.t. this layer's output / input
	dc     []float32 // (B, H): gradient w.r.t. c_t flowing back from t+1

	// The per-step cell loops over the batch, built once (a closure made
	// per time step would be allocated per step), and the layer, time step
	// and incoming gradient they run on.
	cellFwd, cellBwd func(b int)
	curL, curT       int
	curDH            []float32
}

func newLSTM(cfg Config, rng *rand.Rand) *lstmModel {
	H, V := cfg.DModel, cfg.DVocab
	var pb paramBuilder
	// Embeddings are not decayed, as in the GPT (Config-level choice shared
	// by the transformer baselines).
	pb.add("wte.weight", false, V, H)
	m := &lstmModel{cfg: cfg, pHead: -1, pHeadBias: -1}
	m.pWte = 0
	for l := 0; l < cfg.NLayers; l++ {
		m.pWih = append(m.pWih, len(pb.params))
		pb.add(fmt.Sprintf("lstm.%d.weight_ih", l), true, 4*H, H) // (4H, in): torch's weight_ih_l{l}
		m.pWhh = append(m.pWhh, len(pb.params))
		pb.add(fmt.Sprintf("lstm.%d.weight_hh", l), true, 4*H, H) // (4H, H): torch's weight_hh_l{l}
		m.pBih = append(m.pBih, len(pb.params))
		pb.add(fmt.Sprintf("lstm.%d.bias_ih", l), false, 4*H)
		m.pBhh = append(m.pBhh, len(pb.params))
		pb.add(fmt.Sprintf("lstm.%d.bias_hh", l), false, 4*H)
	}
	if !cfg.TiedEmbeddings {
		// (in, out) layout as GPT-2's linear weights; the transpose of
		// torch.nn.Linear(H, V).weight. Linear's bias is kept so the model
		// is torch's default LSTM LM head.
		m.pHead = len(pb.params)
		pb.add("lm_head.weight", true, H, V)
		m.pHeadBias = len(pb.params)
		pb.add("lm_head.bias", false, V)
	}
	m.ps = pb.build()
	m.init(rng)
	m.cellFwd, m.cellBwd = m.cellForward, m.cellBackward
	return m
}

// init draws the weights in layout order. InitStd = 0 reproduces PyTorch's
// defaults: nn.Embedding N(0, 1); nn.LSTM every tensor U(−1/√H, 1/√H);
// nn.Linear(H, V) weight and bias U(−1/√H, 1/√H). InitStd > 0 draws
// matrices from N(0, InitStd²) and zeroes the biases.
func (m *lstmModel) init(rng *rand.Rand) {
	cfg := m.cfg
	embStd := cfg.EmbedInitStd
	if embStd == 0 {
		embStd = cfg.InitStd
	}
	if embStd == 0 {
		embStd = 1
	}
	k := 1 / math.Sqrt(float64(cfg.DModel))
	for _, p := range m.ps.Params {
		x := m.ps.Data[p.Off : p.Off+p.Size]
		switch {
		case p.Name == "wte.weight":
			normal(x, embStd, rng)
		case cfg.InitStd == 0:
			uniform(x, k, rng)
		case len(p.Shape) == 2:
			normal(x, cfg.InitStd, rng)
		default:
			fill(x, 0)
		}
	}
}

func (m *lstmModel) Config() Config    { return m.cfg }
func (m *lstmModel) Params() *ParamSet { return m.ps }

// Logits implements Model; the slice is the model's buffer (capacity capped),
// overwritten by the next Forward.
func (m *lstmModel) Logits() []float32 {
	n := m.B * m.T * m.cfg.DVocab
	return m.logits[:n:n]
}

// ensure sizes the activation buffers for B·T rows; they are allocated once
// and reused until a larger batch arrives.
func (m *lstmModel) ensure(B, T int) {
	m.B, m.T = B, T
	BT := B * T
	if BT <= m.capBT {
		return
	}
	H, V, L := m.cfg.DModel, m.cfg.DVocab, m.cfg.NLayers
	m.capBT = BT
	m.tokens = make([]int32, BT)
	m.embed = make([]float32, BT*H)
	m.gates, m.cell, m.tanhCell, m.hidden = make([][]float32, L), make([][]float32, L), make([][]float32, L), make([][]float32, L)
	for l := 0; l < L; l++ {
		m.gates[l] = make([]float32, BT*4*H)
		m.cell[l] = make([]float32, BT*H)
		m.tanhCell[l] = make([]float32, BT*H)
		m.hidden[l] = make([]float32, BT*H)
	}
	m.logits = make([]float32, BT*V)
	m.dlogits = make([]float32, BT*V)
	m.dGates, m.dh, m.dx = nil, nil, nil // backward scratch follows on demand
}

// Forward implements Model.
func (m *lstmModel) Forward(tokens, targets []int32, B, T int) float32 {
	cfg := m.cfg
	if T > cfg.NCtx || len(tokens) < B*T || (targets != nil && len(targets) < B*T) {
		panic(fmt.Sprintf("nn.lstm: Forward(B=%d, T=%d) with n_ctx %d, %d tokens, %d targets", B, T, cfg.NCtx, len(tokens), len(targets)))
	}
	m.ensure(B, T)
	m.ready = false
	H, V, BT := cfg.DModel, cfg.DVocab, B*T
	copy(m.tokens, tokens[:BT])

	tensor.Gather(m.embed[:BT*H], m.ps.DataAt(m.pWte), m.tokens[:BT], H) // (B, T, H)
	x := m.embed[:BT*H]
	for l := 0; l < cfg.NLayers; l++ {
		m.layerForward(l, x, B, T)
		x = m.hidden[l][:BT*H]
	}

	logits := m.logits[:BT*V] // (B, T, V)
	if cfg.TiedEmbeddings {
		tensor.Gemm(false, true, BT, V, H, x, H, m.ps.DataAt(m.pWte), H, 0, logits, V) // h·wteᵀ
	} else {
		tensor.Gemm(false, false, BT, V, H, x, H, m.ps.DataAt(m.pHead), V, 0, logits, V) // h·W
		tensor.AddBias(logits, m.ps.DataAt(m.pHeadBias), BT, V)
	}
	if targets == nil {
		return 0
	}
	loss := meanNextTokenLoss(m.dlogits[:BT*V], logits, targets[:BT], BT, V)
	m.ready = true
	return loss
}

// layerForward runs layer l over the whole sequence: input x (B, T, H) →
// hidden[l] (B, T, H). The input projection of every time step is one
// Gemm; only the recurrent product h_{t−1}·W_hhᵀ is per step, on strided
// (B, H) views of the (B, T, ·) buffers.
func (m *lstmModel) layerForward(l int, x []float32, B, T int) {
	H, BT := m.cfg.DModel, B*T
	G := m.gates[l][:BT*4*H] // (B, T, 4H)
	h := m.hidden[l]
	bih, bhh := m.ps.DataAt(m.pBih[l]), m.ps.DataAt(m.pBhh[l])

	tensor.Gemm(false, true, BT, 4*H, H, x, H, m.ps.DataAt(m.pWih[l]), H, 0, G, 4*H) // x·W_ihᵀ (B·T, 4H)
	tensor.AddBias(G, bih, BT, 4*H)
	tensor.AddBias(G, bhh, BT, 4*H)
	whh := m.ps.DataAt(m.pWhh[l])
	for t := 0; t < T; t++ {
		if t > 0 {
			// G[:, t] += h[:, t−1]·W_hhᵀ: (B, H)·(H, 4H), rows T apart.
			tensor.Gemm(false, true, B, 4*H, H, h[(t-1)*H:], T*H, whh, H, 1, G[t*4*H:], T*4*H)
		}
		m.curL, m.curT = l, t
		tensor.ParallelFor(B, m.cellFwd)
	}
}

// cellForward is sequence b's cell at layer curL, step curT: the gates
// (pre-activations in, activations out), c_t, tanh(c_t) and h_t.
func (m *lstmModel) cellForward(b int) {
	H, T, t := m.cfg.DModel, m.T, m.curT
	G, c, tc, h := m.gates[m.curL], m.cell[m.curL], m.tanhCell[m.curL], m.hidden[m.curL]
	r := b*T + t
	g := G[r*4*H : r*4*H+4*H]
	ct, tct, ht := c[r*H:r*H+H], tc[r*H:r*H+H], h[r*H:r*H+H]
	for j := 0; j < H; j++ {
		ig := sigmoid32(g[j])
		fg := sigmoid32(g[H+j])
		gg := tanh32(g[2*H+j])
		og := sigmoid32(g[3*H+j])
		g[j], g[H+j], g[2*H+j], g[3*H+j] = ig, fg, gg, og
		cv := ig * gg
		if t > 0 {
			cv += fg * c[(r-1)*H+j]
		}
		ct[j] = cv
		tct[j] = tanh32(cv)
		ht[j] = og * tct[j]
	}
}

// Backward implements Model.
func (m *lstmModel) Backward() {
	if !m.ready {
		panic("nn.lstm: Backward without a Forward with targets")
	}
	cfg := m.cfg
	B, T, H, V := m.B, m.T, cfg.DModel, cfg.DVocab
	BT := B * T
	if m.dGates == nil {
		m.dGates = make([]float32, m.capBT*4*H)
		m.dh = make([]float32, m.capBT*H)
		m.dx = make([]float32, m.capBT*H)
		m.dc = make([]float32, m.capBT*H) // ≥ B·H
	}
	dlogits := m.dlogits[:BT*V] // (B, T, V)
	htop := m.hidden[cfg.NLayers-1][:BT*H]
	dh := m.dh[:BT*H] // (B, T, H)
	if cfg.TiedEmbeddings {
		tensor.Gemm(false, false, BT, H, V, dlogits, V, m.ps.DataAt(m.pWte), H, 0, dh, H)  // dh = dlogits·wte
		tensor.Gemm(true, false, V, H, BT, dlogits, V, htop, H, 1, m.ps.GradAt(m.pWte), H) // dwte += dlogitsᵀ·h
	} else {
		tensor.Gemm(false, true, BT, H, V, dlogits, V, m.ps.DataAt(m.pHead), V, 0, dh, H)   // dh = dlogits·Wᵀ
		tensor.Gemm(true, false, H, V, BT, htop, H, dlogits, V, 1, m.ps.GradAt(m.pHead), V) // dW += hᵀ·dlogits
		tensor.BiasGrad(m.ps.GradAt(m.pHeadBias), dlogits, BT, V)
	}
	for l := cfg.NLayers - 1; l >= 0; l-- {
		x := m.embed[:BT*H]
		if l > 0 {
			x = m.hidden[l-1][:BT*H]
		}
		dx := m.dx[:BT*H]
		m.layerBackward(l, x, dh, dx, B, T)
		m.dh, m.dx = m.dx, m.dh
		dh = dx
	}
	tensor.ScatterAdd(m.ps.GradAt(m.pWte), dh, m.tokens[:BT], H) // dwte[tokens] += dembed
}

// layerBackward back-propagates through time for layer l. dh (B, T, H) holds
// d loss/d h_t from the layer above (or the logits) and receives the
// recurrent terms as the loop walks back; dx (B, T, H) is overwritten with
// d loss/d input.
func (m *lstmModel) layerBackward(l int, x, dh, dx []float32, B, T int) {
	H, BT := m.cfg.DModel, B*T
	h := m.hidden[l]        // (B, T, H)
	dG := m.dGates[:BT*4*H] // (B, T, 4H)
	clear(m.dc[:B*H])       // (B, H) d loss/d c carried back from t+1
	whh := m.ps.DataAt(m.pWhh[l])
	for t := T - 1; t >= 0; t-- {
		m.curL, m.curT, m.curDH = l, t, dh
		tensor.ParallelFor(B, m.cellBwd)
		if t > 0 {
			// dh[:, t−1] += dG[:, t]·W_hh: (B, 4H)·(4H, H), rows T apart.
			tensor.Gemm(false, false, B, H, 4*H, dG[t*4*H:], T*4*H, whh, H, 1, dh[(t-1)*H:], T*H)
		}
	}
	// dW_hh += Σ_{b,t} dG[b, t]ᵀ·h[b, t−1] as one Gemm over all B·T rows,
	// against h shifted by one step with zeros at t = 0 (so the pairing
	// never crosses sequences). dx serves as the scratch buffer: it is
	// overwritten below only after this product.
	hprev := dx // (B, T, H)
	for b := 0; b < B; b++ {
		clear(hprev[b*T*H : b*T*H+H])
		copy(hprev[(b*T+1)*H:(b*T+T)*H], h[b*T*H:(b*T+T-1)*H])
	}
	tensor.Gemm(true, false, 4*H, H, BT, dG, 4*H, hprev, H, 1, m.ps.GradAt(m.pWhh[l]), H)
	tensor.Gemm(true, false, 4*H, H, BT, dG, 4*H, x, H, 1, m.ps.GradAt(m.pWih[l]), H) // dW_ih += dGᵀ·x
	tensor.BiasGrad(m.ps.GradAt(m.pBih[l]), dG, BT, 4*H)
	tensor.BiasGrad(m.ps.GradAt(m.pBhh[l]), dG, BT, 4*H)
	tensor.Gemm(false, false, BT, H, 4*H, dG, 4*H, m.ps.DataAt(m.pWih[l]), H, 0, dx, H) // dx = dG·W_ih
}

// cellBackward is sequence b's cell backward at layer curL, step curT:
// dG from curDH and the cell gradient dc carried from t+1 (updated to t).
func (m *lstmModel) cellBackward(b int) {
	H, T, t := m.cfg.DModel, m.T, m.curT
	G, c, tc, dG, dc, dh := m.gates[m.curL], m.cell[m.curL], m.tanhCell[m.curL], m.dGates, m.dc, m.curDH
	r := b*T + t
	g := G[r*4*H : r*4*H+4*H]
	d := dG[r*4*H : r*4*H+4*H]
	dht, tct, dcb := dh[r*H:r*H+H], tc[r*H:r*H+H], dc[b*H:b*H+H]
	for j := 0; j < H; j++ {
		ig, fg, gg, og := g[j], g[H+j], g[2*H+j], g[3*H+j]
		// h = o·tanh(c): dc_t = dc_{from t+1} + dh·o·(1 − tanh²c).
		dct := dcb[j] + dht[j]*og*(1-tct[j]*tct[j])
		var cprev float32
		if t > 0 {
			cprev = c[(r-1)*H+j]
		}
		d[j] = dct * gg * ig * (1 - ig)            // σ' = σ(1−σ)
		d[H+j] = dct * cprev * fg * (1 - fg)       // c = f·c_{t−1} + …
		d[2*H+j] = dct * ig * (1 - gg*gg)          // tanh' = 1 − tanh²
		d[3*H+j] = dht[j] * tct[j] * og * (1 - og) // h = o·tanh(c)
		dcb[j] = dct * fg                          // to c_{t−1}
	}
}

// ActivationNames lists the names Activation answers, as the GPT does.
func (m *lstmModel) ActivationNames() []string {
	names := []string{ActName("embed", -1)}
	for l := 0; l < m.cfg.NLayers; l++ {
		names = append(names, ActName("hidden", l))
	}
	return append(names, ActName("logits", -1))
}

// Activation implements Model: hook_embed (B, T, H), blocks.<l>.hook_hidden
// (B, T, H) and hook_logits (B, T, V).
func (m *lstmModel) Activation(name string) ([]float32, []int, bool) {
	if m.capBT == 0 {
		return nil, nil, false
	}
	B, T, H, BT := m.B, m.T, m.cfg.DModel, m.B*m.T
	switch name {
	case ActName("embed", -1):
		return m.embed[:BT*H], []int{B, T, H}, true
	case ActName("logits", -1):
		return m.Logits(), []int{B, T, m.cfg.DVocab}, true
	}
	for l := 0; l < m.cfg.NLayers; l++ {
		if name == ActName("hidden", l) {
			return m.hidden[l][:BT*H], []int{B, T, H}, true
		}
	}
	return nil, nil, false
}

// FLOPsPerToken implements Model: 6 FLOPs per multiply-accumulate of each
// weight matrix (2 forward, 4 backward; Kaplan et al. 2020), i.e.
// 6·(L·8H² + H·V), the unembedding included since it is computed even when
// tied. Element-wise gate work (O(L·H)) is negligible and left out; T does
// not enter (no attention).
func (m *lstmModel) FLOPsPerToken(T int) float64 {
	H, V, L := float64(m.cfg.DModel), float64(m.cfg.DVocab), float64(m.cfg.NLayers)
	return 6 * (L*8*H*H + H*V)
}

// meanNextTokenLoss returns the mean cross-entropy of logits (rows, V)
// against targets (rows), ignoring targets < 0, and overwrites dlogits with
// its gradient (1/count scaling). With no counted target it returns 0 and a
// zero gradient. Shared by the LSTM and the MLP.
func meanNextTokenLoss(dlogits, logits []float32, targets []int32, rows, V int) float32 {
	count := 0
	for _, t := range targets[:rows] {
		if t >= 0 {
			if int(t) >= V {
				panic(fmt.Sprintf("nn: target %d outside vocabulary %d", t, V))
			}
			count++
		}
	}
	if count == 0 {
		clear(dlogits)
		return 0
	}
	sum, _ := tensor.SoftmaxCrossEntropy(dlogits, logits, targets, rows, V, 1/float32(count))
	return float32(sum / float64(count))
}

// sigmoid32 is σ(x) = 1/(1+e^−x) in float64 then rounded, so that σ(x) for
// large |x| saturates cleanly to 0 or 1.
func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func tanh32(x float32) float32 { return float32(math.Tanh(float64(x))) }
