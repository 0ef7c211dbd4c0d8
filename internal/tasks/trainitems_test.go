package tasks

import (
	"strconv"
	"strings"
	"testing"
)

// TestTrainItems: every task with a training sampler returns items from
// the training side of its split (Heldout false on their text), in
// variants named "<variant>/train", with correct answers; and the same seed
// gives the same items.
func TestTrainItems(t *testing.T) {
	for _, spec := range []string{"add", "add(digits=3,min_digits=2,format=reversed)", "mul", "modadd"} {
		t.Run(spec, func(t *testing.T) {
			task, err := Lookup(spec)
			if err != nil {
				t.Fatal(err)
			}
			ts, ok := task.(TrainSampler)
			if !ok {
				t.Fatalf("%s has no training sampler", spec)
			}
			items := ts.TrainItems(0, 50)
			if len(items) == 0 {
				t.Fatal("no items")
			}
			for _, it := range items {
				if !strings.HasSuffix(it.Variant, "/train") {
					t.Errorf("variant %q", it.Variant)
				}
				if task.Heldout(it.Prompt + it.Answer) {
					t.Errorf("training item %q+%q is held out", it.Prompt, it.Answer)
				}
			}
			again := ts.TrainItems(0, 50)
			if len(again) != len(items) || again[0].Prompt != items[0].Prompt {
				t.Error("same seed, different items")
			}
		})
	}
	// Answers verify for add (operands read back from the prompt).
	task, _ := Lookup("add")
	for _, it := range task.(TrainSampler).TrainItems(1, 30) {
		body := strings.TrimSuffix(strings.TrimPrefix(it.Prompt, "P:"), "=")
		ab := strings.Split(body, "+")
		a, _ := strconv.Atoi(ab[0])
		b, _ := strconv.Atoi(ab[1])
		if it.Target != strconv.Itoa(a+b) {
			t.Errorf("%s → %s", it.Prompt, it.Target)
		}
	}
}
