package probe

import (
	"fmt"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"

	"emlab/internal/nn"
)

// CopyingScore is Elhage et al. 2021's ("A Mathematical Framework for
// Transformer Circuits", the OV-circuit eigenvalue analysis) copying score of
// one head: with the full OV circuit M = W_E·W_V·W_O·W_U (DVocab × DVocab,
// row-vector convention: a token's embedding times M gives the logits the
// head writes when it attends to that token),
//
//	score = Σ_i λ_i / Σ_i |λ_i|   (real part of the numerator; λ the eigenvalues of M)
//
// A head whose circuit raises the logit of the token it attends to (M
// positive definite-like, e.g. M = I) scores 1; one that suppresses it
// scores −1; a random circuit scores ≈ 0. Since the nonzero eigenvalues of
// a cyclic product are shared, the eigenvalues are taken of the DHead ×
// DHead matrix W_O·W_U·W_E·W_V, which is cheap. Shapes: WE (V, C), WV (C,
// Dh), WO (Dh, C), WU (C, V). LayerNorm and positional embeddings are left
// out (exact for attn2, which has neither in the OV path). It fails when
// every eigenvalue is 0.
func CopyingScore(WE, WV, WO, WU *mat.Dense) (float64, error) {
	v, c := WE.Dims()
	c2, dh := WV.Dims()
	dh2, c3 := WO.Dims()
	c4, v2 := WU.Dims()
	if c != c2 || c != c3 || c != c4 || dh != dh2 || v != v2 {
		return 0, fmt.Errorf("copying score: shapes WE %dx%d, WV %dx%d, WO %dx%d, WU %dx%d do not chain", v, c, c2, dh, dh2, c3, c4, v2)
	}
	var ou, oue, m mat.Dense
	ou.Mul(WO, WU)   // (Dh, V)
	oue.Mul(&ou, WE) // (Dh, C)
	m.Mul(&oue, WV)  // (Dh, Dh)
	// Checking the product covers its factors: a NaN or Inf in any of them
	// reaches it (barring an exact cancellation, which leaves m usable).
	if err := finiteMatrix("copying score: OV circuit", &m); err != nil {
		return 0, err
	}
	var eig mat.Eigen
	if !eig.Factorize(&m, mat.EigenNone) {
		return 0, fmt.Errorf("copying score: eigendecomposition did not converge")
	}
	var num, den float64
	for _, l := range eig.Values(nil) {
		num += real(l)
		den += cmplx.Abs(l)
	}
	if den == 0 {
		return 0, fmt.Errorf("copying score: the OV circuit is zero")
	}
	return num / den, nil
}

// GPTWeights reads the matrices of the circuit analyses from a GPT's
// parameters (GPT-2 names and (in, out) layout): W_E = wte (V, C), W_U =
// lm_head (C, V) or wteᵀ when tied, and per layer and head W_Q, W_K, W_V
// (C, Dh) and W_O (Dh, C).
type GPTWeights struct {
	WE, WU     *mat.Dense
	WQ, WK, WV [][]*mat.Dense // [layer][head]
	WO         [][]*mat.Dense
}

// ReadGPTWeights copies the circuit matrices out of a GPT's parameter set.
func ReadGPTWeights(cfg nn.Config, ps *nn.ParamSet) (*GPTWeights, error) {
	if !nn.IsTransformer(cfg.Arch) {
		return nil, fmt.Errorf("circuit weights: want a gpt (or a loaded transformer), got %s", cfg.Arch)
	}
	get := func(name string) ([]float32, error) {
		p, ok := ps.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("circuit weights: no parameter %s", name)
		}
		return ps.Data[p.Off : p.Off+p.Size], nil
	}
	C, V, H, Dh := cfg.DModel, cfg.DVocab, cfg.NHeads, cfg.DHead()
	dense := func(r, c int, at func(i, j int) float32) *mat.Dense {
		d := mat.NewDense(r, c, nil)
		for i := range r {
			for j := range c {
				d.Set(i, j, float64(at(i, j)))
			}
		}
		return d
	}
	wte, err := get("wte.weight")
	if err != nil {
		return nil, err
	}
	w := &GPTWeights{WE: dense(V, C, func(i, j int) float32 { return wte[i*C+j] })}
	if cfg.TiedEmbeddings {
		w.WU = dense(C, V, func(i, j int) float32 { return wte[j*C+i] })
	} else {
		lm, err := get("lm_head.weight")
		if err != nil {
			return nil, err
		}
		w.WU = dense(C, V, func(i, j int) float32 { return lm[i*V+j] })
	}
	for l := range cfg.NLayers {
		qkv, err := get(fmt.Sprintf("h.%d.attn.c_attn.weight", l)) // (C, 3C)
		if err != nil {
			return nil, err
		}
		proj, err := get(fmt.Sprintf("h.%d.attn.c_proj.weight", l)) // (C, C)
		if err != nil {
			return nil, err
		}
		var q, k, v, o []*mat.Dense
		for h := range H {
			col := func(part int) *mat.Dense {
				return dense(C, Dh, func(i, j int) float32 { return qkv[i*3*C+part*C+h*Dh+j] })
			}
			q, k, v = append(q, col(0)), append(k, col(1)), append(v, col(2))
			o = append(o, dense(Dh, C, func(i, j int) float32 { return proj[(h*Dh+i)*C+j] }))
		}
		w.WQ, w.WK, w.WV, w.WO = append(w.WQ, q), append(w.WK, k), append(w.WV, v), append(w.WO, o)
	}
	return w, nil
}

// CopyingScores is CopyingScore for every head of a GPT.
func CopyingScores(w *GPTWeights) (Matrix, error) {
	out := make(Matrix, len(w.WV))
	for l := range w.WV {
		for h := range w.WV[l] {
			s, err := CopyingScore(w.WE, w.WV[l][h], w.WO[l][h], w.WU)
			if err != nil {
				return nil, fmt.Errorf("layer %d head %d: %w", l, h, err)
			}
			out[l] = append(out[l], s)
		}
	}
	return out, nil
}
