package tasks

import (
	"strings"
	"testing"

	"emlab/internal/data"
)

func TestStream(t *testing.T) {
	s, err := NewStream("add:2,add(format=reversed):1,icl(k=8):1,mul:0.5", data.MixtureConfig{Seed: 3, NCtx: 64})
	if err != nil {
		t.Fatal(err)
	}
	// The tokenizer is fixed by the mixture: building it again gives the
	// same ids, and it survives saving.
	s2, _ := NewStream("add:2,add(format=reversed):1,icl(k=8):1,mul:0.5", data.MixtureConfig{Seed: 4, NCtx: 64})
	if s.Tok.Alphabet() != s2.Tok.Alphabet() {
		t.Fatal("same mixture, different tokenizers")
	}
	const B, T = 8, 64
	tokens, targets := make([]int32, B*T), make([]int32, B*T)
	s.Batch(0, B, T, tokens, targets)
	for b := range B {
		row := s.Tok.Decode(tokens[b*T : (b+1)*T])
		// Every document in the window is a whole training document of
		// one of the tasks, and none is held out.
		for _, doc := range strings.Split(row, "\n") {
			if doc == "" {
				continue
			}
			ok := false
			for _, task := range s.Tasks {
				_, in := inAlphabet(doc, task.Alphabet())
				if in && !task.Heldout(doc) && strings.Contains("P:R:L:M:", doc[:2]) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("window %d holds %q, not a training document", b, doc)
			}
			if strings.HasPrefix(doc, "P:") {
				checkArith(t, doc)
			}
		}
	}
	st := s.Stats(500)
	t.Logf("docs per window %.2f, scored %.3f, docs %v", st.DocsPerWind, st.ScoredFrac, st.Docs)
	if _, err := NewStream("stories", data.MixtureConfig{NCtx: 64}); err == nil || !strings.Contains(err.Error(), "longer than the window") {
		t.Errorf("stories in a 64-token window: %v", err)
	}
	if _, err := NewStream("add:1,adds:1", data.MixtureConfig{NCtx: 64}); err == nil || !strings.Contains(err.Error(), "did you mean add") {
		t.Errorf("unknown task: %v", err)
	}
}

func TestEncodeItemMatchesTraining(t *testing.T) {
	s, err := NewStream("add,icl,multihop,parity", data.MixtureConfig{NCtx: 64})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range s.Tasks {
		for _, it := range task.Eval(0, 5) {
			p, a, _, err := EncodeItem(s.Tok, &it)
			if err != nil {
				t.Fatal(err)
			}
			whole, _ := s.Tok.Encode(it.Prompt + it.Answer)
			if len(p)+len(a) != len(whole) || s.Tok.Decode(append(p, a...)) != it.Prompt+it.Answer {
				t.Fatalf("%s: prompt and answer ids do not concatenate to the document's", it.Variant)
			}
		}
	}
}
