package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// lenGen makes documents of one repeated letter with a length uniform in
// [lo, hi], so a window can be checked against the packing rules by reading it.
type lenGen struct {
	letter byte
	lo, hi int
}

func (g lenGen) Generate(r *rand.Rand) string {
	return strings.Repeat(string(g.letter), g.lo+r.IntN(g.hi-g.lo+1))
}

func testMixture(t *testing.T, slot int) (*Mixture, *CharTokenizer) {
	t.Helper()
	tok, err := NewCharTokenizer("ab")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMixture([]Component{
		{Name: "a", Weight: 3, Gen: lenGen{'a', 1, 20}, MaxLen: 20},
		{Name: "b", Weight: 1, Gen: lenGen{'b', 5, 30}, MaxLen: 30},
	}, tok, MixtureConfig{Seed: 7, NCtx: 64, Slot: slot})
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

func TestMixturePacking(t *testing.T) {
	for _, slot := range []int{1, 12, 16} {
		m, tok := testMixture(t, slot)
		const T = 64
		tokens, targets := make([]int32, T), make([]int32, T)
		for step := int64(0); step < 300; step++ {
			placed := m.Window(step, 0, T, tokens, targets)
			if len(placed) == 0 {
				t.Fatalf("slot %d step %d: empty window", slot, step)
			}
			inDoc := make([]bool, T)
			end := 0
			for _, d := range placed {
				if d.Start%slot != 0 || d.Start < end {
					t.Fatalf("slot %d: document at %d (previous ended at %d)", slot, d.Start, end)
				}
				if d.Start+d.Len > T {
					t.Fatalf("slot %d: document %d+%d split across the window end", slot, d.Start, d.Len)
				}
				letter := m.comps[d.Comp].Name
				got := tok.Decode(tokens[d.Start : d.Start+d.Len])
				if got != strings.Repeat(letter, d.Len) {
					t.Fatalf("slot %d: document reads %q", slot, got)
				}
				for i := d.Start; i < d.Start+d.Len; i++ {
					inDoc[i] = true
				}
				end = d.Start + d.Len + 1 // the separator
			}
			for i := 0; i < T; i++ {
				switch {
				case !inDoc[i]:
					if tokens[i] != tok.Sep() || targets[i] != -1 {
						t.Fatalf("slot %d: padding position %d has token %d target %d", slot, i, tokens[i], targets[i])
					}
				case i+1 < T && inDoc[i+1] && tokens[i+1] == tokens[i]:
					if targets[i] != tokens[i+1] {
						t.Fatalf("slot %d: position %d target %d, want next token %d", slot, i, targets[i], tokens[i+1])
					}
				default:
					// Last token of a document: its target is the separator.
					if targets[i] != tok.Sep() {
						t.Fatalf("slot %d: last document token at %d has target %d, want separator", slot, i, targets[i])
					}
				}
			}
		}
	}
}

func TestMixtureDeterministic(t *testing.T) {
	m, _ := testMixture(t, 16)
	const B, T = 4, 64
	a, at := make([]int32, B*T), make([]int32, B*T)
	b, bt := make([]int32, B*T), make([]int32, B*T)
	m.Batch(11, B, T, a, at)
	m.Batch(12, B, T, b, bt) // another step in between must not matter
	m.Batch(11, B, T, b, bt)
	for i := range a {
		if a[i] != b[i] || at[i] != bt[i] {
			t.Fatal("batch 11 differs between calls")
		}
	}
	m.Batch(12, B, T, b, bt)
	same := true
	for i := range a {
		same = same && a[i] == b[i]
	}
	if same {
		t.Fatal("batches 11 and 12 are identical")
	}
	// The eval label gives a different stream under the same seed.
	ev, err := NewMixture(m.comps, m.tok, MixtureConfig{Seed: 7, NCtx: 64, Slot: 16, Label: "eval"})
	if err != nil {
		t.Fatal(err)
	}
	ev.Batch(11, B, T, b, bt)
	same = true
	for i := range a {
		same = same && a[i] == b[i]
	}
	if same {
		t.Fatal("train and eval labels give the same batch")
	}
}

func TestMixtureWeights(t *testing.T) {
	tok, _ := NewCharTokenizer("ab")
	// Equal lengths, so the packing does not favour either component.
	m, err := NewMixture([]Component{
		{Name: "a", Weight: 3, Gen: lenGen{'a', 10, 10}},
		{Name: "b", Weight: 1, Gen: lenGen{'b', 10, 10}},
	}, tok, MixtureConfig{Seed: 1, NCtx: 64, Slot: 16})
	if err != nil {
		t.Fatal(err)
	}
	st := m.Stats(2000)
	n := float64(st.Docs[0] + st.Docs[1])
	p := float64(st.Docs[0]) / n
	// 4 documents per window × 2000 windows: binomial σ = √(.75·.25/8000) ≈ 0.005.
	if math.Abs(p-0.75) > 5*0.005 {
		t.Errorf("share of a = %.3f, want 0.75 ± 0.025", p)
	}
	t.Logf("docs/window %.2f, scored fraction %.3f, share a %.3f", st.DocsPerWind, st.ScoredFrac, p)
	if st.DocsPerWind != 4 {
		t.Errorf("10-token documents in 16-token slots: %.2f per 64-token window, want 4", st.DocsPerWind)
	}
}

func TestNewMixtureErrors(t *testing.T) {
	tok, _ := NewCharTokenizer("ab")
	g := lenGen{'a', 1, 5}
	cases := []struct {
		comps []Component
		cfg   MixtureConfig
		want  string
	}{
		{nil, MixtureConfig{NCtx: 64}, "no components"},
		{[]Component{{Name: "x", Weight: 0, Gen: g}}, MixtureConfig{NCtx: 64}, "weight 0"},
		{[]Component{{Name: "x", Weight: 1, Gen: g, MaxLen: 65}}, MixtureConfig{NCtx: 64}, "longer than the window NCtx=64"},
		{[]Component{{Name: "x", Weight: 1, Gen: g}}, MixtureConfig{NCtx: 64, Slot: 65}, "slot 65"},
		{[]Component{{Name: "x", Weight: 1, Gen: g}}, MixtureConfig{NCtx: 1}, "window length 1"},
		{[]Component{{Name: "x", Weight: 1}}, MixtureConfig{NCtx: 64}, "no generator"},
	}
	for _, c := range cases {
		if _, err := NewMixture(c.comps, tok, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
