package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeCorpus(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < 60; i++ {
		b.WriteString("It is a truth universally acknowledged, that a single man in possession\nof a good fortune, must be in want of a wife. Paragraph ")
		b.WriteString(strings.Repeat("x", i%7) + fmt.Sprint(i))
		b.WriteString(".\n\n")
	}
	p := filepath.Join(t.TempDir(), "austen.txt")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTextSources(t *testing.T) {
	p := writeCorpus(t)
	for _, tk := range []string{"char", "bpe"} {
		t.Run(tk, func(t *testing.T) {
			tr, ev, tok, err := TextSources(TextConfig{Path: p, Tokenizer: tk, BPEVocab: 300, Heldout: 0.2, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if tr.Vocab() != tok.Vocab() || ev.Vocab() != tok.Vocab() {
				t.Fatalf("vocab %d/%d vs tokenizer %d", tr.Vocab(), ev.Vocab(), tok.Vocab())
			}
			const B, T = 3, 16
			a, at := make([]int32, B*T), make([]int32, B*T)
			b, bt := make([]int32, B*T), make([]int32, B*T)
			tr.Batch(7, B, T, a, at)
			tr.Batch(8, B, T, b, bt)
			tr.Batch(7, B, T, b, bt)
			if !slices.Equal(a, b) || !slices.Equal(at, bt) {
				t.Error("batch 7 is not reproducible")
			}
			for i := 0; i < B*T; i++ {
				if (i+1)%T != 0 && at[i] != a[i+1] {
					t.Fatalf("target %d is not the next token", i)
				}
			}
			// Windows decode back to corpus text.
			if text := tok.Decode(a[:T]); !strings.ContainsAny(text, "aeiou") {
				t.Errorf("window decodes to %q", text)
			}
		})
	}
}

func TestTextSourcesErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("ok\n\n\xff\xfe"), 0o644)
	one := filepath.Join(dir, "one.txt")
	os.WriteFile(one, []byte("just one paragraph"), 0o644)
	cases := []struct {
		c    TextConfig
		want string
	}{
		{TextConfig{Path: empty, Tokenizer: "char", Heldout: 0.1}, "empty.txt"},
		{TextConfig{Path: bad, Tokenizer: "char", Heldout: 0.1}, "UTF-8"},
		{TextConfig{Path: one, Tokenizer: "char", Heldout: 0.1}, "need both"},
		{TextConfig{Path: filepath.Join(dir, "missing.txt"), Tokenizer: "char", Heldout: 0.1}, "missing.txt"},
		{TextConfig{Path: writeCorpus(t), Tokenizer: "words", Heldout: 0.1}, "unknown tokenizer"},
		{TextConfig{Path: writeCorpus(t), Tokenizer: "char", Heldout: 0}, "held-out fraction"},
	}
	for _, c := range cases {
		_, _, _, err := TextSources(c.c)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.c, err, c.want)
		}
	}
}
