package nn

// decode_lstm.go is the LSTM's decode state (see decode.go for the
// contract): per layer and row, the h and c after the row's last token.
// Prefill runs Forward over the padded prompts and keeps h and c at each
// prompt's last position; a Step is one time step of layerForward on the
// stepped rows, with the same kernels in the same order (input projection,
// both biases, then the recurrent product accumulated onto it).

import "emlab/internal/tensor"

// lstmDecodeState implements DecodeState for the LSTM.
type lstmDecodeState struct {
	decodeBase
	m *lstmModel

	h, c []float32 // (L, B, H) state after each row's last token

	// Scratch for the A ≤ B rows of one Step, packed in the order of rows.
	x       []float32 // (B, H) input of the current layer, then its output
	hprev   []float32 // (B, H) h_{t−1} of the current layer
	g       []float32 // (B, 4H) gates
	logits  []float32 // (B, V)
	prefill []int32   // (B, NCtx) padded prompts for Prefill's Forward

	// The cell loop over the stepped rows, built once, and the layer and
	// rows it runs on.
	cellFn func(j int)
	curL   int
	rows   []int
}

// NewDecodeState implements Decoder.
func (m *lstmModel) NewDecodeState(B int) DecodeState {
	cfg := m.cfg
	H, L := cfg.DModel, cfg.NLayers
	s := &lstmDecodeState{decodeBase: newDecodeBase("nn.lstm", cfg, B), m: m,
		h: make([]float32, L*B*H), c: make([]float32, L*B*H),
		x: make([]float32, B*H), hprev: make([]float32, B*H), g: make([]float32, B*4*H),
		logits: make([]float32, B*cfg.DVocab), prefill: make([]int32, B*cfg.NCtx),
	}
	s.cellFn = s.cell
	return s
}

// Prefill implements DecodeState.
func (s *lstmDecodeState) Prefill(prompts [][]int32) []float32 {
	T := s.startPrefill(prompts)
	m, n := s.m, len(prompts)
	H, V := m.cfg.DModel, m.cfg.DVocab
	tokens := s.prefill[:n*T] // (n, T), padded with token 0 after each prompt
	clear(tokens)
	for i, p := range prompts {
		copy(tokens[i*T:], p)
	}
	m.Forward(tokens, nil, n, T)
	for l := 0; l < m.cfg.NLayers; l++ {
		for i, p := range prompts {
			src := (i*T + len(p) - 1) * H
			dst := (l*s.B + i) * H
			copy(s.h[dst:dst+H], m.hidden[l][src:src+H])
			copy(s.c[dst:dst+H], m.cell[l][src:src+H])
		}
	}
	logits, out := m.Logits(), s.logits[:n*V]
	for i, p := range prompts {
		copy(out[i*V:(i+1)*V], logits[(i*T+len(p)-1)*V:])
	}
	return out
}

// Step implements DecodeState. Every row stepped has a prompt (Prefill
// requires one), so its t > 0 and the recurrent term is always present.
func (s *lstmDecodeState) Step(rows []int, tokens []int32) []float32 {
	s.startStep(rows, tokens)
	m := s.m
	H, V, A := m.cfg.DModel, m.cfg.DVocab, len(rows)
	if A == 0 {
		return s.logits[:0]
	}
	x := s.x[:A*H] // (A, H)
	tensor.Gather(x, m.ps.DataAt(m.pWte), tokens, H)
	G, hprev := s.g[:A*4*H], s.hprev[:A*H]
	for l := 0; l < m.cfg.NLayers; l++ {
		tensor.Gemm(false, true, A, 4*H, H, x, H, m.ps.DataAt(m.pWih[l]), H, 0, G, 4*H) // x·W_ihᵀ (A, 4H)
		tensor.AddBias(G, m.ps.DataAt(m.pBih[l]), A, 4*H)
		tensor.AddBias(G, m.ps.DataAt(m.pBhh[l]), A, 4*H)
		for j, r := range rows {
			src := (l*s.B + r) * H
			copy(hprev[j*H:(j+1)*H], s.h[src:src+H])
		}
		tensor.Gemm(false, true, A, 4*H, H, hprev, H, m.ps.DataAt(m.pWhh[l]), H, 1, G, 4*H) // += h_{t−1}·W_hhᵀ
		s.curL, s.rows = l, rows
		tensor.ParallelFor(A, s.cellFn)
	}
	s.rows = nil
	logits := s.logits[:A*V] // (A, V)
	if m.cfg.TiedEmbeddings {
		tensor.Gemm(false, true, A, V, H, x, H, m.ps.DataAt(m.pWte), H, 0, logits, V) // h·wteᵀ
	} else {
		tensor.Gemm(false, false, A, V, H, x, H, m.ps.DataAt(m.pHead), V, 0, logits, V) // h·W
		tensor.AddBias(logits, m.ps.DataAt(m.pHeadBias), A, V)
	}
	s.finishStep(rows)
	return logits
}

// cell is stepped row j's cell at layer curL: c_t and h_t into the state,
// h_t also into x (the next layer's input).
func (s *lstmDecodeState) cell(j int) {
	H := s.m.cfg.DModel
	st := (s.curL*s.B + s.rows[j]) * H
	g := s.g[j*4*H : j*4*H+4*H]
	hs, cs := s.h[st:st+H], s.c[st:st+H] // c_{t−1} in, c_t and h_t out
	out := s.x[j*H : j*H+H]              // this layer's output, the next one's input
	for k := 0; k < H; k++ {
		ig := sigmoid32(g[k])
		fg := sigmoid32(g[H+k])
		gg := tanh32(g[2*H+k])
		og := sigmoid32(g[3*H+k])
		cv := ig * gg
		cv += fg * cs[k]
		hv := og * tanh32(cv)
		cs[k], hs[k], out[k] = cv, hv, hv
	}
}
