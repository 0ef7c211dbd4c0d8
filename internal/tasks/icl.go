package tasks

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
//
// Robustness (perturb=distract+reorder): distract inserts max(1, k/4)
// distractor examples (inputs not in the episode, random labels) at random
// places among the k examples; reorder moves the examples of the query's
// input to the front (farthest from the query) and shuffles the others.
// Both keep the answer. An episode's text is its split key, so perturbed
// items are fresh episodes whose perturbed text is held out (not the clean
// variant's items).
type icl struct {
	spec, evalSpec      string
	kmax, classes, nlab int
	perturb             []string
	split               splitter
}

// iclPerturbations: distractor examples, examples reordered.
var iclPerturbations = []string{"distract", "reorder"}

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
			perturbParam(iclPerturbations...),
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
	t.perturb = p.perturbations(iclPerturbations...)
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("icl", iclVersion, frac)
	t.spec, t.evalSpec = p.spec(), p.specOmitting("perturb")
	if len(t.perturb) == 0 {
		t.spec = t.evalSpec
	}
	return t, nil
}

func (t *icl) Name() string     { return "icl" }
func (t *icl) Version() int     { return iclVersion }
func (t *icl) Spec() string     { return t.spec }
func (t *icl) Alphabet() string { return "L:?" + iclInputs + "0123456789"[:t.nlab] }
func (t *icl) MaxLen() int      { return 2 + 2*(t.kmax+t.distractors(t.kmax)) + 3 }

// distractors is the number of distractor examples added to k examples
// (0 without the distract perturbation).
func (t *icl) distractors(k int) int {
	if !slices.Contains(t.perturb, "distract") {
		return 0
	}
	return max(1, k/4)
}

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
		v := Variant{Name: fmt.Sprintf("icl/k=%d", k), Chance: 1 / float64(t.nlab),
			Metrics: []string{rundir.ExactMatch, rundir.LogProb, rundir.Brier, rundir.MCGrade}, Trained: true}
		// Every distract item could be a training episode only when k+d
		// examples fit in k_max and at most `classes` distinct inputs can
		// be shown; reordered episodes are training episodes.
		d := max(1, k/4)
		vs = append(append(vs, v), perturbedOf(v, t.perturbsAt(k), func(p string) bool {
			return p == "reorder" || (k+d <= t.kmax && min(k, t.classes)+d <= t.classes)
		}, nil)...)
	}
	return vs
}

// perturbsAt lists the perturbations evaluated at k examples: distract
// needs an example to distract from, reorder two.
func (t *icl) perturbsAt(k int) []string {
	var out []string
	for _, p := range t.perturb {
		if (p == "distract" && k >= 1) || (p == "reorder" && k >= 2) {
			out = append(out, p)
		}
	}
	return out
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
		r := evalRNG(seed, t.evalSpec, v)
		item := func(v, doc string, label int) Item {
			last := len(doc) - 1
			return Item{Task: "icl", Variant: v, Key: doc, Prompt: doc[:last], Answer: doc[last:], Target: doc[last:],
				Choices: choices, Correct: label, Subtask: -1, Vars: map[string][]int{"k": {k}, "label": {label}}}
		}
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			doc, label := t.episode(r, k)
			if !t.split.heldout(doc) {
				return Item{}, false
			}
			return item(v, doc, label), true
		})...)
		for _, p := range t.perturbsAt(k) {
			pv := perturbedVariant(v, p)
			r := evalRNG(seed, t.evalSpec, pv)
			out = append(out, collect(n, 50*n+200, func() (Item, bool) {
				doc, label := t.episode(r, k)
				// Retry the perturbation's random choices until its text is
				// held out (≈ 1/heldout tries); a reordering with too few
				// distinct orders may never be, then the episode is skipped.
				for range maxTries {
					pd, changed, ok := t.perturbEpisode(r, doc, k, p)
					if !ok {
						break
					}
					if t.split.heldout(pd) {
						return item(pv, pd, label), true
					}
					if !changed {
						break
					}
				}
				return Item{}, false
			})...)
		}
	}
	return out
}

// perturbEpisode perturbs the episode doc ("L:" k input–label pairs "?"
// query label) and reports whether the result depended on r (false when
// the perturbation had only one possible outcome), and false ok when it
// cannot be applied (fewer unused inputs than distractors).
func (t *icl) perturbEpisode(r *rand.Rand, doc string, k int, pert string) (pdoc string, changed, ok bool) {
	ex := make([]string, k)
	for i := range ex {
		ex[i] = doc[2+2*i : 4+2*i]
	}
	query := doc[2+2*k:] // "?" input label
	switch pert {
	case "distract":
		var unused []byte
		for i := 0; i < len(iclInputs); i++ {
			if !strings.ContainsRune(doc, rune(iclInputs[i])) {
				unused = append(unused, iclInputs[i])
			}
		}
		d := t.distractors(k)
		if len(unused) < d {
			return "", false, false
		}
		for _, j := range r.Perm(len(unused))[:d] {
			pair := string([]byte{unused[j], byte('0' + r.IntN(t.nlab))})
			at := r.IntN(len(ex) + 1)
			ex = slices.Insert(ex, at, pair)
		}
		return "L:" + strings.Join(ex, "") + query, true, true
	default: // reorder
		var first, rest []string
		for _, e := range ex {
			if e[0] == query[1] {
				first = append(first, e)
			} else {
				rest = append(rest, e)
			}
		}
		r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		return "L:" + strings.Join(first, "") + strings.Join(rest, "") + query, len(rest) > 1, true
	}
}

func (t *icl) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
