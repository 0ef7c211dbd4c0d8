package eval

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"emlab/internal/rundir"
	"emlab/internal/tasks"
)

// scoredItems scores a task's first items by hand: item i gets answer
// token probabilities 0.5^(i+1) each, every token right for even i, and a
// greedy generation equal to the target for even i.
func scoredItems(t *testing.T, spec string, n int) (tasks.Task, []tasks.Item, []ItemScore) {
	t.Helper()
	task, err := tasks.Lookup(spec)
	if err != nil {
		t.Fatal(err)
	}
	items := task.Eval(0, n)
	scores := make([]ItemScore, len(items))
	for i, it := range items {
		s := &scores[i]
		for range len(it.Answer) {
			s.LogProbs = append(s.LogProbs, float64(i+1)*math.Log(0.5))
			s.Correct = append(s.Correct, i%2 == 0)
		}
		if len(it.Choices) > 0 {
			s.ChoiceLP = make([]float64, len(it.Choices))
			for c := range s.ChoiceLP {
				s.ChoiceLP[c] = -3
			}
			s.ChoiceLP[it.Correct] = -1
		}
		s.HasGen = true
		if i%2 == 0 {
			s.Generated, s.Exact = it.Answer, true
		} else {
			s.Generated, s.Edit = "x", 2
		}
	}
	return task, items, scores
}

// TestAnswerProb: answer_prob is the mean over items of the product of the
// answer's token probabilities (exp of logprob_total), written beside
// logprob for a variant with a right answer and not for one without
// (markov: only smooth metrics).
func TestAnswerProb(t *testing.T) {
	task, items, scores := scoredItems(t, "add(digits=1,min_digits=1,eval_digits=1)", 50)
	var want float64
	for i := range items {
		want += math.Exp(sum(scores[i].LogProbs)) / float64(len(items))
	}
	var got *rundir.Eval
	lines := Aggregate(task, items, scores, 3)
	for i := range lines {
		if lines[i].Metric == rundir.AnswerProb {
			got = &lines[i]
		}
	}
	// Tolerance: float64 rounding of a mean of ≤ 50 products.
	if got == nil || got.N != len(items) || math.Abs(got.Value-want) > 1e-12 {
		t.Fatalf("answer_prob line %+v, want the mean %v over %d items", got, want, len(items))
	}
	if k, ok := rundir.KindOf(rundir.AnswerProb); !ok || k.Sharp || !k.HigherIsBetter || !k.Fraction || k.Chance {
		t.Errorf("answer_prob has kind %+v (known %v), want smooth, higher is better, a fraction, no chance rate", k, ok)
	}
	mk, mitems, mscores := scoredItems(t, "markov", 4)
	for _, l := range Aggregate(mk, mitems, mscores, 3) {
		if l.Metric == rundir.AnswerProb {
			t.Errorf("markov (no single right answer) got an answer_prob line: %+v", l)
		}
	}
}

// TestSamplesRoundTrip: every item's sample (key, prompt, target,
// generation, each metric's value, the answer's log-probability) goes
// through samples.jsonl and comes back equal; the per-item values average
// to the evals.jsonl lines.
func TestSamplesRoundTrip(t *testing.T) {
	for _, spec := range []string{"add(digits=2,format=reversed)", "icl(k=4)", "parity(tasks=4)", "stories"} {
		t.Run(spec, func(t *testing.T) {
			task, items, scores := scoredItems(t, spec, 20)
			ss, err := Samples(task, items, scores, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(ss) != len(items) {
				t.Fatalf("%d samples for %d items", len(ss), len(items))
			}
			dir := t.TempDir()
			if err := rundir.MergeSamples(dir, ss); err != nil {
				t.Fatal(err)
			}
			back, err := rundir.ReadSamples(dir)
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[[2]string]rundir.Sample{}
			for _, s := range back {
				byKey[[2]string{s.Task, s.Item}] = s
			}
			for i, s := range ss {
				if b, ok := byKey[[2]string{s.Task, s.Item}]; !ok || !reflect.DeepEqual(b, s) {
					t.Fatalf("sample %d: wrote %+v, read %+v", i, s, b)
				}
				if it := items[i]; s.Prompt != it.Prompt || s.Item != ItemID(&it) || math.Abs(s.AnswerLogProb-answerLP(it, scores[i])) > 1e-12 {
					t.Errorf("sample %d: %+v does not describe item %+v", i, s, it)
				}
				if it := items[i]; it.Subtask >= 0 && (s.Subtask == nil || *s.Subtask != it.Subtask) {
					t.Errorf("sample %d: subtask %v, want %d", i, s.Subtask, it.Subtask)
				}
			}
			// The mean of the per-item values is the aggregate.
			for _, l := range Aggregate(task, items, scores, 5) {
				if l.Breakdown() {
					continue
				}
				var sum float64
				n := 0
				for _, s := range ss {
					if v, ok := s.Scores[l.Metric]; ok && s.Task == l.Task {
						sum += v
						n++
					}
				}
				if n != l.N || math.Abs(sum/float64(n)-l.Value) > 1e-12 {
					t.Errorf("%s %s: samples give %v over %d items, the aggregate %v over %d", l.Task, l.Metric, sum/float64(max(n, 1)), n, l.Value, l.N)
				}
			}
		})
	}
}

func answerLP(it tasks.Item, s ItemScore) float64 {
	if len(s.LogProbs) > 0 {
		return sum(s.LogProbs)
	}
	return s.ChoiceLP[it.Correct]
}

// TestSamplesNeedUniqueIDs: two items with one id in a variant would
// merge into one line of samples.jsonl; that is an error naming the id.
// Items sharing a split key (a+b and b+a) are distinct samples.
func TestSamplesNeedUniqueIDs(t *testing.T) {
	task, items, scores := scoredItems(t, "add(digits=2,format=reversed)", 20)
	keys := map[[2]string]bool{}
	shared := false
	for _, it := range items {
		k := [2]string{it.Variant, it.Key}
		shared = shared || keys[k]
		keys[k] = true
	}
	if _, err := Samples(task, items, scores, 0); err != nil || !shared {
		t.Fatalf("items sharing a split key (%v): %v", shared, err)
	}
	items[1].Prompt, items[1].Answer, items[1].Variant = items[0].Prompt, items[0].Answer, items[0].Variant
	if _, err := Samples(task, items, scores, 0); err == nil || !strings.Contains(err.Error(), ItemID(&items[0])) {
		t.Errorf("duplicate item: got %v, want an error naming %q", err, ItemID(&items[0]))
	}
}

// TestSamplesEveryTask: every registered task's items (default parameters)
// have distinct ids within their variants, so samples.jsonl keeps one line
// per item.
func TestSamplesEveryTask(t *testing.T) {
	for _, name := range tasks.Names() {
		t.Run(name, func(t *testing.T) {
			task, items, scores := scoredItems(t, name, 60)
			if _, err := Samples(task, items, scores, 0); err != nil {
				t.Error(err)
			}
		})
	}
}
