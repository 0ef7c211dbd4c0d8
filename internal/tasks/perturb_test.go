package tasks

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"emlab/internal/data"
)

// TestPerturbLeavesTrainingAndCleanItems: the perturb parameter changes
// nothing but the perturbed variants. perturb=none is the task without the
// parameter (same spec, alphabet, items); with perturbations the training
// documents for a seed are the same, and so are the clean variants' items.
func TestPerturbLeavesTrainingAndCleanItems(t *testing.T) {
	for _, c := range []struct{ base, none, all string }{
		{"add", "add(perturb=none)", "add(perturb=all)"},
		{"add(format=scratchpad,digits=3)", "add(format=scratchpad,digits=3,perturb=none)", "add(format=scratchpad,digits=3,perturb=zeros)"},
		{"icl", "icl(perturb=none)", "icl(perturb=all)"},
		{"stories", "stories(perturb=none)", "stories(perturb=distract+spaces)"},
	} {
		t.Run(c.all, func(t *testing.T) {
			base, none, all := mustTask(t, c.base), mustTask(t, c.none), mustTask(t, c.all)
			if none.Spec() != base.Spec() || none.Alphabet() != base.Alphabet() || none.MaxLen() != base.MaxLen() {
				t.Fatalf("perturb=none changed the task: %s vs %s", none.Spec(), base.Spec())
			}
			if !strings.Contains(all.Spec(), "perturb=") || all.MaxLen() < base.MaxLen() {
				t.Fatalf("spec %s, MaxLen %d < %d", all.Spec(), all.MaxLen(), base.MaxLen())
			}
			for _, r := range base.Alphabet() {
				if !strings.ContainsRune(all.Alphabet(), r) {
					t.Fatalf("alphabet lost %q", r)
				}
			}
			// The training stream draws each window from a generator of its
			// own (seed, step, row), whatever the spec.
			ra, rb := data.RNG(7, "window"), data.RNG(7, "window")
			for range 500 {
				if a, b := base.Generate(ra), all.Generate(rb); a != b {
					t.Fatalf("perturbations changed a training document: %q vs %q", a, b)
				}
			}
			clean := map[string]bool{}
			for _, v := range base.Variants() {
				clean[v.Name] = true
			}
			var x []Item
			for _, it := range all.Eval(0, 40) {
				if clean[it.Variant] {
					x = append(x, it)
				}
			}
			y := base.Eval(0, 40)
			if len(x) != len(y) {
				t.Fatalf("%d clean items with perturbations, %d without", len(x), len(y))
			}
			for i := range x {
				if x[i].Prompt != y[i].Prompt || x[i].Answer != y[i].Answer {
					t.Fatalf("clean item %d differs: %q vs %q", i, x[i].Prompt, y[i].Prompt)
				}
			}
			// A perturbation moves characters, so no perturbed item gives
			// prompt offsets (the clean items' would point elsewhere).
			for _, it := range all.Eval(0, 40) {
				for k := range it.Vars {
					if strings.HasSuffix(k, "_pos") && !clean[it.Variant] {
						t.Fatalf("perturbed item %q keeps the clean offsets %s", it.Prompt, k)
					}
				}
			}
			// Each perturbed variant names its clean variant and keeps its
			// chance level and metrics.
			byName := map[string]Variant{}
			for _, v := range all.Variants() {
				byName[v.Name] = v
			}
			for _, v := range all.Variants() {
				if v.Perturbs == "" {
					continue
				}
				c, ok := byName[v.Perturbs]
				if !ok || !strings.HasPrefix(v.Name, c.Name+"/perturbed=") || v.Chance != c.Chance || !slices.Equal(v.Metrics, c.Metrics) || (v.Trained && !c.Trained) {
					t.Errorf("perturbed variant %+v of %+v", v, c)
				}
			}
			// OutOfVocab is exactly "some prompt holds a character the
			// training documents' alphabet lacks" (the task without
			// perturbations has the training alphabet).
			unseen := map[string]bool{}
			for _, it := range all.Eval(0, 40) {
				for _, r := range it.Prompt {
					if !strings.ContainsRune(base.Alphabet(), r) {
						unseen[it.Variant] = true
					}
				}
			}
			for _, v := range all.Variants() {
				if v.OutOfVocab != unseen[v.Name] {
					t.Errorf("%s: OutOfVocab %v, but a prompt with a character outside the training alphabet %q: %v", v.Name, v.OutOfVocab, base.Alphabet(), unseen[v.Name])
				}
			}
		})
	}
}

// pairs groups a task's items by variant and key.
func pairs(items []Item) map[string]map[string]Item {
	out := map[string]map[string]Item{}
	for _, it := range items {
		if out[it.Variant] == nil {
			out[it.Variant] = map[string]Item{}
		}
		out[it.Variant][it.Key] = it
	}
	return out
}

var leadingZeros = regexp.MustCompile(`([:+])0+(\d)`)

// TestAddPerturbations: a perturbed item is its clean item (same key,
// answer and target) with spaces around the operands or leading zeros —
// removing them gives the clean prompt back — and its answer is still the
// sum (checkArith on the normalised text).
func TestAddPerturbations(t *testing.T) {
	for _, spec := range []string{"add(perturb=all)", "add(format=scratchpad,digits=3,perturb=all)", "add(format=reversed,perturb=all)"} {
		task := mustTask(t, spec)
		byVar := pairs(task.Eval(0, 60))
		n := 0
		for _, v := range task.Variants() {
			if v.Perturbs == "" {
				continue
			}
			if v.Trained {
				t.Errorf("%s: %s marked trained; training has no spaces or leading zeros", spec, v.Name)
			}
			pert := v.Name[strings.LastIndex(v.Name, "=")+1:]
			for key, it := range byVar[v.Name] {
				c, ok := byVar[v.Perturbs][key]
				if !ok || it.Answer != c.Answer || it.Target != c.Target {
					t.Fatalf("%s %s: no clean twin with the same answer", v.Name, key)
				}
				var norm string
				switch pert {
				case "spaces":
					norm = strings.ReplaceAll(it.Prompt, " ", "")
					if norm == it.Prompt || strings.HasSuffix(it.Prompt, "= ") {
						t.Fatalf("%q: no space inserted, or one after '='", it.Prompt)
					}
				case "zeros":
					norm = leadingZeros.ReplaceAllString(it.Prompt, "$1$2")
					if norm == it.Prompt || strings.Contains(it.Prompt, " ") {
						t.Fatalf("%q: no zero inserted", it.Prompt)
					}
				}
				if norm != c.Prompt {
					t.Fatalf("%q normalises to %q, the clean prompt is %q", it.Prompt, norm, c.Prompt)
				}
				checkArith(t, norm+it.Answer)
				n++
			}
		}
		if n == 0 {
			t.Fatalf("%s: no perturbed items", spec)
		}
	}
}

var iclPair = regexp.MustCompile(`[a-z][0-9]`)

// TestICLPerturbations: perturbed episodes are consistent (each input has
// one label, the query's label is the answer), distract adds max(1, k/4)
// examples of inputs not otherwise shown, each once, and reorder puts the
// query's examples first.
func TestICLPerturbations(t *testing.T) {
	task := mustTask(t, "icl(perturb=all)").(*icl)
	n := 0
	for _, it := range task.Eval(0, 60) {
		if !strings.Contains(it.Variant, "/perturbed=") {
			continue
		}
		n++
		body, query, _ := strings.Cut(strings.TrimPrefix(it.Prompt, "L:"), "?")
		ex := iclPair.FindAllString(body, -1)
		if strings.Join(ex, "") != body || len(query) != 1 {
			t.Fatalf("malformed episode %q", it.Prompt)
		}
		label := map[byte]byte{}
		count := map[byte]int{}
		for _, e := range ex {
			if l, ok := label[e[0]]; ok && l != e[1] {
				t.Fatalf("%q: input %c has two labels", it.Prompt, e[0])
			}
			label[e[0]] = e[1]
			count[e[0]]++
		}
		if l, ok := label[query[0]]; !ok || string(l) != it.Answer || it.Choices[it.Correct] != it.Answer {
			t.Fatalf("%q: query %s shown with %c, answer %s", it.Prompt, query, l, it.Answer)
		}
		k := it.Vars["k"][0]
		switch {
		case strings.HasSuffix(it.Variant, "distract"):
			d := max(1, k/4)
			once := 0
			for in, c := range count {
				if c == 1 && in != query[0] {
					once++
				}
			}
			if len(ex) != k+d || once < d {
				t.Fatalf("%q: %d examples for k=%d with %d distractors, %d inputs shown once", it.Prompt, len(ex), k, d, once)
			}
		case strings.HasSuffix(it.Variant, "reorder"):
			if len(ex) != k {
				t.Fatalf("%q: %d examples for k=%d", it.Prompt, len(ex), k)
			}
			for i, e := range ex {
				if (e[0] == query[0]) != (i < count[query[0]]) {
					t.Fatalf("%q: the query's examples are not first", it.Prompt)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no perturbed items")
	}
	vs := map[string]bool{}
	for _, v := range task.Variants() {
		vs[v.Name] = v.Trained
	}
	// k=1 and 2 with one distractor can be training episodes (≤ 4 inputs
	// shown); from k=4 on, 5 or more distinct inputs can be shown.
	for name, want := range map[string]bool{"icl/k=1/perturbed=distract": true, "icl/k=2/perturbed=distract": true,
		"icl/k=4/perturbed=distract": false, "icl/k=16/perturbed=distract": false, "icl/k=16/perturbed=reorder": true} {
		if got, ok := vs[name]; !ok || got != want {
			t.Errorf("%s: trained %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := vs["icl/k=1/perturbed=reorder"]; ok {
		t.Error("reorder at k=1 is the identity and should not be a variant")
	}
}

var doubleSpace = regexp.MustCompile(`  +`)

// TestStoriesPerturbations: spaces doubles one to three spaces (collapsing
// them gives the clean prompt); distract inserts one grammatical sentence
// after the introduction — removing it gives the clean prompt — whose
// subject has the other number (agreement) or which names someone of the
// other gender (pronouns); the right choice stays right.
func TestStoriesPerturbations(t *testing.T) {
	task := mustTask(t, "stories(perturb=all)")
	byVar := pairs(task.Eval(0, 40))
	plural := map[string]bool{}
	for _, n := range storyNouns {
		plural[n.plur] = true
	}
	gender := map[string]bool{} // true: a girl's name
	for _, n := range storyGirls {
		gender[n] = true
	}
	agree := regexp.MustCompile(`^The (\w+) near the (\w+) (was|were) \w+\.$`)
	gave := regexp.MustCompile(`^(\w+) gave the \w+ to (\w+)\.$`)
	n := 0
	for _, v := range task.Variants() {
		if v.Perturbs == "" {
			continue
		}
		if v.Trained != strings.HasSuffix(v.Name, "distract") {
			t.Errorf("%s trained=%v", v.Name, v.Trained)
		}
		for key, it := range byVar[v.Name] {
			c, ok := byVar[v.Perturbs][key]
			if !ok || it.Answer != c.Answer || !slices.Equal(it.Choices, c.Choices) || it.Correct != c.Correct {
				t.Fatalf("%s %s: no clean twin with the same choices", v.Name, key)
			}
			n++
			if strings.HasSuffix(v.Name, "spaces") {
				if d := len(it.Prompt) - len(c.Prompt); d < 1 || d > 3 || doubleSpace.ReplaceAllString(it.Prompt, " ") != c.Prompt {
					t.Fatalf("%q is not %q with 1–3 doubled spaces", it.Prompt, c.Prompt)
				}
				continue
			}
			end := strings.Index(c.Prompt, ". ") + 1
			if !strings.HasPrefix(it.Prompt, c.Prompt[:end]+" ") || !strings.HasSuffix(it.Prompt, c.Prompt[end:]) {
				t.Fatalf("%q is not %q with a sentence inserted after the introduction", it.Prompt, c.Prompt)
			}
			ins := strings.TrimSpace(it.Prompt[end : len(it.Prompt)-len(c.Prompt)+end])
			if m := agree.FindStringSubmatch(ins); m != nil {
				if (m[3] == "were") != plural[m[1]] || plural[m[1]] == (it.Vars["plural"][0] == 1) {
					t.Fatalf("%q: distractor %q does not agree or has the same number", it.Prompt, ins)
				}
			} else if m := gave.FindStringSubmatch(ins); m != nil {
				female := it.Vars["female"][0] == 1
				if !strings.Contains(c.Prompt, "named "+m[1]+".") || gender[m[2]] == female {
					t.Fatalf("%q: distractor %q", it.Prompt, ins)
				}
			} else {
				t.Fatalf("%q: inserted %q is not a distracting sentence", it.Prompt, ins)
			}
			if !task.Heldout(it.Prompt + it.Answer) {
				t.Fatalf("%q is not held out", it.Prompt)
			}
		}
	}
	if n == 0 {
		t.Fatal("no perturbed items")
	}
}
