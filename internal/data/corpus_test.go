package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCorpus(t *testing.T) {
	cases := []struct {
		name, body, field string
		docs              []string
		err               string
	}{
		{"a.txt", "One line\nand more.\n\n\n  Second para.  \r\n", "", []string{"One line and more.", "Second para."}, ""},
		{"a.txt", "", "", nil, "empty"},
		{"a.txt", " \n\n\t\n", "", nil, "empty"},
		{"a.txt", "good\nbad \xff here\n", "", nil, "invalid byte 0xff at line 2, byte offset 9"},
		{"a.jsonl", `{"text":"one"}` + "\n\n" + `{"text":"two","id":3}` + "\n", "", []string{"one", "two"}, ""},
		{"a.jsonl", `{"body":"one"}`, "body", []string{"one"}, ""},
		{"a.jsonl", `{"text":"one"}` + "\n" + `[1]`, "", nil, "line 2: not a JSON object"},
		{"a.jsonl", `{"text":1}`, "", nil, `line 1: field "text" is not a string`},
		{"a.jsonl", `{"txt":"a"}`, "", nil, `line 1: no "text" field`},
		{"a.jsonl", `{"text":"  "}`, "", nil, `line 1: field "text" is empty`},
		{"a.jsonl", "\n\n", "", nil, "empty"},
		{"a.jsonl", "{\"text\":\"\xc3\x28\"}", "", nil, "not UTF-8"},
	}
	for _, c := range cases {
		p := writeFile(t, c.name, []byte(c.body))
		corp, err := LoadCorpus(p, c.field)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p) {
				t.Errorf("%q: error %v, want one naming %s and containing %q", c.body, err, p, c.err)
			}
			continue
		}
		if err != nil || strings.Join(corp.Docs, "|") != strings.Join(c.docs, "|") {
			t.Errorf("%q: docs %q, %v; want %q", c.body, corp.Docs, err, c.docs)
		}
	}
	if _, err := LoadCorpus(filepath.Join(t.TempDir(), "missing.txt"), ""); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseJSONL: never panics; every accepted document is non-empty UTF-8.
func FuzzParseJSONL(f *testing.F) {
	for _, s := range []string{`{"text":"a"}`, "{\"text\":\"a\"}\n{\"text\":\"b\"}", `{"text":"\ud800"}`, "\xff", "{"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, err := ParseJSONL(b, "text")
		if err != nil {
			return
		}
		if len(docs) == 0 {
			t.Fatal("no error and no documents")
		}
		for _, d := range docs {
			if strings.TrimSpace(d) == "" || !strings.ContainsRune(d, 0xFFFD) && !isUTF8(d) {
				t.Fatalf("bad document %q", d)
			}
		}
	})
}

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestTextChunks(t *testing.T) {
	docs := []string{"short one", strings.Repeat("word ", 40), "x"}
	train, held := SplitCorpus(docs, 0.5, "test")
	if len(train)+len(held) != 3 {
		t.Fatalf("split lost documents: %d + %d", len(train), len(held))
	}
	train2, _ := SplitCorpus(docs, 0.5, "test")
	if strings.Join(train, "|") != strings.Join(train2, "|") {
		t.Fatal("split not deterministic")
	}
	g, err := NewTextChunks(docs, 12)
	if err != nil {
		t.Fatal(err)
	}
	r := RNG(1, "chunks")
	long := 0
	for range 2000 {
		s := g.Generate(r)
		if n := len([]rune(s)); n == 0 || n > 12 {
			t.Fatalf("span %q of %d characters", s, n)
		}
		found := false
		for _, d := range docs {
			found = found || strings.Contains(d, s)
		}
		if !found {
			t.Fatalf("span %q is not in the corpus", s)
		}
		if strings.HasPrefix(s, "word") || strings.HasPrefix(s, "ord") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "rd") || strings.HasPrefix(s, "d ") {
			long++
		}
	}
	// The long document holds 200 of the 210 characters: ≈ 95% of draws.
	if long < 1800 {
		t.Errorf("%d of 2000 spans from the long document, want ≈ 1900", long)
	}
	if _, err := NewTextChunks([]string{""}, 5); err == nil {
		t.Error("empty corpus accepted")
	}
}
