package hf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"emlab/internal/data"
	"emlab/internal/nn"
)

// Tokenizer file names of a model directory: tokenizer.json, or GPT-2's
// original pair.
const (
	TokenizerFile = "tokenizer.json"
	VocabFile     = "vocab.json"
	MergesFile    = "merges.txt"
)

// Model is a model directory loaded whole: the network and its tokenizer.
type Model struct {
	Dir string
	Net *nn.Pretrained
	Tok *data.ByteLevelBPE
}

// Load reads a model directory: config.json, the tokenizer (checked
// against the model's vocabulary before any weight is read) and the
// weights.
func Load(dir string) (*Model, error) {
	s, err := ReadSpec(dir)
	if err != nil {
		return nil, err
	}
	tok, err := LoadTokenizer(dir, s)
	if err != nil {
		return nil, err
	}
	net, err := LoadModel(dir)
	if err != nil {
		return nil, err
	}
	return &Model{Dir: dir, Net: net, Tok: tok}, nil
}

// LoadTokenizer reads dir's tokenizer.json (or vocab.json and merges.txt)
// and checks it fits the model s describes: every id, added tokens
// included, must be below config.json's vocab_size (a model may have more
// rows than its tokenizer has ids, as Pythia's 50304 for 50277 tokens; the
// reverse would index past the embedding). The separator is config.json's
// eos_token_id when set, else <|endoftext|>.
func LoadTokenizer(dir string, s nn.Spec) (*data.ByteLevelBPE, error) {
	path := filepath.Join(dir, TokenizerFile)
	var tok *data.ByteLevelBPE
	var err error
	if _, statErr := os.Stat(path); statErr == nil {
		tok, err = data.LoadTokenizerJSON(path)
	} else {
		vocab, merges := filepath.Join(dir, VocabFile), filepath.Join(dir, MergesFile)
		if _, e := os.Stat(vocab); e != nil {
			if errors.Is(e, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: no %s, nor %s and %s", dir, TokenizerFile, VocabFile, MergesFile)
			}
			return nil, e
		}
		path = vocab
		tok, err = data.LoadVocabMerges(vocab, merges)
	}
	if err != nil {
		return nil, err
	}
	if n := tok.Vocab(); n > s.DVocab {
		text, _ := tok.Token(int32(n - 1))
		return nil, fmt.Errorf("%s: token id %d (%q) is not below vocab_size %d of %s: the tokenizer does not belong to this model",
			path, n-1, text, s.DVocab, filepath.Join(dir, ConfigFile))
	}
	c, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	if c.has("eos_token_id") {
		id, err := c.integer("eos_token_id", 0, true)
		if err != nil {
			return nil, err
		}
		if err := tok.SetSep(int32(id)); err != nil {
			return nil, c.errf("eos_token_id", "%v (%s)", err, path)
		}
	}
	if tok.Sep() < 0 {
		return nil, fmt.Errorf("%s: no separator: %s has no eos_token_id and the tokenizer no <|endoftext|>", dir, ConfigFile)
	}
	return tok, nil
}
