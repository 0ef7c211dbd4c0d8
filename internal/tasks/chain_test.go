package tasks

import (
	"fmt"
	"strings"
	"testing"
)

// chainFacts learns the world from chain's one-hop training documents.
func chainFacts(t *testing.T, task Task, prefix string) map[string]string {
	t.Helper()
	facts := map[string]string{}
	for _, d := range genDocs(task, 1, 8000) {
		rest, ok := strings.CutPrefix(d, prefix)
		if !ok {
			t.Fatalf("document %q without prefix %s", d, prefix)
		}
		if strings.Count(rest, "=") == 1 && strings.Count(rest, ".") == 1 {
			k, v, _ := strings.Cut(rest, "=")
			if old, dup := facts[k]; dup && old != v {
				t.Fatalf("fact %s stated as %s and %s", k, old, v)
			}
			facts[k] = v
		}
	}
	return facts
}

// follow answers a chain key ("kem.boss.pal.city") from the facts, with
// the bridges.
func follow(facts map[string]string, key string) (bridges []string, ans string) {
	parts := strings.Split(key, ".")
	cur := parts[0]
	for i, rel := range parts[1:] {
		cur = facts[cur+"."+rel]
		if i < len(parts)-2 {
			bridges = append(bridges, cur)
		}
	}
	return bridges, cur
}

// TestChainAnswers checks every training document and evaluation item
// against the facts the training stream states one at a time, and the
// chain of thought step by step; and that the world is multihop's.
func TestChainAnswers(t *testing.T) {
	for _, c := range []struct{ spec, prefix string }{
		{"chain(people=12)", "H:"}, {"chain(people=12,hops=3,format=direct)", "D:"}, {"chain(people=12,hops=1,eval_hops=3)", "H:"},
	} {
		t.Run(c.spec, func(t *testing.T) {
			task := mustTask(t, c.spec).(*chain)
			facts := chainFacts(t, task, c.prefix)
			if len(facts) != 12*5 {
				t.Fatalf("%d facts stated, want 12 people × 5 relations", len(facts))
			}
			// The same world as multihop's with the same parameters.
			mh := mustTask(t, "multihop(people=12)")
			for _, d := range genDocs(mh, 1, 3000) {
				if rest, ok := strings.CutPrefix(d, "F:"); ok {
					k, v, _ := strings.Cut(rest, "=")
					if facts[k] != v {
						t.Fatalf("multihop states %s=%s, chain %s", k, v, facts[k])
					}
				}
			}
			check := func(doc string) {
				t.Helper()
				rest := strings.TrimPrefix(doc, c.prefix)
				segs := strings.Split(rest, "=")
				key := segs[0]
				bridges, want := follow(facts, key)
				if segs[len(segs)-1] != want {
					t.Fatalf("%q: answer %q, facts give %q", doc, segs[len(segs)-1], want)
				}
				if task.direct {
					if len(segs) != 2 {
						t.Fatalf("direct document %q has a chain of thought", doc)
					}
					return
				}
				rels := strings.Split(key, ".")[1:]
				if len(segs) != len(rels)+1 {
					t.Fatalf("%q: %d steps for %d hops", doc, len(segs)-1, len(rels))
				}
				for i, b := range bridges {
					if want := b + "." + strings.Join(rels[i+1:], "."); segs[i+1] != want {
						t.Fatalf("%q: step %d %q, want %q", doc, i+1, segs[i+1], want)
					}
				}
			}
			for _, d := range genDocs(task, 2, 2000) {
				if h := strings.Count(strings.Split(d, "=")[0], "."); h > task.hops {
					t.Fatalf("training document %q has %d hops, more than hops=%d", d, h, task.hops)
				}
				check(d)
			}
			for _, it := range task.Eval(0, 40) {
				check(it.Prompt + it.Answer)
				h := strings.Count(it.Key, ".")
				bridges, ans := follow(facts, it.Key)
				if it.Target != ans || it.Variant != fmt.Sprintf("chain/%s/hops=%d", task.format(), h) || it.Vars["hops"][0] != h ||
					it.Text["bridges"] != strings.Join(bridges, ",") || len(it.Vars["bridge"]) != h-1 || len(it.Vars["eq"]) != strings.Count(it.Prompt+it.Answer, "=") {
					t.Fatalf("item %+v, facts give %s via %v", it, ans, bridges)
				}
				if task.direct && it.Choices[it.Correct] != ans {
					t.Fatalf("choices %v correct %d, answer %s", it.Choices, it.Correct, ans)
				}
			}
			for _, v := range task.Variants() {
				var h int
				fmt.Sscanf(v.Name[strings.LastIndex(v.Name, "=")+1:], "%d", &h)
				if v.Trained != (h <= task.hops) || v.Generate == task.direct {
					t.Errorf("variant %+v", v)
				}
			}
		})
	}
}

// TestChainSplitExhaustive enumerates every two-hop query of a 4-person
// world (4 people × 2 bridging relations × 5 last relations): each is either
// generated for training or held out, never both, and every three-hop query
// is held out.
func TestChainSplitExhaustive(t *testing.T) {
	task := mustTask(t, "chain(people=4,values=2,heldout=0.3)").(*chain)
	seen := map[string]bool{}
	for _, d := range genDocs(task, 3, 20000) {
		key, _, _ := strings.Cut(d[2:], "=")
		if strings.Count(key, ".") == 2 {
			seen[key] = true
		}
	}
	held := 0
	all := append(append([]string{}, personRels...), attrRels...)
	for _, e := range task.w.people {
		for _, r1 := range personRels {
			for _, r2 := range all {
				key := e + "." + r1 + "." + r2
				h := task.Heldout("H:" + key + "=")
				if h == seen[key] {
					t.Fatalf("query %s: held out %v, generated %v", key, h, seen[key])
				}
				if h {
					held++
				}
				if !task.Heldout("H:" + key + ".city=") {
					t.Fatalf("three-hop query %s.city not held out", key)
				}
			}
		}
	}
	if len(seen)+held != 40 {
		t.Errorf("%d generated + %d held out, want 40", len(seen), held)
	}
	t.Logf("%d training, %d held-out two-hop queries", len(seen), held)
}

// TestChainPairs: with held-out relation pairs, no training chain composes
// one (though each relation is trained, alone and composed with others);
// the …/pairs variants hold exactly the chains that compose one, at trained
// and untrained lengths, and are marked untrained.
func TestChainPairs(t *testing.T) {
	task := mustTask(t, "chain(pairs=boss.city+pal.pet)").(*chain)
	composes := func(key string) bool {
		return strings.Contains(key+".", ".boss.city.") || strings.Contains(key+".", ".pal.pet.")
	}
	firsts, seconds := map[string]bool{}, map[string]bool{}
	for _, d := range genDocs(task, 5, 5000) {
		key, _, _ := strings.Cut(d[2:], "=")
		if composes(key) {
			t.Fatalf("training chain %q composes a held-out pair", d)
		}
		if rels := strings.Split(key, "."); len(rels) == 3 {
			firsts[rels[1]+"."+rels[2]] = true
			seconds[rels[2]] = true
		}
	}
	// boss and city are each composed in training, only never together.
	if !firsts["boss.pet"] || !firsts["pal.city"] || firsts["boss.city"] {
		t.Fatalf("trained two-hop relation pairs %v", firsts)
	}
	n := map[bool]int{}
	for _, it := range task.Eval(0, 40) {
		pairs := strings.HasSuffix(it.Variant, "/pairs")
		if composes(it.Key) != pairs || !task.Heldout(it.Prompt+it.Answer) {
			t.Fatalf("%s item %q", it.Variant, it.Key)
		}
		n[pairs]++
	}
	if n[true] == 0 || n[false] == 0 {
		t.Fatalf("items %v", n)
	}
	for _, v := range task.Variants() {
		if strings.HasSuffix(v.Name, "/pairs") && v.Trained {
			t.Errorf("%s marked trained", v.Name)
		}
	}
}
