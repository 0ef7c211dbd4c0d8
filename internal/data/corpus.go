package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Corpus is a list of text documents loaded from a file.
type Corpus struct {
	Path string
	Docs []string
}

// LoadCorpus reads a corpus. A directory is a SWORD zText module
// (DecodeSword); a path ending in .rdb is an R lazy-load database
// (DecodeRData); a path ending in .jsonl (or .ndjson) is JSON Lines: one object per line, its string field `field`
// (default "text") being one document; blank lines are skipped. Anything else
// is plain text, split into documents at blank lines, with the line breaks
// inside a paragraph turned into spaces. An empty corpus, text that is not
// UTF-8, or a malformed line is an error naming the file and the line.
func LoadCorpus(path, field string) (*Corpus, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		docs, err := DecodeSword(path)
		if err != nil {
			return nil, fmt.Errorf("load corpus: %w", err)
		}
		return &Corpus{Path: path, Docs: docs}, nil
	}
	if ext == ".rdb" {
		docs, err := DecodeRData(path)
		if err != nil {
			return nil, fmt.Errorf("load corpus: %w", err)
		}
		return &Corpus{Path: path, Docs: docs}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	var docs []string
	if ext == ".jsonl" || ext == ".ndjson" {
		docs, err = ParseJSONL(b, field)
	} else {
		docs, err = ParsePlainText(b)
	}
	if err != nil {
		return nil, fmt.Errorf("load corpus %s: %w", path, err)
	}
	return &Corpus{Path: path, Docs: docs}, nil
}

// checkUTF8 reports the line and byte offset of the first invalid UTF-8
// sequence in b.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("not UTF-8: invalid byte 0x%02x at line %d, byte offset %d", b[i], line, i)
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return nil
}

// ParsePlainText splits b into paragraphs (separated by one or more blank
// lines; a line of white space counts as blank), joining the lines of each
// with single spaces.
func ParsePlainText(b []byte) ([]string, error) {
	if err := checkUTF8(b); err != nil {
		return nil, err
	}
	var docs []string
	var para []string
	flush := func() {
		if len(para) > 0 {
			docs = append(docs, strings.Join(para, " "))
			para = para[:0]
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			flush()
			continue
		}
		para = append(para, t)
	}
	flush()
	if len(docs) == 0 {
		return nil, fmt.Errorf("empty: no text (%d bytes of white space)", len(b))
	}
	return docs, nil
}

// ParseJSONL reads one JSON object per line and takes the string field named
// field ("text" when empty) as a document. Lines that are blank are skipped;
// a line that is not an object, lacks the field, or has it non-string or
// empty is an error with its line number.
func ParseJSONL(b []byte, field string) ([]string, error) {
	if field == "" {
		field = "text"
	}
	if err := checkUTF8(b); err != nil {
		return nil, err
	}
	var docs []string
	for n, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object: %w", n+1, err)
		}
		raw, ok := obj[field]
		if !ok {
			return nil, fmt.Errorf("line %d: no %q field", n+1, field)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("line %d: field %q is not a string", n+1, field)
		}
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("line %d: field %q is empty", n+1, field)
		}
		if !utf8.ValidString(s) {
			// Escapes such as \udc00 decode to U+FFFD, so this cannot
			// happen after json.Unmarshal; kept as a guard.
			return nil, fmt.Errorf("line %d: field %q is not UTF-8", n+1, field)
		}
		docs = append(docs, s)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("empty: no JSON lines")
	}
	return docs, nil
}

// SplitCorpus divides documents into training and held-out sets by a hash
// of each document's text (Unit(Hash64(salt|doc)) < frac is held out), so
// the split is the same for every run seed and duplicates of a document
// fall on the same side.
func SplitCorpus(docs []string, frac float64, salt string) (train, heldout []string) {
	for _, d := range docs {
		if Unit(Hash64(salt+"|"+d)) < frac {
			heldout = append(heldout, d)
		} else {
			train = append(train, d)
		}
	}
	return train, heldout
}

// TextChunks is a Generator over a corpus for natural-language runs: each
// document is a random span of at most MaxRunes characters of a document
// chosen with probability proportional to its length (so every character
// of the corpus is equally likely to be drawn), starting at a word
// boundary when the span is shorter than the document.
type TextChunks struct {
	docs     [][]rune
	cum      []int
	maxRunes int
}

// NewTextChunks prepares docs (use the training side of SplitCorpus).
func NewTextChunks(docs []string, maxRunes int) (*TextChunks, error) {
	if maxRunes < 1 {
		return nil, fmt.Errorf("text chunks: length %d < 1", maxRunes)
	}
	g := &TextChunks{maxRunes: maxRunes}
	total := 0
	for _, d := range docs {
		rs := []rune(strings.ReplaceAll(d, "\n", " "))
		if len(rs) == 0 {
			continue
		}
		total += len(rs)
		g.docs = append(g.docs, rs)
		g.cum = append(g.cum, total)
	}
	if total == 0 {
		return nil, fmt.Errorf("text chunks: no text")
	}
	return g, nil
}

// Alphabet returns every character of the corpus (for NewCharTokenizer).
func (g *TextChunks) Alphabet() string {
	set := map[rune]bool{}
	var b strings.Builder
	for _, d := range g.docs {
		for _, r := range d {
			if !set[r] {
				set[r] = true
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// Generate draws one span.
func (g *TextChunks) Generate(r *rand.Rand) string {
	x := r.IntN(g.cum[len(g.cum)-1])
	i := sort.SearchInts(g.cum, x+1)
	d := g.docs[i]
	if len(d) <= g.maxRunes {
		return string(d)
	}
	start := r.IntN(len(d) - g.maxRunes + 1)
	// Move forward to the start of a word, if one is near.
	for j := start; j > 0 && j < start+16 && j+g.maxRunes <= len(d); j++ {
		if d[j-1] == ' ' {
			start = j
			break
		}
	}
	return string(d[start : start+g.maxRunes])
}
