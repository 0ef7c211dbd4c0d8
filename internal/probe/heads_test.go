package probe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// patternOf builds a (B, H, T, T) pattern with every head of every sequence
// given by row(t) (a distribution over 0…t).
func patternOf(B, H, T int, row func(b, h, t int) []float32) Pattern {
	p := Pattern{P: make([]float32, B*H*T*T), B: B, H: H, T: T}
	for b := range B {
		for h := range H {
			for t := range T {
				copy(p.row(b, h, t), row(b, h, t))
			}
		}
	}
	return p
}

func uniformRow(T int) func(b, h, t int) []float32 {
	return func(_, _, t int) []float32 {
		r := make([]float32, T)
		for s := 0; s <= t; s++ {
			r[s] = 1 / float32(t+1)
		}
		return r
	}
}

// oneHot attends to position target(t) (clipped to [0, t]).
func oneHot(T int, target func(t int) int) func(b, h, t int) []float32 {
	return func(_, _, t int) []float32 {
		r := make([]float32, T)
		r[min(max(target(t), 0), t)] = 1
		return r
	}
}

func repeated(t *testing.T, B, T, V int) []int32 {
	t.Helper()
	syms := make([]int32, V)
	for i := range syms {
		syms[i] = int32(i)
	}
	toks, err := RepeatedSequences(rand.New(rand.NewPCG(1, 2)), B, T, syms)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// TestHeadDetectorsKnownAnswers scores synthetic patterns whose scores are
// known in closed form. Tolerance 1e-6: float32 patterns summed in float64
// over ≤ 4·64 rows, so the only error is the float32 rounding of 1/(t+1)
// (relative 6e-8).
func TestHeadDetectorsKnownAnswers(t *testing.T) {
	const B, H, T = 4, 2, 64
	toks := repeated(t, B, T, 64)
	half := T / 2
	uni := patternOf(B, H, T, uniformRow(T))
	hT, hHalf := Harmonic(T), Harmonic(half)
	lnFact := 0.0
	for k := 2; k <= T; k++ {
		lnFact += math.Log(float64(k))
	}
	induction := patternOf(B, H, T, oneHot(T, func(t int) int {
		if t >= half {
			return t - half + 1
		}
		return 0
	}))
	prev := patternOf(B, H, T, oneHot(T, func(t int) int { return t - 1 }))
	dup := patternOf(B, H, T, oneHot(T, func(t int) int {
		if t >= half {
			return t - half
		}
		return t
	}))
	self := patternOf(B, H, T, oneHot(T, func(t int) int { return t }))
	cases := []struct {
		name string
		fn   func(Pattern) ([]float64, error)
		p    Pattern
		want float64
	}{
		{"prefix matching, perfect induction", func(p Pattern) ([]float64, error) { return PrefixMatchingScores(p, toks) }, induction, 1},
		{"prefix matching, uniform", func(p Pattern) ([]float64, error) { return PrefixMatchingScores(p, toks) }, uni, (hT - hHalf) / float64(half)},
		{"prefix matching, previous-token head", func(p Pattern) ([]float64, error) { return PrefixMatchingScores(p, toks) }, prev, 0},
		{"prefix matching, duplicate-token head", func(p Pattern) ([]float64, error) { return PrefixMatchingScores(p, toks) }, dup, 0},
		{"duplicate token, perfect", func(p Pattern) ([]float64, error) { return DuplicateTokenScores(p, toks) }, dup, 1},
		{"duplicate token, uniform", func(p Pattern) ([]float64, error) { return DuplicateTokenScores(p, toks) }, uni, (hT - hHalf) / float64(half)},
		{"duplicate token, induction head", func(p Pattern) ([]float64, error) { return DuplicateTokenScores(p, toks) }, induction, 0},
		{"previous token, perfect", PrevTokenScores, prev, 1},
		{"previous token, uniform", PrevTokenScores, uni, (hT - 1) / float64(T-1)},
		{"previous token, current-token head", PrevTokenScores, self, 0},
		{"entropy, one-hot", EntropyScores, prev, 0},
		{"entropy, uniform", EntropyScores, uni, lnFact / T},
		{"distance, current token", DistanceScores, self, 0},
		{"distance, previous token", DistanceScores, prev, float64(T-1) / T},
		{"distance, uniform", DistanceScores, uni, float64(T-1) / 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.fn(c.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != H {
				t.Fatalf("got %d heads, want %d", len(got), H)
			}
			for h, g := range got {
				if math.Abs(g-c.want) > 1e-6 {
					t.Errorf("head %d: %.9f, want %.9f", h, g, c.want)
				}
			}
		})
	}
	// The documented numbers at T = 64.
	if u := (hT - hHalf) / float64(half); math.Abs(u-0.0211) > 5e-4 {
		t.Errorf("uniform prefix-matching score at T=64 is %.4f, doc says ≈ 0.021", u)
	}
}

// TestHeadScoresPerHead checks the matrix is indexed [layer][head]: head 1 is
// a perfect induction head and head 0 uniform, in layer 1 only.
func TestHeadScoresPerHead(t *testing.T) {
	const B, H, T = 2, 2, 16
	toks := repeated(t, B, T, 8)
	half := T / 2
	mk := func(inductionHead int) Pattern {
		ind := oneHot(T, func(t int) int {
			if t >= half {
				return t - half + 1
			}
			return 0
		})
		u := uniformRow(T)
		return patternOf(B, H, T, func(b, h, t int) []float32 {
			if h == inductionHead {
				return ind(b, h, t)
			}
			return u(b, h, t)
		})
	}
	c := &Cache{Tokens: toks, B: B, T: T, acts: map[string]cached{}}
	for l, p := range []Pattern{mk(-1), mk(1)} {
		c.acts[patternName(l)] = cached{p.P, []int{B, H, T, T}}
	}
	m, err := HeadScores(c, 2, PrefixMatching)
	if err != nil {
		t.Fatal(err)
	}
	v, l, h := m.Max()
	if v != 1 || l != 1 || h != 1 {
		t.Errorf("max %v at %d.%d, want 1 at 1.1; matrix %v", v, l, h, m)
	}
	if m[0][0] > 0.5 || m[0][1] > 0.5 || m[1][0] > 0.5 {
		t.Errorf("non-induction heads score high: %v", m)
	}
	if _, err := HeadScores(c, 3, PrefixMatching); err == nil {
		t.Error("a missing layer gave no error")
	}
	if _, err := HeadScores(c, 2, "nope"); err == nil {
		t.Error("an unknown detector gave no error")
	}
}

func TestPatternShapeErrors(t *testing.T) {
	bad := Pattern{P: make([]float32, 10), B: 1, H: 1, T: 4}
	if _, err := PrevTokenScores(bad); err == nil {
		t.Error("wrong size accepted")
	}
	good := Pattern{P: make([]float32, 16), B: 1, H: 1, T: 4}
	if _, err := PrefixMatchingScores(good, make([]int32, 3)); err == nil {
		t.Error("wrong token count accepted")
	}
	// No repeated token: NaN, documented.
	s, err := PrefixMatchingScores(good, []int32{0, 1, 2, 3})
	if err != nil || !math.IsNaN(s[0]) {
		t.Errorf("no repeats: %v %v, want NaN", s, err)
	}
}
