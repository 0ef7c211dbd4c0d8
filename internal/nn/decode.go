package nn

// decode.go is incremental decoding: extending B sequences one token at a
// time while keeping what the earlier tokens computed (the GPT's keys and
// values, the LSTM's h and c, the MLP's last Window tokens), so generating
// n tokens costs O(n) token steps instead of re-running the whole prefix
// at every token (O(n²) for the matrices, O(n³) for attention).
//
// Contract: the logits a DecodeState returns for a row are bit-identical to
// the logits Forward computes at the same position of the same sequence.
// Each step uses the same tensor kernels in the same order as Forward, on
// fewer rows; this holds because every kernel computes a row (and Gemm an
// element, in its fixed k order) independently of how many rows there are
// (tensor.Gemm's contract). The tests in decode_test.go check it exactly; if
// a kernel ever loses that row independence they fail, and cached greedy
// generation could then differ from uncached generation at near-ties.
//
// What this file deliberately does not do: sampling (the harness decodes
// greedily), beam search, evicting or sliding the cache past NCtx (a row
// stops at NCtx tokens, as Forward does), or sharing a cache between rows.

import "fmt"

// Decoder is implemented by models that can extend sequences one token at a
// time (the GPT, the LSTM and the MLP).
type Decoder interface {
	// NewDecodeState returns an empty cache for up to B sequences of up to
	// NCtx tokens each, allocated once and reused by every Prefill. The
	// state reads the model's weights (and the GPT's head mask) at every
	// call, so it must not outlive a change of weights between Prefill and
	// the Steps that follow it. It panics if B < 1.
	NewDecodeState(B int) DecodeState
}

// DecodeState is a batch of up to Rows() sequences being extended one token
// at a time. Rows are independent: they may have prompts of different
// lengths and stop at different times. A DecodeState shares buffers with its
// model: neither may be used concurrently with the other, and Prefill may
// replace the model's activations as a Forward does.
//
// Both methods panic on arguments that break the contract below; these are
// programming errors (the evaluation harness validates prompts first).
type DecodeState interface {
	// Rows returns B, the most rows the state holds.
	Rows() int
	// Prefill discards every row and starts rows 0..len(prompts)−1 with
	// the prompts (len(prompts) ≤ B; 1 ≤ len(prompts[i]) ≤ NCtx; ids in
	// [0, DVocab)). It returns the logits that follow each prompt's last
	// token, (len(prompts), DVocab): a view of the state's buffer, valid
	// until the next Prefill or Step.
	Prefill(prompts [][]int32) []float32
	// Step appends tokens[j] to row rows[j] for every j and returns the
	// logits that follow it, (len(rows), DVocab), a view valid until the
	// next call. rows must be strictly increasing, each started by the last
	// Prefill and holding fewer than NCtx tokens; rows not named keep their
	// state untouched.
	Step(rows []int, tokens []int32) []float32
	// Len returns the number of tokens row i holds (0 for a row the last
	// Prefill did not start).
	Len(i int) int
}

// Rewinder is a DecodeState whose rows can be cut back to a prefix (the
// GPT's: a row's cache holds one key and value per position, so a shorter
// row is the same cache read to fewer positions). Rewind(i, n) leaves row i
// holding its first n tokens, as if only those had been fed: the next Step
// of the row appends at position n and returns the logits Forward computes
// there, bit for bit. It panics unless 1 ≤ n ≤ Len(i). Teacher-forced
// scoring and greedy generation share a prompt this way: the answer is fed,
// then the row is cut back to where the greedy choice left the answer.
type Rewinder interface {
	Rewind(i, n int)
}

// rewind implements Rewinder's bookkeeping for the states whose rows are
// read only up to their length.
func (d *decodeBase) rewind(i, n int) {
	if i < 0 || i >= d.started {
		panic(fmt.Sprintf("%s: Rewind row %d: not among the %d started by Prefill", d.who, i, d.started))
	}
	if n < 1 || n > d.lens[i] {
		panic(fmt.Sprintf("%s: Rewind row %d to %d tokens, want 1..%d", d.who, i, n, d.lens[i]))
	}
	d.lens[i] = n
}

// decodeBase is the bookkeeping every DecodeState shares: row lengths and
// the checks of the DecodeState contract.
type decodeBase struct {
	who     string // "nn.GPT" etc., for panic messages
	B       int
	nctx, V int
	started int   // rows started by the last Prefill
	lens    []int // (B) tokens held by each row
	pos     []int // (B) scratch: position of the token each stepped row appends
}

func newDecodeBase(who string, cfg Config, B int) decodeBase {
	if B < 1 {
		panic(fmt.Sprintf("%s.NewDecodeState: B = %d, want ≥ 1", who, B))
	}
	return decodeBase{who: who, B: B, nctx: cfg.NCtx, V: cfg.DVocab, lens: make([]int, B), pos: make([]int, B)}
}

// Rows implements DecodeState.
func (d *decodeBase) Rows() int { return d.B }

// Len implements DecodeState.
func (d *decodeBase) Len(i int) int { return d.lens[i] }

// startPrefill checks prompts, resets the rows and records the prompt
// lengths; it returns the longest prompt length.
func (d *decodeBase) startPrefill(prompts [][]int32) (tmax int) {
	if len(prompts) < 1 || len(prompts) > d.B {
		panic(fmt.Sprintf("%s: Prefill with %d prompts, want 1..%d", d.who, len(prompts), d.B))
	}
	for i, p := range prompts {
		if len(p) < 1 || len(p) > d.nctx {
			panic(fmt.Sprintf("%s: Prefill prompt %d has %d tokens, want 1..n_ctx=%d", d.who, i, len(p), d.nctx))
		}
		d.checkTokens(p)
		tmax = max(tmax, len(p))
	}
	clear(d.lens)
	for i, p := range prompts {
		d.lens[i] = len(p)
	}
	d.started = len(prompts)
	return tmax
}

// startStep checks a Step's arguments and fills d.pos[:len(rows)] with the
// position each row's new token takes. It does not advance the lengths
// (finishStep does, once the step is computed).
func (d *decodeBase) startStep(rows []int, tokens []int32) {
	if len(rows) != len(tokens) || len(rows) > d.B {
		panic(fmt.Sprintf("%s: Step with %d rows and %d tokens (B = %d)", d.who, len(rows), len(tokens), d.B))
	}
	prev := -1
	for j, r := range rows {
		if r <= prev || r >= d.started {
			panic(fmt.Sprintf("%s: Step row %d: rows must be increasing and among the %d started by Prefill", d.who, r, d.started))
		}
		prev = r
		if d.lens[r] >= d.nctx {
			panic(fmt.Sprintf("%s: Step row %d already holds n_ctx=%d tokens", d.who, r, d.nctx))
		}
		d.pos[j] = d.lens[r]
	}
	d.checkTokens(tokens)
}

func (d *decodeBase) finishStep(rows []int) {
	for _, r := range rows {
		d.lens[r]++
	}
}

func (d *decodeBase) checkTokens(ids []int32) {
	for _, id := range ids {
		if id < 0 || int(id) >= d.V {
			panic(fmt.Sprintf("%s: token id %d outside [0, %d)", d.who, id, d.V))
		}
	}
}
