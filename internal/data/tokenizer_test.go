package data

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCharTokenizer(t *testing.T) {
	tok, err := NewCharTokenizer("ba0+=ā")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Vocab() != 7 || tok.Sep() != 0 || tok.Alphabet() != "+0=abā" {
		t.Fatalf("vocab %d sep %d alphabet %q", tok.Vocab(), tok.Sep(), tok.Alphabet())
	}
	ids, err := tok.Encode("a+b=ā0")
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{4, 1, 5, 3, 6, 2}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("Encode = %v, want %v", ids, want)
		}
	}
	if got := tok.Decode(append(ids, 0)); got != "a+b=ā0\n" {
		t.Fatalf("Decode = %q", got)
	}
	if _, err := tok.Encode("a*b"); err == nil || !strings.Contains(err.Error(), `'*' at byte 1`) {
		t.Fatalf("Encode of an unknown character: %v", err)
	}
	for _, bad := range []string{"", "a\nb", "\xff"} {
		if _, err := NewCharTokenizer(bad); err == nil {
			t.Errorf("NewCharTokenizer(%q) accepted", bad)
		}
	}
	// Saved and loaded, the ids are the same.
	js, err := MarshalTokenizer(tok)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalTokenizer(js)
	if err != nil {
		t.Fatal(err)
	}
	ids2, _ := back.Encode("a+b=ā0")
	if back.Vocab() != tok.Vocab() || len(ids2) != len(ids) || ids2[4] != ids[4] {
		t.Fatalf("round trip through %s changed the tokenizer", js)
	}
	for _, bad := range []string{`{"kind":"char","alphabet":"ba"}`, `{"kind":"x"}`, `{`} {
		if _, err := UnmarshalTokenizer([]byte(bad)); err == nil {
			t.Errorf("UnmarshalTokenizer(%s) accepted", bad)
		}
	}
}

func TestChunks(t *testing.T) {
	cases := map[string][]string{
		"Hello, world!":      {"Hello", ",", " world", "!"},
		"It was 1813.  Then": {"It", " was", " 1813", ".", " ", " Then"},
		"a\n\nb":             {"a", "\n\n", "b"},
		" lead":              {" lead"},
		"trail ":             {"trail", " "},
		"don't":              {"don", "'", "t"},
	}
	for in, want := range cases {
		got := chunks(in)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("chunks(%q) = %q, want %q", in, got, want)
		}
	}
}

const bpeSample = `It is a truth universally acknowledged, that a single man in possession
of a good fortune, must be in want of a wife. However little known the feelings or views
of such a man may be on his first entering a neighbourhood, this truth is so well fixed
in the minds of the surrounding families, that he is considered the rightful property
of some one or other of their daughters.`

func TestBPE(t *testing.T) {
	tok, err := TrainBPE([]string{bpeSample, bpeSample}, 300)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Vocab() != 300 || tok.Sep() != 256 {
		t.Fatalf("vocab %d sep %d", tok.Vocab(), tok.Sep())
	}
	for _, s := range []string{bpeSample, "naïve café, 東京 \xff bytes", ""} {
		ids, _ := tok.Encode(s)
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got := tok.Decode(ids); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	}
	// Merges compress the training text: well below one token per byte.
	ids, _ := tok.Encode(bpeSample)
	ratio := float64(len(ids)) / float64(len(bpeSample))
	t.Logf("%d bytes → %d tokens (%.2f)", len(bpeSample), len(ids), ratio)
	if ratio > 0.6 {
		t.Errorf("43 merges on their own training text give %.2f tokens per byte, want < 0.6", ratio)
	}
	// Deterministic: training again gives the same merges.
	tok2, _ := TrainBPE([]string{bpeSample, bpeSample}, 300)
	j1, _ := MarshalTokenizer(tok)
	j2, _ := MarshalTokenizer(tok2)
	if !bytes.Equal(j1, j2) {
		t.Fatal("BPE training is not deterministic")
	}
	back, err := UnmarshalTokenizer(j1)
	if err != nil {
		t.Fatal(err)
	}
	ids2, _ := back.Encode(bpeSample)
	if len(ids2) != len(ids) {
		t.Fatal("loaded BPE encodes differently")
	}
	for i := range ids {
		if ids[i] != ids2[i] {
			t.Fatal("loaded BPE encodes differently")
		}
	}
	// The most frequent pair in the sample is merged first; count it directly.
	counts := map[[2]byte]int{}
	for _, c := range chunks(bpeSample) {
		for i := 0; i+1 < len(c); i++ {
			counts[[2]byte{c[i], c[i+1]}]++
		}
	}
	var best [2]byte
	for p, c := range counts {
		if c > counts[best] || (c == counts[best] && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1])) {
			best = p
		}
	}
	if m := tok.merges[0]; m[0] != int32(best[0]) || m[1] != int32(best[1]) {
		t.Errorf("first merge %q%q, most frequent pair %q", m[0], m[1], best)
	}
	if _, err := TrainBPE(nil, 300); err == nil {
		t.Error("TrainBPE on no text accepted")
	}
	if _, err := TrainBPE([]string{"x"}, 100); err == nil {
		t.Error("TrainBPE with vocab 100 accepted")
	}
	if _, err := UnmarshalTokenizer([]byte(`{"kind":"bpe","merges":[[300,1]]}`)); err == nil {
		t.Error("merge of an undefined id accepted")
	}
	if !utf8.ValidString(tok.Decode([]int32{0xe6})) {
		t.Error("Decode of a partial UTF-8 byte is not valid UTF-8")
	}
}
