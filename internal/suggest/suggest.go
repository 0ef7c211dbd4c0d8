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
func Closest(name string, known []string, max int) []string {
	type cand struct {
		s string
		d int
	}
	var cands []cand
	ln := strings.ToLower(name)
	for _, k := range known {
		lk := strings.ToLower(k)
		d := Levenshtein(ln, lk)
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
