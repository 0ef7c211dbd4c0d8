package eval

import (
	"math"
	"slices"
	"testing"

	"emlab/internal/data"
	"emlab/internal/nn"
)

// succModel is a hand-built causal model over V tokens: after token x it
// puts logit L on (x+1) mod V... except that after token stop it predicts
// the separator 0. All other logits are 0, so every probability is known in
// closed form: p(next) = e^L/(e^L+V−1).
type succModel struct {
	V, nctx int
	L       float32
	stop    int32
	logits  []float32
	calls   int
}

func (m *succModel) Config() nn.Config    { return nn.Config{NCtx: m.nctx, DVocab: m.V} }
func (m *succModel) Params() *nn.ParamSet { return &nn.ParamSet{} }
func (m *succModel) Backward()            {}
func (m *succModel) Logits() []float32    { return m.logits }
func (m *succModel) Activation(string) ([]float32, []int, bool) {
	return nil, nil, false
}
func (m *succModel) FLOPsPerToken(int) float64 { return 0 }
func (m *succModel) next(x int32) int32 {
	if x == m.stop {
		return 0
	}
	return (x + 1) % int32(m.V)
}
func (m *succModel) Forward(tokens, targets []int32, B, T int) float32 {
	m.calls++
	m.logits = make([]float32, B*T*m.V)
	for i, x := range tokens {
		m.logits[i*m.V+int(m.next(x))] = m.L
	}
	return 0
}

// digitTok maps "0".."9" to ids 1..10 (id 0 is the separator).
func digitTok(t *testing.T) data.Tokenizer {
	t.Helper()
	tok, err := data.NewCharTokenizer("0123456789")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestScoreContinuationsClosedForm(t *testing.T) {
	m := &succModel{V: 11, nctx: 16, L: 2, stop: 10}
	h := &Harness{Model: m, Tok: digitTok(t), BatchSize: 2}
	pNext := math.Exp(2) / (math.Exp(2) + 10)
	pOther := 1 / (math.Exp(2) + 10)
	reqs := []Continuation{
		{Prompt: []int32{1, 2}, Cont: []int32{3, 4}},     // both predicted
		{Prompt: []int32{5}, Cont: []int32{7}},           // wrong
		{Prompt: []int32{9, 10}, Cont: []int32{1, 2, 3}}, // after 10 the model predicts the separator
	}
	got, err := h.ScoreContinuations(reqs, true)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-6 // float32 logits, float64 accumulation
	check := func(name string, x, want float64) {
		t.Helper()
		if math.Abs(x-want) > tol {
			t.Errorf("%s = %v, want %v", name, x, want)
		}
	}
	check("lp[0][0]", got[0].LogProbs[0], math.Log(pNext))
	check("lp[0][1]", got[0].LogProbs[1], math.Log(pNext))
	check("lp[1][0]", got[1].LogProbs[0], math.Log(pOther))
	check("lp[2][0]", got[2].LogProbs[0], math.Log(pOther))
	if !slices.Equal(got[0].Correct, []bool{true, true}) || got[1].Correct[0] || got[2].Correct[0] || !got[2].Correct[1] {
		t.Errorf("correct flags %v %v %v", got[0].Correct, got[1].Correct, got[2].Correct)
	}
	if got[0].NextArgmax != 5 {
		t.Errorf("next argmax %d", got[0].NextArgmax)
	}
	check("dist sums to 1", sum(got[0].Dists[0]), 1)
	if m.calls != 2 {
		t.Errorf("%d forward passes for 3 requests in batches of 2", m.calls)
	}
	// A request longer than the context is an error, not a panic.
	if _, err := h.ScoreContinuations([]Continuation{{Prompt: make([]int32, 10), Cont: make([]int32, 7)}}, false); err == nil {
		t.Error("over-long request accepted")
	}
	if _, err := h.ScoreContinuations([]Continuation{{Cont: []int32{1}}}, false); err == nil {
		t.Error("empty prompt accepted")
	}
}

func TestGenerateStopsAtSeparator(t *testing.T) {
	m := &succModel{V: 11, nctx: 8, L: 5, stop: 7}
	h := &Harness{Model: m, Tok: digitTok(t), BatchSize: 3}
	gens, err := h.Generate([][]int32{{1}, {4, 5}, {7}, {8}}, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{
		{2, 3, 4, 5, 6, 7}, // 7 → separator
		{6, 7},
		{},      // separator right away
		{9, 10}, // 10+1 mod 11 = 0 is the separator
	}
	for i := range want {
		if !slices.Equal(gens[i], want[i]) {
			t.Errorf("gen %d = %v, want %v", i, gens[i], want[i])
		}
	}
	// A sequence that never predicts the separator stops at the context end.
	m.stop = -1
	gens, _ = h.Generate([][]int32{{1, 2}}, 20)
	if len(gens[0]) != m.nctx-2 {
		t.Errorf("context end: %v", gens[0])
	}
	m.stop = 7
	// maxNew bounds the length.
	gens, _ = h.Generate([][]int32{{1}}, 3)
	if !slices.Equal(gens[0], []int32{2, 3, 4}) {
		t.Errorf("maxNew: %v", gens[0])
	}
}

func TestLevenshteinTokens(t *testing.T) {
	if d := Levenshtein([]int32{1, 2, 3}, []int32{1, 3}); d != 1 {
		t.Errorf("got %d", d)
	}
	if d := Levenshtein(nil, []int32{1, 2}); d != 2 {
		t.Errorf("got %d", d)
	}
}

func TestMeanStderr(t *testing.T) {
	s := meanStderr([]float64{1, 0, 1, 0})
	// mean 0.5, sample sd = sqrt(1/3), stderr = sd/2
	if s.Value != 0.5 || math.Abs(s.Stderr-math.Sqrt(1.0/3)/2) > 1e-15 || s.N != 4 {
		t.Errorf("%+v", s)
	}
	if s := meanStderr([]float64{3}); s.Value != 3 || s.Stderr != 0 {
		t.Errorf("%+v", s)
	}
}

// lineTok is digitTok whose token for "5" is a line break, as the
// newline tokens of a BPE tokenizer are.
type lineTok struct{ data.Tokenizer }

func (t lineTok) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		if id == 6 {
			b = append(b, "\n\n"...)
			continue
		}
		b = append(b, t.Tokenizer.Decode([]int32{id})...)
	}
	return string(b)
}

// TestGenerateStopsAtNewline: a token whose text holds a newline ends a
// generation as the separator does, on both generation paths (a model
// trained elsewhere ends a line, not its document, where an answer ends).
func TestGenerateStopsAtNewline(t *testing.T) {
	for _, m := range []nn.Model{&succModel{V: 11, nctx: 12, L: 5, stop: -1}, &succDecoder{succModel: &succModel{V: 11, nctx: 12, L: 5, stop: -1}}} {
		h := &Harness{Model: m, Tok: lineTok{digitTok(t)}, BatchSize: 2}
		gens, err := h.Generate([][]int32{{1}, {7}, {5}}, 20)
		if err != nil {
			t.Fatal(err)
		}
		// 1 → 2 3 4 5, then 6 ("\n\n") stops; 7 → 8 9 10, then the
		// separator; 5 → the newline token right away.
		want := [][]int32{{2, 3, 4, 5}, {8, 9, 10}, {}}
		for i := range want {
			if !slices.Equal(gens[i], want[i]) {
				t.Errorf("%T: gen %d = %v, want %v", m, i, gens[i], want[i])
			}
		}
	}
}
