package data

import (
	"fmt"
	"strings"
)

// TokenStream is the natural-language source: a corpus tokenized once into
// one long id sequence (documents joined by the separator), from which each
// row of a batch is a window at a random offset, as in nanoGPT. Row r of
// batch step is a pure function of (seed, label, step, r). Every position
// is scored: prose has no prompt/answer split.
type TokenStream struct {
	ids   []int32
	vocab int
	rows  *rowRNGs
}

// NewTokenStream wraps ids (every id < vocab); label names the split
// ("text/train", "text/eval").
func NewTokenStream(ids []int32, vocab int, seed uint64, label string) (*TokenStream, error) {
	if len(ids) < 2 {
		return nil, fmt.Errorf("text stream %s: %d tokens, need at least 2", label, len(ids))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return nil, fmt.Errorf("text stream %s: token %d at %d outside the vocabulary of %d", label, id, i, vocab)
		}
	}
	return &TokenStream{ids: ids, vocab: vocab, rows: newRowRNGs(seed, label)}, nil
}

// Vocab implements Source.
func (s *TokenStream) Vocab() int { return s.vocab }

// Len is the number of tokens in the stream.
func (s *TokenStream) Len() int { return len(s.ids) }

// Batch implements Source. A window needs T+1 tokens (inputs and the next
// token); a stream shorter than that is cycled.
func (s *TokenStream) Batch(step int64, B, T int, tokens, targets []int32) {
	n := len(s.ids)
	s.rows.mu.Lock()
	defer s.rows.mu.Unlock()
	for b := 0; b < B; b++ {
		off := 0
		if n > T+1 {
			off = s.rows.row(step, b).IntN(n - T)
		}
		for t := 0; t < T; t++ {
			tokens[b*T+t] = s.ids[(off+t)%n]
			targets[b*T+t] = s.ids[(off+t+1)%n]
		}
	}
}

// TextConfig describes a natural-language corpus run.
type TextConfig struct {
	Path      string  // corpus file or SWORD directory (see LoadCorpus)
	Field     string  // JSONL field holding the text ("" = "text")
	Tokenizer string  // "char" or "bpe"
	BPEVocab  int     // bpe: vocabulary size (≥ 257)
	Heldout   float64 // fraction of documents held out for the eval loss
	Seed      uint64
}

// textSplit loads the corpus and splits it into training and held-out
// documents.
func textSplit(c TextConfig) (corpus *Corpus, trainDocs, evalDocs []string, err error) {
	if corpus, err = LoadCorpus(c.Path, c.Field); err != nil {
		return nil, nil, nil, err
	}
	if !(c.Heldout > 0 && c.Heldout < 1) {
		return nil, nil, nil, fmt.Errorf("held-out fraction %g outside (0, 1)", c.Heldout)
	}
	trainDocs, evalDocs = SplitCorpus(corpus.Docs, c.Heldout, "text")
	if len(trainDocs) == 0 || len(evalDocs) == 0 {
		return nil, nil, nil, fmt.Errorf("corpus %s: %d documents give %d for training and %d held out; need both",
			c.Path, len(corpus.Docs), len(trainDocs), len(evalDocs))
	}
	return corpus, trainDocs, evalDocs, nil
}

// textStream encodes documents with tok, each followed by the separator.
func textStream(c TextConfig, docs []string, tok Tokenizer, label string) (*TokenStream, error) {
	var ids []int32
	for i, d := range docs {
		e, err := tok.Encode(d)
		if err != nil {
			return nil, fmt.Errorf("corpus %s document %d: %w", c.Path, i, err)
		}
		ids = append(append(ids, e...), tok.Sep())
	}
	return NewTokenStream(ids, tok.Vocab(), c.Seed, label)
}

// TextSources loads and splits the corpus, builds the tokenizer on the
// training side (BPE) or on all characters (char: a held-out character
// must be encodable), and returns the training and held-out streams.
func TextSources(c TextConfig) (train, heldout *TokenStream, tok Tokenizer, err error) {
	corpus, trainDocs, evalDocs, err := textSplit(c)
	if err != nil {
		return nil, nil, nil, err
	}
	switch c.Tokenizer {
	case "char":
		tok, err = NewCharTokenizer(strings.Join(corpus.Docs, ""))
	case "bpe":
		tok, err = TrainBPE(trainDocs, c.BPEVocab)
	default:
		err = fmt.Errorf("unknown tokenizer %q (want char or bpe)", c.Tokenizer)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("corpus %s: %w", c.Path, err)
	}
	if train, err = textStream(c, trainDocs, tok, "text/train"); err != nil {
		return nil, nil, nil, err
	}
	if heldout, err = textStream(c, evalDocs, tok, "text/eval"); err != nil {
		return nil, nil, nil, err
	}
	return train, heldout, tok, nil
}

// TextHeldout is TextSources' held-out stream alone, encoded with tok, the
// tokenizer training built (a run's tokenizer.json): what the probes of a
// finished run read, without training the tokenizer again.
func TextHeldout(c TextConfig, tok Tokenizer) (*TokenStream, error) {
	_, _, evalDocs, err := textSplit(c)
	if err != nil {
		return nil, err
	}
	return textStream(c, evalDocs, tok, "text/eval")
}
