package nn

// decode_gpt.go is the GPT's key/value cache (see decode.go for the
// contract). Prefill runs the prompts through Forward and keeps every
// layer's keys and values; a Step embeds one new token per row at that
// row's own position, appends its key and value to the row's cache, and
// attends from it over the cache, with the same head mask as Forward.
//
//	x = wte[tok] + wpe[pos]                    (A, C), A = rows stepped
//	per block: q, k, v = ln_1(x)·W_QKV + b     append k, v at pos
//	           z_h = softmax(q_h·K_hᵀ/√Dh)·V_h  over positions 0..pos of the row
//	           x += z·W_O + b;  x += mlp(ln_2(x))
//	logits = ln_f(x)·wteᵀ (or lm_head)
//
// What it deliberately does not do: attention arithmetic of its own (each
// (row, head) is tensor.AttentionRow, the last row of Forward's attention
// head, element for element), or a cache shared across rows.

import (
	"math"

	"emlab/internal/tensor"
)

// gptDecodeState implements DecodeState for the GPT.
type gptDecodeState struct {
	decodeBase
	m *GPT

	// Keys are stored transposed per head, so a query's scores q·Kᵀ are an
	// untransposed product that Gemm reads in place (a transposed operand is
	// packed on every call: as much copying as arithmetic for one query);
	// the arithmetic per score is the same Σ_p q_p·k_p in p order.
	kT []float32 // (L, B, H, Dh, NCtx) keys of every cached position
	v  []float32 // (L, B, NCtx, C) values; head h is columns h·Dh..

	// Scratch for the A ≤ B rows of one Step, packed in the order of rows.
	x          []float32 // (B, C) residual stream
	h          []float32 // (B, C) LayerNorm output
	mean, rstd []float32 // (B)
	qkv        []float32 // (B, 3C)
	att        []float32 // (B, H, NCtx) one attention row per (row, head)
	z          []float32 // (B, C) head outputs after the mask
	o          []float32 // (B, C) attn_out, then mlp_out
	pre, post  []float32 // (B, F), nil with AttnOnly
	logits     []float32 // (B, V)
	prefill    []int32   // (B, NCtx) padded prompts for Prefill's Forward

	// The running Step's rows and tokens, and its row groups' loop (built
	// once, so that a step allocates nothing).
	rows   []int
	tokens []int32
	groups int
	stepFn func(g int)
}

// NewDecodeState implements Decoder.
func (m *GPT) NewDecodeState(B int) DecodeState {
	cfg := m.cfg
	C, F, H, L, V, N := cfg.DModel, cfg.HiddenMLP(), cfg.NHeads, cfg.NLayers, cfg.DVocab, cfg.NCtx
	s := &gptDecodeState{decodeBase: newDecodeBase("nn.GPT", cfg, B), m: m,
		kT: make([]float32, L*B*N*C), v: make([]float32, L*B*N*C),
		x: make([]float32, B*C), h: make([]float32, B*C), mean: make([]float32, B), rstd: make([]float32, B),
		qkv: make([]float32, B*3*C), att: make([]float32, B*H*N), z: make([]float32, B*C), o: make([]float32, B*C),
		logits: make([]float32, B*V), prefill: make([]int32, B*N),
	}
	if !cfg.AttnOnly {
		s.pre, s.post = make([]float32, B*F), make([]float32, B*F)
	}
	s.stepFn = s.stepGroup
	return s
}

// cacheRow is the offset of (layer l, row r) in kT and v: (H, Dh, NCtx)
// and (NCtx, C) follow.
func (s *gptDecodeState) cacheRow(l, r int) int {
	return (l*s.B + r) * s.nctx * s.m.cfg.DModel
}

// store appends the key and value of position t of row r at layer l, from
// one token's qkv (3C).
func (s *gptDecodeState) store(l, r, t int, qkv []float32) {
	C, N := s.m.cfg.DModel, s.nctx
	base := s.cacheRow(l, r)
	kT := s.kT[base : base+C*N] // (C = H·Dh, NCtx)
	for c, x := range qkv[C : 2*C] {
		kT[c*N+t] = x
	}
	copy(s.v[base+t*C:base+(t+1)*C], qkv[2*C:3*C])
}

// Prefill implements DecodeState: one Forward over the prompts padded to
// the longest (causal, so the padding changes nothing before it), whose
// keys and values are copied into the cache.
func (s *gptDecodeState) Prefill(prompts [][]int32) []float32 {
	T := s.startPrefill(prompts)
	m, n := s.m, len(prompts)
	C, V := m.cfg.DModel, m.cfg.DVocab
	tokens := s.prefill[:n*T] // (n, T), padded with token 0
	clear(tokens)
	for i, p := range prompts {
		copy(tokens[i*T:], p)
	}
	m.Forward(tokens, nil, n, T)
	for l := 0; l < m.cfg.NLayers; l++ {
		qkv := m.layer(m.act.qkv, l, 3*C) // (n, T, 3C)
		for i, p := range prompts {
			for t := range p {
				s.store(l, i, t, qkv[(i*T+t)*3*C:(i*T+t+1)*3*C])
			}
		}
	}
	logits, out := m.Logits(), s.logits[:n*V]
	for i, p := range prompts {
		copy(out[i*V:(i+1)*V], logits[(i*T+len(p)-1)*V:])
	}
	return out
}

// Rewind implements Rewinder: a Step reads a row's keys and values only
// at positions below its length and overwrites the one at its length, so
// cutting the length back is all a rewind needs.
func (s *gptDecodeState) Rewind(i, n int) { s.rewind(i, n) }

// Step implements DecodeState. Every operation is Forward's, in Forward's
// order, on the A stepped rows (see the file comment). The rows are cut into
// gptMicroBatches groups that run in parallel, each through every layer;
// all of Step's arithmetic is per row, so the grouping changes no bit.
func (s *gptDecodeState) Step(rows []int, tokens []int32) []float32 {
	s.startStep(rows, tokens)
	A := len(rows)
	if A == 0 {
		return s.logits[:0]
	}
	s.rows, s.tokens, s.groups = rows, tokens, min(A, gptMicroBatches)
	tensor.ParallelFor(s.groups, s.stepFn)
	s.rows, s.tokens = nil, nil
	s.finishStep(rows)
	return s.logits[:A*s.m.cfg.DVocab]
}

// stepGroup is Step for row group g: stepped rows [j0, j1).
func (s *gptDecodeState) stepGroup(g int) {
	m := s.m
	cfg, w := m.cfg, &m.w
	C, V, F, H := cfg.DModel, cfg.DVocab, cfg.HiddenMLP(), cfg.NHeads
	Dh := C / H
	A := len(s.rows)
	j0, j1 := g*A/s.groups, (g+1)*A/s.groups
	n := j1 - j0
	rows, pos := s.rows[j0:j1], s.pos[j0:j1]
	span := func(buf []float32, width int) []float32 { return buf[j0*width : j1*width] }

	// x = wte[tok] + wpe[pos], per row at its own position.
	x := span(s.x, C) // (n, C)
	tensor.Gather(x, w.wte, s.tokens[j0:j1], C)
	for j, p := range pos {
		tensor.Add(x[j*C:(j+1)*C], x[j*C:(j+1)*C], w.wpe[p*C:(p+1)*C])
	}
	mean, rstd := span(s.mean, 1), span(s.rstd, 1)
	hbuf := span(s.h, C)
	scale := float32(1 / math.Sqrt(float64(Dh)))
	for l := 0; l < cfg.NLayers; l++ {
		lw := &w.layers[l]
		h := x
		if cfg.LayerNorm {
			h = hbuf
			tensor.LayerNormForward(h, mean, rstd, x, lw.ln1W, lw.ln1B, n, C, lnEps)
		}
		qkv := span(s.qkv, 3*C) // (n, 3C)
		tensor.Gemm(false, false, n, 3*C, C, h, C, lw.qkvW, 3*C, 0, qkv, 3*C)
		tensor.AddBias(qkv, lw.qkvB, n, 3*C)
		for j, r := range rows {
			s.store(l, r, pos[j], qkv[j*3*C:(j+1)*3*C])
		}
		var mask []float32
		if m.headMask != nil {
			mask = m.headMask[l*H : (l+1)*H]
		}
		z := span(s.z, C) // (n, C)
		for i := 0; i < n*H; i++ {
			j, hd := i/H, i%H
			np := pos[j] + 1
			base := s.cacheRow(l, rows[j])
			kT := s.kT[base+hd*Dh*s.nctx:] // (Dh, np), row stride NCtx
			vc := s.v[base+hd*Dh:]         // (np, Dh), row stride C
			q := qkv[j*3*C+hd*Dh:]         // (1, Dh)
			p := s.att[(j0+j)*H*s.nctx+hd*s.nctx:][:np]
			// scores (1, np) = q·Kᵀ, softmax of scores/√Dh, z_h (1, Dh) = p·V
			zh := z[j*C+hd*Dh : j*C+hd*Dh+Dh]
			tensor.AttentionRow(p, zh, q[:Dh], kT, s.nctx, vc, C, np, Dh, scale)
			if mask != nil && mask[hd] != 1 {
				tensor.Scale(zh, mask[hd])
			}
		}
		o := span(s.o, C) // (n, C) attn_out
		tensor.Gemm(false, false, n, C, C, z, C, lw.projW, C, 0, o, C)
		tensor.AddBias(o, lw.projB, n, C)
		tensor.Add(x, x, o) // resid_mid = resid_pre + attn_out

		if cfg.AttnOnly {
			continue
		}
		h2 := x
		if cfg.LayerNorm {
			h2 = hbuf
			tensor.LayerNormForward(h2, mean, rstd, x, lw.ln2W, lw.ln2B, n, C, lnEps)
		}
		pre, post := span(s.pre, F), span(s.post, F) // (n, F)
		tensor.Gemm(false, false, n, F, C, h2, C, lw.fcW, F, 0, pre, F)
		if cfg.Act == "relu" {
			tensor.AddBias(pre, lw.fcB, n, F)
			tensor.ReLUForward(post, pre)
		} else {
			tensor.BiasGELUForward(post, pre, lw.fcB, n, F) // pre += b, post = GELU(pre)
		}
		tensor.Gemm(false, false, n, C, F, post, F, lw.fcProjW, C, 0, o, C)
		tensor.AddBias(o, lw.fcProjB, n, C)
		tensor.Add(x, x, o) // resid_post = resid_mid + mlp_out
	}

	xf := x
	if cfg.LayerNorm {
		xf = hbuf
		tensor.LayerNormForward(xf, mean, rstd, x, w.lnfW, w.lnfB, n, C, lnEps)
	}
	logits := span(s.logits, V) // (n, V)
	if cfg.TiedEmbeddings {
		tensor.Gemm(false, true, n, V, C, xf, C, w.wte, C, 0, logits, V)
	} else {
		tensor.Gemm(false, false, n, V, C, xf, C, w.lmHead, V, 0, logits, V)
	}
}
