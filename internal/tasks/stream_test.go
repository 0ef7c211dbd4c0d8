package tasks

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// TestEncodeItemBPE: under a byte-level BPE (GPT-2's, cut to its first
// 3000 merges) every item's continuations decode to their own text after
// the same prompt ids, and the ids are the joint encoding's wherever no
// token spans the boundary. It logs, per task, the share of continuations
// that needed their own encoding (docs/models.md quotes them).
func TestEncodeItemBPE(t *testing.T) {
	tok := loadGPT2(t)
	seen := map[string]bool{}
	for _, spec := range configs {
		task := mustTask(t, spec)
		if seen[task.Name()] {
			continue
		}
		seen[task.Name()] = true
		own, total := 0, 0
		for _, it := range task.Eval(0, 20) {
			p, a, cs, err := EncodeItem(tok, &it)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := tok.Encode(it.Prompt); !slices.Equal(p, want) {
				t.Fatalf("%s: prompt ids are not the prompt's encoding", it.Variant)
			}
			conts := append([]string{it.Answer}, it.Choices...)
			for i, ids := range append([][]int32{a}, cs...) {
				if tok.Decode(ids) != conts[i] {
					t.Fatalf("%s: continuation %q decodes to %q", it.Variant, conts[i], tok.Decode(ids))
				}
				whole, _ := tok.Encode(it.Prompt + conts[i])
				if !slices.Equal(whole, append(slices.Clone(p), ids...)) {
					own++
				}
				total++
			}
		}
		t.Logf("%-10s %3d of %3d continuations cross a token boundary of the joint encoding", task.Name(), own, total)
	}
}

// loadGPT2 reads GPT-2's tokenizer.json (first 3000 merges) from the
// tokenizer fixtures of package data.
func loadGPT2(t *testing.T) data.Tokenizer {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "data", "testdata", "bytebpe", "gpt2.tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := data.LoadTokenizerJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
