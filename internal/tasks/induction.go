package tasks

import (
	"math/rand/v2"
	"strings"

	"emlab/internal/rundir"
)

// induction is a random token sequence in which one span A reappears later
// (Olsson et al. 2022): `I:` + random prefix + A + random filler + A, the
// document ending with the second copy. The span length is uniform in
// [min_span, len/2], the first copy sits at a random offset (a fixed offset
// lets a 1-layer model solve the task by position), and the
// document length is uniform in [2|A|, len]. Scored on the second copy,
// which is predictable only by looking back; the per-position loss over it
// is the in-context-learning score.
//
// Variant "induction/repeat" is the probe's form: A A with |A| = len/2 and A
// drawn without replacement from the symbols when it fits.
type induction struct{ spanTask }

const inductionVersion = 1

// seqSymbols are the symbols of random-sequence tasks, in order; a task
// with vocab V uses the first V.
const seqSymbols = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#@"

func init() {
	register(factory{
		name:    "induction",
		summary: "random sequence with a span repeated at a random offset; scored on the second copy (Olsson et al. 2022)",
		params: []ParamSpec{
			{Name: "len", Default: "62", Doc: "most symbols per document (plus the 2-character prefix), 16–1022"},
			{Name: "vocab", Default: "64", Doc: "number of distinct symbols, 2–64"},
			{Name: "min_span", Default: "8", Doc: "shortest repeated span, 1–len/2"},
			heldoutParam("0.01"),
		},
		build: newInduction,
	})
}

func newInduction(p *params) (Task, error) {
	s, err := parseSpanTask(p, "induction", inductionVersion, 1022)
	if err != nil {
		return nil, err
	}
	return &induction{s}, nil
}

// spanTask is what the random-span tasks (induction, copyspan) share: the
// document length n, the shortest span, the symbols and the held-out split.
type spanTask struct {
	spec       string
	n, minSpan int
	symbols    string
	split      splitter
}

// parseSpanTask reads the span tasks' parameters: len in [16, maxLen],
// vocab, min_span in [1, len/2] and heldout.
func parseSpanTask(p *params, name string, version, maxLen int) (spanTask, error) {
	var t spanTask
	t.n = p.Int("len", 16, maxLen)
	v := p.Int("vocab", 2, len(seqSymbols))
	t.minSpan = p.Int("min_span", 1, maxLen/2)
	if p.err == nil && t.minSpan > t.n/2 {
		p.fail("min_span=%d > len/2=%d", t.minSpan, t.n/2)
	}
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return t, p.err
	}
	t.symbols = seqSymbols[:v]
	t.split = newSplitter(name, version, frac)
	t.spec = p.spec()
	return t, nil
}

func (t *induction) Name() string     { return "induction" }
func (t *induction) Version() int     { return inductionVersion }
func (t *induction) Spec() string     { return t.spec }
func (t *induction) Alphabet() string { return "I:" + t.symbols }
func (t *induction) MaxLen() int      { return 2 + t.n }

func (t *induction) randSeq(r *rand.Rand, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = t.symbols[r.IntN(len(t.symbols))]
	}
	return s
}

// draw returns a document and the offsets (within the document) of the two
// copies and the span length.
func (t *induction) draw(r *rand.Rand) (doc string, first, second, span int) {
	span = t.minSpan + r.IntN(t.n/2-t.minSpan+1)
	total := 2*span + r.IntN(t.n-2*span+1)
	second = total - span
	first = r.IntN(second - span + 1)
	seq := t.randSeq(r, total)
	copy(seq[second:], seq[first:first+span])
	return "I:" + string(seq), first + 2, second + 2, span
}

func (t *induction) Generate(r *rand.Rand) string {
	for range maxTries {
		doc, _, _, _ := t.draw(r)
		if !t.split.heldout(doc) {
			return doc
		}
	}
	panic("tasks: induction: rejection sampling failed")
}

func (t *induction) Heldout(doc string) bool { return t.split.heldout(doc) }

func (t *induction) Variants() []Variant {
	ms := []string{rundir.TokenAccuracy, rundir.LogProb, rundir.PerPositionLoss, rundir.ExactMatch}
	// Chance: token accuracy of a uniform guess over the symbols.
	c := 1 / float64(len(t.symbols))
	return []Variant{
		{Name: "induction", Chance: c, Metrics: ms, Trained: true},
		{Name: "induction/repeat", Chance: c, Metrics: ms, Trained: true},
	}
}

// Eval items: Prompt ends where the second copy begins; Answer is the second
// copy. Vars "first" and "second" are the character offsets of the copies
// in Prompt+Answer (the prefix counts), "span" the span length. Chance is
// per token, so ExactMatch chance is Chance^span.
func (t *induction) Eval(seed uint64, n int) []Item {
	mk := func(v, doc string, first, second, span int) Item {
		return Item{Task: "induction", Variant: v, Key: doc, Prompt: doc[:second], Answer: doc[second:], Target: doc[second:],
			Subtask: -1, Vars: map[string][]int{"first": {first}, "second": {second}, "span": {span}}}
	}
	var out []Item
	r := evalRNG(seed, t.spec, "induction")
	out = append(out, collect(n, maxTries*n, func() (Item, bool) {
		doc, a, b, s := t.draw(r)
		return mk("induction", doc, a, b, s), t.split.heldout(doc)
	})...)
	r = evalRNG(seed, t.spec, "induction/repeat")
	half := t.n / 2
	out = append(out, collect(n, maxTries*n, func() (Item, bool) {
		var a []byte
		if half <= len(t.symbols) {
			for _, i := range r.Perm(len(t.symbols))[:half] {
				a = append(a, t.symbols[i])
			}
		} else {
			a = t.randSeq(r, half)
		}
		doc := "I:" + string(a) + string(a)
		return mk("induction/repeat", doc, 2, 2+half, half), t.split.heldout(doc)
	})...)
	return out
}

func (t *induction) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
