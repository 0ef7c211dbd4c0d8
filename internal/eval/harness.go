package eval

import (
	"context"
	"fmt"
	"math"
	"strings"

	"emlab/internal/data"
	"emlab/internal/nn"
)

// Harness scores items with one model. Requests are batched: BatchSize
// sequences per forward pass, padded with the separator to the longest
// sequence of the batch (the models are causal, so padding after a
// position never changes its logits). A harness keeps the decode state it
// last made (decodeState), so it is used by one goroutine at a time, as its
// model is.
type Harness struct {
	Model     nn.Model
	Tok       data.Tokenizer
	BatchSize int // sequences per forward pass; 0 means 64
	// Ctx, when set, is checked before every batch: once it is done the
	// harness stops with its error (a SIGTERM ends an evaluation of a
	// million items within one batch). nil never stops.
	Ctx context.Context

	stops   map[int32]bool // see stopIDs
	stopsOf data.Tokenizer

	// The decode state generation and fused scoring reuse (decodeState):
	// made by stOf, with room for stLen tokens a row.
	st    nn.DecodeState
	stOf  nn.Decoder
	stLen int
}

// err is the context's error, or nil without a context.
func (h *Harness) err() error {
	if h.Ctx == nil {
		return nil
	}
	return h.Ctx.Err()
}

func (h *Harness) batchSize() int {
	if h.BatchSize > 0 {
		return h.BatchSize
	}
	return 64
}

// Continuation is one "score this continuation" request: Prompt at
// position 0, then Cont. Alts are tokens whose log-probs right after the
// prompt are wanted as well: the log-probs of one-token alternatives to
// Cont's first token, read from the same logits row as Cont[0]'s, so that
// choices of one token each cost one forward pass instead of one each.
type Continuation struct {
	Prompt, Cont []int32
	Alts         []int32
}

// ContScore is the teacher-forced result for one Continuation.
type ContScore struct {
	LogProbs []float64 // log P(Cont[i] | Prompt, Cont[:i]), nats
	Correct  []bool    // Cont[i] is the argmax
	// Dists holds, when requested, the model's full next-token
	// distribution (probabilities) before each Cont token.
	Dists [][]float64
	// NextArgmax is the argmax after the whole continuation (is the
	// separator predicted next?).
	NextArgmax int32
	// AltLogProbs[k] is log P(Alts[k] | Prompt), nats.
	AltLogProbs []float64
}

// ScoreContinuations runs the teacher-forced requests in batches. withDists
// keeps the full distributions (for KL against a reference predictor).
func (h *Harness) ScoreContinuations(reqs []Continuation, withDists bool) ([]ContScore, error) {
	nctx := h.Model.Config().NCtx
	V := h.Model.Config().DVocab
	out := make([]ContScore, len(reqs))
	sep := h.Tok.Sep()
	bs := h.batchSize()
	for b0 := 0; b0 < len(reqs); b0 += bs {
		if err := h.err(); err != nil {
			return nil, err
		}
		batch := reqs[b0:min(b0+bs, len(reqs))]
		T := 0
		for i, r := range batch {
			if len(r.Prompt) == 0 {
				return nil, fmt.Errorf("request %d: empty prompt", b0+i)
			}
			n := len(r.Prompt) + len(r.Cont)
			if n > nctx {
				return nil, fmt.Errorf("request %d: %d tokens exceed the model's context n_ctx=%d", b0+i, n, nctx)
			}
			T = max(T, n)
		}
		B := len(batch)
		tokens := make([]int32, B*T)
		for i := range tokens {
			tokens[i] = sep
		}
		for i, r := range batch {
			copy(tokens[i*T:], r.Prompt)
			copy(tokens[i*T+len(r.Prompt):], r.Cont)
		}
		h.Model.Forward(tokens, nil, B, T)
		logits := h.Model.Logits()
		for i, r := range batch {
			s := ContScore{LogProbs: make([]float64, len(r.Cont)), Correct: make([]bool, len(r.Cont))}
			lp := len(r.Prompt)
			for j := 0; j <= len(r.Cont); j++ {
				pos := lp - 1 + j // logits here predict the token at pos+1
				if pos >= T {
					// the continuation fills the context: nothing is
					// predicted after it
					s.NextArgmax = -1
					break
				}
				row := logits[(i*T+pos)*V : (i*T+pos+1)*V]
				lse, arg := logSumExp(row)
				if j == len(r.Cont) {
					s.NextArgmax = arg
					break
				}
				if j == 0 && len(r.Alts) > 0 {
					s.AltLogProbs = make([]float64, len(r.Alts))
					for k, alt := range r.Alts {
						s.AltLogProbs[k] = float64(row[alt]) - lse
					}
				}
				tok := r.Cont[j]
				s.LogProbs[j] = float64(row[tok]) - lse
				s.Correct[j] = arg == tok
				if withDists {
					d := make([]float64, V)
					for v := range d {
						d[v] = math.Exp(float64(row[v]) - lse)
					}
					s.Dists = append(s.Dists, d)
				}
			}
			out[b0+i] = s
		}
	}
	return out, nil
}

// logSumExp returns log Σ exp(row) in float64 and the argmax (lowest index
// on ties, so results are deterministic).
func logSumExp(row []float32) (float64, int32) {
	mx, arg := row[0], int32(0)
	for v, x := range row {
		if x > mx {
			mx, arg = x, int32(v)
		}
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x - mx))
	}
	return float64(mx) + math.Log(s), arg
}

// Generate continues each prompt greedily until the separator (or a token
// holding a newline, see stopIDs), maxNew tokens, or the end of the
// context, in batches; the stopping token is not included in the result. Models that implement nn.Decoder extend the
// sequences incrementally (a key/value cache for the GPT; generateCached);
// others re-run the whole padded prefix at every token. Both give the same
// tokens (decode_test.go).
func (h *Harness) Generate(prompts [][]int32, maxNew int) ([][]int32, error) {
	if dec, ok := h.Model.(nn.Decoder); ok {
		return h.generateCached(dec, prompts, maxNew)
	}
	nctx := h.Model.Config().NCtx
	V := h.Model.Config().DVocab
	sep, stops := h.Tok.Sep(), h.stopIDs()
	out := make([][]int32, len(prompts))
	bs := h.batchSize()
	for b0 := 0; b0 < len(prompts); b0 += bs {
		if err := h.err(); err != nil {
			return nil, err
		}
		batch := prompts[b0:min(b0+bs, len(prompts))]
		B := len(batch)
		seqs := make([][]int32, B)
		done := make([]bool, B)
		for i, p := range batch {
			if len(p) == 0 || len(p) > nctx {
				return nil, fmt.Errorf("prompt %d: length %d outside [1, n_ctx=%d]", b0+i, len(p), nctx)
			}
			seqs[i] = append([]int32(nil), p...)
		}
		for step := 0; step < maxNew; step++ {
			T, active := 0, 0
			for i, s := range seqs {
				if !done[i] {
					T = max(T, len(s))
					active++
				}
			}
			if active == 0 {
				break
			}
			// Only the unfinished sequences are run; rows keep their order.
			rows := make([]int, 0, active)
			tokens := make([]int32, 0, active*T)
			for i, s := range seqs {
				if done[i] {
					continue
				}
				rows = append(rows, i)
				tokens = append(tokens, s...)
				for k := len(s); k < T; k++ {
					tokens = append(tokens, sep)
				}
			}
			h.Model.Forward(tokens, nil, len(rows), T)
			logits := h.Model.Logits()
			for r, i := range rows {
				pos := len(seqs[i]) - 1
				_, next := logSumExp(logits[(r*T+pos)*V : (r*T+pos+1)*V])
				if next == sep || stops[next] {
					done[i] = true
					continue
				}
				seqs[i] = append(seqs[i], next)
				if len(seqs[i]) >= nctx {
					done[i] = true
				}
			}
		}
		for i, s := range seqs {
			out[b0+i] = s[len(batch[i]):]
		}
	}
	return out, nil
}

// stopIDs are the ids that end a generation besides the separator: the
// tokens whose text holds a newline. No document holds one (emlab's own
// tokenizers decode the separator to "\n", so for them this is the
// separator alone); a model trained elsewhere, whose separator ends a
// whole document, ends the line where an item's answer ends.
func (h *Harness) stopIDs() map[int32]bool {
	if h.stops != nil && h.stopsOf == h.Tok {
		return h.stops
	}
	h.stops, h.stopsOf = map[int32]bool{}, h.Tok
	for id := range int32(h.Tok.Vocab()) {
		if strings.Contains(h.Tok.Decode([]int32{id}), "\n") {
			h.stops[id] = true
		}
	}
	return h.stops
}
