package tasks

import (
	"fmt"
	"testing"
)

// TestSmallHeldoutSpacesEvaluatedWhole: a variant whose held-out space is
// smaller than the items asked for is evaluated on all of it, not on a
// sample: asking for ten times as many items returns exactly the same set.
// 1-digit addition is checked against its enumeration (every held-out
// pair of digits, both orders). The tasks are the demo ladder's, with the
// 150 items per variant it asks for.
func TestSmallHeldoutSpacesEvaluatedWhole(t *testing.T) {
	const n = 150
	small := map[string]int{}
	for _, spec := range []string{"add(digits=2,format=plain)", "add(digits=2,format=reversed)", "icl", "mul"} {
		task := mustTask(t, spec)
		few, many := byVariant(task.Eval(0, n)), byVariant(task.Eval(0, 10*n))
		for v, items := range few {
			if len(items) >= n {
				continue
			}
			small[v] = len(items)
			if len(many[v]) != len(items) {
				t.Errorf("%s: %d items at n=%d but %d at n=%d: the held-out space was sampled, not exhausted", v, len(items), n, len(many[v]), 10*n)
			}
			for id := range many[v] {
				if !items[id] {
					t.Errorf("%s: item %q missing at n=%d", v, id, n)
				}
			}
		}
	}
	t.Logf("variants evaluated whole: %v", small)
	for _, v := range []string{"add/plain/1", "add/reversed/1", "icl/k=0", "icl/k=1"} {
		if _, ok := small[v]; !ok {
			t.Errorf("%s: expected a held-out space below %d items", v, n)
		}
	}
	// 1-digit addition: the enumeration of its held-out pairs.
	a := mustTask(t, "add(digits=2,format=plain)").(*add)
	want := map[string]bool{}
	for x := 0; x <= 9; x++ {
		for y := 0; y <= 9; y++ {
			if a.heldoutPair(1, x, y) {
				want[fmt.Sprintf("P:%d+%d=", x, y)] = true
			}
		}
	}
	got := map[string]bool{}
	for _, it := range a.Eval(0, n) {
		if it.Variant == "add/plain/1" {
			got[it.Prompt] = true
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("add/plain/1 evaluates %v, its held-out space is %v", got, want)
	}
}

func byVariant(items []Item) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, it := range items {
		if out[it.Variant] == nil {
			out[it.Variant] = map[string]bool{}
		}
		out[it.Variant][it.Prompt+"\x00"+it.Answer] = true
	}
	return out
}
