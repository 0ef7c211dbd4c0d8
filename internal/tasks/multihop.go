package tasks

import (
	"math/rand/v2"
	"strings"

	"emlab/internal/data"
	"emlab/internal/rundir"
)

// multihop is two-hop knowledge composition over a synthetic world of
// people. Each person has a boss and a pal (other people) and a city, a pet
// and a colour. The training text states each fact alone, and asks two-hop
// questions on the training split of compositions, directly or with the
// intermediate entity written out (chain of thought):
//
//	fact:   F:kem.boss=dup
//	direct: Q:kem.boss.city=oslo
//	cot:    C:kem.boss.city=dup.city=oslo
//
// Held-out queries compose two facts (kem.boss=dup and dup.city=oslo) that
// never appear together in a training document; a direct and a CoT query
// with the same entity and relations share one split key. The world is a
// function of the `world` parameter, not of the run seed, so training and
// evaluation always describe the same world.
type multihop struct {
	spec   string
	people []string
	rel    map[string][]int // person relations: person → person
	attr   map[string][]int // attributes: person → value index
	values map[string][]string
	facts  float64
	split  splitter
}

const multihopVersion = 1

var (
	personRels = []string{"boss", "pal"}
	attrRels   = []string{"city", "pet", "color"}
	attrValues = map[string][]string{
		"city":  {"rome", "oslo", "lima", "kiev", "bonn", "nice", "riga", "baku"},
		"pet":   {"cat", "dog", "owl", "fox", "eel", "yak", "bat", "ant"},
		"color": {"red", "tan", "blue", "gray", "pink", "gold", "jade", "navy"},
	}
)

func init() {
	register(factory{
		name:    "multihop",
		summary: "two-hop questions over a synthetic world whose facts are stated one at a time; direct and chain-of-thought",
		params: []ParamSpec{
			{Name: "people", Default: "30", Doc: "number of people, 4–300"},
			{Name: "values", Default: "8", Doc: "values per attribute (city, pet, color), 2–8"},
			{Name: "facts", Default: "0.5", Doc: "fraction of training documents that state a single fact, in [0.05, 1)"},
			{Name: "world", Default: "0", Doc: "seed of the world (names and facts)"},
			heldoutParam("0.2"),
		},
		build: newMultihop,
	})
}

func newMultihop(p *params) (Task, error) {
	t := &multihop{rel: map[string][]int{}, attr: map[string][]int{}, values: map[string][]string{}}
	n := p.Int("people", 4, 300)
	nv := p.Int("values", 2, 8)
	t.facts = p.Float("facts", 0.05, 0.999)
	world := p.Uint64("world")
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return nil, p.err
	}
	r := data.RNG(world, "tasks/multihop/world")
	// Names: distinct consonant–vowel–consonant syllables.
	const cons, vows = "bcdfghjklmnprstvz", "aeiou"
	seen := map[string]bool{}
	for len(t.people) < n {
		name := string([]byte{cons[r.IntN(len(cons))], vows[r.IntN(len(vows))], cons[r.IntN(len(cons))]})
		if !seen[name] {
			seen[name] = true
			t.people = append(t.people, name)
		}
	}
	for _, rel := range personRels {
		m := make([]int, n)
		for i := range m {
			m[i] = (i + 1 + r.IntN(n-1)) % n // anyone but i
		}
		t.rel[rel] = m
	}
	for _, a := range attrRels {
		t.values[a] = attrValues[a][:nv]
		m := make([]int, n)
		for i := range m {
			m[i] = r.IntN(nv)
		}
		t.attr[a] = m
	}
	t.split = newSplitter("multihop", multihopVersion, frac)
	t.spec = p.spec()
	return t, nil
}

func (t *multihop) Name() string { return "multihop" }
func (t *multihop) Version() int { return multihopVersion }
func (t *multihop) Spec() string { return t.spec }
func (t *multihop) Alphabet() string {
	return "FQC:.=abcdefghijklmnopqrstuvwxyz"
}

// MaxLen: the longest CoT document "C:xxx.boss.color=xxx.color=gold".
func (t *multihop) MaxLen() int { return len("C:xxx.boss.color=xxx.color=navy") }

// hop applies relation rel to person e: a person index for boss/pal (isPerson
// true) or a value index.
func (t *multihop) hop(e int, rel string) (int, bool) {
	if m, ok := t.rel[rel]; ok {
		return m[e], true
	}
	return t.attr[rel][e], false
}

func (t *multihop) valueName(x int, rel string, isPerson bool) string {
	if isPerson {
		return t.people[x]
	}
	return t.values[rel][x]
}

func queryKey(e, r1, r2 string) string { return e + "." + r1 + "." + r2 }

// query returns the two-hop query e.r1.r2: its key, the bridge, the answer.
func (t *multihop) query(e int, r1, r2 string) (key string, bridge int, answer string) {
	b, _ := t.hop(e, r1)
	x, isP := t.hop(b, r2)
	return queryKey(t.people[e], r1, r2), b, t.valueName(x, r2, isP)
}

func (t *multihop) randQuery(r *rand.Rand) (int, string, string) {
	all := append(append([]string{}, personRels...), attrRels...)
	return r.IntN(len(t.people)), personRels[r.IntN(len(personRels))], all[r.IntN(len(all))]
}

func (t *multihop) Generate(r *rand.Rand) string {
	if r.Float64() < t.facts {
		e := r.IntN(len(t.people))
		all := append(append([]string{}, personRels...), attrRels...)
		rel := all[r.IntN(len(all))]
		x, isP := t.hop(e, rel)
		return "F:" + t.people[e] + "." + rel + "=" + t.valueName(x, rel, isP)
	}
	cot := r.IntN(2) == 1
	for range maxTries {
		e, r1, r2 := t.randQuery(r)
		key, b, ans := t.query(e, r1, r2)
		if t.split.heldout(key) {
			continue
		}
		if cot {
			return "C:" + key + "=" + t.people[b] + "." + r2 + "=" + ans
		}
		return "Q:" + key + "=" + ans
	}
	panic("tasks: multihop: rejection sampling failed")
}

func (t *multihop) Heldout(doc string) bool {
	if !strings.HasPrefix(doc, "Q:") && !strings.HasPrefix(doc, "C:") {
		return false // a fact: facts are all trained
	}
	key, _, ok := strings.Cut(doc[2:], "=")
	return ok && t.split.heldout(key)
}

func (t *multihop) chance() float64 {
	all := append(append([]string{}, personRels...), attrRels...)
	var c float64
	for _, r2 := range all {
		if _, ok := t.rel[r2]; ok {
			c += 1 / float64(len(t.people))
		} else {
			c += 1 / float64(len(t.values[r2]))
		}
	}
	return c / float64(len(all))
}

func (t *multihop) Variants() []Variant {
	ms := []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.LogProb}
	return []Variant{
		{Name: "multihop/direct", Chance: t.chance(), Metrics: append(ms, rundir.Brier, rundir.MCGrade), Trained: true},
		{Name: "multihop/cot", Chance: t.chance(), Metrics: ms, Generate: true, Trained: true},
	}
}

// Eval items: Vars "entity", "bridge" (person indices) and "answer" (index
// in the answer's range); Text "bridge" is the bridge's name. Direct items
// have Choices: every value of the second relation's range.
func (t *multihop) Eval(seed uint64, n int) []Item {
	var out []Item
	for _, v := range []string{"multihop/direct", "multihop/cot"} {
		r := evalRNG(seed, t.spec, v)
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			e, r1, r2 := t.randQuery(r)
			key, b, ans := t.query(e, r1, r2)
			if !t.split.heldout(key) {
				return Item{}, false
			}
			x, isP := t.hop(b, r2)
			it := Item{Task: "multihop", Variant: v, Key: key, Target: ans, Subtask: -1,
				Vars: map[string][]int{"entity": {e}, "bridge": {b}, "answer": {x}},
				Text: map[string]string{"bridge": t.people[b]}}
			if v == "multihop/direct" {
				it.Prompt, it.Answer = "Q:"+key+"=", ans
				rng := t.values[r2]
				if isP {
					rng = t.people
				}
				it.Choices = append([]string(nil), rng...)
				it.Correct = x
			} else {
				it.Prompt, it.Answer = "C:"+key+"=", t.people[b]+"."+r2+"="+ans
			}
			return it, true
		})...)
	}
	return out
}

// Extract returns the text after the last '=' for chain of thought, and
// the whole generation for direct queries.
func (t *multihop) Extract(it *Item, generated string) string {
	return extractAfter(generated, it != nil && it.Variant == "multihop/cot", "=")
}
