package data

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// BPE is a byte-level byte-pair-encoding tokenizer (Sennrich et al. 2016, in
// the byte-level form of GPT-2, Radford et al. 2019): ids 0–255 are bytes,
// id 256 is the separator, and merge i joins two existing ids into id 257+i.
// Any string encodes (there are no unknown characters). Text is first cut
// into chunks — an optional leading space then a run of letters, of digits,
// or of other symbols; or a run of white space — and merges never cross a
// chunk boundary, as in GPT-2.
type BPE struct {
	merges [][2]int32         // merges[i] makes id bpeFirst+i
	rank   map[[2]int32]int32 // pair → merge index
	pieces [][]byte           // bytes of each id (nil for the separator)
	mu     sync.Mutex         // guards cache
	cache  map[string][]int32 // chunk → ids
}

const (
	bpeSep   = 256 // separator id
	bpeFirst = 257 // id of the first merge
)

// TrainBPE learns vocab−257 merges from texts: at each step the most
// frequent adjacent pair within chunks is merged, ties broken by the smaller
// (left, right) ids, so training is deterministic. vocab must be at least
// 257; training stops early (with a smaller vocabulary) when no pair occurs
// twice.
func TrainBPE(texts []string, vocab int) (*BPE, error) {
	if vocab < bpeFirst {
		return nil, fmt.Errorf("train BPE: vocabulary %d < %d (256 bytes and the separator)", vocab, bpeFirst)
	}
	counts := map[string]int{}
	for _, t := range texts {
		for _, c := range chunks(t) {
			counts[c]++
		}
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("train BPE: no text")
	}
	uniq := make([]string, 0, len(counts))
	for w := range counts {
		uniq = append(uniq, w)
	}
	sort.Strings(uniq)
	words := make([][]int32, len(uniq))
	freq := make([]int, len(uniq))
	pairCount := map[[2]int32]int{}
	where := map[[2]int32][]int32{}
	for i, w := range uniq {
		freq[i] = counts[w]
		syms := make([]int32, len(w))
		for j := 0; j < len(w); j++ {
			syms[j] = int32(w[j])
		}
		words[i] = syms
		for j := 0; j+1 < len(syms); j++ {
			p := [2]int32{syms[j], syms[j+1]}
			pairCount[p] += freq[i]
			where[p] = append(where[p], int32(i))
		}
	}
	h := &pairHeap{}
	for p, c := range pairCount {
		*h = append(*h, pairEntry{p, c})
	}
	heap.Init(h)
	var merges [][2]int32
	stamp := make([]int, len(words)) // last merge that visited each word, to skip duplicates in where
	for len(merges) < vocab-bpeFirst {
		var best pairEntry
		found := false
		for h.Len() > 0 {
			e := heap.Pop(h).(pairEntry)
			if pairCount[e.p] == e.c && e.c > 0 {
				best, found = e, true
				break
			}
		}
		if !found || best.c < 2 {
			break
		}
		z := int32(bpeFirst + len(merges))
		merges = append(merges, best.p)
		changed := map[[2]int32]bool{}
		for _, wi := range where[best.p] {
			if stamp[wi] == len(merges) {
				continue
			}
			stamp[wi] = len(merges)
			syms := words[wi]
			if !hasPair(syms, best.p) {
				continue
			}
			f := freq[wi]
			for j := 0; j+1 < len(syms); j++ {
				p := [2]int32{syms[j], syms[j+1]}
				pairCount[p] -= f
				changed[p] = true
			}
			syms = mergePair(syms, best.p, z)
			words[wi] = syms
			for j := 0; j+1 < len(syms); j++ {
				p := [2]int32{syms[j], syms[j+1]}
				pairCount[p] += f
				changed[p] = true
				if syms[j] == z || syms[j+1] == z {
					where[p] = append(where[p], wi)
				}
			}
		}
		delete(where, best.p)
		for p := range changed {
			if c := pairCount[p]; c > 0 {
				heap.Push(h, pairEntry{p, c})
			} else {
				delete(pairCount, p)
			}
		}
	}
	return newBPE(merges)
}

func hasPair(s []int32, p [2]int32) bool {
	for j := 0; j+1 < len(s); j++ {
		if s[j] == p[0] && s[j+1] == p[1] {
			return true
		}
	}
	return false
}

// mergePair replaces each non-overlapping occurrence of p, left to right, by z.
func mergePair(s []int32, p [2]int32, z int32) []int32 {
	out := s[:0:0]
	for j := 0; j < len(s); j++ {
		if j+1 < len(s) && s[j] == p[0] && s[j+1] == p[1] {
			out = append(out, z)
			j++
		} else {
			out = append(out, s[j])
		}
	}
	return out
}

type pairEntry struct {
	p [2]int32
	c int
}

// pairHeap orders by count (largest first), then by pair (smallest first).
type pairHeap []pairEntry

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].c != h[j].c {
		return h[i].c > h[j].c
	}
	if h[i].p[0] != h[j].p[0] {
		return h[i].p[0] < h[j].p[0]
	}
	return h[i].p[1] < h[j].p[1]
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairEntry)) }
func (h *pairHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newBPE(merges [][2]int32) (*BPE, error) {
	t := &BPE{merges: merges, rank: map[[2]int32]int32{}, cache: map[string][]int32{}}
	t.pieces = make([][]byte, bpeFirst+len(merges))
	for i := 0; i < 256; i++ {
		t.pieces[i] = []byte{byte(i)}
	}
	for i, m := range merges {
		id := int32(bpeFirst + i)
		for _, part := range m {
			if part < 0 || part >= id || part == bpeSep {
				return nil, fmt.Errorf("BPE merge %d joins id %d, which is not defined before it", i, part)
			}
		}
		if _, dup := t.rank[m]; dup {
			return nil, fmt.Errorf("BPE merge %d repeats the pair %v", i, m)
		}
		t.rank[m] = int32(i)
		t.pieces[id] = append(append([]byte{}, t.pieces[m[0]]...), t.pieces[m[1]]...)
	}
	return t, nil
}

// Vocab is 257 plus the number of merges.
func (t *BPE) Vocab() int { return bpeFirst + len(t.merges) }

// Sep is id 256.
func (t *BPE) Sep() int32 { return bpeSep }

// Encode cuts s into chunks and applies the merges to each, lowest merge
// index first. It never fails on valid or invalid UTF-8 (bytes are bytes);
// the error is always nil and is there to satisfy Tokenizer.
func (t *BPE) Encode(s string) ([]int32, error) {
	var out []int32
	for _, c := range chunks(s) {
		out = append(out, t.encodeChunk(c)...)
	}
	return out, nil
}

func (t *BPE) encodeChunk(c string) []int32 {
	t.mu.Lock()
	ids, ok := t.cache[c]
	t.mu.Unlock()
	if ok {
		return ids
	}
	syms := make([]int32, len(c))
	for i := 0; i < len(c); i++ {
		syms[i] = int32(c[i])
	}
	for len(syms) > 1 {
		best, bestRank := -1, int32(len(t.merges))
		for j := 0; j+1 < len(syms); j++ {
			if r, ok := t.rank[[2]int32{syms[j], syms[j+1]}]; ok && r < bestRank {
				best, bestRank = j, r
			}
		}
		if best < 0 {
			break
		}
		syms = mergePair(syms, t.merges[bestRank], int32(bpeFirst)+bestRank)
	}
	t.mu.Lock()
	if len(t.cache) < 1<<16 {
		t.cache[c] = syms
	}
	t.mu.Unlock()
	return syms
}

// Decode joins the bytes of ids; the separator prints as "\n", an id out of
// range as U+FFFD, and byte sequences that are not UTF-8 are replaced by
// U+FFFD as strings.ToValidUTF8 does.
func (t *BPE) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		switch {
		case id == bpeSep:
			b = append(b, '\n')
		case id >= 0 && int(id) < len(t.pieces):
			b = append(b, t.pieces[id]...)
		default:
			b = utf8.AppendRune(b, utf8.RuneError)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Piece returns the bytes of id (nil for the separator or an unknown id).
func (t *BPE) Piece(id int32) []byte {
	if id < 0 || int(id) >= len(t.pieces) {
		return nil
	}
	return t.pieces[id]
}

// MarshalJSON saves the merges; the byte ids and the separator are implicit.
func (t *BPE) MarshalJSON() ([]byte, error) {
	m := t.merges
	if m == nil {
		m = [][2]int32{}
	}
	return json.Marshal(tokenizerJSON{Kind: "bpe", Merges: m})
}

// chunkClass is the class of a rune for chunking: letter, digit, space, other.
func chunkClass(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return 1
	case unicode.IsDigit(r):
		return 2
	case unicode.IsSpace(r):
		return 3
	}
	return 4
}

// chunks cuts s into GPT-2-like pieces: " word", "word", " 123", "...",
// and runs of white space (a run of spaces before a word leaves its last
// space to the word). Concatenating the chunks gives s back.
func chunks(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		start := i
		r, size := utf8.DecodeRuneInString(s[i:])
		cls := chunkClass(r)
		if r == ' ' && i+size < len(s) {
			r2, _ := utf8.DecodeRuneInString(s[i+size:])
			if c2 := chunkClass(r2); c2 != 3 {
				// A single space joins the word after it.
				i += size
				i = runOf(s, i, c2)
				out = append(out, s[start:i])
				continue
			}
		}
		if cls == 3 {
			// White space run; leave a final ' ' for the following word.
			j := runOf(s, i, 3)
			if j < len(s) && j-1 > i && s[j-1] == ' ' {
				j--
			}
			i = j
		} else {
			i = runOf(s, i, cls)
		}
		out = append(out, s[start:i])
	}
	return out
}

// runOf returns the end of the run of class cls starting at i.
func runOf(s string, i, cls int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if chunkClass(r) != cls {
			break
		}
		i += size
	}
	return i
}
