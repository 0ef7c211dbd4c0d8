package probe

// heads.go: attention-head detectors in TransformerLens's style (its
// head_detector module): each scores every head of one layer from that
// layer's pattern (B, H, T, T) — and the tokens where the definition needs
// them — and the model-level wrapper stacks the layers into a [layer][head]
// Matrix. The pattern is read, never written.
//
// Each detector's doc comment gives the score of a perfect head and of a
// uniform ("random") head, attn[t, s] = 1/(t+1) for s ≤ t, in closed form;
// the tests check both.

import (
	"fmt"
	"math"
)

// Matrix is a [layer][head] score matrix.
type Matrix [][]float64

// NewMatrix returns an L×H matrix of zeros.
func NewMatrix(L, H int) Matrix {
	m := make(Matrix, L)
	for l := range m {
		m[l] = make([]float64, H)
	}
	return m
}

// Max returns the largest entry and its (layer, head); (NaN, −1, −1) for an
// empty matrix. NaN entries are skipped.
func (m Matrix) Max() (v float64, layer, head int) {
	v, layer, head = math.NaN(), -1, -1
	for l, row := range m {
		for h, x := range row {
			if !math.IsNaN(x) && (layer < 0 || x > v) {
				v, layer, head = x, l, h
			}
		}
	}
	return v, layer, head
}

// Pattern is one layer's attention pattern: P[((b·H + h)·T + t)·T + s] is
// how much position t of sequence b attends to position s in head h
// (rows sum to 1, zero above the diagonal), as blocks.<l>.attn.pattern.
type Pattern struct {
	P       []float32
	B, H, T int
}

func (p Pattern) check(tokens []int32) error {
	if p.B <= 0 || p.H <= 0 || p.T <= 0 || len(p.P) != p.B*p.H*p.T*p.T {
		return fmt.Errorf("pattern: %d values for shape (B=%d, H=%d, T=%d, T)", len(p.P), p.B, p.H, p.T)
	}
	if tokens != nil && len(tokens) != p.B*p.T {
		return fmt.Errorf("pattern: %d tokens for (B=%d, T=%d)", len(tokens), p.B, p.T)
	}
	return nil
}

// row returns attn[b, h, t, 0:T].
func (p Pattern) row(b, h, t int) []float32 {
	o := ((b*p.H+h)*p.T + t) * p.T
	return p.P[o : o+p.T]
}

// PrevTokenScores is, per head, the mean over sequences b and positions
// t ≥ 1 of attn[t, t−1] (TransformerLens's previous-token detector).
// Perfect head: 1. Uniform head: (H_T − 1)/(T − 1), with H_n the n-th
// harmonic number (attn[t, t−1] = 1/(t+1)); ≈ 0.056 at T = 64.
func PrevTokenScores(p Pattern) ([]float64, error) {
	if err := p.check(nil); err != nil {
		return nil, err
	}
	if p.T < 2 {
		return nil, fmt.Errorf("previous-token score needs T ≥ 2, got %d", p.T)
	}
	out := make([]float64, p.H)
	for h := range p.H {
		var sum float64
		for b := range p.B {
			for t := 1; t < p.T; t++ {
				sum += float64(p.row(b, h, t)[t-1])
			}
		}
		out[h] = sum / float64(p.B*(p.T-1))
	}
	return out, nil
}

// earlier calls fn(t, s) for every position t of sequence b and every
// earlier position s < t holding the same token.
func earlier(tokens []int32, b, T int, fn func(t, s int)) {
	seq := tokens[b*T : (b+1)*T]
	for t := range T {
		for s := 0; s < t; s++ {
			if seq[s] == seq[t] {
				fn(t, s)
			}
		}
	}
}

// tokenScores averages, over the positions t that have an earlier
// occurrence of their token, the attention mass on target(t, s) summed over
// those earlier occurrences s (a target < 0 or > t is skipped). It returns
// NaN per head when no position qualifies.
func tokenScores(p Pattern, tokens []int32, target func(t, s int) int) ([]float64, error) {
	if err := p.check(tokens); err != nil {
		return nil, err
	}
	out := make([]float64, p.H)
	for h := range p.H {
		var sum float64
		n := 0
		for b := range p.B {
			last := -1
			var mass float64
			flush := func() {
				if last >= 0 {
					sum += mass
					n++
				}
			}
			earlier(tokens, b, p.T, func(t, s int) {
				if t != last {
					flush()
					last, mass = t, 0
				}
				if j := target(t, s); j >= 0 && j <= t {
					mass += float64(p.row(b, h, t)[j])
				}
			})
			flush()
		}
		if n == 0 {
			out[h] = math.NaN()
		} else {
			out[h] = sum / float64(n)
		}
	}
	return out, nil
}

// PrefixMatchingScores is the induction ("prefix matching") score of
// Olsson et al. 2022 per head: over the positions t whose token occurred
// before, at s < t, the attention mass on the tokens that followed those
// occurrences, Σ_s attn[t, s+1], averaged over such t.
//
// On the probe's sequences A A with |A| = T/2 and A without repeated tokens
// (RepeatedSequences), the qualifying t are exactly the second half and the
// score is mean over t ∈ [T/2, T) of attn[t, t − T/2 + 1].
// Perfect head: 1. Uniform head on A A: (H_T − H_{T/2})/(T/2) ≈ 0.021 at
// T = 64. NaN when no token repeats.
func PrefixMatchingScores(p Pattern, tokens []int32) ([]float64, error) {
	return tokenScores(p, tokens, func(t, s int) int { return s + 1 })
}

// DuplicateTokenScores is, per head, the attention mass on earlier copies
// of the current token, Σ_{s<t, tok_s = tok_t} attn[t, s], averaged over the
// positions t that have one (Wang et al. 2022's duplicate-token heads). On
// A A it is mean over the second half of attn[t, t − T/2].
// Perfect head: 1. Uniform head on A A: (H_T − H_{T/2})/(T/2), as for
// prefix matching. NaN when no token repeats.
func DuplicateTokenScores(p Pattern, tokens []int32) ([]float64, error) {
	return tokenScores(p, tokens, func(t, s int) int { return s })
}

// EntropyScores is, per head, the mean over (b, t) of the entropy of the
// attention distribution of position t, −Σ_s attn[t,s]·ln attn[t,s], in
// nats. A head that attends to one position: 0. Uniform head: the largest
// possible, mean over t of ln(t+1) = ln(T!)/T (≈ 3.27 at T = 64).
func EntropyScores(p Pattern) ([]float64, error) {
	if err := p.check(nil); err != nil {
		return nil, err
	}
	out := make([]float64, p.H)
	for h := range p.H {
		var sum float64
		for b := range p.B {
			for t := range p.T {
				for _, a := range p.row(b, h, t)[:t+1] {
					if a > 0 {
						sum -= float64(a) * math.Log(float64(a))
					}
				}
			}
		}
		out[h] = sum / float64(p.B*p.T)
	}
	return out, nil
}

// DistanceScores is, per head, the mean over (b, t) of the expected
// distance looked back, Σ_s attn[t,s]·(t − s), in positions. A current-token
// head: 0; a previous-token head: (T−1)/T; uniform head: mean over t of t/2
// = (T − 1)/4.
func DistanceScores(p Pattern) ([]float64, error) {
	if err := p.check(nil); err != nil {
		return nil, err
	}
	out := make([]float64, p.H)
	for h := range p.H {
		var sum float64
		for b := range p.B {
			for t := range p.T {
				for s, a := range p.row(b, h, t)[:t+1] {
					sum += float64(a) * float64(t-s)
				}
			}
		}
		out[h] = sum / float64(p.B*p.T)
	}
	return out, nil
}

// Harmonic returns H_n = Σ_{k=1..n} 1/k (H_0 = 0), for the closed forms
// above.
func Harmonic(n int) float64 {
	var s float64
	for k := n; k >= 1; k-- {
		s += 1 / float64(k)
	}
	return s
}
