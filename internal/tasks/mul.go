package tasks

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"emlab/internal/rundir"
)

// mul is n-digit × n-digit multiplication (n = 2 by default), plain or with
// a scratchpad of partial products, one per digit of the second operand
// (least significant first), shifted, summed after the last partial:
//
//	plain:      M:12*34=408
//	scratchpad: W:12*34=48+360;408
type mul struct {
	spec     string
	format   string
	digits   int
	distinct int
	split    splitter
}

const mulVersion = 1

var mulPrefix = map[string]string{"plain": "M:", "scratchpad": "W:"}

func init() {
	register(factory{
		name:    "mul",
		summary: "n-digit × n-digit multiplication, plain or with partial products; held-out pairs",
		params: []ParamSpec{
			{Name: "digits", Default: "2", Doc: "operand length, 1–3"},
			{Name: "format", Default: "plain", Doc: "plain | scratchpad"},
			heldoutParam("0.1"),
		},
		build: newMul,
	})
}

func newMul(p *params) (Task, error) {
	t := &mul{}
	t.digits = p.Int("digits", 1, 3)
	t.format = p.Enum("format", "plain", "scratchpad")
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("mul", mulVersion, frac)
	t.spec = p.spec()
	// Chance: one over the number of distinct products of two n-digit
	// numbers (counted exactly: products repeat, so the range overstates it).
	lo, hi := 0, pow10(t.digits)-1
	if t.digits > 1 {
		lo = pow10(t.digits - 1)
	}
	seen := map[int]bool{}
	for a := lo; a <= hi; a++ {
		for b := a; b <= hi; b++ {
			seen[a*b] = true
		}
	}
	t.distinct = len(seen)
	return t, nil
}

func (t *mul) Name() string     { return "mul" }
func (t *mul) Version() int     { return mulVersion }
func (t *mul) Spec() string     { return t.spec }
func (t *mul) Alphabet() string { return "0123456789*=+;" + mulPrefix[t.format] }
func (t *mul) MaxLen() int {
	x := pow10(t.digits) - 1
	return len(t.doc(x, x))
}

func (t *mul) Generate(r *rand.Rand) string {
	for range maxTries {
		a, b := randOperand(r, t.digits), randOperand(r, t.digits)
		if !t.split.heldout(pairKey("*", a, b)) {
			return t.doc(a, b)
		}
	}
	panic("tasks: mul: rejection sampling failed")
}

func (t *mul) doc(a, b int) string {
	return mulPrefix[t.format] + strconv.Itoa(a) + "*" + strconv.Itoa(b) + "=" + t.answer(a, b)
}

func (t *mul) answer(a, b int) string {
	prod := strconv.Itoa(a * b)
	if t.format == "plain" {
		return prod
	}
	var parts []string
	for i := range t.digits {
		parts = append(parts, strconv.Itoa(a*digitAt(b, i)*pow10(i)))
	}
	return strings.Join(parts, "+") + ";" + prod
}

func (t *mul) Heldout(doc string) bool {
	a, b, ok := parseBinary(doc, mulPrefix[t.format], "*")
	return ok && t.split.heldout(pairKey("*", a, b))
}

func (t *mul) Variants() []Variant {
	return []Variant{{
		Name:     fmt.Sprintf("mul/%s/%d", t.format, t.digits),
		Chance:   1 / float64(t.distinct),
		Metrics:  []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.EditDistance, rundir.LogProb},
		Generate: t.format == "scratchpad",
		Trained:  true,
	}}
}

// Eval items carry Vars "digits": the product's digits, least significant first.
func (t *mul) Eval(seed uint64, n int) []Item {
	return t.sample(seed, t.Variants()[0].Name, n, true)
}

// TrainItems returns up to n pairs from the training side of the split as
// items (variant "mul/FORMAT/D/train"), for the train/held-out gap. They
// are NOT held out: report them apart.
func (t *mul) TrainItems(seed uint64, n int) []Item {
	return t.sample(seed, t.Variants()[0].Name+"/train", n, false)
}

// sample draws up to n distinct items of variant v from the held-out side
// of the split (heldout) or from the training side.
func (t *mul) sample(seed uint64, v string, n int, heldout bool) []Item {
	r := evalRNG(seed, t.spec, v)
	return collect(n, 50*n+200, func() (Item, bool) {
		a, b := randOperand(r, t.digits), randOperand(r, t.digits)
		if t.split.heldout(pairKey("*", a, b)) != heldout {
			return Item{}, false
		}
		doc := t.doc(a, b)
		i := strings.Index(doc, "=")
		it := Item{Task: "mul", Variant: v, Key: pairKey("*", a, b), Prompt: doc[:i+1], Answer: doc[i+1:], Subtask: -1,
			Target: strconv.Itoa(a * b), Vars: map[string][]int{}}
		for k := range len(it.Target) {
			it.Vars["digits"] = append(it.Vars["digits"], digitAt(a*b, k))
		}
		return it, true
	})
}

func (t *mul) Extract(_ *Item, generated string) string {
	return extractAfter(generated, t.format == "scratchpad", ";")
}
