package eval

import (
	"fmt"

	"emlab/internal/nn"
)

// fused.go scores an item's answer teacher-forced and generates its greedy
// continuation on one key/value cache, for models whose cache can be cut
// back (nn.Rewinder). The plain path runs a Forward over prompt and answer
// (ScoreContinuations), then prefills the prompt again and decodes
// (Generate). Greedy decoding agrees with the teacher-forced answer up to
// the first position k whose argmax is not the answer's token, and the
// logits up to there are the same logits (a DecodeState's are bit-identical
// to Forward's). So each batch is prefilled once, the answer tokens are fed
// one Step at a time (their logits give the log-probs, the per-token
// argmax, and the greedy tokens 0..k), and a row whose generation goes on
// past the answer's agreeing prefix is cut back to prompt + answer[:k] and
// decoded from the greedy token at k. Every number is the plain path's;
// fused_test.go checks it against ScoreContinuations and Generate.

// scoredGen is one item's result on the fused path.
type scoredGen struct {
	logProbs []float64 // log P(answer[j] | prompt, answer[:j]), nats
	correct  []bool    // answer[j] is the argmax
	gen      []int32   // the greedy continuation, stop token excluded
}

// rewindState returns a decode state for B rows of up to n tokens
// (decodeState) when the model has one that can be cut back, else nil.
func (h *Harness) rewindState(B, n int) nn.DecodeState {
	dec, ok := h.Model.(nn.Decoder)
	if !ok {
		return nil
	}
	st := h.decodeState(dec, B, n)
	if _, ok := st.(nn.Rewinder); !ok {
		return nil
	}
	return st
}

// scoreAndGenerate is ScoreContinuations (without alternatives or
// distributions) and Generate(prompts, maxNew) for the same prompts, on st
// (a Rewinder with at least min(batch size, len(reqs)) rows). Its checks and
// errors are theirs.
func (h *Harness) scoreAndGenerate(st nn.DecodeState, reqs []Continuation, maxNew int) ([]scoredGen, error) {
	cfg := h.Model.Config()
	nctx, V := cfg.NCtx, cfg.DVocab
	sep, stops := h.Tok.Sep(), h.stopIDs()
	rw := st.(nn.Rewinder)
	out := make([]scoredGen, len(reqs))
	for i, r := range reqs {
		if len(r.Prompt) == 0 {
			return nil, fmt.Errorf("request %d: empty prompt", i)
		}
		if n := len(r.Prompt) + len(r.Cont); n > nctx {
			return nil, fmt.Errorf("request %d: %d tokens exceed the model's context n_ctx=%d", i, n, nctx)
		}
	}
	bs := min(h.batchSize(), st.Rows())
	prompts := make([][]int32, 0, bs)
	// Per row of a batch: k, where greedy decoding leaves the answer
	// (len(Cont) when it does not), and next, the greedy token at k.
	k := make([]int, bs)
	next := make([]int32, bs)
	rows := make([]int, 0, bs)
	toks := make([]int32, 0, bs)
	for b0 := 0; b0 < len(reqs); b0 += bs {
		if err := h.err(); err != nil {
			return nil, err
		}
		batch := reqs[b0:min(b0+bs, len(reqs))]
		res := out[b0 : b0+len(batch)]
		prompts = prompts[:0]
		for i, r := range batch {
			prompts = append(prompts, r.Prompt)
			res[i] = scoredGen{logProbs: make([]float64, len(r.Cont)), correct: make([]bool, len(r.Cont)), gen: []int32{}}
			k[i] = -1
		}
		// Teacher forcing: logits row j of a request follows answer[:j].
		// Every row takes its answer up to its last token; a row takes the
		// last token too only when greedy decoding has agreed with the whole
		// answer, for the greedy token after it.
		logits := st.Prefill(prompts)
		rows = rows[:0]
		for i := range batch {
			rows = append(rows, i)
		}
		for j := 0; len(rows) > 0; j++ {
			fed, feed := rows[:0], toks[:0]
			for q, i := range rows {
				cont := batch[i].Cont
				lse, arg := logSumExp(logits[q*V : (q+1)*V])
				if j == len(cont) {
					next[i], k[i] = arg, j
					continue
				}
				row := logits[q*V : (q+1)*V]
				res[i].logProbs[j] = float64(row[cont[j]]) - lse
				res[i].correct[j] = arg == cont[j]
				if k[i] < 0 && arg != cont[j] {
					next[i], k[i] = arg, j
				}
				if j+1 < len(cont) || k[i] < 0 {
					fed, feed = append(fed, i), append(feed, cont[j])
				}
			}
			rows, toks = fed, feed
			if len(rows) > 0 {
				logits = st.Step(rows, toks)
			}
		}
		// Greedy decoding: tokens 0..k are known; Generate's stopping rules
		// run over them, and a row they leave running is cut back to its
		// prompt and answer[:k] and decoded on from token k.
		rows, toks = rows[:0], toks[:0]
		for i, r := range batch {
			if maxNew <= 0 {
				break
			}
			for s := 0; s <= k[i]; s++ {
				tok := next[i]
				if s < k[i] {
					tok = r.Cont[s]
				}
				if tok == sep || stops[tok] {
					break
				}
				res[i].gen = append(res[i].gen, tok)
				if len(r.Prompt)+len(res[i].gen) >= nctx || s+1 >= maxNew {
					break
				}
				if s == k[i] {
					rw.Rewind(i, len(r.Prompt)+k[i])
					rows, toks = append(rows, i), append(toks, tok)
				}
			}
		}
		for len(rows) > 0 {
			logits = st.Step(rows, toks)
			live, feed := rows[:0], toks[:0]
			for q, i := range rows {
				tok := argmax32(logits[q*V : (q+1)*V])
				if tok == sep || stops[tok] {
					continue
				}
				res[i].gen = append(res[i].gen, tok)
				if len(batch[i].Prompt)+len(res[i].gen) >= nctx || len(res[i].gen) >= maxNew {
					continue
				}
				live, feed = append(live, i), append(feed, tok)
			}
			rows, toks = live, feed
		}
	}
	return out, nil
}
