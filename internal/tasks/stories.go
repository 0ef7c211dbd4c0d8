package tasks

import (
	"math/rand/v2"
	"strings"

	"emlab/internal/rundir"
)

// stories are short English stories from a small grammar: one main
// character introduced with a gender and a name, past-tense sentences about
// places and objects, pronouns that agree with the character, and
// subject–verb agreement across an attractor noun:
//
//	Once there was a girl named Mia. Mia went to the park. Then she played
//	with the kite. The boxes near the tree were red. She took her cup home.
//
// Evaluation is by minimal pairs (the item is right when the model gives
// the correct continuation more probability than the wrong one, mc_grade):
//
//	stories/agree/match      The cup near the tree | was red. / were red.
//	stories/agree/attractor  The cups near the tree | were red. / was red.
//	stories/pronoun          … Mia went to the park. Then | she played … / he played …
//	stories/possessive       … Mia took | her cup home. / his cup home.
//
// Split keys are the sentences a minimal pair is built on: the (subject,
// attractor) noun pair of an agreement sentence, (name, place) of
// "NAME went to the PLACE.", (name, noun) of "NAME took his/her NOUN home.".
// Training stories never contain a held-out one.
//
// Robustness (perturb=spaces+distract), on the same items: spaces doubles
// one to three spaces of the prompt (never in training); distract inserts,
// after the introduction, a grammatical sentence that points the other way
// — an agreement sentence whose subject has the other number, or "NAME
// gave the NOUN to OTHER." with OTHER of the other gender. Both keep the
// right answer.
type stories struct {
	spec, evalSpec string
	maxLen         int
	perturb        []string
	split          splitter
}

// storiesPerturbations: doubled spaces, a distracting sentence.
var storiesPerturbations = []string{"spaces", "distract"}

const storiesVersion = 2 // 2: eval items balanced over the right answer

type noun struct{ sing, plur string }

var (
	storyBoys   = []string{"Tom", "Sam", "Ben", "Max", "Leo", "Jack", "Tim", "Dan"}
	storyGirls  = []string{"Mia", "Lily", "Anna", "Zoe", "Emma", "Lucy", "Amy", "Kate"}
	storyNouns  = []noun{{"ball", "balls"}, {"box", "boxes"}, {"cup", "cups"}, {"key", "keys"}, {"book", "books"}, {"kite", "kites"}, {"hat", "hats"}, {"toy", "toys"}, {"dog", "dogs"}, {"cat", "cats"}, {"bird", "birds"}, {"tree", "trees"}, {"flower", "flowers"}, {"stone", "stones"}}
	storyPlaces = []string{"park", "garden", "beach", "forest", "kitchen", "market", "school", "river"}
	// Adjectives start with a consonant so "a ADJ NOUN" is always right.
	storyAdjs = []string{"red", "big", "small", "shiny", "blue", "green", "soft", "tiny"}
)

func init() {
	register(factory{
		name:    "stories",
		summary: "English stories from a grammar; minimal pairs for agreement across attractors and pronoun consistency",
		params: []ParamSpec{
			{Name: "len", Default: "160", Doc: "most characters per story, 100–2000"},
			heldoutParam("0.2"),
			perturbParam(storiesPerturbations...),
		},
		build: newStories,
	})
}

func newStories(p *params) (Task, error) {
	t := &stories{}
	t.maxLen = p.Int("len", 100, 2000)
	frac := p.Float("heldout", 0.001, 0.9)
	t.perturb = p.perturbations(storiesPerturbations...)
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("stories", storiesVersion, frac)
	t.spec, t.evalSpec = p.spec(), p.specOmitting("perturb")
	if len(t.perturb) == 0 {
		t.spec = t.evalSpec
	}
	return t, nil
}

func (t *stories) Name() string { return "stories" }
func (t *stories) Version() int { return storiesVersion }
func (t *stories) Spec() string { return t.spec }
func (t *stories) Alphabet() string {
	return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ."
}

// MaxLen is len, or with perturbations at least the longest perturbed
// item (a minimal pair is shorter than len ≥ 100 without them).
func (t *stories) MaxLen() int {
	if len(t.perturb) == 0 {
		return t.maxLen
	}
	return max(t.maxLen, perturbedStoryBound())
}

// perturbedStoryBound bounds Prompt+choice of a perturbed minimal pair:
// the longest introduction, distractor and tested sentence, and three
// doubled spaces.
func perturbedStoryBound() int {
	longest := func(xs []string) int {
		n := 0
		for _, x := range xs {
			n = max(n, len(x))
		}
		return n
	}
	var sing, plur []string
	for _, n := range storyNouns {
		sing, plur = append(sing, n.sing), append(plur, n.plur)
	}
	name := max(longest(storyBoys), longest(storyGirls))
	noun, nouns := longest(sing), longest(plur)
	adj, place := longest(storyAdjs), longest(storyPlaces)
	intro := len("Once there was a girl named .") + name
	agree := len(" The  near the  were .") + 2*nouns + adj
	distract := max(agree, len("  gave the  to .")+2*name+noun)
	tested := max(agree, len("  went to the . Then she played with the .")+name+place+noun, len("  took her  home.")+name+noun)
	return intro + distract + tested + 3
}

// character is a story's main character.
type character struct {
	name   string
	female bool
}

func (c character) subj() string {
	if c.female {
		return "she"
	}
	return "he"
}
func (c character) poss() string {
	if c.female {
		return "her"
	}
	return "his"
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randCharacter(r *rand.Rand) character {
	if r.IntN(2) == 0 {
		return character{pick(r, storyBoys), false}
	}
	return character{pick(r, storyGirls), true}
}

func intro(c character) string {
	kind := "boy"
	if c.female {
		kind = "girl"
	}
	return "Once there was a " + kind + " named " + c.name + "."
}

// Split keys of the sentences minimal pairs are built on.
func agreeKey(subj, attr string) string { return "agree|" + subj + "|" + attr }
func goKey(name, place string) string   { return "go|" + name + "|" + place }
func tookKey(name, n string) string     { return "took|" + name + "|" + n }
func nounForm(n noun, plural bool) string {
	return map[bool]string{false: n.sing, true: n.plur}[plural]
}

// sentence draws one sentence about c (never one with a held-out key), or
// returns "" after too many held-out draws (the caller draws another kind).
func (t *stories) sentence(r *rand.Rand, c character) string {
	useName := r.IntN(5) < 2
	S := capitalize(c.subj())
	if useName {
		S = c.name
	}
	switch r.IntN(6) {
	case 0:
		place := pick(r, storyPlaces)
		if useName && t.split.heldout(goKey(c.name, place)) {
			return ""
		}
		return S + " went to the " + place + "."
	case 1:
		return S + " found a " + pick(r, storyAdjs) + " " + pick(r, storyNouns).sing + "."
	case 2:
		return "Then " + c.subj() + " played with the " + pick(r, storyNouns).sing + "."
	case 3:
		n1, n2 := pick(r, storyNouns), pick(r, storyNouns)
		if n1 == n2 {
			return ""
		}
		p1, p2 := r.IntN(2) == 1, r.IntN(2) == 1
		s1, s2 := nounForm(n1, p1), nounForm(n2, p2)
		if t.split.heldout(agreeKey(s1, s2)) {
			return ""
		}
		verb := "was"
		if p1 {
			verb = "were"
		}
		return "The " + s1 + " near the " + s2 + " " + verb + " " + pick(r, storyAdjs) + "."
	case 4:
		other := pick(r, append(append([]string{}, storyBoys...), storyGirls...))
		if other == c.name {
			return ""
		}
		return S + " gave the " + pick(r, storyNouns).sing + " to " + other + "."
	default:
		n := pick(r, storyNouns).sing
		if useName && t.split.heldout(tookKey(c.name, n)) {
			return ""
		}
		return S + " took " + c.poss() + " " + n + " home."
	}
}

func (t *stories) Generate(r *rand.Rand) string {
	c := randCharacter(r)
	parts := []string{intro(c)}
	n := len(parts[0])
	misses := 0
	for misses < 3 {
		s := t.sentence(r, c)
		if s == "" {
			continue
		}
		if n+1+len(s) > t.maxLen {
			misses++
			continue
		}
		parts = append(parts, s)
		n += 1 + len(s)
	}
	return strings.Join(parts, " ")
}

// sentenceKeys returns the split keys of the sentences of doc, parsed from
// the text alone.
func sentenceKeys(doc string) []string {
	names := map[string]bool{}
	for _, n := range append(append([]string{}, storyBoys...), storyGirls...) {
		names[n] = true
	}
	var keys []string
	for _, s := range strings.Split(doc, ". ") {
		s = strings.TrimSuffix(strings.TrimSpace(s), ".")
		w := strings.Fields(s)
		switch {
		case len(w) == 7 && w[0] == "The" && w[2] == "near" && w[3] == "the":
			keys = append(keys, agreeKey(w[1], w[4]))
		case len(w) == 5 && names[w[0]] && w[1] == "went" && w[2] == "to" && w[3] == "the":
			keys = append(keys, goKey(w[0], w[4]))
		case len(w) == 5 && names[w[0]] && w[1] == "took" && w[4] == "home":
			keys = append(keys, tookKey(w[0], w[3]))
		}
	}
	return keys
}

func (t *stories) Heldout(doc string) bool {
	for _, k := range sentenceKeys(doc) {
		if t.split.heldout(k) {
			return true
		}
	}
	return false
}

var storyVariants = []string{"stories/agree/match", "stories/agree/attractor", "stories/pronoun", "stories/possessive"}

func (t *stories) Variants() []Variant {
	var vs []Variant
	for _, v := range storyVariants {
		c := Variant{Name: v, Chance: 0.5, Metrics: []string{rundir.MCGrade, rundir.LogProb, rundir.Brier}, Trained: true}
		// Doubled spaces never occur in training; a distracting sentence
		// is a grammatical sentence in a place training stories have one.
		vs = append(append(vs, c), perturbedOf(c, t.perturb, func(p string) bool { return p == "distract" }, nil)...)
	}
	return vs
}

// minimalPair builds an item whose choices are right and wrong in a random
// order drawn from r.
func minimalPair(r *rand.Rand, v, key, prompt, right, wrong string) Item {
	it := Item{Task: "stories", Variant: v, Key: key, Prompt: prompt, Answer: right, Target: strings.TrimSpace(right), Subtask: -1,
		Choices: []string{right, wrong}}
	if r.IntN(2) == 1 {
		it.Choices, it.Correct = []string{wrong, right}, 1
	}
	return it
}

// Eval items are minimal pairs. Vars: agreement "plural" {subject plural},
// "attractor_plural"; pronoun items "female".
func (t *stories) Eval(seed uint64, n int) []Item {
	var out []Item
	b2i := map[bool]int{false: 0, true: 1}
	for _, v := range storyVariants {
		r := evalRNG(seed, t.evalSpec, v)
		clean := collectBalanced(n, 50*n+200, 2, func() (Item, int, bool) {
			c := randCharacter(r)
			pre := intro(c)
			switch v {
			case "stories/agree/match", "stories/agree/attractor":
				n1, n2 := pick(r, storyNouns), pick(r, storyNouns)
				p1 := r.IntN(2) == 1
				p2 := p1
				if v == "stories/agree/attractor" {
					p2 = !p1
				}
				s1, s2 := nounForm(n1, p1), nounForm(n2, p2)
				if n1 == n2 || !t.split.heldout(agreeKey(s1, s2)) {
					return Item{}, 0, false
				}
				adj := pick(r, storyAdjs)
				right, wrong := " was "+adj+".", " were "+adj+"."
				if p1 {
					right, wrong = wrong, right
				}
				it := minimalPair(r, v, agreeKey(s1, s2), pre+" The "+s1+" near the "+s2, right, wrong)
				it.Vars = map[string][]int{"plural": {b2i[p1]}, "attractor_plural": {b2i[p2]}}
				return it, b2i[p1], true
			case "stories/pronoun":
				place := pick(r, storyPlaces)
				if !t.split.heldout(goKey(c.name, place)) {
					return Item{}, 0, false
				}
				rest := " played with the " + pick(r, storyNouns).sing + "."
				wrong := character{c.name, !c.female}
				it := minimalPair(r, v, goKey(c.name, place), pre+" "+c.name+" went to the "+place+". Then",
					" "+c.subj()+rest, " "+wrong.subj()+rest)
				it.Vars = map[string][]int{"female": {b2i[c.female]}}
				return it, b2i[c.female], true
			default:
				nn := pick(r, storyNouns).sing
				if !t.split.heldout(tookKey(c.name, nn)) {
					return Item{}, 0, false
				}
				wrong := character{c.name, !c.female}
				it := minimalPair(r, v, tookKey(c.name, nn), pre+" "+c.name+" took",
					" "+c.poss()+" "+nn+" home.", " "+wrong.poss()+" "+nn+" home.")
				it.Vars = map[string][]int{"female": {b2i[c.female]}}
				return it, b2i[c.female], true
			}
		})
		out = append(out, clean...)
		for _, p := range t.perturb {
			out = append(out, perturbItems(seed, t.evalSpec, clean, p, func(r *rand.Rand, it *Item) (string, bool) {
				return perturbStoryPrompt(r, it, p), true
			})...)
		}
	}
	return out
}

// perturbStoryPrompt perturbs a minimal pair's prompt ("Once there was a
// … named NAME." + the tested sentence's beginning): spaces doubles one to
// three of its spaces; distract inserts a sentence after the introduction
// that points the other way (see stories).
func perturbStoryPrompt(r *rand.Rand, it *Item, pert string) string {
	p := it.Prompt
	if pert == "spaces" {
		var at []int
		for i := range len(p) {
			if p[i] == ' ' {
				at = append(at, i)
			}
		}
		return insertSpaces(p, randomSubset(r, at, 3))
	}
	end := strings.Index(p, ". ") + 1 // the introduction ends at its period
	var d string
	if pl, ok := it.Vars["plural"]; ok {
		// An agreement sentence whose subject has the other number.
		n1, n2 := pick(r, storyNouns), pick(r, storyNouns)
		for n2 == n1 {
			n2 = pick(r, storyNouns)
		}
		plural := pl[0] == 0
		verb := map[bool]string{false: "was", true: "were"}[plural]
		d = "The " + nounForm(n1, plural) + " near the " + nounForm(n2, r.IntN(2) == 1) + " " + verb + " " + pick(r, storyAdjs) + "."
	} else {
		// The character gives something to someone of the other gender.
		name := strings.TrimSuffix(p[strings.LastIndex(p[:end], " ")+1:end], ".")
		others := storyGirls
		if it.Vars["female"][0] == 1 {
			others = storyBoys
		}
		d = name + " gave the " + pick(r, storyNouns).sing + " to " + pick(r, others) + "."
	}
	return p[:end] + " " + d + p[end:]
}

func (t *stories) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
