package tasks

// StatedFacts is implemented by tasks whose training text states facts
// one at a time (multihop): it returns every fact the text can state, as
// an item with Prompt the statement up to "=" ("F:kem.boss="), Answer and
// Target the value, Choices every value of the fact's relation (its
// range) and Correct the value's index, and Text["relation"] the relation.
// The items are trained on, not held out: they measure what a model
// stores (package probe's knowledge probe).
type StatedFacts interface {
	StatedFacts() []Item
}

// StatedFacts lists every (person, relation) fact of the world, in person
// then relation order.
func (t *multihop) StatedFacts() []Item {
	var out []Item
	all := append(append([]string{}, personRels...), attrRels...)
	for e, name := range t.people {
		for _, rel := range all {
			x, isP := t.hop(e, rel)
			rng := t.values[rel]
			if isP {
				rng = t.people
			}
			v := t.valueName(x, rel, isP)
			out = append(out, Item{Task: "multihop", Variant: "multihop/fact", Key: name + "." + rel,
				Prompt: "F:" + name + "." + rel + "=", Answer: v, Target: v, Subtask: -1,
				Choices: append([]string(nil), rng...), Correct: x, Text: map[string]string{"relation": rel}})
		}
	}
	return out
}
