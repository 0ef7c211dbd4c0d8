// Package suggest finds the known names closest to a misspelt one, so that
// every "unknown X" error in emlab can say what was probably meant.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns up to max names from known whose edit distance to name is
// small (at most a third of the longer length, and at least 1 allowed edit),
// or that contain name as a substring, nearest first and alphabetical on ties.
// The distance is TypoDistance: two swapped letters ("trian") are one typo.
func Closest(name string, known []string, max int) []string {
	type cand struct {
		s string
		d int
	}
	var cands []cand
	ln := strings.ToLower(name)
	for _, k := range known {
		lk := strings.ToLower(k)
		d := TypoDistance(ln, lk)
		limit := max3(len(ln), len(lk), 3) / 3
		if d <= limit || (len(ln) >= 3 && strings.Contains(lk, ln)) {
			cands = append(cands, cand{k, d})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].s < cands[j].s
	})
	var out []string
	for i := 0; i < len(cands) && i < max; i++ {
		out = append(out, cands[i].s)
	}
	return out
}

func max3(a, b, c int) int {
	m := a
	if b > m {
		m = b
	}
	if c > m {
		m = c
	}
	return m
}

// TypoDistance is the optimal-string-alignment distance between a and b
// over bytes: Levenshtein's insertions, deletions and substitutions plus the
// transposition of two adjacent bytes, each costing 1 (no substring is
// edited twice). Swapped letters are the commonest typing slip, and plain
// Levenshtein counts them as two edits.
func TypoDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j]; three rows suffice.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Levenshtein is the edit distance between a and b over bytes
// (insertions, deletions and substitutions each cost 1).
func Levenshtein(a, b string) int { return EditDistance([]byte(a), []byte(b)) }

// EditDistance is the Levenshtein distance between two sequences
// (insertions, deletions and substitutions each cost 1), in O(len(a)·len(b))
// time and O(len(b)) memory.
func EditDistance[T comparable](a, b []T) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
