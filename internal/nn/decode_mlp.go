package nn

// decode_mlp.go is the window MLP's decode state (see decode.go for the
// contract). The MLP's logits at a position depend only on the last Window
// tokens, so the state is each row's tokens; a Step (and Prefill, for the
// prompts' last positions) builds the concatenated window as Forward does
// (zero vectors before position 0) and runs the two layers on those rows
// only.

import "emlab/internal/tensor"

// mlpDecodeState implements DecodeState for the window MLP.
type mlpDecodeState struct {
	decodeBase
	m *mlpModel

	hist []int32 // (B, NCtx) each row's tokens; the last Window of them are read

	// Scratch for the A ≤ B rows computed at once.
	rows      []int     // (B) identity rows for Prefill
	concat    []float32 // (B, W·D)
	pre, post []float32 // (B, F)
	logits    []float32 // (B, V)
}

// NewDecodeState implements Decoder.
func (m *mlpModel) NewDecodeState(B int) DecodeState {
	cfg := m.cfg
	WD, F := cfg.Window*cfg.DModel, cfg.HiddenMLP()
	s := &mlpDecodeState{decodeBase: newDecodeBase("nn.mlp", cfg, B), m: m,
		hist: make([]int32, B*cfg.NCtx), rows: make([]int, B),
		concat: make([]float32, B*WD), pre: make([]float32, B*F), post: make([]float32, B*F),
		logits: make([]float32, B*cfg.DVocab),
	}
	for i := range s.rows {
		s.rows[i] = i
	}
	return s
}

// Prefill implements DecodeState.
func (s *mlpDecodeState) Prefill(prompts [][]int32) []float32 {
	s.startPrefill(prompts)
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
	D, W, F, V, A := cfg.DModel, cfg.Window, cfg.HiddenMLP(), cfg.DVocab, len(rows)
	WD := W * D
	if A == 0 {
		return s.logits[:0]
	}
	wte := m.ps.DataAt(m.pWte)
	concat := s.concat[:A*WD] // (A, W·D): slot j holds position pos−W+1+j
	for j, r := range rows {
		row := concat[j*WD : (j+1)*WD]
		for k := 0; k < W; k++ {
			t := s.pos[j] - W + 1 + k
			if t < 0 {
				clear(row[k*D : k*D+D])
				continue
			}
			id := int(s.hist[r*s.nctx+t])
			copy(row[k*D:k*D+D], wte[id*D:(id+1)*D])
		}
	}
	pre, post := s.pre[:A*F], s.post[:A*F]                                            // (A, F)
	tensor.Gemm(false, false, A, F, WD, concat, WD, m.ps.DataAt(m.pW1), F, 0, pre, F) // x·W1
	tensor.AddBias(pre, m.ps.DataAt(m.pB1), A, F)
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
