package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestRewindMatchesForward checks the Rewinder contract: a row fed some
// tokens, cut back to n of them and fed a different continuation returns,
// bit for bit, Forward's logits for the sequence of its first n tokens and
// that continuation (the cache's keys and values past n are overwritten,
// never read). Every GPT case of decodeCases must be a Rewinder; rows are
// cut back to 1 token, to their whole length (a no-op) and in between,
// some twice, while rows not named keep their state.
func TestRewindMatchesForward(t *testing.T) {
	rewinders := 0
	for ci, c := range decodeCases() {
		m, newState := c.build(t, uint64(200+ci))
		st := newState(4)
		rw, ok := st.(Rewinder)
		if !ok {
			if strings.HasPrefix(c.name, "gpt") || strings.HasPrefix(c.name, "attn") {
				t.Errorf("%s: the GPT's decode state is not a Rewinder", c.name)
			}
			continue
		}
		rewinders++
		t.Run(c.name, func(t *testing.T) {
			N, V := m.Config().NCtx, m.Config().DVocab
			const n = 4
			rng := rand.New(rand.NewPCG(uint64(ci), 2))
			// a: what the rows are fed first; b: what they hold after the
			// cut (b's first cut[i] tokens are a's).
			a, b := make([]int32, n*N), make([]int32, n*N)
			for i := range a {
				a[i], b[i] = int32(rng.IntN(V)), int32(rng.IntN(V))
			}
			fedLen := []int{N, 2, min(N, 9), min(N, 9)}
			cut := []int{1, 2, min(N, 5), min(N, 6)} // row 1: its whole length; row 3: cut twice
			for i := range n {
				copy(b[i*N:i*N+cut[i]], a[i*N:i*N+cut[i]])
			}
			m.Forward(b, nil, n, N)
			want := slices.Clone(m.Logits())
			prompts := make([][]int32, n)
			for i := range prompts {
				prompts[i] = a[i*N : i*N+1]
			}
			st.Prefill(prompts)
			for pos := 1; pos < N; pos++ { // feed a up to fedLen
				var rows []int
				var toks []int32
				for i := range n {
					if pos < fedLen[i] {
						rows, toks = append(rows, i), append(toks, a[i*N+pos])
					}
				}
				if len(rows) > 0 {
					st.Step(rows, toks)
				}
			}
			rw.Rewind(3, cut[3]+1)
			for i := range n {
				rw.Rewind(i, cut[i])
				if st.Len(i) != cut[i] {
					t.Fatalf("row %d: Len %d after Rewind to %d", i, st.Len(i), cut[i])
				}
			}
			for pos := 1; pos < N; pos++ { // feed b from the cut on
				var rows []int
				var toks []int32
				for i := range n {
					if pos >= cut[i] {
						rows, toks = append(rows, i), append(toks, b[i*N+pos])
					}
				}
				if len(rows) == 0 {
					continue
				}
				got := st.Step(rows, toks)
				for j, r := range rows {
					ref := want[(r*N+pos)*V : (r*N+pos+1)*V]
					if k, d := sameBits(got[j*V:(j+1)*V], ref); k >= 0 {
						t.Fatalf("row %d position %d after a cut to %d: logit %d = %v, Forward %v (max |Δ| %.3g)", r, pos, cut[r], k, got[j*V+k], ref[k], d)
					}
				}
			}
		})
	}
	if rewinders == 0 {
		t.Fatal("no decode case is a Rewinder: the test checks nothing")
	}
}

// TestRewindPanics checks that a Rewind outside the contract is caught with
// a message naming it, and leaves the row as it was.
func TestRewindPanics(t *testing.T) {
	_, newState := decodeCases()[0].build(t, 1)
	st := newState(3)
	rw := st.(Rewinder)
	st.Prefill([][]int32{{1, 2, 3}, {4}})
	for _, tc := range []struct {
		name, want string
		row, n     int
	}{
		{"to zero tokens", "want 1..3", 0, 0},
		{"past its length", "want 1..3", 0, 4},
		{"row not started", "started by Prefill", 2, 1},
		{"negative row", "started by Prefill", -1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			rw.Rewind(tc.row, tc.n)
		})
	}
	if st.Len(0) != 3 || st.Len(1) != 1 {
		t.Errorf("a rejected Rewind changed the lengths: %d %d", st.Len(0), st.Len(1))
	}
}
