package tasks

import (
	"emlab/internal/rundir"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// chain is composition: multi-hop questions over multihop's world (the same
// people, relations and values for the same people/values/world), trained
// on chains of 1…hops hops and tested on longer ones, which compose more
// facts than any training document. With chain of thought (the default)
// each step resolves the first relation and restates the rest, so a
// solution is a sequence of single-fact lookups, each written in a trained
// form:
//
//	1 hop:  H:kem.city=oslo                            (a fact)
//	2 hops: H:kem.boss.city=dup.city=oslo
//	3 hops: H:kem.boss.pal.city=dup.pal.city=xab.city=oslo   (untrained at hops=2)
//
// The suffix of an h-hop document after its first '=' is the (h−1)-hop
// document of the bridge, so the one new thing a longer chain asks for is
// restating one more relation. format=direct writes only the answer
// (D:kem.boss.pal.city=oslo), which asks for every hop inside one forward
// pass. Intermediate relations are boss and pal (person → person); the last
// is any of boss, pal, city, pet, color.
//
// Split: every fact (1 hop) is trained. Chains of a trained length are held
// out by the hash of their query (entity and relations); every chain longer
// than hops is held out.
//
// Composition of relations (pairs=boss.city+pal.pet): every chain in which
// one of the named relations directly follows the other is held out too,
// and reported apart (variants …/pairs). Each relation is trained — as a
// fact, and composed with the others — but never composed with its held-out
// partner, so those chains test composing two skills trained separately,
// at a trained length.
type chain struct {
	spec         string
	w            *multihop
	hops, evHops int
	direct       bool
	pairs        map[string]bool // held-out consecutive relation pairs "r1.r2"
	split        splitter
}

const chainVersion = 1

func init() {
	register(factory{
		name:    "chain",
		summary: "composition: multi-hop chains over multihop's world, trained up to `hops` hops and tested one hop longer (chain of thought or direct)",
		params: []ParamSpec{
			{Name: "people", Default: "30", Doc: "number of people, 4–300 (as in multihop)"},
			{Name: "values", Default: "8", Doc: "values per attribute, 2–8 (as in multihop)"},
			{Name: "world", Default: "0", Doc: "seed of the world (as in multihop: the same world for the same people, values, world)"},
			{Name: "hops", Default: "2", Doc: "longest chain in training, 1–4 (1: facts only)"},
			{Name: "eval_hops", Default: "auto", Doc: "longest chain evaluated, hops–5 and ≥ 2 (auto: hops+1); longer than hops is never trained"},
			{Name: "format", Default: "cot", Doc: "cot (every bridge written out) | direct (the answer only)"},
			{Name: "pairs", Default: "none", Doc: "relation pairs never composed in training, e.g. boss.city+pal.pet (r1 boss or pal), or none"},
			heldoutParam("0.2"),
		},
		build: newChain,
	})
}

func newChain(p *params) (Task, error) {
	t := &chain{}
	n := p.Int("people", 4, 300)
	nv := p.Int("values", 2, 8)
	world := p.Uint64("world")
	t.hops = p.Int("hops", 1, 4)
	if p.vals["eval_hops"] == "auto" {
		t.evHops = t.hops + 1
	} else {
		t.evHops = p.Int("eval_hops", 2, 5)
		if p.err == nil && t.evHops < t.hops {
			p.fail("eval_hops=%d < hops=%d", t.evHops, t.hops)
		}
	}
	t.direct = p.Enum("format", "cot", "direct") == "direct"
	t.pairs = map[string]bool{}
	if v := p.vals["pairs"]; v != "none" {
		all := append(append([]string{}, personRels...), attrRels...)
		for _, pr := range strings.Split(v, "+") {
			r1, r2, ok := strings.Cut(pr, ".")
			if !ok || !slices.Contains(personRels, r1) || !slices.Contains(all, r2) {
				p.fail("pairs=%q: %q is not r1.r2 with r1 one of %s and r2 one of %s", v, pr,
					strings.Join(personRels, ", "), strings.Join(all, ", "))
				break
			}
			t.pairs[pr] = true
		}
	}
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return nil, p.err
	}
	w, err := Lookup(fmt.Sprintf("multihop(people=%d,values=%d,world=%d)", n, nv, world))
	if err != nil {
		return nil, fmt.Errorf("task chain: %w", err)
	}
	t.w = w.(*multihop)
	t.split = newSplitter("chain", chainVersion, frac)
	t.spec = p.spec()
	return t, nil
}

func (t *chain) Name() string { return "chain" }
func (t *chain) Version() int { return chainVersion }
func (t *chain) Spec() string { return t.spec }
func (t *chain) Alphabet() string {
	return t.prefix() + ":.=abcdefghijklmnopqrstuvwxyz"
}

func (t *chain) prefix() string {
	if t.direct {
		return "D"
	}
	return "H"
}

// MaxLen: the longest eval_hops document, with person names of 3
// characters, intermediate relations of at most 4 ("boss"), a last
// relation of at most 5 ("color") and values of at most 4.
func (t *chain) MaxLen() int {
	h := t.evHops
	seg := func(rest int) int { return 3 + 5*(rest-1) + 6 } // name + ".boss"… + ".color"
	if t.direct {
		return 2 + seg(h) + 1 + 4
	}
	n := 2 + 4
	for i := range h {
		n += seg(h-i) + 1
	}
	return n
}

// query is one chain: the entity and the relations.
type query struct {
	e    int
	rels []string
}

func (q query) key(t *chain) string {
	return t.w.people[q.e] + "." + strings.Join(q.rels, ".")
}

// walk follows q: the bridges (person indices after each intermediate hop)
// and the answer (a person or value index) with its name.
func (t *chain) walk(q query) (bridges []int, answer int, name string) {
	cur := q.e
	for i, rel := range q.rels {
		x, isP := t.w.hop(cur, rel)
		if i == len(q.rels)-1 {
			return bridges, x, t.w.valueName(x, rel, isP)
		}
		bridges = append(bridges, x)
		cur = x
	}
	panic("tasks: chain: empty query")
}

// doc writes q's document and the length of its prompt ("H:" + key + "=").
func (t *chain) doc(q query) (string, int) {
	bridges, _, ans := t.walk(q)
	var b strings.Builder
	b.WriteString(t.prefix() + ":" + q.key(t) + "=")
	pl := b.Len()
	if !t.direct {
		for i, br := range bridges {
			b.WriteString(t.w.people[br] + "." + strings.Join(q.rels[i+1:], ".") + "=")
		}
	}
	b.WriteString(ans)
	return b.String(), pl
}

func (t *chain) randQuery(r *rand.Rand, h int) query {
	q := query{e: r.IntN(len(t.w.people))}
	for range h - 1 {
		q.rels = append(q.rels, personRels[r.IntN(len(personRels))])
	}
	all := append(append([]string{}, personRels...), attrRels...)
	q.rels = append(q.rels, all[r.IntN(len(all))])
	return q
}

// pairHeld reports whether the chain key composes a held-out pair.
func (t *chain) pairHeld(key string) bool {
	rels := strings.Split(key, ".")[1:]
	for i := 0; i+1 < len(rels); i++ {
		if t.pairs[rels[i]+"."+rels[i+1]] {
			return true
		}
	}
	return false
}

func (t *chain) heldout(key string, h int) bool {
	switch {
	case h == 1:
		return false // facts are all trained
	case h > t.hops || t.pairHeld(key):
		return true
	}
	return t.split.heldout(key)
}

func (t *chain) Generate(r *rand.Rand) string {
	for range maxTries {
		h := 1 + r.IntN(t.hops)
		q := t.randQuery(r, h)
		if !t.heldout(q.key(t), h) {
			d, _ := t.doc(q)
			return d
		}
	}
	panic("tasks: chain: rejection sampling failed") // unreachable for heldout ≤ 0.9
}

// Heldout reads the query (up to the first '=') and counts its hops.
func (t *chain) Heldout(doc string) bool {
	rest, ok := strings.CutPrefix(doc, t.prefix()+":")
	if !ok {
		return false
	}
	key, _, ok := strings.Cut(rest, "=")
	if !ok {
		return false
	}
	return t.heldout(key, strings.Count(key, "."))
}

func (t *chain) format() string {
	if t.direct {
		return "direct"
	}
	return "cot"
}

func (t *chain) variant(h int, pairs bool) string {
	v := fmt.Sprintf("chain/%s/hops=%d", t.format(), h)
	if pairs {
		v += "/pairs"
	}
	return v
}

// Variants: one per chain length 2…eval_hops (one hop is a fact, trained
// and so never held out), and with held-out pairs, one more per length for
// the chains that compose one (…/pairs, never trained). Chance, as in
// multihop, is the mean over the last relation of one over its range.
func (t *chain) Variants() []Variant {
	var vs []Variant
	ms := []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.LogProb}
	if t.direct {
		ms = append(ms, rundir.Brier, rundir.MCGrade)
	}
	for h := 2; h <= t.evHops; h++ {
		vs = append(vs, Variant{Name: t.variant(h, false), Chance: t.w.chance(), Metrics: ms, Generate: !t.direct, Trained: h <= t.hops})
		if len(t.pairs) > 0 {
			vs = append(vs, Variant{Name: t.variant(h, true), Chance: t.w.chance(), Metrics: slices.Clone(ms), Generate: !t.direct})
		}
	}
	return vs
}

// Eval items: Vars "entity" {person}, "bridge" (the person after each
// intermediate hop), "answer" {index in the last relation's range},
// "hops" {h}, "eq" (offsets in Prompt+Answer of each '=': where each hop's
// result is predicted); Text "bridge" the first bridge's name (as in
// multihop), "bridges" all of them, comma-separated. Direct items have
// Choices: the last relation's range.
func (t *chain) Eval(seed uint64, n int) []Item {
	var out []Item
	for h := 2; h <= t.evHops; h++ {
		for _, pairs := range []bool{false, true} {
			if pairs && len(t.pairs) == 0 {
				continue
			}
			out = append(out, t.evalItems(seed, n, h, pairs)...)
		}
	}
	return out
}

// evalItems draws up to n held-out chains of h hops, composing a held-out
// pair or not.
func (t *chain) evalItems(seed uint64, n, h int, pairs bool) []Item {
	v := t.variant(h, pairs)
	r := evalRNG(seed, t.spec, v)
	return collect(n, 50*n+200, func() (Item, bool) {
		q := t.randQuery(r, h)
		key := q.key(t)
		if !t.heldout(key, h) || t.pairHeld(key) != pairs {
			return Item{}, false
		}
		d, pl := t.doc(q)
		bridges, x, ans := t.walk(q)
		var names []string
		for _, b := range bridges {
			names = append(names, t.w.people[b])
		}
		it := Item{Task: "chain", Variant: v, Key: key, Prompt: d[:pl], Answer: d[pl:], Target: ans, Subtask: -1,
			Vars: map[string][]int{"entity": {q.e}, "bridge": bridges, "answer": {x}, "hops": {h}},
			Text: map[string]string{"bridge": names[0], "bridges": strings.Join(names, ",")}}
		for i := range len(d) {
			if d[i] == '=' {
				it.Vars["eq"] = append(it.Vars["eq"], i)
			}
		}
		if t.direct {
			last := q.rels[h-1]
			rng := t.w.values[last]
			if _, isP := t.w.rel[last]; isP {
				rng = t.w.people
			}
			it.Choices, it.Correct = append([]string(nil), rng...), x
		}
		return it, true
	})
}

// Extract returns the text after the last '=' (chain of thought), or the
// whole generation (direct).
func (t *chain) Extract(_ *Item, generated string) string {
	return extractAfter(generated, !t.direct, "=")
}
