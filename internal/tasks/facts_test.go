package tasks

import (
	"math"
	"regexp"
	"testing"
)

var factRe = regexp.MustCompile(`^A:([a-z]{4})\.([A-Z])=([0-9]+)$`)

// collectFacts reads the facts stated by n training documents, failing on
// a malformed document or a fact stated with two values.
func collectFacts(t *testing.T, task Task, seed uint64, n int) map[string]string {
	t.Helper()
	facts := map[string]string{}
	for _, d := range genDocs(task, seed, n) {
		m := factRe.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("malformed fact %q", d)
		}
		k := m[1] + "." + m[2]
		if old, ok := facts[k]; ok && old != m[3] {
			t.Fatalf("fact %s stated as %s and %s", k, old, m[3])
		}
		facts[k] = m[3]
	}
	return facts
}

// TestFactsAreTheTrainingFacts enumerates a small world: the training
// stream states every one of its entities·attrs facts, always with the same
// value; evaluation with n ≥ that many returns exactly those facts (they
// are memorised, not held out), and a smaller n a uniform sample of them.
func TestFactsAreTheTrainingFacts(t *testing.T) {
	task := mustTask(t, "facts(entities=30,attrs=3,values=100,world=5)")
	fs := task.(FactSet)
	if fs.Facts() != 90 || math.Abs(fs.MaxBits()-90*math.Log2(100)) > 1e-9 {
		t.Fatalf("Facts %d, MaxBits %v", fs.Facts(), fs.MaxBits())
	}
	// 90 facts drawn uniformly: 5000 documents miss one with probability
	// below 90·(89/90)^5000 ≈ 5e-23.
	facts := collectFacts(t, task, 1, 5000)
	if len(facts) != 90 {
		t.Fatalf("%d distinct facts in training, want 90", len(facts))
	}
	vs := task.Variants()
	if len(vs) != 1 || !vs[0].Memorised || !vs[0].Trained || vs[0].Chance != 0.01 {
		t.Fatalf("variants %+v", vs)
	}
	items := task.Eval(0, 1000)
	if len(items) != 90 {
		t.Fatalf("Eval(0, 1000) gave %d items, want all 90 facts", len(items))
	}
	keys := map[string]bool{}
	for _, it := range items {
		if facts[it.Key] != it.Answer || it.Choices[it.Correct] != it.Answer || len(it.Choices) != 100 || it.Prompt != "A:"+it.Key+"=" {
			t.Fatalf("item %+v, training says %s", it, facts[it.Key])
		}
		if it.Vars["value"][0] != it.Correct || it.Vars["attr"][0] != int(it.Key[5]-'A') {
			t.Fatalf("item %s: Vars %v", it.Key, it.Vars)
		}
		keys[it.Key] = true
	}
	if len(keys) != 90 {
		t.Fatalf("%d distinct items", len(keys))
	}
	if got := len(task.Eval(0, 10)); got != 10 {
		t.Fatalf("Eval(0, 10) gave %d items", got)
	}
	// The world is fixed by `world`, not by the run seed.
	same := collectFacts(t, mustTask(t, "facts(entities=30,attrs=3,values=100,world=5)"), 9, 5000)
	other := collectFacts(t, mustTask(t, "facts(entities=30,attrs=3,values=100,world=6)"), 1, 5000)
	agree := 0
	for k, v := range facts {
		if same[k] != v {
			t.Fatalf("same world, fact %s: %s vs %s", k, v, same[k])
		}
		if other[k] == v {
			agree++
		}
	}
	if agree > 10 {
		t.Errorf("worlds 5 and 6 share %d of 90 facts", agree)
	}
}

// TestFactsValueWidth: values are written with a fixed width, so no value
// is a prefix of another and choices are scored on equal footing.
func TestFactsValueWidth(t *testing.T) {
	for _, c := range []struct {
		spec  string
		width int
	}{{"facts(values=10)", 1}, {"facts(values=11)", 2}, {"facts(values=100)", 2}, {"facts(values=101)", 3}} {
		it := mustTask(t, c.spec).Eval(0, 1)[0]
		for _, ch := range it.Choices {
			if len(ch) != c.width {
				t.Fatalf("%s: choice %q, want width %d", c.spec, ch, c.width)
			}
		}
	}
}
