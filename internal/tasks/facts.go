package tasks

import (
	"emlab/internal/rundir"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"emlab/internal/data"
)

// facts is knowledge storage (Allen-Zhu & Li 2024, "Physics of Language
// Models: Part 3.3, Knowledge Capacity Scaling Laws"): a world of
// `entities` random names, each with `attrs` attributes (A, B, C, …) whose
// values are drawn uniformly and independently from `values` values
// (decimal numbers of a fixed width), all fixed by the `world` seed, not by
// the run seed. A training document states one fact, drawn uniformly:
//
//	A:bako.C=7
//
// so each fact is seen about tokens / (entities·attrs·document length)
// times. There is nothing to generalise — an attribute value is random — so
// evaluation is on the trained facts themselves (the variant is
// Memorised): the score measures what was stored, not generalisation, and
// no held-out split exists (Heldout is always false). Knowledge is counted
// in bits: for a fact with K possible values, log2 K − the cross-entropy in
// bits of the right value among the K (the `bits` metric), summed over all
// entities·attrs facts. That is Allen-Zhu & Li's bit-complexity lower bound
// for independent uniform attributes; a model that knows every fact stores
// entities·attrs·log2(values) bits, one that knows none ≈ 0.
type facts struct {
	spec   string
	names  []string
	attrs  int
	nv     int
	width  int   // digits of a value
	values []int // [entity*attrs + attr]
}

const factsVersion = 1

// factsMaxEntities is the number of distinct consonant–vowel–consonant–vowel
// names (17·5·17·5).
const factsMaxEntities = 7225

func init() {
	register(factory{
		name:    "facts",
		summary: "random entity → attribute facts from a fixed world, scored on the trained facts in bits of knowledge (Allen-Zhu & Li 2024)",
		params: []ParamSpec{
			{Name: "entities", Default: "200", Doc: fmt.Sprintf("number of entities, 1–%d", factsMaxEntities)},
			{Name: "attrs", Default: "4", Doc: "attributes per entity (A, B, …), 1–26"},
			{Name: "values", Default: "10", Doc: "values per attribute, 2–1000 (numbers of a fixed width)"},
			{Name: "world", Default: "0", Doc: "seed of the world (names and values)"},
		},
		build: newFacts,
	})
}

func newFacts(p *params) (Task, error) {
	t := &facts{}
	n := p.Int("entities", 1, factsMaxEntities)
	t.attrs = p.Int("attrs", 1, 26)
	t.nv = p.Int("values", 2, 1000)
	world := p.Uint64("world")
	if p.err != nil {
		return nil, p.err
	}
	t.width = len(fmt.Sprint(t.nv - 1))
	r := data.RNG(world, "tasks/facts/world")
	const cons, vows = "bcdfghjklmnprstvz", "aeiou"
	seen := map[string]bool{}
	for len(t.names) < n {
		b := []byte{cons[r.IntN(len(cons))], vows[r.IntN(len(vows))], cons[r.IntN(len(cons))], vows[r.IntN(len(vows))]}
		if !seen[string(b)] {
			seen[string(b)] = true
			t.names = append(t.names, string(b))
		}
	}
	t.values = make([]int, n*t.attrs)
	for i := range t.values {
		t.values[i] = r.IntN(t.nv)
	}
	t.spec = p.spec()
	return t, nil
}

func (t *facts) Name() string { return "facts" }
func (t *facts) Version() int { return factsVersion }
func (t *facts) Spec() string { return t.spec }
func (t *facts) Alphabet() string {
	return "A:.=abcdefghijklmnoprstuvz0123456789" + factsAttrs[:t.attrs]
}

// MaxLen: "A:" + name + "." + attribute + "=" + value.
func (t *facts) MaxLen() int { return 2 + 4 + 1 + 1 + 1 + t.width }

const factsAttrs = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (t *facts) value(v int) string { return fmt.Sprintf("%0*d", t.width, v) }

// prompt is the fact's text up to and including '='.
func (t *facts) prompt(e, a int) string { return "A:" + t.names[e] + "." + factsAttrs[a:a+1] + "=" }

func (t *facts) Generate(r *rand.Rand) string {
	i := r.IntN(len(t.values))
	e, a := i/t.attrs, i%t.attrs
	return t.prompt(e, a) + t.value(t.values[i])
}

// Heldout is always false: every fact is trained.
func (t *facts) Heldout(string) bool { return false }

func (t *facts) Variants() []Variant {
	return []Variant{{Name: "facts", Chance: 1 / float64(t.nv),
		Metrics: []string{rundir.ExactMatch, rundir.LogProb, rundir.Brier, rundir.MCGrade, rundir.Bits}, Trained: true, Memorised: true}}
}

// Eval returns up to n of the trained facts (all of them when n ≥
// entities·attrs), in an order shuffled by seed, so a sample is uniform
// and the total knowledge is the mean bits × entities·attrs. Choices are
// every value; Key is "name.attribute"; Vars "entity", "attr", "value" are
// indices.
func (t *facts) Eval(seed uint64, n int) []Item {
	choices := make([]string, t.nv)
	for v := range choices {
		choices[v] = t.value(v)
	}
	order := evalRNG(seed, t.spec, "facts").Perm(len(t.values))
	var out []Item
	for _, i := range order[:min(n, len(order))] {
		e, a, v := i/t.attrs, i%t.attrs, t.values[i]
		p := t.prompt(e, a)
		out = append(out, Item{Task: "facts", Variant: "facts", Key: strings.TrimSuffix(p[2:], "="), Prompt: p,
			Answer: t.value(v), Target: t.value(v), Choices: choices, Correct: v, Subtask: -1,
			Vars: map[string][]int{"entity": {e}, "attr": {a}, "value": {v}}})
	}
	return out
}

// Facts is the number of facts, entities·attrs.
func (t *facts) Facts() int { return len(t.values) }

// MaxBits is the knowledge of a model that knows every fact,
// entities·attrs·log2(values) bits.
func (t *facts) MaxBits() float64 { return float64(len(t.values)) * math.Log2(float64(t.nv)) }

func (t *facts) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
