package eval

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"emlab/internal/data"
	"emlab/internal/nn"
	"emlab/internal/tasks"
)

// countingDecoder is a model whose decoder records the shape of every
// decode state it makes: rows, and the tokens a row can hold (n_ctx for
// NewDecodeState).
type countingDecoder struct {
	nn.Model
	made [][2]int
}

func (m *countingDecoder) NewDecodeState(B int) nn.DecodeState {
	m.made = append(m.made, [2]int{B, m.Config().NCtx})
	return m.Model.(nn.Decoder).NewDecodeState(B)
}

// countingLenDecoder is countingDecoder for a model whose states can be
// sized to fewer tokens than n_ctx (nn.Pretrained).
type countingLenDecoder struct{ *countingDecoder }

func (m countingLenDecoder) NewDecodeStateLen(B, n int) nn.DecodeState {
	m.made = append(m.made, [2]int{B, n})
	return m.Model.(interface {
		NewDecodeStateLen(B, n int) nn.DecodeState
	}).NewDecodeStateLen(B, n)
}

// TestDecodeStateReusedAcrossTasksAndCheckpoints runs a battery of several
// tasks twice on one harness, with other weights loaded into the same model
// between the runs (as eval --all loads each checkpoint): one decode state
// serves every task of both runs, and the results and samples equal, byte
// for byte as written, those of the plain path (no decoder) with a fresh
// harness per checkpoint.
func TestDecodeStateReusedAcrossTasksAndCheckpoints(t *testing.T) {
	const spec = "add(digits=2,format=plain):1,add(digits=2,format=reversed):1,icl:0.33,mul:0.2"
	mix, err := tasks.ParseMixture(spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tasks.NewStream(spec, data.MixtureConfig{Seed: 1, Label: "train", NCtx: 64, Slot: 1})
	if err != nil {
		t.Fatal(err)
	}
	bat, err := NewBattery(mix.Tasks(), 20)
	if err != nil {
		t.Fatal(err)
	}
	g := testGPT(t, st.Vocab())
	m := &countingDecoder{Model: g}
	h := &Harness{Model: m, Tok: st.Tok, BatchSize: 8}
	rng := rand.New(rand.NewPCG(5, 6))
	for step := range 2 {
		if step > 0 { // another checkpoint's weights, in the same model
			for i, x := range g.Params().Data {
				g.Params().Data[i] = x + float32(rng.NormFloat64()*0.3)
			}
		}
		rs, ss, err := bat.RunSamples(h, step)
		if err != nil {
			t.Fatal(err)
		}
		wantRs, wantSs, err := bat.RunSamples(&Harness{Model: uncached{g}, Tok: st.Tok, BatchSize: 8}, step)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what      string
			got, want any
		}{{"results", rs, wantRs}, {"samples", ss, wantSs}} {
			gb, err := json.Marshal(c.got)
			if err != nil {
				t.Fatal(err)
			}
			wb, err := json.Marshal(c.want)
			if err != nil {
				t.Fatal(err)
			}
			if string(gb) != string(wb) {
				t.Errorf("step %d: %s with the reused decode state differ from the plain path's:\n%s\n%s", step, c.what, gb, wb)
			}
		}
		generated := 0
		for _, s := range ss {
			if s.Generated != "" {
				generated++
			}
		}
		if generated == 0 {
			t.Fatalf("step %d: nothing generated; the test does not exercise the decode state", step)
		}
	}
	if want := [][2]int{{8, 64}}; !slices.Equal(m.made, want) {
		t.Errorf("decode states made (rows, tokens) %v over %d tasks and 2 checkpoints, want %v", m.made, len(bat.Tasks), want)
	}
}

// TestDecodeStateGrows: a kept state serves a later call only when it has
// the rows and the tokens a row that call needs; otherwise a state covering
// both replaces it. Too short a state would panic at the Step past its
// length; the generations equal the uncached path's throughout.
func TestDecodeStateGrows(t *testing.T) {
	p, rng := testPretrained(t, 24)
	prompt := func(n int) []int32 {
		x := make([]int32, n)
		for j := range x {
			x[j] = int32(1 + rng.IntN(10))
		}
		return x
	}
	few := [][]int32{prompt(4), prompt(5)}
	many := [][]int32{prompt(3), prompt(6), prompt(2), prompt(4), prompt(5)}
	tok := digitTok(t)
	m := countingLenDecoder{&countingDecoder{Model: p}}
	h := &Harness{Model: m, Tok: tok, BatchSize: 4}
	for _, c := range []struct {
		prompts [][]int32
		maxNew  int
		made    [][2]int // every state made so far
	}{
		{few, 2, [][2]int{{2, 7}}},
		{few, 1, [][2]int{{2, 7}}},                   // fits
		{many, 1, [][2]int{{2, 7}, {4, 7}}},          // more rows
		{few, 10, [][2]int{{2, 7}, {4, 7}, {4, 15}}}, // longer rows
		{many, 2, [][2]int{{2, 7}, {4, 7}, {4, 15}}},
	} {
		want, err := (&Harness{Model: uncached{p}, Tok: tok, BatchSize: 4}).Generate(c.prompts, c.maxNew)
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Generate(c.prompts, c.maxNew)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%d prompts, maxNew %d: cached %v, uncached %v", len(c.prompts), c.maxNew, got, want)
		}
		if !slices.Equal(m.made, c.made) {
			t.Errorf("%d prompts, maxNew %d: states made (rows, tokens) %v, want %v", len(c.prompts), c.maxNew, m.made, c.made)
		}
	}
}
