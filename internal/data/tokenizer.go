package data

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Tokenizer maps text to token ids and back. Id Sep() is the document
// separator: it ends every document in the mixed stream and pads the space
// between slot-aligned documents; it never comes from Encode.
type Tokenizer interface {
	// Encode returns the ids of s; it fails on text the tokenizer cannot
	// represent, naming the offending character and its byte offset.
	Encode(s string) ([]int32, error)
	// Decode is the inverse of Encode. emlab's own tokenizers decode the
	// separator to "\n"; a byte-level BPE read from a model directory
	// decodes every id, the separator included, to its text.
	Decode(ids []int32) string
	// Vocab is the number of ids, all in [0, Vocab()).
	Vocab() int
	// Sep is the separator/padding id.
	Sep() int32
}

// CharTokenizer gives each rune of a fixed alphabet its own id; id 0 is the
// separator. The alphabet is fixed by the task mixture (the union of the
// tasks' alphabets), so the same mixture always gives the same ids.
type CharTokenizer struct {
	runes []rune         // runes[i] has id i+1
	ascii [128]int32     // id of each ASCII rune, 0 when absent
	other map[rune]int32 // ids of non-ASCII runes
}

// NewCharTokenizer builds a tokenizer over the distinct runes of alphabet,
// sorted by code point. The alphabet may not contain '\n' (the separator's
// printed form) or invalid UTF-8.
func NewCharTokenizer(alphabet string) (*CharTokenizer, error) {
	if !utf8.ValidString(alphabet) {
		return nil, fmt.Errorf("char tokenizer: alphabet is not valid UTF-8")
	}
	set := map[rune]bool{}
	for _, r := range alphabet {
		if r == '\n' {
			return nil, fmt.Errorf("char tokenizer: alphabet contains the separator '\\n'")
		}
		set[r] = true
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("char tokenizer: empty alphabet")
	}
	rs := make([]rune, 0, len(set))
	for r := range set {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	t := &CharTokenizer{runes: rs, other: map[rune]int32{}}
	for i, r := range rs {
		if r < 128 {
			t.ascii[r] = int32(i + 1)
		} else {
			t.other[r] = int32(i + 1)
		}
	}
	return t, nil
}

// Vocab is the alphabet size plus one for the separator.
func (t *CharTokenizer) Vocab() int { return len(t.runes) + 1 }

// Sep is id 0.
func (t *CharTokenizer) Sep() int32 { return 0 }

// Alphabet returns the runes in id order (id i+1 is Alphabet()[i]).
func (t *CharTokenizer) Alphabet() string { return string(t.runes) }

// ID returns the id of r, or false when r is not in the alphabet.
func (t *CharTokenizer) ID(r rune) (int32, bool) {
	if r >= 0 && r < 128 {
		id := t.ascii[r]
		return id, id != 0
	}
	id, ok := t.other[r]
	return id, ok
}

// Encode maps each rune of s to its id.
func (t *CharTokenizer) Encode(s string) ([]int32, error) {
	out := make([]int32, 0, len(s))
	return t.AppendEncode(out, s)
}

// AppendEncode appends the ids of s to dst (no allocation when dst has room).
func (t *CharTokenizer) AppendEncode(dst []int32, s string) ([]int32, error) {
	for off, r := range s {
		id, ok := t.ID(r)
		if !ok {
			return dst, fmt.Errorf("char tokenizer: character %q at byte %d is not in the alphabet", r, off)
		}
		dst = append(dst, id)
	}
	return dst, nil
}

// Decode maps ids back to text; the separator prints as "\n" and an id out of
// range as U+FFFD.
func (t *CharTokenizer) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id == 0:
			b.WriteByte('\n')
		case id > 0 && int(id) <= len(t.runes):
			b.WriteRune(t.runes[id-1])
		default:
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

// tokenizerJSON is the saved form of every tokenizer; Kind selects which
// fields apply.
type tokenizerJSON struct {
	Kind     string     `json:"kind"`               // "char" or "bpe"
	Alphabet string     `json:"alphabet,omitempty"` // char: runes in id order (id i+1)
	Merges   [][2]int32 `json:"merges,omitempty"`   // bpe: merge i makes id 257+i
}

// MarshalJSON saves the alphabet in id order.
func (t *CharTokenizer) MarshalJSON() ([]byte, error) {
	return json.Marshal(tokenizerJSON{Kind: "char", Alphabet: string(t.runes)})
}

// MarshalTokenizer saves any emlab tokenizer as JSON (for the run directory).
func MarshalTokenizer(t Tokenizer) ([]byte, error) {
	m, ok := t.(json.Marshaler)
	if !ok {
		return nil, fmt.Errorf("save tokenizer: %T cannot be saved", t)
	}
	return m.MarshalJSON()
}

// UnmarshalTokenizer reads a tokenizer saved by MarshalTokenizer.
func UnmarshalTokenizer(b []byte) (Tokenizer, error) {
	var j tokenizerJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	switch j.Kind {
	case "char":
		t, err := NewCharTokenizer(j.Alphabet)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		if string(t.runes) != j.Alphabet {
			return nil, fmt.Errorf("load tokenizer: char alphabet is not sorted and distinct, ids would change")
		}
		return t, nil
	case "bpe":
		t, err := newBPE(j.Merges)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		return t, nil
	default:
		return nil, fmt.Errorf("load tokenizer: unknown kind %q (want char or bpe)", j.Kind)
	}
}
