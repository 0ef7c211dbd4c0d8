package tasks

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"emlab/internal/rundir"
)

// modadd is (a+b) mod p, the grokking task of Power et al. 2022 and Nanda
// et al. 2023. A fraction `train` of the unordered pairs {a, b} is the
// training set and the rest is held out; splitting by unordered pair keeps
// a+b and b+a on the same side (an ordered split lets commutativity lift
// held-out accuracy to ≈ 48% at once).
//
//	enc=token:  Z:ā+ċ=č   (each residue one character, U+0100+x, so one token)
//	enc=digits: Z:0+11=11 (decimal)
type modadd struct {
	spec  string
	p     int
	enc   string
	split splitter
	// answerLoss (loss=answer) scores only "=" → c and c → separator in
	// training (AnswerLoss; Nanda et al. 2023 train on the answer only).
	answerLoss bool
}

const modaddVersion = 1

// residueBase is the first rune of the one-token residue encoding: Latin
// Extended-A, printable, and far from every other task's characters.
const residueBase = 0x100

func init() {
	register(factory{
		name:    "modadd",
		summary: "(a+b) mod p with a fixed fraction of pairs for training (grokking; Power et al. 2022)",
		params: []ParamSpec{
			{Name: "p", Default: "53", Doc: "prime modulus, 2–251 (the literature uses 53, 97, 113)"},
			{Name: "train", Default: "0.5", Doc: "fraction of unordered pairs in the training set, in [0.1, 0.999]"},
			{Name: "enc", Default: "token", Doc: "token (one character per residue) | digits"},
			{Name: "loss", Default: "all", Doc: "all (every document token in the training loss) | answer (only the answer: the operands' irreducible loss left out, as in Nanda et al. 2023)"},
		},
		build: newModadd,
	})
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func newModadd(p *params) (Task, error) {
	t := &modadd{}
	t.p = p.Int("p", 2, 251)
	if p.err == nil && !isPrime(t.p) {
		p.fail("p=%d is not prime", t.p)
	}
	train := p.Float("train", 0.1, 0.999)
	t.enc = p.Enum("enc", "token", "digits")
	t.answerLoss = p.Enum("loss", "all", "answer") == "answer"
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("modadd", modaddVersion, 1-train)
	t.spec = p.spec()
	return t, nil
}

func (t *modadd) Name() string { return "modadd" }
func (t *modadd) Version() int { return modaddVersion }
func (t *modadd) Spec() string { return t.spec }
func (t *modadd) Alphabet() string {
	var b strings.Builder
	b.WriteString("Z:+=")
	for x := range t.p {
		b.WriteString(t.num(x))
	}
	return b.String()
}
func (t *modadd) MaxLen() int { return len([]rune(t.doc(t.p-1, t.p-1))) }

func (t *modadd) num(x int) string {
	if t.enc == "token" {
		return string(rune(residueBase + x))
	}
	return strconv.Itoa(x)
}

func (t *modadd) doc(a, b int) string {
	return "Z:" + t.num(a) + "+" + t.num(b) + "=" + t.num((a+b)%t.p)
}

// PromptLen implements AnswerLoss: with loss=answer, the characters up to
// and including "="; with loss=all, 0 (every token scored).
func (t *modadd) PromptLen(doc string) int {
	if !t.answerLoss {
		return 0
	}
	return promptThroughEquals(doc)
}

func (t *modadd) heldout(a, b int) bool {
	return t.split.heldout(fmt.Sprintf("%d|%s", t.p, pairKey("+", a, b)))
}

func (t *modadd) Generate(r *rand.Rand) string {
	for range maxTries {
		a, b := r.IntN(t.p), r.IntN(t.p)
		if !t.heldout(a, b) {
			return t.doc(a, b)
		}
	}
	panic("tasks: modadd: rejection sampling failed")
}

func (t *modadd) parseNum(s string) (int, bool) {
	if t.enc == "token" {
		rs := []rune(s)
		if len(rs) != 1 || rs[0] < residueBase || rs[0] >= residueBase+rune(t.p) {
			return 0, false
		}
		return int(rs[0] - residueBase), true
	}
	x, err := strconv.Atoi(s)
	return x, err == nil && x >= 0 && x < t.p
}

func (t *modadd) Heldout(doc string) bool {
	rest, ok := strings.CutPrefix(doc, "Z:")
	if !ok {
		return false
	}
	lhs, _, ok := strings.Cut(rest, "=")
	as, bs, ok2 := strings.Cut(lhs, "+")
	if !ok || !ok2 {
		return false
	}
	a, ok := t.parseNum(as)
	b, ok2 := t.parseNum(bs)
	return ok && ok2 && t.heldout(a, b)
}

func (t *modadd) Variants() []Variant {
	return []Variant{{
		Name:    fmt.Sprintf("modadd/p=%d", t.p),
		Chance:  1 / float64(t.p),
		Metrics: []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.LogProb},
		Trained: true,
	}}
}

// pairs lists the ordered pairs on one side of the split, in a shuffled
// order drawn from r.
func (t *modadd) pairs(r *rand.Rand, heldout bool) [][2]int {
	var out [][2]int
	for a := range t.p {
		for b := range t.p {
			if t.heldout(a, b) == heldout {
				out = append(out, [2]int{a, b})
			}
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (t *modadd) items(v string, ps [][2]int, n int) []Item {
	var out []Item
	for _, ab := range ps {
		if len(out) == n {
			break
		}
		a, b := ab[0], ab[1]
		c := (a + b) % t.p
		it := Item{Task: "modadd", Variant: v, Key: pairKey("+", a, b),
			Prompt: "Z:" + t.num(a) + "+" + t.num(b) + "=", Answer: t.num(c), Target: t.num(c), Subtask: -1,
			Vars: map[string][]int{"a": {a}, "b": {b}, "c": {c}}}
		if t.enc == "token" {
			// Each residue is one character, so one token of the
			// character tokenizer, at these offsets of the prompt.
			it.Vars["a_pos"], it.Vars["b_pos"] = []int{len("Z:")}, []int{len("Z:a+")}
		}
		out = append(out, it)
	}
	return out
}

// Eval returns up to n held-out ordered pairs (all of them when n is at
// least their number). Vars: "a", "b", "c" = (a+b) mod p; with enc=token
// also "a_pos", "b_pos": the offsets in Prompt of the residues a and b, one
// character (so one token) each.
func (t *modadd) Eval(seed uint64, n int) []Item {
	v := t.Variants()[0].Name
	return t.items(v, t.pairs(evalRNG(seed, t.spec, v), true), n)
}

// TrainItems returns up to n training pairs as items (variant
// "modadd/p=P/train"), for the train/held-out gap that shows grokking.
func (t *modadd) TrainItems(seed uint64, n int) []Item {
	v := t.Variants()[0].Name + "/train"
	return t.items(v, t.pairs(evalRNG(seed, t.spec, v), false), n)
}

func (t *modadd) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
