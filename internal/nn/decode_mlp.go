package nn

// decode_mlp.go is the window MLP's decode state (see decode.go for the
// contract). The MLP's logits at a position depend only on the last Window
// tokens, so the state is each row's tokens; a Step (and Prefill, for the
// prompts' last positions) sums the first layer's per-slot token rows as
// Forward does (nothing before position 0) and runs the two layers on those
// rows only. The per-slot products P_j = wte·W1_j are computed at Prefill.

import "emlab/internal/tensor"

// mlpDecodeState implements DecodeState for the window MLP.
type mlpDecodeState struct {
	decodeBase
	m *mlpModel

	hist []int32 // (B, NCtx) each row's tokens; the last Window of them are read

	proj []float32 // (W, V, F) P_j = wte·W1_j, from Prefill

	// Scratch for the A ≤ B rows computed at once.
	rows      []int     // (B) identity rows for Prefill
	slots     []int32   // (W, B) slot j's token of each row, −1 before position 0
	pre, post []float32 // (B, F)
	logits    []float32 // (B, V)
}

// NewDecodeState implements Decoder.
func (m *mlpModel) NewDecodeState(B int) DecodeState {
	cfg := m.cfg
	W, F, V := cfg.Window, cfg.HiddenMLP(), cfg.DVocab
	s := &mlpDecodeState{decodeBase: newDecodeBase("nn.mlp", cfg, B), m: m,
		hist: make([]int32, B*cfg.NCtx), proj: make([]float32, W*V*F), rows: make([]int, B),
		slots: make([]int32, W*B), pre: make([]float32, B*F), post: make([]float32, B*F),
		logits: make([]float32, B*V),
	}
	for i := range s.rows {
		s.rows[i] = i
	}
	return s
}

// Prefill implements DecodeState.
func (s *mlpDecodeState) Prefill(prompts [][]int32) []float32 {
	s.startPrefill(prompts)
	s.m.projectSlots(s.proj)
	n := len(prompts)
	for i, p := range prompts {
		copy(s.hist[i*s.nctx:], p)
		s.pos[i] = len(p) - 1
	}
	return s.run(s.rows[:n])
}

// Step implements DecodeState.
func (s *mlpDecodeState) Step(rows []int, tokens []int32) []float32 {
	s.startStep(rows, tokens)
	for j, r := range rows {
		s.hist[r*s.nctx+s.pos[j]] = tokens[j]
	}
	out := s.run(rows)
	s.finishStep(rows)
	return out
}

// run computes the logits (len(rows), V) at position s.pos[j] of each row
// rows[j], whose tokens are in hist.
func (s *mlpDecodeState) run(rows []int) []float32 {
	m := s.m
	cfg := m.cfg
	W, F, V, A := cfg.Window, cfg.HiddenMLP(), cfg.DVocab, len(rows)
	if A == 0 {
		return s.logits[:0]
	}
	slots := s.slots[:W*A] // slot k of row j: position pos−W+1+k's token
	for k := 0; k < W; k++ {
		for j, r := range rows {
			if t := s.pos[j] - W + 1 + k; t >= 0 {
				slots[k*A+j] = s.hist[r*s.nctx+t]
			} else {
				slots[k*A+j] = -1
			}
		}
	}
	pre, post := s.pre[:A*F], s.post[:A*F]                  // (A, F)
	m.firstLayer(pre, s.proj, slots, A, m.ps.DataAt(m.pB1)) // x·W1 + b1
	if m.relu {
		tensor.ReLUForward(post, pre)
	} else {
		tensor.GELUForward(post, pre)
	}
	logits := s.logits[:A*V]                                                         // (A, V)
	tensor.Gemm(false, false, A, V, F, post, F, m.ps.DataAt(m.pW2), V, 0, logits, V) // post·W2
	tensor.AddBias(logits, m.ps.DataAt(m.pB2), A, V)
	return logits
}
