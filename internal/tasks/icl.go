package tasks

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"emlab/internal/rundir"
)

// icl is few-shot in-context label mapping. Each episode draws `classes`
// distinct inputs (lower-case letters) and gives each a label (one of
// `labels` digits, drawn independently, so two inputs may share one); it
// then shows k input→label examples and asks for the label of an input
// shown among them:
//
//	L:c7q2c7q2?q2        (k=4; prompt "L:c7q2c7q2?q", answer "2")
//
// The mapping is fresh per episode, so nothing can be memorised: accuracy
// above chance (1/labels) is in-context learning. k=0 gives the query with
// no examples and scores at chance by construction. Training draws k
// uniformly from 0…k; evaluation reports k = 0, 1, 2, 4, 8, 16 up to k.
type icl struct {
	spec                string
	kmax, classes, nlab int
	split               splitter
}

const iclVersion = 1

const iclInputs = "abcdefghijklmnopqrstuvwxyz"

func init() {
	register(factory{
		name:    "icl",
		summary: "few-shot in-context label mapping, mapping fresh per episode; scored at k = 0,1,2,4,8,16",
		params: []ParamSpec{
			{Name: "k", Default: "16", Doc: "most examples per episode, 1–64"},
			{Name: "classes", Default: "4", Doc: "distinct inputs per episode, 1–26"},
			{Name: "labels", Default: "10", Doc: "size of the label set (digits), 2–10"},
			heldoutParam("0.05"),
		},
		build: newICL,
	})
}

func newICL(p *params) (Task, error) {
	t := &icl{}
	t.kmax = p.Int("k", 1, 64)
	t.classes = p.Int("classes", 1, 26)
	t.nlab = p.Int("labels", 2, 10)
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("icl", iclVersion, frac)
	t.spec = p.spec()
	return t, nil
}

func (t *icl) Name() string     { return "icl" }
func (t *icl) Version() int     { return iclVersion }
func (t *icl) Spec() string     { return t.spec }
func (t *icl) Alphabet() string { return "L:?" + iclInputs + "0123456789"[:t.nlab] }
func (t *icl) MaxLen() int      { return 2 + 2*t.kmax + 3 }

// episode draws one episode with k examples and returns the document, the
// prompt length in bytes, and the query's label.
func (t *icl) episode(r *rand.Rand, k int) (doc string, label int) {
	perm := r.Perm(len(iclInputs))[:t.classes]
	lab := make([]int, t.classes)
	for i := range lab {
		lab[i] = r.IntN(t.nlab)
	}
	var b strings.Builder
	b.WriteString("L:")
	var seen []int
	shown := map[int]bool{}
	for range k {
		c := r.IntN(t.classes)
		b.WriteByte(iclInputs[perm[c]])
		b.WriteByte(byte('0' + lab[c]))
		if !shown[c] {
			shown[c] = true
			seen = append(seen, c)
		}
	}
	q := r.IntN(t.classes)
	if k > 0 {
		q = seen[r.IntN(len(seen))]
	}
	b.WriteByte('?')
	b.WriteByte(iclInputs[perm[q]])
	b.WriteByte(byte('0' + lab[q]))
	return b.String(), lab[q]
}

func (t *icl) Generate(r *rand.Rand) string {
	for range maxTries {
		doc, _ := t.episode(r, r.IntN(t.kmax+1))
		if !t.split.heldout(doc) {
			return doc
		}
	}
	panic("tasks: icl: rejection sampling failed")
}

func (t *icl) Heldout(doc string) bool { return t.split.heldout(doc) }

func (t *icl) ks() []int {
	var ks []int
	for _, k := range []int{0, 1, 2, 4, 8, 16, 32, 64} {
		if k <= t.kmax {
			ks = append(ks, k)
		}
	}
	return ks
}

func (t *icl) Variants() []Variant {
	var vs []Variant
	for _, k := range t.ks() {
		vs = append(vs, Variant{Name: fmt.Sprintf("icl/k=%d", k), Chance: 1 / float64(t.nlab),
			Metrics: []string{rundir.ExactMatch, rundir.LogProb, rundir.Brier, rundir.MCGrade}, Trained: true})
	}
	return vs
}

// Eval items: Choices are the label digits (Correct = the query's label);
// Vars "k" = {k}, "label" = {label}.
func (t *icl) Eval(seed uint64, n int) []Item {
	var choices []string
	for l := range t.nlab {
		choices = append(choices, string(rune('0'+l)))
	}
	var out []Item
	for _, k := range t.ks() {
		v := fmt.Sprintf("icl/k=%d", k)
		r := evalRNG(seed, t.spec, v)
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			doc, label := t.episode(r, k)
			if !t.split.heldout(doc) {
				return Item{}, false
			}
			last := len(doc) - 1
			return Item{Task: "icl", Variant: v, Key: doc, Prompt: doc[:last], Answer: doc[last:], Target: doc[last:],
				Choices: choices, Correct: label, Subtask: -1, Vars: map[string][]int{"k": {k}, "label": {label}}}, true
		})...)
	}
	return out
}

func (t *icl) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
