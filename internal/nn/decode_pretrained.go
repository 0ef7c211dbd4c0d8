package nn

// decode_pretrained.go is the loaded transformer's key/value cache (see
// decode.go for the contract: a Step's logits are bit-identical to
// Forward's at the same position). It is decode_gpt.go with the Spec's
// options, each applied exactly as Forward applies it: the rotary
// embedding rotates a step's q and k at the row's own position before the
// key is cached (so the cache holds rotated keys, as Forward's attention
// sees them), the residual is parallel or sequential, and the MLP's
// activation and the LayerNorm epsilon are the Spec's.
//
// What it deliberately does not do: anything decode_gpt.go does not do
// (sampling, sliding past NCtx, sharing a cache between rows).

import (
	"fmt"

	"emlab/internal/tensor"
)

// pretrainedDecodeState implements DecodeState for Pretrained.
type pretrainedDecodeState struct {
	decodeBase
	m *Pretrained

	kT []float32 // (L, B, H, Dh, NCtx) rotated keys, transposed per head
	v  []float32 // (L, B, NCtx, C)

	x, h, mid  []float32 // (B, C) residual stream, LayerNorm output, resid_mid
	mean, rstd []float32 // (B)
	qkv        []float32 // (B, 3C)
	att        []float32 // (B, H, NCtx)
	z, o, mo   []float32 // (B, C) head outputs, attn_out, mlp_out
	pre, post  []float32 // (B, F)
	logits     []float32 // (B, V)
	prefill    []int32   // (B, NCtx)

	// The running Step's layer, rows, qkv, head mask and scale for its
	// attention loop, built once so that a step allocates nothing.
	layer  int
	rows   []int
	mask   []float32
	scale  float32
	headFn func(i int)
}

// NewDecodeState implements Decoder.
func (m *Pretrained) NewDecodeState(B int) DecodeState { return m.NewDecodeStateLen(B, m.spec.NCtx) }

// NewDecodeStateLen is NewDecodeState with room for n ≤ NCtx tokens per
// row instead of NCtx: the cache is L·B·n·C·2 floats, and a model trained
// elsewhere has a long context (Pythia's 2048: 150 MB per row for 160M
// parameters) that short generations never use. A row then stops at n
// tokens as it would at NCtx; the logits are those of NewDecodeState's.
func (m *Pretrained) NewDecodeStateLen(B, n int) DecodeState {
	s := m.spec
	if n < 1 || n > s.NCtx {
		panic(fmt.Sprintf("nn.Pretrained.NewDecodeStateLen: n = %d, want 1..n_ctx=%d", n, s.NCtx))
	}
	cfg := m.Config()
	cfg.NCtx = n
	C, F, H, L, V, N := s.DModel, s.DMLP, s.NHeads, s.NLayers, s.DVocab, n
	st := &pretrainedDecodeState{decodeBase: newDecodeBase("nn.Pretrained", cfg, B), m: m,
		kT: make([]float32, L*B*N*C), v: make([]float32, L*B*N*C),
		x: make([]float32, B*C), h: make([]float32, B*C), mid: make([]float32, B*C),
		mean: make([]float32, B), rstd: make([]float32, B), qkv: make([]float32, B*3*C),
		att: make([]float32, B*H*N), z: make([]float32, B*C), o: make([]float32, B*C), mo: make([]float32, B*C),
		pre: make([]float32, B*F), post: make([]float32, B*F), logits: make([]float32, B*V),
		prefill: make([]int32, B*N),
	}
	st.headFn = st.attendHead
	return st
}

func (s *pretrainedDecodeState) cacheRow(l, r int) int {
	return (l*s.B + r) * s.nctx * s.m.spec.DModel
}

// store caches the (rotated) key and the value of position t of row r at
// layer l, from one token's qkv (3C).
func (s *pretrainedDecodeState) store(l, r, t int, qkv []float32) {
	C, N := s.m.spec.DModel, s.nctx
	base := s.cacheRow(l, r)
	kT := s.kT[base : base+C*N]
	for c, x := range qkv[C : 2*C] {
		kT[c*N+t] = x
	}
	copy(s.v[base+t*C:base+(t+1)*C], qkv[2*C:3*C])
}

// Prefill implements DecodeState: one Forward over the padded prompts,
// whose (rotated) keys and values are cached layer by layer as Forward
// computes them (through the model's qkv hook, so this works whether or
// not the model keeps its activations).
func (s *pretrainedDecodeState) Prefill(prompts [][]int32) []float32 {
	T := s.startPrefill(prompts)
	m, n := s.m, len(prompts)
	C, V := m.spec.DModel, m.spec.DVocab
	tokens := s.prefill[:n*T]
	clear(tokens)
	for i, p := range prompts {
		copy(tokens[i*T:], p)
	}
	m.qkvHook = func(l int, qkv []float32) {
		for i, p := range prompts {
			for t := range p {
				s.store(l, i, t, qkv[(i*T+t)*3*C:(i*T+t+1)*3*C])
			}
		}
	}
	m.Forward(tokens, nil, n, T)
	m.qkvHook = nil
	logits, out := m.Logits(), s.logits[:n*V]
	for i, p := range prompts {
		copy(out[i*V:(i+1)*V], logits[(i*T+len(p)-1)*V:])
	}
	return out
}

// Step implements DecodeState with Forward's operations in Forward's order
// on the A stepped rows.
func (s *pretrainedDecodeState) Step(rows []int, tokens []int32) []float32 {
	s.startStep(rows, tokens)
	m := s.m
	sp, w := m.spec, &m.w
	C, V, F, H := sp.DModel, sp.DVocab, sp.DMLP, sp.NHeads
	A := len(rows)
	if A == 0 {
		return s.logits[:0]
	}
	pos := s.pos[:A]
	eps := float32(sp.LNEps)

	x := s.x[:A*C]
	tensor.Gather(x, w.wte, tokens, C)
	if !sp.Rotary {
		for j, p := range pos {
			tensor.Add(x[j*C:(j+1)*C], x[j*C:(j+1)*C], w.wpe[p*C:(p+1)*C])
		}
	}
	mean, rstd := s.mean[:A], s.rstd[:A]
	for l := 0; l < sp.NLayers; l++ {
		lw := &w.layers[l]
		h := s.h[:A*C]
		tensor.LayerNormForward(h, mean, rstd, x, lw.ln1W, lw.ln1B, A, C, eps)
		qkv := s.qkv[:A*3*C]
		tensor.Gemm(false, false, A, 3*C, C, h, C, lw.qkvW, 3*C, 0, qkv, 3*C)
		tensor.AddBias(qkv, lw.qkvB, A, 3*C)
		if sp.Rotary {
			for j, p := range pos {
				m.rotateRow(qkv[j*3*C:(j+1)*3*C], p)
			}
		}
		for j, r := range rows {
			s.store(l, r, pos[j], qkv[j*3*C:(j+1)*3*C])
		}
		s.layer, s.rows, s.mask, s.scale = l, rows, nil, m.attnScale(l)
		if m.headMask != nil {
			s.mask = m.headMask[l*H : (l+1)*H]
		}
		tensor.ParallelFor(A*H, s.headFn)
		s.rows, s.mask = nil, nil
		z := s.z[:A*C]
		o := s.o[:A*C] // attn_out
		tensor.Gemm(false, false, A, C, C, z, C, lw.projW, C, 0, o, C)
		tensor.AddBias(o, lw.projB, A, C)

		mlpIn := x
		if !sp.ParallelResidual {
			mlpIn = s.mid[:A*C]
			tensor.Add(mlpIn, x, o)
		}
		h2 := s.h[:A*C]
		tensor.LayerNormForward(h2, mean, rstd, mlpIn, lw.ln2W, lw.ln2B, A, C, eps)
		pre, post := s.pre[:A*F], s.post[:A*F]
		tensor.Gemm(false, false, A, F, C, h2, C, lw.fcW, F, 0, pre, F)
		tensor.AddBias(pre, lw.fcB, A, F)
		m.activate(post, pre)
		mo := s.mo[:A*C]
		tensor.Gemm(false, false, A, C, F, post, F, lw.fcProjW, C, 0, mo, C)
		tensor.AddBias(mo, lw.fcProjB, A, C)
		if sp.ParallelResidual {
			tensor.Add(x, x, o)
			tensor.Add(x, x, mo)
		} else {
			tensor.Add(x, mlpIn, mo)
		}
	}

	xf := s.h[:A*C]
	tensor.LayerNormForward(xf, mean, rstd, x, w.lnfW, w.lnfB, A, C, eps)
	logits := s.logits[:A*V]
	if sp.TiedEmbeddings {
		tensor.Gemm(false, true, A, V, C, xf, C, w.wte, C, 0, logits, V)
	} else {
		tensor.Gemm(false, false, A, V, C, xf, C, w.lmHead, V, 0, logits, V)
	}
	s.finishStep(rows)
	return logits
}

// attendHead is Step's attention for (stepped row, head) i of the layer
// s.layer: the row's query over its cache, as Forward's attention head
// computes its last row.
func (s *pretrainedDecodeState) attendHead(i int) {
	sp := s.m.spec
	C, H := sp.DModel, sp.NHeads
	Dh := C / H
	j, hd := i/H, i%H
	n := s.pos[j] + 1
	base := s.cacheRow(s.layer, s.rows[j])
	kT := s.kT[base+hd*Dh*s.nctx:]
	vc := s.v[base+hd*Dh:]
	q := s.qkv[j*3*C+hd*Dh:]
	p := s.att[i*s.nctx : i*s.nctx+n]
	zh := s.z[j*C+hd*Dh : j*C+hd*Dh+Dh]
	tensor.AttentionRow(p, zh, q[:Dh], kT, s.nctx, vc, C, n, Dh, s.scale)
	if s.mask != nil && s.mask[hd] != 1 {
		tensor.Scale(zh, s.mask[hd])
	}
}
