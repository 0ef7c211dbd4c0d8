package hf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadPairsTokenizer loads each fixture directory whole: the
// separator comes from eos_token_id, the tokenizer encodes text the model
// then runs on, and GPT-2's vocab.json + merges.txt stand in for a missing
// tokenizer.json with the same ids.
func TestLoadPairsTokenizer(t *testing.T) {
	for _, tc := range []struct {
		dir string
		sep int32
	}{{"gpt2_f32", 268}, {"neox_f32", 0}} {
		t.Run(tc.dir, func(t *testing.T) {
			src := filepath.Join("testdata", tc.dir)
			m, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if m.Tok.Sep() != tc.sep {
				t.Errorf("Sep() = %d, want eos_token_id %d", m.Tok.Sep(), tc.sep)
			}
			text := "the weather is at the water"
			ids, err := m.Tok.Encode(text)
			if err != nil {
				t.Fatal(err)
			}
			if m.Tok.Decode(ids) != text || len(ids) >= len(text) {
				t.Errorf("Encode(%q) = %v (decodes to %q): no merges applied?", text, ids, m.Tok.Decode(ids))
			}
			m.Net.Forward(ids, nil, 1, min(len(ids), m.Net.Spec().NCtx))

			// The same vocabulary as vocab.json + merges.txt.
			dir := copyDir(t, src)
			var tj struct {
				Model struct {
					Vocab  map[string]int32 `json:"vocab"`
					Merges []string         `json:"merges"`
				} `json:"model"`
				Added []struct {
					ID      int32  `json:"id"`
					Content string `json:"content"`
				} `json:"added_tokens"`
			}
			b, _ := os.ReadFile(filepath.Join(dir, TokenizerFile))
			if err := json.Unmarshal(b, &tj); err != nil {
				t.Fatal(err)
			}
			for _, a := range tj.Added {
				tj.Model.Vocab[a.Content] = a.ID
			}
			vb, _ := json.Marshal(tj.Model.Vocab)
			os.WriteFile(filepath.Join(dir, VocabFile), vb, 0o644)
			os.WriteFile(filepath.Join(dir, MergesFile), []byte("#version: 0.2\n"+strings.Join(tj.Model.Merges, "\n")+"\n"), 0o644)
			os.Remove(filepath.Join(dir, TokenizerFile))
			m2, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			ids2, _ := m2.Tok.Encode(text)
			if !slices.Equal(ids, ids2) {
				t.Errorf("vocab.json + merges.txt: %v, tokenizer.json: %v", ids2, ids)
			}
		})
	}
}

// TestTokenizerMismatch: a tokenizer with an id at or past vocab_size, an
// eos_token_id that is no token, and a directory without any tokenizer are
// errors naming the files and keys.
func TestTokenizerMismatch(t *testing.T) {
	src := filepath.Join("testdata", "gpt2_f32")
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, dir string)
		want []string
	}{
		{"id past vocab_size", func(t *testing.T, dir string) {
			p := filepath.Join(dir, TokenizerFile)
			b, _ := os.ReadFile(p)
			var m map[string]any
			json.Unmarshal(b, &m)
			m["added_tokens"] = append(m["added_tokens"].([]any), map[string]any{"id": 280, "content": "<|extra|>",
				"single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
			b, _ = json.Marshal(m)
			os.WriteFile(p, b, 0o644)
		}, []string{TokenizerFile, "token id 280", "<|extra|>", "vocab_size 280", ConfigFile}},
		{"smaller model", func(t *testing.T, dir string) {
			editConfig(t, dir, func(m map[string]any) { m["vocab_size"] = 200 })
		}, []string{TokenizerFile, "vocab_size 200"}},
		{"eos not a token", func(t *testing.T, dir string) {
			editConfig(t, dir, func(m map[string]any) { m["eos_token_id"] = 275 })
		}, []string{ConfigFile, `key "eos_token_id"`, "275"}},
		{"no tokenizer", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, TokenizerFile))
		}, []string{TokenizerFile, VocabFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			tc.edit(t, dir)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("loaded a model with a mismatched tokenizer")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
