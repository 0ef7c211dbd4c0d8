package probe

import (
	"math"
	"strings"
	"testing"

	"emlab/internal/data"
	"emlab/internal/eval"
	"emlab/internal/nn"
	"emlab/internal/tasks"
)

// oracle is a fake model that knows some facts: after "F:<s>.<r>=" and a
// correct prefix of the value it puts logit 30 on the value's next
// character (then the separator); everywhere else its logits are 0
// (uniform).
type oracle struct {
	cfg    nn.Config
	tok    data.Tokenizer
	know   map[string]string // fact prompt → value
	logits []float32
	B, T   int
}

func (o *oracle) Config() nn.Config                          { return o.cfg }
func (o *oracle) Params() *nn.ParamSet                       { return &nn.ParamSet{} }
func (o *oracle) Backward()                                  {}
func (o *oracle) Logits() []float32                          { return o.logits[:o.B*o.T*o.cfg.DVocab] }
func (o *oracle) Activation(string) ([]float32, []int, bool) { return nil, nil, false }
func (o *oracle) FLOPsPerToken(int) float64                  { return 0 }
func (o *oracle) Forward(tokens, _ []int32, B, T int) float32 {
	V := o.cfg.DVocab
	o.B, o.T = B, T
	o.logits = make([]float32, B*T*V)
	for b := range B {
		for t := range T {
			prefix := o.tok.Decode(tokens[b*T : b*T+t+1])
			i := strings.IndexByte(prefix, '=')
			if i < 0 {
				continue
			}
			v, ok := o.know[prefix[:i+1]]
			rest, full := prefix[i+1:], v+"\n"
			if !ok || len(rest) >= len(full) || !strings.HasPrefix(full, rest) {
				continue
			}
			id, err := o.tok.Encode(full[len(rest) : len(rest)+1])
			if err != nil {
				id = []int32{o.tok.Sep()}
			}
			o.logits[(b*T+t)*V+int(id[0])] = 30
		}
	}
	return 0
}

// TestKnowledgeBitsOfOracles: a model that knows every fact stores the
// maximum, Σ log2 K_r; one that knows all but the "boss" facts stores the
// maximum less those facts' log2 K (names all have 3 letters, so its
// uniform guesses among them are exactly uniform: 0 bits each).
func TestKnowledgeBitsOfOracles(t *testing.T) {
	task, err := tasks.Lookup("multihop(people=10)")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := data.NewCharTokenizer(task.Alphabet())
	if err != nil {
		t.Fatal(err)
	}
	facts := task.(tasks.StatedFacts).StatedFacts()
	if len(facts) != 10*5 {
		t.Fatalf("%d facts, want 10 people × 5 relations", len(facts))
	}
	cfg := nn.Config{NCtx: 32, DVocab: tok.Vocab()}
	all, noBoss := map[string]string{}, map[string]string{}
	var bossBits float64
	for _, f := range facts {
		all[f.Prompt] = f.Answer
		if f.Text["relation"] == "boss" {
			bossBits += math.Log2(float64(len(f.Choices)))
		} else {
			noBoss[f.Prompt] = f.Answer
		}
	}
	for _, c := range []struct {
		name string
		know map[string]string
		less float64
	}{{"knows everything", all, 0}, {"knows all but boss", noBoss, bossBits}, {"knows nothing of boss or the rest", map[string]string{}, -1}} {
		h := &eval.Harness{Model: &oracle{cfg: cfg, tok: tok, know: c.know}, Tok: tok}
		bits, maxBits, err := KnowledgeBits(h, tok, facts)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.4f of %.4f bits", c.name, bits, maxBits)
		if c.less < 0 {
			// Knowing nothing: only the unequal lengths of the colours
			// move it off 0, downwards.
			if bits > 1e-9 {
				t.Errorf("%s: %.4f bits, want ≤ 0", c.name, bits)
			}
			continue
		}
		// Logit 30 leaves ≈ V·e^−30 ≈ 1e-11 of the mass elsewhere per step.
		if want := maxBits - c.less; math.Abs(bits-want) > 1e-6 {
			t.Errorf("%s: %.6f bits, want %.6f", c.name, bits, want)
		}
	}
}
