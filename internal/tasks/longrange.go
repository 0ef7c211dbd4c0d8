package tasks

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"emlab/internal/rundir"
)

// longrange tests memory across a controlled gap of random filler, for
// comparing attention with the LSTM (the seed's long-range claim):
//
//	retrieve: Y:a3k7q1z5 + gap filler + ?k7     (recall the value of key k)
//	brackets: J:([{< + gap filler + >}])        (close d brackets in reverse order)
//
// Filler is uniform upper-case letters. Training gaps are uniform in
// [0, gap]; evaluation reports gap/4, gap/2 and gap, plus eval_gap when it
// exceeds gap (never trained, so every such item is held out).
type longrange struct {
	spec, evalSpec string
	answerLoss     bool // loss=answer: only the answer is scored (AnswerLoss)
	mode           string
	gap, evalGap   int
	pairs, depth   int
	split          splitter
}

const longrangeVersion = 1

const (
	lrFiller = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lrKeys   = "abcdefghijklmnopqrstuvwxyz"
	lrOpen   = "([{<"
	lrClose  = ")]}>"
)

func init() {
	register(factory{
		name:    "longrange",
		summary: "key retrieval or bracket closing across a controlled gap (attention vs LSTM)",
		params: []ParamSpec{
			{Name: "mode", Default: "retrieve", Doc: "retrieve | brackets"},
			{Name: "gap", Default: "32", Doc: "largest training gap in filler characters, 4–1000"},
			{Name: "eval_gap", Default: "0", Doc: "an extra, untrained evaluation gap (> gap), 0 for none"},
			{Name: "pairs", Default: "4", Doc: "retrieve: key-value pairs before the gap, 1–26"},
			{Name: "depth", Default: "4", Doc: "brackets: brackets opened before the gap, 1–16"},
			heldoutParam("0.05"),
			{Name: "loss", Default: "all", Doc: "all (every document token in the training loss) | answer (only the answer: the keys', values' and filler's irreducible loss left out)"},
		},
		build: newLongrange,
	})
}

func newLongrange(p *params) (Task, error) {
	t := &longrange{}
	t.mode = p.Enum("mode", "retrieve", "brackets")
	t.gap = p.Int("gap", 4, 1000)
	t.evalGap = p.Int("eval_gap", 0, 4000)
	if p.err == nil && t.evalGap != 0 && t.evalGap <= t.gap {
		p.fail("eval_gap=%d must exceed gap=%d (or be 0)", t.evalGap, t.gap)
	}
	t.pairs = p.Int("pairs", 1, 26)
	t.depth = p.Int("depth", 1, 16)
	frac := p.Float("heldout", 0.001, 0.9)
	t.answerLoss = p.Enum("loss", "all", "answer") == "answer"
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("longrange", longrangeVersion, frac)
	// loss changes training only: the evaluation items, drawn from a
	// generator labelled by the spec, are those of the spec without it.
	t.spec, t.evalSpec = p.spec(), p.specOmitting("loss")
	if !t.answerLoss {
		t.spec = t.evalSpec
	}
	return t, nil
}

// PromptLen implements AnswerLoss: with loss=answer, the characters before
// the answer (through "?key", or through the filler for brackets); with
// loss=all, 0 (every token scored). The random keys, values and filler are
// irreducible noise in the loss; leaving them out keeps only the signal of
// the one retrieval per document.
func (t *longrange) PromptLen(doc string) int {
	if !t.answerLoss {
		return 0
	}
	if t.mode == "retrieve" {
		return strings.IndexByte(doc, '?') + 2
	}
	return len(doc) - t.depth
}

func (t *longrange) Name() string { return "longrange" }
func (t *longrange) Version() int { return longrangeVersion }
func (t *longrange) Spec() string { return t.spec }
func (t *longrange) Alphabet() string {
	if t.mode == "retrieve" {
		return "Y:?" + lrFiller + lrKeys + "0123456789"
	}
	return "J:" + lrFiller + lrOpen + lrClose
}

func (t *longrange) maxGap() int { return max(t.gap, t.evalGap) }

func (t *longrange) MaxLen() int {
	if t.mode == "retrieve" {
		return 2 + 2*t.pairs + t.maxGap() + 3
	}
	return 2 + 2*t.depth + t.maxGap()
}

// draw returns a document with the given gap and the byte length of its prompt.
func (t *longrange) draw(r *rand.Rand, gap int) (doc string, promptLen int) {
	var b strings.Builder
	filler := func() {
		for range gap {
			b.WriteByte(lrFiller[r.IntN(len(lrFiller))])
		}
	}
	if t.mode == "retrieve" {
		b.WriteString("Y:")
		keys := r.Perm(len(lrKeys))[:t.pairs]
		vals := make([]int, t.pairs)
		for i, k := range keys {
			vals[i] = r.IntN(10)
			b.WriteByte(lrKeys[k])
			b.WriteByte(byte('0' + vals[i]))
		}
		filler()
		q := r.IntN(t.pairs)
		b.WriteByte('?')
		b.WriteByte(lrKeys[keys[q]])
		promptLen = b.Len()
		b.WriteByte(byte('0' + vals[q]))
		return b.String(), promptLen
	}
	b.WriteString("J:")
	opens := make([]int, t.depth)
	for i := range opens {
		opens[i] = r.IntN(len(lrOpen))
		b.WriteByte(lrOpen[opens[i]])
	}
	filler()
	promptLen = b.Len()
	for i := t.depth - 1; i >= 0; i-- {
		b.WriteByte(lrClose[opens[i]])
	}
	return b.String(), promptLen
}

// docGap recovers the gap of a document from its text.
func (t *longrange) docGap(doc string) int {
	n := 0
	for i := 2; i < len(doc); i++ {
		if strings.IndexByte(lrFiller, doc[i]) >= 0 {
			n++
		}
	}
	return n
}

func (t *longrange) heldout(doc string) bool {
	return t.docGap(doc) > t.gap || t.split.heldout(doc)
}

func (t *longrange) Generate(r *rand.Rand) string {
	for range maxTries {
		doc, _ := t.draw(r, r.IntN(t.gap+1))
		if !t.heldout(doc) {
			return doc
		}
	}
	panic("tasks: longrange: rejection sampling failed")
}

func (t *longrange) Heldout(doc string) bool { return t.heldout(doc) }

func (t *longrange) gaps() []int {
	gs := []int{t.gap / 4, t.gap / 2, t.gap}
	if t.evalGap > t.gap {
		gs = append(gs, t.evalGap)
	}
	return gs
}

func (t *longrange) variant(g int) string { return fmt.Sprintf("longrange/%s/gap=%d", t.mode, g) }

func (t *longrange) Variants() []Variant {
	var vs []Variant
	for _, g := range t.gaps() {
		v := Variant{Name: t.variant(g), Trained: g <= t.gap}
		if t.mode == "retrieve" {
			v.Chance, v.Metrics = 0.1, []string{rundir.ExactMatch, rundir.LogProb, rundir.Brier, rundir.MCGrade}
		} else {
			// Exact match of d closing brackets guessed uniformly.
			c := 1.0
			for range t.depth {
				c /= float64(len(lrOpen))
			}
			v.Chance, v.Metrics = c, []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.LogProb}
		}
		vs = append(vs, v)
	}
	return vs
}

// Eval items: retrieve items have Choices "0"…"9"; Vars "gap" = {gap}.
func (t *longrange) Eval(seed uint64, n int) []Item {
	var digits []string
	for d := range 10 {
		digits = append(digits, string(rune('0'+d)))
	}
	var out []Item
	for _, g := range t.gaps() {
		v := t.variant(g)
		r := evalRNG(seed, t.evalSpec, v)
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			doc, pl := t.draw(r, g)
			if !t.heldout(doc) {
				return Item{}, false
			}
			it := Item{Task: "longrange", Variant: v, Key: doc, Prompt: doc[:pl], Answer: doc[pl:], Target: doc[pl:],
				Subtask: -1, Vars: map[string][]int{"gap": {g}}}
			if t.mode == "retrieve" {
				it.Choices, it.Correct = digits, int(doc[pl]-'0')
			}
			return it, true
		})...)
	}
	return out
}

func (t *longrange) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
