package data

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// bpeFixture is internal/data/testdata/bytebpe/expected.json, written by
// tools/reference/tokenizers.sh with Hugging Face's tokenizers library.
type bpeFixture struct {
	Merges   int
	Corpus   []string
	Variants map[string]struct {
		IDs     [][]int32
		Decoded []string
		Single  map[string][]string
	}
}

func readBPEFixture(t *testing.T) bpeFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bytebpe", "expected.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with sh tools/reference/tokenizers.sh)", err)
	}
	var f bpeFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// gunzipFixture decompresses testdata/bytebpe/name.gz into a temporary
// directory and returns the path of the result.
func gunzipFixture(t *testing.T, name string) string {
	t.Helper()
	in, err := os.Open(filepath.Join("testdata", "bytebpe", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestByteLevelBPEMatchesReference encodes the fixture's corpus of tricky
// strings (runs of spaces, tabs and newlines, contractions, digits, NFC
// composition, scripts, emoji with joiners and modifiers, zero-width and
// exotic white space, control characters, special and added tokens in and
// between words) with each tokenizer variant and requires Hugging Face's
// ids token for token, and its decoding of the whole and of each token
// alone (partial UTF-8 included).
func TestByteLevelBPEMatchesReference(t *testing.T) {
	f := readBPEFixture(t)
	load := map[string]func(t *testing.T) (*ByteLevelBPE, error){
		"gpt2": func(t *testing.T) (*ByteLevelBPE, error) {
			return LoadTokenizerJSON(gunzipFixture(t, "gpt2.tokenizer.json"))
		},
		"neox": func(t *testing.T) (*ByteLevelBPE, error) {
			return LoadTokenizerJSON(gunzipFixture(t, "neox.tokenizer.json"))
		},
		"extra": func(t *testing.T) (*ByteLevelBPE, error) {
			return LoadTokenizerJSON(gunzipFixture(t, "extra.tokenizer.json"))
		},
		// GPT-2's vocab.json + merges.txt build the gpt2 variant's tokenizer.
		"vocab+merges": func(t *testing.T) (*ByteLevelBPE, error) {
			return LoadVocabMerges(gunzipFixture(t, "vocab.json"), gunzipFixture(t, "merges.txt"))
		},
	}
	for _, name := range []string{"gpt2", "neox", "extra", "vocab+merges"} {
		t.Run(name, func(t *testing.T) {
			ref := name
			if name == "vocab+merges" {
				ref = "gpt2"
			}
			want, ok := f.Variants[ref]
			if !ok || len(want.IDs) != len(f.Corpus) {
				t.Fatalf("fixture has no %s variant for the corpus", ref)
			}
			tok, err := load[name](t)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Vocab(); got < 256+f.Merges+1 {
				t.Errorf("Vocab() = %d, want at least %d", got, 256+f.Merges+1)
			}
			tokens := 0
			for i, s := range f.Corpus {
				ids, err := tok.Encode(s)
				if err != nil {
					t.Fatalf("Encode(%q): %v", s, err)
				}
				tokens += len(ids)
				if !slices.Equal(ids, want.IDs[i]) && !(len(ids) == 0 && len(want.IDs[i]) == 0) {
					t.Errorf("Encode(%q) = %v, reference %v", s, ids, want.IDs[i])
				}
				if got := tok.Decode(want.IDs[i]); got != want.Decoded[i] {
					t.Errorf("Decode(ids of %q) = %q, reference %q", s, got, want.Decoded[i])
				}
				for j, id := range want.IDs[i] {
					if single, ok := want.Single[strconvI(i)]; ok {
						if got := tok.Decode([]int32{id}); got != single[j] {
							t.Errorf("Decode([%d]) (token %d of %q) = %q, reference %q", id, j, s, got, single[j])
						}
					}
				}
			}
			t.Logf("%d strings, %d tokens, all equal to the reference", len(f.Corpus), tokens)
		})
	}
}

func strconvI(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestSplitGPT2 pins the pre-tokenizer pattern on cases small enough to
// read (the corpus above checks it against the reference at scale).
func TestSplitGPT2(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a   \n b", []string{"a", "   \n", " b"}},
		{"end   ", []string{"end", "   "}},
		{"I'm don't", []string{"I", "'m", " don", "'t"}},
		{"'''s", []string{"'''", "s"}},
		{"x1.5y", []string{"x", "1", ".", "5", "y"}},
		{" !?", []string{" !?"}},
		{"\tx", []string{"\t", "x"}},
		{"\t\tx", []string{"\t", "\t", "x"}},
	} {
		if got := splitGPT2(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitGPT2(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLossyUTF8 checks the maximal-subpart replacement rule on the
// examples of the Unicode standard (Table 3-8) and a truncated sequence.
func TestLossyUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"a\xe2\x82b", "a\ufffdb"},                                   // truncated 3-byte sequence: one U+FFFD
		{"\xff\xfe", "\ufffd\ufffd"},                                 // two invalid bytes: two
		{"\xf0\x9f\x98", "\ufffd"},                                   // truncated emoji
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},                       // surrogate: each byte
		{"\x61\xF1\x80\x80\xE1\x80\xC2\x62", "a\ufffd\ufffd\ufffdb"}, // Table 3-8
		{"ok é", "ok é"},
	} {
		if got := lossyUTF8([]byte(tc.in)); got != tc.want {
			t.Errorf("lossyUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestByteLevelBPEBadFiles: each malformed or unsupported tokenizer file is
// an error naming the file and the key.
func TestByteLevelBPEBadFiles(t *testing.T) {
	base := gunzipFixture(t, "gpt2.tokenizer.json")
	raw, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"normalizer", func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Lowercase"} }, `normalizer: type "Lowercase"`},
		{"pre-tokenizer", func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }, `pre_tokenizer: type "Metaspace"`},
		{"model", func(m map[string]any) { m["model"].(map[string]any)["type"] = "WordPiece" }, `model.type: "WordPiece"`},
		{"dropout", func(m map[string]any) { m["model"].(map[string]any)["dropout"] = 0.1 }, "model.dropout"},
		{"missing byte", func(m map[string]any) { delete(m["model"].(map[string]any)["vocab"].(map[string]any), "Ġ") }, "lacks byte 0x20"},
		{"bad merge", func(m map[string]any) {
			mm := m["model"].(map[string]any)
			mm["merges"] = append(mm["merges"].([]any), "zzq qqz")
		}, `merge 3000 ("zzq" "qqz")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(m)
			b, _ := json.Marshal(m)
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			os.WriteFile(path, b, 0o644)
			_, err := LoadTokenizerJSON(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s and %q", err, path, tc.want)
			}
		})
	}
	if _, err := LoadVocabMerges(gunzipFixture(t, "vocab.json"), writeTemp(t, "#version: 0.2\nĠ t\nbad line here\n")); err == nil || !strings.Contains(err.Error(), ":3:") {
		t.Errorf("merges.txt with a bad line: %v", err)
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte(s), 0o644)
	return p
}

// FuzzByteLevelBPE: on any valid UTF-8 text, the GPT-2 tokenizer (no
// normalizer) encodes without error to ids that decode to the text, and
// the pre-tokenizer's pieces concatenate to it.
func FuzzByteLevelBPE(f *testing.F) {
	for _, s := range []string{"Hello world", "a  b\n\n c", "😀 l'été", "<|endoftext|>x", "\t\u3000 1.5"} {
		f.Add(s)
	}
	path := filepath.Join(os.TempDir(), "emlab-fuzz-gpt2.tokenizer.json")
	tok := func() *ByteLevelBPE {
		in, err := os.Open(filepath.Join("testdata", "bytebpe", "gpt2.tokenizer.json.gz"))
		if err != nil {
			f.Fatal(err)
		}
		defer in.Close()
		zr, _ := gzip.NewReader(in)
		b, _ := io.ReadAll(zr)
		os.WriteFile(path, b, 0o644)
		t, err := LoadTokenizerJSON(path)
		if err != nil {
			f.Fatal(err)
		}
		return t
	}()
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			if _, err := tok.Encode(s); err == nil {
				t.Errorf("invalid UTF-8 %q encoded", s)
			}
			return
		}
		if strings.Join(splitGPT2(s), "") != s {
			t.Fatalf("pieces of %q do not concatenate to it", s)
		}
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	})
}
