package tasks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"emlab/internal/rundir"
)

// markov is in-context learning of a bigram chain (Edelman et al. 2024):
// each document draws a fresh transition matrix, every row from a symmetric
// Dirichlet(alpha), and a sequence from it, starting from a uniform state:
//
//	K:abbabaaab...
//
// The best any model can do is the Bayes-optimal in-context predictor, the
// posterior mean of the row of the current state given the transitions seen
// so far: P(next = j | prev = i) = (c_ij + alpha) / (Σ_j' c_ij' + k·alpha)
// (Dirichlet–multinomial conjugacy). Eval items carry it per position, with
// the true chain's probabilities, so a model is scored by its KL from it.
type markov struct {
	spec    string
	k, n    int
	alpha   float64
	symbols string
	split   splitter
}

const markovVersion = 1

func init() {
	register(factory{
		name:    "markov",
		summary: "sequences from a random bigram chain per document; scored against the Bayes-optimal in-context predictor (Edelman et al. 2024)",
		params: []ParamSpec{
			{Name: "states", Default: "3", Doc: "number of states k, 2–64"},
			{Name: "len", Default: "62", Doc: "sequence length, 8–1022"},
			{Name: "alpha", Default: "1", Doc: "Dirichlet concentration of each transition row, in [0.05, 100]"},
			heldoutParam("0.01"),
		},
		build: newMarkov,
	})
}

func newMarkov(p *params) (Task, error) {
	t := &markov{}
	t.k = p.Int("states", 2, len(seqSymbols))
	t.n = p.Int("len", 8, 1022)
	t.alpha = p.Float("alpha", 0.05, 100)
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return nil, p.err
	}
	t.symbols = seqSymbols[:t.k]
	t.split = newSplitter("markov", markovVersion, frac)
	t.spec = p.spec()
	return t, nil
}

func (t *markov) Name() string     { return "markov" }
func (t *markov) Version() int     { return markovVersion }
func (t *markov) Spec() string     { return t.spec }
func (t *markov) Alphabet() string { return "K:" + t.symbols }
func (t *markov) MaxLen() int      { return 2 + t.n }

// gamma draws from Gamma(a, 1) (Marsaglia and Tsang 2000; for a < 1 the
// boost Gamma(a) = Gamma(a+1)·U^(1/a)).
func gamma(r *rand.Rand, a float64) float64 {
	if a < 1 {
		return gamma(r, a+1) * math.Pow(1-r.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// draw returns the transition matrix and a sequence of states.
func (t *markov) draw(r *rand.Rand) ([][]float64, []int) {
	P := make([][]float64, t.k)
	for i := range P {
		P[i] = make([]float64, t.k)
		var z float64
		for j := range P[i] {
			P[i][j] = gamma(r, t.alpha)
			z += P[i][j]
		}
		for j := range P[i] {
			P[i][j] /= z
		}
	}
	s := make([]int, t.n)
	s[0] = r.IntN(t.k)
	for i := 1; i < t.n; i++ {
		u := r.Float64()
		row := P[s[i-1]]
		j := 0
		for ; j < t.k-1; j++ {
			u -= row[j]
			if u < 0 {
				break
			}
		}
		s[i] = j
	}
	return P, s
}

func (t *markov) text(s []int) string {
	b := make([]byte, 0, 2+len(s))
	b = append(b, 'K', ':')
	for _, x := range s {
		b = append(b, t.symbols[x])
	}
	return string(b)
}

func (t *markov) Generate(r *rand.Rand) string {
	for range maxTries {
		_, s := t.draw(r)
		if doc := t.text(s); !t.split.heldout(doc) {
			return doc
		}
	}
	panic("tasks: markov: rejection sampling failed")
}

func (t *markov) Heldout(doc string) bool { return t.split.heldout(doc) }

func (t *markov) Variants() []Variant {
	return []Variant{{Name: fmt.Sprintf("markov/k=%d", t.k), Chance: 1 / float64(t.k),
		Metrics: []string{rundir.LogProb, rundir.PerPositionLoss, rundir.BayesKL, rundir.TokenAccuracy}, Trained: true}}
}

// BayesBigram returns the Bayes-optimal in-context predictive distribution for
// each position i ≥ 1 of s given s[:i] (row i−1 of the result).
func BayesBigram(s []int, k int, alpha float64) [][]float64 {
	counts := make([][]float64, k)
	for i := range counts {
		counts[i] = make([]float64, k)
	}
	tot := make([]float64, k)
	out := make([][]float64, 0, len(s))
	for i := 1; i < len(s); i++ {
		prev := s[i-1]
		p := make([]float64, k)
		for j := range p {
			p[j] = (counts[prev][j] + alpha) / (tot[prev] + float64(k)*alpha)
		}
		out = append(out, p)
		counts[prev][s[i]]++
		tot[prev]++
	}
	return out
}

// Eval items: Prompt is "K:" and the first state, Answer the rest; Dist has
// the symbols, the Bayes predictor and the true chain per answer position.
func (t *markov) Eval(seed uint64, n int) []Item {
	v := t.Variants()[0].Name
	r := evalRNG(seed, t.spec, v)
	syms := make([]string, t.k)
	for i := range syms {
		syms[i] = t.symbols[i : i+1]
	}
	return collect(n, maxTries*n, func() (Item, bool) {
		P, s := t.draw(r)
		doc := t.text(s)
		if !t.split.heldout(doc) {
			return Item{}, false
		}
		d := &Dist{Symbols: syms, Bayes: BayesBigram(s, t.k, t.alpha)}
		for i := 1; i < len(s); i++ {
			d.True = append(d.True, append([]float64(nil), P[s[i-1]]...))
		}
		return Item{Task: "markov", Variant: v, Key: doc, Prompt: doc[:3], Answer: doc[3:], Target: doc[3:], Subtask: -1,
			Vars: map[string][]int{"states": s}, Dist: d}, true
	})
}

func (t *markov) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
