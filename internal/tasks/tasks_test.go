package tasks

import (
	"strings"
	"testing"
	"unicode/utf8"

	"emlab/internal/data"
	"emlab/internal/rundir"
)

// configs are the task configurations every property test runs on: each
// task's defaults plus the non-default formats and modes.
var configs = []string{
	"add", "add(format=reversed)", "add(format=scratchpad,digits=3,min_digits=2,eval_digits=4)",
	"add(digits=1)", "mul", "mul(format=scratchpad)", "modadd", "modadd(p=97,enc=digits,train=0.3)",
	"icl", "icl(k=4,classes=2,labels=5)", "induction", "induction(len=30,vocab=8,min_span=3)",
	"markov", "markov(states=5,alpha=0.3,len=40)", "multihop", "multihop(people=10,values=3,world=7)",
	"parity", "parity(n=8,k=2,tasks=5,alpha=0)", "longrange", "longrange(mode=brackets,gap=12,eval_gap=20,depth=3)",
	"stories", "stories(len=300)", "copyspan", "copyspan(len=20,vocab=8,min_span=3)",
	"trace", "trace(vars=2,len=6,min_len=3,eval_len=8)", "trace(vars=6,len=1)", "trace(arith=full)",
	"facts", "facts(entities=30,attrs=3,values=100,world=3)", "facts(entities=3,attrs=2,values=2)",
	"chain", "chain(hops=3,format=direct)", "chain(hops=1,eval_hops=3,people=8,values=3,world=2)", "chain(pairs=boss.city+pal.pet+boss.boss)",
	"add(perturb=all)", "add(format=scratchpad,digits=3,perturb=zeros)", "add(format=reversed,perturb=spaces)",
	"icl(perturb=all)", "icl(k=4,classes=2,labels=5,perturb=distract)", "icl(k=8,classes=26,perturb=all)",
	"stories(perturb=all)", "stories(len=100,perturb=distract)", "stories(perturb=spaces)",
}

// nDocs is how many training documents each property test draws per
// configuration: enough to hit every branch of each generator many times
// (the rarest branch, a single stories sentence kind, has probability ≈ 1/6
// per sentence), and fast (≈ 50 ms for all configurations).
const nDocs = 3000

func mustTask(t *testing.T, spec string) Task {
	t.Helper()
	task, err := Lookup(spec)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", spec, err)
	}
	return task
}

func genDocs(task Task, seed uint64, n int) []string {
	r := data.RNG(seed, "test/"+task.Spec())
	out := make([]string, n)
	for i := range out {
		out[i] = task.Generate(r)
	}
	return out
}

func inAlphabet(s, alphabet string) (rune, bool) {
	for _, r := range s {
		if !strings.ContainsRune(alphabet, r) {
			return r, false
		}
	}
	return 0, true
}

func TestDocumentsWellFormed(t *testing.T) {
	for _, spec := range configs {
		t.Run(spec, func(t *testing.T) {
			task := mustTask(t, spec)
			if strings.ContainsRune(task.Alphabet(), '\n') {
				t.Fatalf("alphabet contains the separator")
			}
			for _, d := range genDocs(task, 1, nDocs) {
				if d == "" || utf8.RuneCountInString(d) > task.MaxLen() {
					t.Fatalf("document %q has length %d, want 1…MaxLen=%d", d, utf8.RuneCountInString(d), task.MaxLen())
				}
				if r, ok := inAlphabet(d, task.Alphabet()); !ok {
					t.Fatalf("document %q has %q outside the alphabet %q", d, r, task.Alphabet())
				}
			}
		})
	}
}

func TestSameSeedSameData(t *testing.T) {
	for _, spec := range configs {
		t.Run(spec, func(t *testing.T) {
			task := mustTask(t, spec)
			a, b, c := genDocs(task, 5, 200), genDocs(task, 5, 200), genDocs(task, 6, 200)
			same := 0
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("doc %d differs under the same seed: %q vs %q", i, a[i], b[i])
				}
				if a[i] == c[i] {
					same++
				}
			}
			// Another seed must give other data; the smallest spaces
			// (1-digit add: 90 training pairs) repeat by chance in well
			// under half the positions.
			if same > len(a)/2 {
				t.Errorf("seeds 5 and 6 agree on %d of %d documents", same, len(a))
			}
			e1, e2 := task.Eval(3, 20), task.Eval(3, 20)
			if len(e1) != len(e2) {
				t.Fatalf("Eval not deterministic: %d vs %d items", len(e1), len(e2))
			}
			for i := range e1 {
				if e1[i].Prompt != e2[i].Prompt || e1[i].Answer != e2[i].Answer {
					t.Fatalf("Eval item %d differs under the same seed", i)
				}
			}
		})
	}
}

// TestSplitDisjoint proves the split in both directions: no training
// document contains a held-out item (Heldout re-derives the keys from the
// text), every evaluation item is held out, and no evaluation item's text
// equals any of the sampled training documents.
func TestSplitDisjoint(t *testing.T) {
	for _, spec := range configs {
		t.Run(spec, func(t *testing.T) {
			task := mustTask(t, spec)
			docs := map[string]bool{}
			for _, d := range genDocs(task, 2, nDocs) {
				if task.Heldout(d) {
					t.Fatalf("training document %q is held out", d)
				}
				docs[d] = true
			}
			items := task.Eval(0, 50)
			if len(items) == 0 {
				t.Fatal("no evaluation items")
			}
			memorised := map[string]bool{}
			for _, v := range task.Variants() {
				memorised[v.Name] = v.Memorised
			}
			for _, it := range items {
				if memorised[it.Variant] {
					// Items of memorised variants are training documents
					// (TestFactsAreTheTrainingFacts checks they all are).
					if task.Heldout(it.Prompt + it.Answer) {
						t.Fatalf("memorised item %q|%q is held out", it.Prompt, it.Answer)
					}
					continue
				}
				if !task.Heldout(it.Prompt + it.Answer) {
					t.Fatalf("item %q|%q is not held out", it.Prompt, it.Answer)
				}
				if docs[it.Prompt+it.Answer] {
					t.Fatalf("item %q|%q was generated for training", it.Prompt, it.Answer)
				}
			}
		})
	}
}

// TestSplitExhaustive enumerates small item spaces completely: every
// training pair of 1-digit add and of modadd p=53 is generated eventually,
// and none is held out.
func TestSplitExhaustive(t *testing.T) {
	for _, spec := range []string{"add(digits=1)", "modadd(p=53,enc=digits)"} {
		task := mustTask(t, spec)
		heldout := map[string]bool{}
		for _, it := range task.Eval(0, 3000) {
			if it.Variant == "add/plain/1" || strings.HasPrefix(it.Variant, "modadd") {
				heldout[it.Prompt+it.Answer] = true
			}
		}
		seen := map[string]bool{}
		for _, d := range genDocs(task, 9, 40000) {
			if heldout[d] {
				t.Fatalf("%s: generated held-out %q", spec, d)
			}
			seen[d] = true
		}
		total := 100 // 1-digit pairs
		if strings.HasPrefix(spec, "modadd") {
			total = 53 * 53
		}
		if len(seen)+len(heldout) != total {
			t.Errorf("%s: %d training + %d held-out documents, want all %d pairs", spec, len(seen), len(heldout), total)
		}
		t.Logf("%s: %d training, %d held-out", spec, len(seen), len(heldout))
	}
}

func TestEvalItemsWellFormed(t *testing.T) {
	for _, spec := range configs {
		t.Run(spec, func(t *testing.T) {
			task := mustTask(t, spec)
			variants := map[string]Variant{}
			for _, v := range task.Variants() {
				if v.Chance <= 0 || v.Chance >= 1 || len(v.Metrics) == 0 {
					t.Errorf("variant %s: chance %v, metrics %v", v.Name, v.Chance, v.Metrics)
				}
				if !strings.HasPrefix(v.Name, task.Name()) {
					t.Errorf("variant %s does not start with the task name", v.Name)
				}
				variants[v.Name] = v
			}
			count := map[string]int{}
			for _, it := range task.Eval(0, 30) {
				count[it.Variant]++
				if _, ok := variants[it.Variant]; !ok {
					t.Fatalf("item variant %q not declared", it.Variant)
				}
				if it.Task != task.Name() || it.Prompt == "" || it.Answer == "" || it.Target == "" || it.Key == "" {
					t.Fatalf("incomplete item %+v", it)
				}
				if got := task.Extract(&it, it.Answer); got != it.Target {
					t.Fatalf("Extract(answer %q) = %q, want target %q", it.Answer, got, it.Target)
				}
				texts := []string{it.Prompt + it.Answer}
				if len(it.Choices) > 0 {
					if it.Correct < 0 || it.Correct >= len(it.Choices) || it.Choices[it.Correct] != it.Answer {
						t.Fatalf("choices %q, correct %d, answer %q", it.Choices, it.Correct, it.Answer)
					}
					for _, c := range it.Choices {
						texts = append(texts, it.Prompt+c)
					}
				}
				for _, s := range texts {
					if utf8.RuneCountInString(s) > task.MaxLen() {
						t.Fatalf("item text %q longer than MaxLen %d", s, task.MaxLen())
					}
					if r, ok := inAlphabet(s, task.Alphabet()); !ok {
						t.Fatalf("item text %q has %q outside the alphabet", s, r)
					}
				}
			}
			for name := range variants {
				if count[name] == 0 {
					t.Errorf("variant %s has no items", name)
				}
			}
			t.Logf("items per variant: %v", count)
		})
	}
}

func TestBadParameters(t *testing.T) {
	cases := []struct{ spec, want string }{
		{"add(digits=0)", "digits=0 outside [1, 5]"},
		{"add(digits=x)", "not an integer"},
		{"add(digits=3,min_digits=4)", "min_digits=4 > digits=3"},
		{"add(digits=3,eval_digits=2)", "eval_digits=2 < digits=3"},
		{"add(format=roman)", "not one of plain, reversed, scratchpad"},
		{"add(heldout=0)", "heldout=0 outside"},
		{"add(digit=2)", `unknown parameter "digit" (did you mean digits`},
		{"modadd(p=100)", "p=100 is not prime"},
		{"modadd(train=1.5)", "train=1.5 outside"},
		{"parity(n=4,k=5)", "k=5 > n=4"},
		{"parity(n=4,k=2,tasks=7)", "tasks=7 > C(n=4, k=2)=6"},
		{"induction(len=20,min_span=11)", "min_span=11 > len/2=10"},
		{"icl(labels=11)", "labels=11 outside"},
		{"longrange(gap=8,eval_gap=8)", "eval_gap=8 must exceed gap=8"},
		{"markov(alpha=nan)", "not a number"},
		{"mull", `unknown task "mull" (did you mean mul`},
		{"add(digits=2", "missing ')'"},
		{"add(perturb=spacez)", `unknown perturbation "spacez" (did you mean spaces`},
		{"icl(perturb=distract+spaces)", `unknown perturbation "spaces"`},
		{"trace(len=4,min_len=5)", "min_len=5 > len=4"},
		{"trace(len=4,eval_len=3)", "eval_len=3 < len=4"},
		{"trace(vars=7)", "vars=7 outside [2, 6]"},
		{"trace(arith=half)", "not one of small, full"},
		{"facts(entities=8000)", "entities=8000 outside"},
		{"facts(values=1)", "values=1 outside"},
		{"chain(hops=3,eval_hops=2)", "eval_hops=2 < hops=3"},
		{"chain(format=tree)", "not one of cot, direct"},
		{"chain(hops=5)", "hops=5 outside [1, 4]"},
		{"chain(pairs=city.boss)", `"city.boss" is not r1.r2 with r1 one of boss, pal`},
	}
	for _, c := range cases {
		_, err := Lookup(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Lookup(%q) = %v, want error containing %q", c.spec, err, c.want)
		}
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"add", "chain", "copyspan", "facts", "icl", "induction", "longrange", "markov", "modadd", "mul", "multihop", "parity", "stories", "trace"}
	if got := strings.Join(Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("Names() = %s", got)
	}
	for _, info := range List() {
		// The canonical spec must build the same task again.
		task := mustTask(t, info.Spec)
		if task.Spec() != info.Spec {
			t.Errorf("%s: spec does not round-trip: %s vs %s", info.Name, task.Spec(), info.Spec)
		}
		if len(info.Params) == 0 || len(info.Variants) == 0 || info.Version < 1 {
			t.Errorf("%s: incomplete info %+v", info.Name, info)
		}
	}
}

// TestProbeLayouts: the positions tasks give probes in Item.Vars point at
// what they name in the prompt, and the stated facts are the training
// text's.
func TestProbeLayouts(t *testing.T) {
	mod, err := Lookup("modadd(p=11)")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range mod.Eval(0, 20) {
		p := []rune(it.Prompt)
		if p[it.Vars["a_pos"][0]] != rune(residueBase+it.Vars["a"][0]) || p[it.Vars["b_pos"][0]] != rune(residueBase+it.Vars["b"][0]) {
			t.Fatalf("modadd %q: a_pos %v b_pos %v", it.Prompt, it.Vars["a_pos"], it.Vars["b_pos"])
		}
	}
	if dig, _ := Lookup("modadd(p=11,enc=digits)"); dig.Eval(0, 1)[0].Vars["a_pos"] != nil {
		t.Errorf("enc=digits items claim one-token residues")
	}
	par, err := Lookup("parity(n=12,tasks=3)")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range par.Eval(0, 10) {
		p := []rune(it.Prompt)
		pos := it.Vars["bit_pos"]
		if len(pos) != 12 || p[len(p)-1] != '=' || pos[len(pos)-1] != len(p)-2 {
			t.Fatalf("parity %q: bit_pos %v", it.Prompt, pos)
		}
		bit := 0
		for _, s := range it.Vars["subset"] {
			if c := p[pos[s]]; c != '0' && c != '1' {
				t.Fatalf("parity %q: bit %d at %d is %q", it.Prompt, s, pos[s], c)
			}
			bit ^= int(p[pos[s]] - '0')
		}
		if bit != it.Correct {
			t.Errorf("parity %q: the subset's bits give %d, the answer is %d", it.Prompt, bit, it.Correct)
		}
	}
	mh, err := Lookup("multihop(people=6)")
	if err != nil {
		t.Fatal(err)
	}
	facts := mh.(StatedFacts).StatedFacts()
	if len(facts) != 6*5 {
		t.Fatalf("%d facts, want 6 people × 5 relations", len(facts))
	}
	stated := map[string]bool{}
	for _, f := range facts {
		if f.Choices[f.Correct] != f.Answer || !strings.HasPrefix(f.Prompt, "F:") {
			t.Fatalf("fact %+v", f)
		}
		stated[f.Prompt+f.Answer] = true
	}
	r := data.RNG(1, "test")
	for range 2000 {
		if d := mh.Generate(r); strings.HasPrefix(d, "F:") && !stated[d] {
			t.Fatalf("the training text states %q, not among the stated facts", d)
		}
	}
}

// TestVariantMetricsHaveKinds: every metric a variant lists is one the
// run directory's vocabulary knows, so the analysis knows how to read it.
func TestVariantMetricsHaveKinds(t *testing.T) {
	for _, spec := range configs {
		task, err := Lookup(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range task.Variants() {
			for _, m := range v.Metrics {
				if _, ok := rundir.KindOf(m); !ok {
					t.Errorf("%s variant %s: metric %q has no rundir.Kind", spec, v.Name, m)
				}
			}
		}
	}
}
