package tasks

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"emlab/internal/suggest"
)

// Robustness: a task that offers perturbations (add, icl, stories) takes a
// `perturb` parameter naming some of them. Its training documents are
// unchanged (Generate never looks at the parameter); Eval adds, for each
// clean variant V and each perturbation P, the variant "V/perturbed=P":
// items whose prompt is perturbed in a way that keeps the answer (extra
// spaces, leading zeros, distractors, reordered examples). The default,
// perturb=none, leaves the task's spec, alphabet and evaluation items
// exactly as they were without the parameter.

// perturbParam declares the perturb parameter of a task offering avail.
func perturbParam(avail ...string) ParamSpec {
	return ParamSpec{Name: "perturb", Default: "none",
		Doc: "robustness variants at evaluation (training unchanged): none, all, or any of " + strings.Join(avail, ", ") + " joined by +"}
}

// perturbations reads the perturb parameter: the chosen perturbations in
// the order of avail (none: empty).
func (p *params) perturbations(avail ...string) []string {
	v := p.vals["perturb"]
	switch v {
	case "none":
		return nil
	case "all":
		return avail
	}
	chosen := map[string]bool{}
	for _, name := range strings.Split(v, "+") {
		if !slices.Contains(avail, name) {
			msg := fmt.Sprintf("perturb=%q: unknown perturbation %q", v, name)
			if close := suggest.Closest(name, avail, 2); len(close) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(close, ", "))
			}
			p.fail("%s; %s offers %s (join with +), all or none", msg, p.f.name, strings.Join(avail, ", "))
			return nil
		}
		chosen[name] = true
	}
	var out []string
	for _, a := range avail {
		if chosen[a] {
			out = append(out, a)
		}
	}
	return out
}

// perturbedVariant is the name of clean variant v under perturbation pert.
func perturbedVariant(v, pert string) string { return v + "/perturbed=" + pert }

// perturbedOf returns, for clean variant v, the perturbed variants: the
// same chance, metrics and generation, Trained as given per perturbation
// (a perturbation whose text training can produce keeps v.Trained), and
// OutOfVocab where outOfVocab says the perturbation writes a character
// no training document holds (nil: none does).
func perturbedOf(v Variant, perts []string, trained, outOfVocab func(pert string) bool) []Variant {
	var out []Variant
	for _, p := range perts {
		w := v
		w.Name, w.Perturbs = perturbedVariant(v.Name, p), v.Name
		w.Metrics = slices.Clone(v.Metrics)
		w.Trained = v.Trained && trained(p)
		w.OutOfVocab = outOfVocab != nil && outOfVocab(p)
		out = append(out, w)
	}
	return out
}

// perturbItems returns copies of the clean items of one variant perturbed
// by f, each drawn from one generator seeded by the perturbed variant's
// name (so the same clean items always get the same perturbations). f
// returns the new prompt and whether it succeeded; items it fails on are
// left out. Keys, answers and variables are the clean item's: a perturbed
// item is paired with its clean item by Key. Prompt offsets (variables
// named "*_pos") are dropped: the perturbation moves the characters.
func perturbItems(seed uint64, spec string, items []Item, pert string, f func(r *rand.Rand, it *Item) (string, bool)) []Item {
	if len(items) == 0 {
		return nil
	}
	v := perturbedVariant(items[0].Variant, pert)
	r := evalRNG(seed, spec, v)
	var out []Item
	for i := range items {
		prompt, ok := f(r, &items[i])
		if !ok {
			continue
		}
		it := items[i]
		it.Variant, it.Prompt = v, prompt
		it.Choices = slices.Clone(it.Choices)
		it.Vars = cloneVars(it.Vars)
		for k := range it.Vars {
			if strings.HasSuffix(k, "_pos") {
				delete(it.Vars, k)
			}
		}
		out = append(out, it)
	}
	return out
}

func cloneVars(m map[string][]int) map[string][]int {
	if m == nil {
		return nil
	}
	out := make(map[string][]int, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// insertSpaces inserts one space at each of the byte offsets at (in
// increasing order) of s.
func insertSpaces(s string, at []int) string {
	var b strings.Builder
	prev := 0
	for _, i := range at {
		b.WriteString(s[prev:i])
		b.WriteByte(' ')
		prev = i
	}
	b.WriteString(s[prev:])
	return b.String()
}

// randomSubset returns a random non-empty subset of cands, in their
// order: its size uniform in 1…min(most, len(cands)) (most ≤ 0: no bound),
// its members uniform given the size.
func randomSubset(r *rand.Rand, cands []int, most int) []int {
	if len(cands) == 0 {
		return nil
	}
	k := len(cands)
	if most > 0 {
		k = min(k, most)
	}
	idx := r.Perm(len(cands))[:1+r.IntN(k)]
	slices.Sort(idx)
	out := make([]int, len(idx))
	for j, i := range idx {
		out[j] = cands[i]
	}
	return out
}
