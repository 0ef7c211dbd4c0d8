package data

// bytebpe.go is the byte-level BPE tokenizer of models trained elsewhere
// (GPT-2, GPT-NeoX/Pythia), read from Hugging Face's tokenizer.json or
// GPT-2's vocab.json + merges.txt, and encoding exactly as Hugging Face's
// tokenizers library does (the tests match it token for token):
//
//  1. added tokens are cut out of the text first — leftmost, longest
//     match — those marked "normalized": false on the raw text, the others
//     on the normalized text (lstrip/rstrip swallow the white space beside
//     them; single_word requires word boundaries);
//  2. the rest is normalized (NFC, if tokenizer.json says so), cut into
//     pieces by GPT-2's pattern
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     (with an optional leading space added), each piece's UTF-8 bytes
//     mapped to GPT-2's 256 printable stand-ins;
//  3. each piece is merged pair by pair, lowest merge rank first (Sennrich
//     et al. 2016), and the resulting symbols looked up in the vocabulary.
//
// Decoding maps the tokens back to bytes (a token with a character outside
// the 256 stand-ins, such as an added token, contributes its own UTF-8) and
// replaces each maximal invalid UTF-8 sequence by U+FFFD, as Rust's
// from_utf8_lossy does.
//
// What it deliberately does not do: post-processing (no BOS/EOS is added:
// Encode is Hugging Face's encode with add_special_tokens=False), other
// pre-tokenizers or normalizers (Split, Metaspace, NFKC, lowercasing: they
// are rejected when read), BPE dropout, byte fallback, offsets.

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ByteLevelBPE is a byte-level BPE tokenizer (see the file comment). It
// implements Tokenizer; Encode and Decode are safe for concurrent use.
type ByteLevelBPE struct {
	vocab       map[string]int32 // symbol string → id
	pieces      map[int32]string // id → symbol string (vocabulary and added tokens)
	byteID      [256]int32       // id of each byte's stand-in symbol
	ranks       map[[2]int32]bpeMerge
	added       []AddedToken // longest content first
	addedIDs    map[int32]bool
	nfc         bool
	prefixSpace bool
	ignoreMerge bool // look a whole piece up before merging (tokenizer.json "ignore_merges")
	n           int  // ids are in [0, n)
	sep         int32

	mu    sync.Mutex
	cache map[string][]int32 // piece → ids
}

type bpeMerge struct {
	rank int32
	id   int32 // the merged symbol's id
}

// AddedToken is a token matched in the text before any other processing
// (tokenizer.json "added_tokens"). Special marks control tokens such as
// <|endoftext|>; they are matched like the others.
type AddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// byteRunes is GPT-2's reversible map from bytes to printable characters:
// the printable Latin-1 bytes map to themselves, the other 68 to U+0100
// onwards in byte order (so ' ' is 'Ġ', '\n' is 'Ċ').
var byteRunes, runeBytes = func() ([256]rune, map[rune]byte) {
	var fwd [256]rune
	back := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			fwd[b] = rune(b)
		} else {
			fwd[b] = rune(256 + n)
			n++
		}
		back[fwd[b]] = byte(b)
	}
	return fwd, back
}()

// byteLevelOptions are the options a tokenizer.json may set.
type byteLevelOptions struct {
	nfc, prefixSpace, ignoreMerges bool
}

// newByteLevelBPE checks and indexes a vocabulary, its merges (in rank
// order) and the added tokens. where names the source for errors.
func newByteLevelBPE(where string, vocab map[string]int32, merges [][2]string, added []AddedToken, opt byteLevelOptions) (*ByteLevelBPE, error) {
	t := &ByteLevelBPE{vocab: vocab, pieces: map[int32]string{}, ranks: map[[2]int32]bpeMerge{},
		addedIDs: map[int32]bool{}, nfc: opt.nfc, prefixSpace: opt.prefixSpace, ignoreMerge: opt.ignoreMerges,
		sep: -1, cache: map[string][]int32{}}
	for s, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("%s: vocabulary entry %q has negative id %d", where, s, id)
		}
		if prev, dup := t.pieces[id]; dup {
			return nil, fmt.Errorf("%s: id %d is both %q and %q", where, id, prev, s)
		}
		t.pieces[id] = s
		t.n = max(t.n, int(id)+1)
	}
	for b := 0; b < 256; b++ {
		id, ok := vocab[string(byteRunes[b])]
		if !ok {
			return nil, fmt.Errorf("%s: the vocabulary lacks byte %#02x (%q): not a byte-level BPE vocabulary", where, b, byteRunes[b])
		}
		t.byteID[b] = id
	}
	for i, m := range merges {
		a, okA := vocab[m[0]]
		b, okB := vocab[m[1]]
		ab, okAB := vocab[m[0]+m[1]]
		if !okA || !okB || !okAB {
			return nil, fmt.Errorf("%s: merge %d (%q %q): a part or the result is not in the vocabulary", where, i, m[0], m[1])
		}
		if _, dup := t.ranks[[2]int32{a, b}]; !dup {
			t.ranks[[2]int32{a, b}] = bpeMerge{rank: int32(i), id: ab}
		}
	}
	for _, a := range added {
		if a.Content == "" || a.ID < 0 {
			return nil, fmt.Errorf("%s: added token %d %q: empty content or negative id", where, a.ID, a.Content)
		}
		if s, ok := t.pieces[a.ID]; ok && s != a.Content && !t.addedIDs[a.ID] {
			// Hugging Face lets an added token take over a vocabulary id;
			// decoding then shows the added token.
			delete(t.vocab, s)
		}
		t.pieces[a.ID] = a.Content
		t.addedIDs[a.ID] = true
		t.n = max(t.n, int(a.ID)+1)
		t.added = append(t.added, a)
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].Content) > len(t.added[j].Content) })
	if id, ok := t.idOf("<|endoftext|>"); ok {
		t.sep = id
	}
	return t, nil
}

func (t *ByteLevelBPE) idOf(s string) (int32, bool) {
	for _, a := range t.added {
		if a.Content == s {
			return a.ID, true
		}
	}
	id, ok := t.vocab[s]
	return id, ok
}

// Vocab is one more than the largest id (vocabulary and added tokens).
func (t *ByteLevelBPE) Vocab() int { return t.n }

// Sep is the separator: <|endoftext|> unless SetSep chose another; −1 when
// the tokenizer has none and none was set.
func (t *ByteLevelBPE) Sep() int32 { return t.sep }

// SetSep makes id the separator (a model's eos_token_id). It fails for an
// id that is not a token.
func (t *ByteLevelBPE) SetSep(id int32) error {
	if _, ok := t.pieces[id]; !ok {
		return fmt.Errorf("separator id %d is not a token of the tokenizer", id)
	}
	t.sep = id
	return nil
}

// Token returns the text of id as the vocabulary spells it (byte stand-ins
// included), or false.
func (t *ByteLevelBPE) Token(id int32) (string, bool) {
	s, ok := t.pieces[id]
	return s, ok
}

// Added returns the added tokens, longest content first.
func (t *ByteLevelBPE) Added() []AddedToken { return append([]AddedToken(nil), t.added...) }

// Encode returns the ids of s (see the file comment). It fails only on
// invalid UTF-8, naming the byte offset.
func (t *ByteLevelBPE) Encode(s string) ([]int32, error) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return nil, fmt.Errorf("byte-level BPE: invalid UTF-8 at byte %d", i)
		}
		i += n
	}
	var out []int32
	// Raw text: cut out the added tokens that match before normalization.
	for _, seg := range t.splitAdded(s, false) {
		if seg.id >= 0 {
			out = append(out, seg.id)
			continue
		}
		text := seg.text
		if t.nfc {
			text = norm.NFC.String(text)
		}
		for _, seg2 := range t.splitAdded(text, true) {
			if seg2.id >= 0 {
				out = append(out, seg2.id)
				continue
			}
			out = t.encodeText(out, seg2.text)
		}
	}
	return out, nil
}

// segment is a run of text, or an added token (id ≥ 0).
type segment struct {
	text string
	id   int32
}

// splitAdded cuts the added tokens whose Normalized flag is normalized out
// of s: non-overlapping leftmost-longest matches, as Hugging Face's
// AddedVocabulary finds them.
func (t *ByteLevelBPE) splitAdded(s string, normalized bool) []segment {
	var out []segment
	prev := 0 // end of the last token cut (after rstrip)
	i := 0    // where the next match is searched from
	for i < len(s) {
		start, tok := -1, -1
		for p := i; p < len(s) && start < 0; p++ {
			if !utf8.RuneStart(s[p]) {
				continue
			}
			for k, a := range t.added {
				if a.Normalized == normalized && strings.HasPrefix(s[p:], a.Content) {
					start, tok = p, k // t.added is longest first
					break
				}
			}
		}
		if start < 0 {
			break
		}
		a := t.added[tok]
		stop := start + len(a.Content)
		i = stop
		if a.SingleWord && (endsWithWord(s[:start]) || startsWithWord(s[stop:])) {
			continue
		}
		if start < prev {
			continue // inside the white space a previous rstrip took
		}
		if a.LStrip {
			start = max(prev, len(strings.TrimRightFunc(s[:start], unicode.IsSpace)))
		}
		if a.RStrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		if prev < start {
			out = append(out, segment{text: s[prev:start], id: -1})
		}
		out = append(out, segment{id: a.ID})
		prev = stop
	}
	if prev < len(s) {
		out = append(out, segment{text: s[prev:], id: -1})
	}
	return out
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func endsWithWord(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isWordRune(r)
}

// encodeText appends the ids of a text containing no added token.
func (t *ByteLevelBPE) encodeText(out []int32, s string) []int32 {
	if s == "" {
		return out
	}
	if t.prefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	for _, piece := range splitGPT2(s) {
		out = append(out, t.encodePiece(piece)...)
	}
	return out
}

// encodePiece merges one pre-tokenized piece (cached).
func (t *ByteLevelBPE) encodePiece(piece string) []int32 {
	t.mu.Lock()
	ids, ok := t.cache[piece]
	t.mu.Unlock()
	if ok {
		return ids
	}
	if t.ignoreMerge {
		var b strings.Builder
		for i := 0; i < len(piece); i++ {
			b.WriteRune(byteRunes[piece[i]])
		}
		if id, ok := t.vocab[b.String()]; ok {
			ids = []int32{id}
		}
	}
	if ids == nil {
		ids = make([]int32, len(piece))
		for i := 0; i < len(piece); i++ {
			ids[i] = t.byteID[piece[i]]
		}
		for len(ids) > 1 {
			best, at := bpeMerge{rank: -1}, -1
			for i := 0; i+1 < len(ids); i++ {
				if m, ok := t.ranks[[2]int32{ids[i], ids[i+1]}]; ok && (at < 0 || m.rank < best.rank) {
					best, at = m, i
				}
			}
			if at < 0 {
				break
			}
			ids[at] = best.id
			ids = append(ids[:at+1], ids[at+2:]...)
		}
	}
	t.mu.Lock()
	if len(t.cache) > 1<<16 {
		clear(t.cache)
	}
	t.cache[piece] = ids
	t.mu.Unlock()
	return ids
}

// Decode maps ids back to text (see the file comment); an id that is not a
// token decodes to U+FFFD.
func (t *ByteLevelBPE) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		s, ok := t.pieces[id]
		if !ok {
			b = utf8.AppendRune(b, utf8.RuneError)
			continue
		}
		start := len(b)
		for _, r := range s {
			c, ok := runeBytes[r]
			if !ok {
				b = append(b[:start], s...) // not a byte-level token: its own text
				break
			}
			b = append(b, c)
		}
	}
	return lossyUTF8(b)
}

// lossyUTF8 replaces each maximal invalid subsequence of b with one U+FFFD
// (Unicode's "substitution of maximal subparts", as Rust's
// String::from_utf8_lossy).
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			out.Write(b[:n])
			b = b[n:]
			continue
		}
		out.WriteRune(utf8.RuneError)
		b = b[maximalSubpart(b):]
	}
	return out.String()
}

// maximalSubpart is the length (≥ 1) of the longest prefix of b that starts
// a well-formed UTF-8 sequence without completing it (Unicode Table 3-7).
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 && (x < lo || x > hi) || k > 0 && (x < 0x80 || x > 0xBF) {
			break
		}
		n++
	}
	return n
}

// isSpaceGPT2 is the pattern's \s: Unicode White_Space.
func isSpaceGPT2(r rune) bool { return unicode.IsSpace(r) }

// splitGPT2 cuts s at the matches of GPT-2's pre-tokenizer pattern (see
// the file comment), implemented by hand: Go's regexp has no look-ahead.
// Every character belongs to some alternative, so the pieces concatenate
// to s.
func splitGPT2(s string) []string {
	var out []string
	rs := []rune(s)
	n := len(rs)
	class := func(r rune) int { // 0 space, 1 letter, 2 number, 3 other
		switch {
		case isSpaceGPT2(r):
			return 0
		case unicode.IsLetter(r):
			return 1
		case unicode.IsNumber(r):
			return 2
		}
		return 3
	}
	run := func(j, c int) int { // end of the run of class c from j
		for j < n && class(rs[j]) == c {
			j++
		}
		return j
	}
	for i := 0; i < n; {
		end := -1
		r := rs[i]
		// 's|'t|'re|'ve|'m|'ll|'d
		if r == '\'' && i+1 < n {
			switch rs[i+1] {
			case 's', 't', 'm', 'd':
				end = i + 2
			case 'r', 'v', 'l':
				if i+2 < n && (rs[i+1] == 'r' && rs[i+2] == 'e' || rs[i+1] == 'v' && rs[i+2] == 'e' || rs[i+1] == 'l' && rs[i+2] == 'l') {
					end = i + 3
				}
			}
		}
		if end < 0 {
			// ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
			j := i
			if r == ' ' && i+1 < n && class(rs[i+1]) != 0 {
				j = i + 1
			}
			if c := class(rs[j]); c != 0 {
				end = run(j, c)
			}
		}
		if end < 0 {
			// \s+(?!\S) | \s+
			j := run(i, 0)
			switch {
			case j == n || j-i == 1:
				end = j
			default:
				end = j - 1 // leave the last space to the word after it
			}
		}
		out = append(out, string(rs[i:end]))
		i = end
	}
	return out
}

// tokenizerFile is the part of Hugging Face's tokenizer.json the loader
// reads; the components are kept raw so each can be checked by its type.
type tokenizerFile struct {
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string           `json:"type"`
		Dropout                 *float64         `json:"dropout"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		ByteFallback            bool             `json:"byte_fallback"`
		IgnoreMerges            bool             `json:"ignore_merges"`
		Vocab                   map[string]int32 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

// component reads a tokenizer.json component's "type" (and the whole
// object); a null component has type "".
func component(raw json.RawMessage) (string, map[string]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, err
	}
	var typ string
	if err := json.Unmarshal(m["type"], &typ); err != nil {
		return "", nil, fmt.Errorf("no type: %w", err)
	}
	return typ, m, nil
}

// flag reads a boolean field of a component (def when absent).
func flag(m map[string]json.RawMessage, key string, def bool) bool {
	var b bool
	if v, ok := m[key]; ok && json.Unmarshal(v, &b) == nil {
		return b
	}
	return def
}

// LoadTokenizerJSON reads a Hugging Face tokenizer.json holding a
// byte-level BPE (GPT-2's, GPT-NeoX's). Components it does not implement
// are errors naming the file and the key.
func LoadTokenizerJSON(path string) (*ByteLevelBPE, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f tokenizerFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", path, key, fmt.Sprintf(format, args...))
	}
	var opt byteLevelOptions
	typ, _, err := component(f.Normalizer)
	switch {
	case err != nil:
		return nil, bad("normalizer", "%v", err)
	case typ == "NFC":
		opt.nfc = true
	case typ != "":
		return nil, bad("normalizer", "type %q is not supported (only null or NFC)", typ)
	}
	typ, pre, err := component(f.PreTokenizer)
	if err != nil {
		return nil, bad("pre_tokenizer", "%v", err)
	}
	if typ != "ByteLevel" {
		return nil, bad("pre_tokenizer", "type %q is not supported (only ByteLevel)", typ)
	}
	if !flag(pre, "use_regex", true) {
		return nil, bad("pre_tokenizer.use_regex", "false is not supported (GPT-2's pattern is the pre-tokenizer)")
	}
	opt.prefixSpace = flag(pre, "add_prefix_space", true)
	if typ, _, err := component(f.Decoder); err != nil || typ != "ByteLevel" {
		return nil, bad("decoder", "want ByteLevel, got %q (%v)", typ, err)
	}
	if typ, _, err := component(f.PostProcessor); err != nil || (typ != "" && typ != "ByteLevel" && typ != "TemplateProcessing") {
		return nil, bad("post_processor", "type %q is not supported (%v)", typ, err)
	}
	m := f.Model
	switch {
	case m.Type != "BPE":
		return nil, bad("model.type", "%q is not supported (only BPE)", m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, bad("model.dropout", "BPE dropout is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, bad("model.continuing_subword_prefix", "not supported")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, bad("model.end_of_word_suffix", "not supported")
	case m.ByteFallback:
		return nil, bad("model.byte_fallback", "not supported")
	case len(m.Vocab) == 0:
		return nil, bad("model.vocab", "empty")
	}
	opt.ignoreMerges = m.IgnoreMerges
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, bad("model.merges", "%v", err)
	}
	return newByteLevelBPE(path, m.Vocab, merges, f.AddedTokens, opt)
}

// parseMerges reads tokenizer.json merges in either spelling: "a b"
// strings (before tokenizers 0.20) or ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("want a list: %w", err)
	}
	pairs := make([][2]string, len(items))
	for i, it := range items {
		var line string
		if err := json.Unmarshal(it, &line); err == nil {
			a, b, ok := strings.Cut(line, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d %q is not two symbols separated by one space", i, line)
			}
			pairs[i] = [2]string{a, b}
			continue
		}
		var pair []string
		if err := json.Unmarshal(it, &pair); err != nil || len(pair) != 2 || pair[0] == "" || pair[1] == "" {
			return nil, fmt.Errorf("merge %d %s is neither \"a b\" nor [\"a\", \"b\"]", i, it)
		}
		pairs[i] = [2]string{pair[0], pair[1]}
	}
	return pairs, nil
}

// LoadVocabMerges reads GPT-2's original tokenizer files: vocab.json
// (symbol → id) and merges.txt (a "#version" line, then one "a b" merge per
// line, in rank order). The tokenizer is what Hugging Face builds from
// them for GPT-2: no normalizer, no prefix space, and <|endoftext|> (when in
// the vocabulary) matched as a special token.
func LoadVocabMerges(vocabPath, mergesPath string) (*ByteLevelBPE, error) {
	vb, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int32
	if err := json.Unmarshal(vb, &vocab); err != nil {
		return nil, fmt.Errorf("%s: %w", vocabPath, err)
	}
	mb, err := os.ReadFile(mergesPath)
	if err != nil {
		return nil, err
	}
	var merges [][2]string
	for i, line := range strings.Split(string(mb), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("%s:%d: %q is not two symbols separated by one space", mergesPath, i+1, line)
		}
		merges = append(merges, [2]string{a, b})
	}
	var added []AddedToken
	if id, ok := vocab["<|endoftext|>"]; ok {
		added = append(added, AddedToken{ID: id, Content: "<|endoftext|>", Special: true})
	}
	return newByteLevelBPE(vocabPath+" + "+mergesPath, vocab, merges, added, byteLevelOptions{})
}
