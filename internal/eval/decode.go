package eval

import (
	"fmt"

	"emlab/internal/nn"
)

// generateCached is Generate for models that decode incrementally: each
// batch is prefilled once, then every step feeds only the token each
// unfinished row just produced, so a batch costs one prompt pass plus one
// token step per generated token instead of a pass over the whole prefix per
// token. The stopping rules are Generate's (separator or newline, maxNew
// tokens, the row reaching n_ctx), and the DecodeState's logits are bit-identical to
// Forward's, so the tokens are those of the uncached path. One state, sized
// for the batch, is reused by every batch (and by later calls: decodeState).
func (h *Harness) generateCached(dec nn.Decoder, prompts [][]int32, maxNew int) ([][]int32, error) {
	cfg := h.Model.Config()
	nctx, V := cfg.NCtx, cfg.DVocab
	sep, stops := h.Tok.Sep(), h.stopIDs()
	out := make([][]int32, len(prompts))
	if len(prompts) == 0 {
		return out, nil
	}
	bs := h.batchSize()
	var st nn.DecodeState
	rows := make([]int, 0, bs)
	toks := make([]int32, 0, bs)
	for b0 := 0; b0 < len(prompts); b0 += bs {
		if err := h.err(); err != nil {
			return nil, err
		}
		batch := prompts[b0:min(b0+bs, len(prompts))]
		gens := out[b0 : b0+len(batch)]
		for i, p := range batch {
			if len(p) == 0 || len(p) > nctx {
				return nil, fmt.Errorf("prompt %d: length %d outside [1, n_ctx=%d]", b0+i, len(p), nctx)
			}
			gens[i] = []int32{}
		}
		if maxNew <= 0 {
			continue
		}
		if st == nil {
			st = h.decodeState(dec, min(bs, len(prompts)), min(nctx, longest(prompts)+maxNew))
		}
		logits := st.Prefill(batch) // (len(batch), V)
		rows = rows[:0]
		for i := range batch {
			rows = append(rows, i)
		}
		for step := 0; ; step++ {
			// logits row j follows the last token of batch row rows[j].
			live, next := rows[:0], toks[:0]
			for j, i := range rows {
				tok := argmax32(logits[j*V : (j+1)*V])
				if tok == sep || stops[tok] {
					continue
				}
				gens[i] = append(gens[i], tok)
				if len(batch[i])+len(gens[i]) >= nctx {
					continue
				}
				live, next = append(live, i), append(next, tok)
			}
			rows, toks = live, next
			if len(rows) == 0 || step+1 >= maxNew {
				break
			}
			logits = st.Step(rows, toks)
		}
	}
	return out, nil
}

// decodeState returns a state from dec for B rows of up to n tokens each
// (n ≤ n_ctx). It is the harness's kept state when dec made it and it is
// large enough (enough rows, and room for n tokens a row); otherwise a new
// one, covering the kept one's shape too, replaces it. One state thus serves
// every batch, task and checkpoint an evaluation scores, instead of a GPT
// key/value cache (L·B·n_ctx·d floats twice) made and dropped per task and
// path. Reuse is sound after a change of weights (a
// checkpoint loaded into the same model): every use starts with a Prefill,
// which discards every row, and a state reads the weights at every call
// (nn.Decoder's contract). A row's logits do not depend on the state's rows
// or length, so a larger state changes no result.
//
// The cache is sized for n tokens a row when the model can (a model trained
// elsewhere, whose context is far longer than an item:
// nn.Pretrained.NewDecodeStateLen), for its whole context otherwise. No
// row outgrows n: it holds its prompt and at most maxNew tokens.
func (h *Harness) decodeState(dec nn.Decoder, B, n int) nn.DecodeState {
	if h.st != nil && h.stOf == dec {
		if h.st.Rows() >= B && h.stLen >= n {
			return h.st
		}
		B, n = max(B, h.st.Rows()), max(n, h.stLen)
	}
	h.st, h.stOf = nil, nil // let the old state go before allocating
	if d, ok := dec.(interface {
		NewDecodeStateLen(B, n int) nn.DecodeState
	}); ok {
		h.st, h.stLen = d.NewDecodeStateLen(B, n), n
	} else {
		h.st, h.stLen = dec.NewDecodeState(B), h.Model.Config().NCtx
	}
	h.stOf = dec
	return h.st
}

func longest(prompts [][]int32) int {
	n := 0
	for _, p := range prompts {
		n = max(n, len(p))
	}
	return n
}

// argmax32 is the greedy choice: the lowest index among the maxima, as
// logSumExp's, so both generation paths break ties alike.
func argmax32(row []float32) int32 {
	mx, arg := row[0], int32(0)
	for v, x := range row {
		if x > mx {
			mx, arg = x, int32(v)
		}
	}
	return arg
}
