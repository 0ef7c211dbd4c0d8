package tasks

import (
	"math/rand/v2"
	"strings"

	"emlab/internal/rundir"
)

// copyspan is the induction-head training distribution (the attn2
// preset, docs/probes.md): a window of `len`
// random symbols in which one span (length uniform in [min_span, len/2]) is
// copied to a later position, both copies at random offsets, and loss is
// taken on every position. It differs from the `induction` task in three
// ways that matter for the attn2 preset: every document fills the whole
// window (so each step trains on len tokens, not ≈ 0.8·len), the second copy
// is followed by more random symbols rather than ending the document, and
// there is no "I:" prefix (so the vocabulary is the symbols plus the
// separator, as in the calibrated prototype).
//
// Split: a document is held out when its first 2·min_span symbols are (every
// evaluation item contains at least that much text, since the second copy
// ends at or after 2·span ≥ 2·min_span). Training documents never are.
//
// Variant "copyspan/repeat" is the prefix-matching probe's form: A A with
// |A| = len/2, A drawn without replacement from the symbols when it fits.
type copyspan struct{ spanTask }

const copyspanVersion = 1

func init() {
	register(factory{
		name:    "copyspan",
		summary: "a full window of random symbols with one span copied to a later random offset; loss everywhere (the attn2 preset's induction-head data)",
		params: []ParamSpec{
			{Name: "len", Default: "64", Doc: "symbols per document (the window length T), 16–1024"},
			{Name: "vocab", Default: "64", Doc: "number of distinct symbols, 2–64"},
			{Name: "min_span", Default: "8", Doc: "shortest copied span, 1–len/2"},
			heldoutParam("0.01"),
		},
		build: newCopyspan,
	})
}

func newCopyspan(p *params) (Task, error) {
	s, err := parseSpanTask(p, "copyspan", copyspanVersion, 1024)
	if err != nil {
		return nil, err
	}
	return &copyspan{s}, nil
}

func (t *copyspan) Name() string     { return "copyspan" }
func (t *copyspan) Version() int     { return copyspanVersion }
func (t *copyspan) Spec() string     { return t.spec }
func (t *copyspan) Alphabet() string { return t.symbols }
func (t *copyspan) MaxLen() int      { return t.n }

// draw returns a document and the offsets of the two copies and the span
// length: span ~ U[min_span, len/2], first ~ U[0, len−2·span], second ~
// U[first+span, len−span].
func (t *copyspan) draw(r *rand.Rand) (doc string, first, second, span int) {
	span = t.minSpan + r.IntN(t.n/2-t.minSpan+1)
	first = r.IntN(t.n - 2*span + 1)
	second = first + span + r.IntN(t.n-span-(first+span)+1)
	seq := make([]byte, t.n)
	for i := range seq {
		seq[i] = t.symbols[r.IntN(len(t.symbols))]
	}
	copy(seq[second:second+span], seq[first:first+span])
	return string(seq), first, second, span
}

// Heldout keys on the first 2·min_span symbols.
func (t *copyspan) Heldout(doc string) bool {
	k := 2 * t.minSpan
	return len(doc) >= k && t.split.heldout(doc[:k])
}

func (t *copyspan) Generate(r *rand.Rand) string {
	for range maxTries {
		doc, _, _, _ := t.draw(r)
		if !t.Heldout(doc) {
			return doc
		}
	}
	panic("tasks: copyspan: rejection sampling failed")
}

func (t *copyspan) Variants() []Variant {
	ms := []string{rundir.TokenAccuracy, rundir.LogProb, rundir.PerPositionLoss}
	c := 1 / float64(len(t.symbols)) // per-token accuracy of a uniform guess
	return []Variant{
		{Name: "copyspan", Chance: c, Metrics: ms, Trained: true},
		{Name: "copyspan/repeat", Chance: c, Metrics: ms, Trained: true},
	}
}

// Eval items: Prompt is the document up to the second copy, Answer the
// second copy (the text after it is random and not scored; the models are
// causal, so dropping it changes nothing before it). Vars "first",
// "second", "span" as for induction.
func (t *copyspan) Eval(seed uint64, n int) []Item {
	mk := func(v, doc string, first, second, span int) Item {
		return Item{Task: "copyspan", Variant: v, Key: doc[:2*t.minSpan], Prompt: doc[:second],
			Answer: doc[second : second+span], Target: doc[second : second+span], Subtask: -1,
			Vars: map[string][]int{"first": {first}, "second": {second}, "span": {span}}}
	}
	var out []Item
	r := evalRNG(seed, t.spec, "copyspan")
	out = append(out, collect(n, maxTries*n, func() (Item, bool) {
		doc, a, b, s := t.draw(r)
		return mk("copyspan", doc, a, b, s), t.Heldout(doc)
	})...)
	r = evalRNG(seed, t.spec, "copyspan/repeat")
	half := t.n / 2
	out = append(out, collect(n, maxTries*n, func() (Item, bool) {
		a := make([]byte, 0, half)
		if half <= len(t.symbols) {
			for _, i := range r.Perm(len(t.symbols))[:half] {
				a = append(a, t.symbols[i])
			}
		} else {
			for range half {
				a = append(a, t.symbols[r.IntN(len(t.symbols))])
			}
		}
		doc := string(a) + string(a)
		return mk("copyspan/repeat", doc, 0, half, half), t.Heldout(doc)
	})...)
	return out
}

func (t *copyspan) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
