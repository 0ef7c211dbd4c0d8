package tasks

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"emlab/internal/rundir"
)

// add is n-digit addition in three formats. Both operands have exactly n
// digits (no leading zero unless n = 1); training draws n uniformly from
// [min_digits, digits]; evaluation also covers the untrained lengths
// digits+1 … eval_digits (length generalisation).
//
//	plain:      P:123+456=579
//	reversed:   R:123+456=975            (answer least significant digit first)
//	scratchpad: S:123+456=3+6+0=09,2+5+0=07,1+4+0=05;579
//
// The scratchpad, after Nye et al. 2021 ("Show your work"), writes one
// column per step, least significant first: a_i+b_i+carry_in=two-digit
// column sum (its first digit is the carry out); the final answer follows
// ';' and is what Extract returns.
//
// Robustness (perturb=spaces+zeros): the same held-out items with spaces
// around the operands (P: 12 +34=) or leading zeros (P:012+0034=), which
// keep the sum; training never shows either. A space is moreover a
// character no training document holds (its embedding is never trained),
// so spaces is an out-of-vocabulary probe (Variant.OutOfVocab); zeros
// uses trained characters, in places training never puts them.
type add struct {
	spec, evalSpec         string
	format                 string
	minDigits, digits, max int
	perturb                []string
	split                  splitter
}

const addVersion = 1

var addPrefix = map[string]string{"plain": "P:", "reversed": "R:", "scratchpad": "S:"}

func init() {
	register(factory{
		name:    "add",
		summary: "n-digit addition: plain, reversed answer, or scratchpad (Nye et al. 2021); held-out pairs and lengths",
		params: []ParamSpec{
			{Name: "digits", Default: "2", Doc: "largest operand length in training, 1–5"},
			{Name: "min_digits", Default: "1", Doc: "smallest operand length in training, 1–digits"},
			{Name: "eval_digits", Default: "auto", Doc: "largest operand length evaluated, digits–6 (auto: digits+1, at most 6); lengths above digits are never trained"},
			{Name: "format", Default: "plain", Doc: "plain | reversed | scratchpad"},
			heldoutParam("0.1"),
			perturbParam(addPerturbations...),
		},
		build: newAdd,
	})
}

func newAdd(p *params) (Task, error) {
	t := &add{}
	t.digits = p.Int("digits", 1, 5)
	t.minDigits = p.Int("min_digits", 1, 5)
	if p.err == nil && t.minDigits > t.digits {
		p.fail("min_digits=%d > digits=%d", t.minDigits, t.digits)
	}
	if p.vals["eval_digits"] == "auto" {
		t.max = min(t.digits+1, 6)
	} else {
		t.max = p.Int("eval_digits", 1, 6)
		if p.err == nil && t.max < t.digits {
			p.fail("eval_digits=%d < digits=%d", t.max, t.digits)
		}
	}
	t.format = p.Enum("format", "plain", "reversed", "scratchpad")
	frac := p.Float("heldout", 0.001, 0.9)
	t.perturb = p.perturbations(addPerturbations...)
	if p.err != nil {
		return nil, p.err
	}
	t.split = newSplitter("add", addVersion, frac)
	t.spec, t.evalSpec = p.spec(), p.specOmitting("perturb")
	if len(t.perturb) == 0 {
		t.spec = t.evalSpec
	}
	return t, nil
}

// addPerturbations: spaces around the operands, leading zeros.
var addPerturbations = []string{"spaces", "zeros"}

func (t *add) Name() string { return "add" }
func (t *add) Version() int { return addVersion }
func (t *add) Spec() string { return t.spec }
func (t *add) Alphabet() string {
	a := "0123456789+=,;" + addPrefix[t.format]
	if slices.Contains(t.perturb, "spaces") {
		a += " "
	}
	return a
}

// MaxLen is the length of the longest evaluated document (eval_digits),
// and 4 more with perturbations (at most 4 spaces, or 2 zeros per operand).
func (t *add) MaxLen() int {
	n := len(t.format2(t.max, pow10(t.max)-1, pow10(t.max)-1))
	if len(t.perturb) > 0 {
		n += 4
	}
	return n
}

// randOperand draws a uniform n-digit number.
func randOperand(r *rand.Rand, n int) int {
	if n == 1 {
		return r.IntN(10)
	}
	lo := pow10(n - 1)
	return lo + r.IntN(9*lo)
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// pairKey is the split key of an unordered operand pair, so a+b and b+a are
// on the same side (otherwise commutativity leaks the held-out answers).
func pairKey(op string, a, b int) string {
	if a > b {
		a, b = b, a
	}
	return strconv.Itoa(a) + op + strconv.Itoa(b)
}

func (t *add) heldoutPair(n, a, b int) bool {
	if n < t.minDigits || n > t.digits {
		return true // an untrained length: every pair is held out
	}
	return t.split.heldout(pairKey("+", a, b))
}

func (t *add) Generate(r *rand.Rand) string {
	for range maxTries {
		n := t.minDigits + r.IntN(t.digits-t.minDigits+1)
		a, b := randOperand(r, n), randOperand(r, n)
		if !t.heldoutPair(n, a, b) {
			return t.format2(n, a, b)
		}
	}
	panic("tasks: add: rejection sampling failed") // unreachable for heldout ≤ 0.9
}

// format2 writes the document of a+b (operands of n digits).
func (t *add) format2(n, a, b int) string {
	return addPrefix[t.format] + strconv.Itoa(a) + "+" + strconv.Itoa(b) + "=" + t.answer(n, a, b)
}

// answer is the text after '=' (with the scratchpad, if any).
func (t *add) answer(n, a, b int) string {
	sum := strconv.Itoa(a + b)
	switch t.format {
	case "reversed":
		return reverse(sum)
	case "scratchpad":
		var sb strings.Builder
		carry := 0
		for i := range n {
			da, db := digitAt(a, i), digitAt(b, i)
			s := da + db + carry
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%d+%d+%d=%d%d", da, db, carry, s/10, s%10)
			carry = s / 10
		}
		sb.WriteByte(';')
		sb.WriteString(sum)
		return sb.String()
	}
	return sum
}

func digitAt(x, i int) int { return x / pow10(i) % 10 }

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// parseBinary parses "<prefix>a<op>b=..." into a and b.
func parseBinary(doc, prefix, op string) (a, b int, ok bool) {
	rest, found := strings.CutPrefix(doc, prefix)
	if !found {
		return 0, 0, false
	}
	lhs, _, found := strings.Cut(rest, "=")
	if !found {
		return 0, 0, false
	}
	as, bs, found := strings.Cut(lhs, op)
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(as)
	b, err2 := strconv.Atoi(bs)
	return a, b, err1 == nil && err2 == nil
}

// Heldout parses a perturbed prompt too (spaces removed; leading zeros
// do not change a number or its length).
func (t *add) Heldout(doc string) bool {
	a, b, ok := parseBinary(strings.ReplaceAll(doc, " ", ""), addPrefix[t.format], "+")
	if !ok {
		return false
	}
	return t.heldoutPair(len(strconv.Itoa(a)), a, b)
}

func (t *add) variant(n int) string { return fmt.Sprintf("add/%s/%d", t.format, n) }

func (t *add) Variants() []Variant {
	var vs []Variant
	for n := 1; n <= t.max; n++ {
		v := Variant{
			Name:     t.variant(n),
			Chance:   1 / float64(distinctSums(n)),
			Metrics:  []string{rundir.ExactMatch, rundir.TokenAccuracy, rundir.EditDistance, rundir.LogProb},
			Generate: t.format == "scratchpad",
			Trained:  n >= t.minDigits && n <= t.digits,
		}
		// Neither spaces nor leading zeros occur in training; a space is
		// not even a character of add's training documents (zeros are).
		vs = append(append(vs, v), perturbedOf(v, t.perturb, func(string) bool { return false }, func(p string) bool { return p == "spaces" })...)
	}
	return vs
}

// distinctSums counts the possible sums of two n-digit numbers: a model
// that knows only the format and guesses uniformly among them is right
// with probability 1/distinctSums.
func distinctSums(n int) int {
	lo := 0
	if n > 1 {
		lo = pow10(n - 1)
	}
	hi := pow10(n) - 1
	return 2*hi - 2*lo + 1
}

func (t *add) Eval(seed uint64, n int) []Item {
	var out []Item
	for d := 1; d <= t.max; d++ {
		v := t.variant(d)
		r := evalRNG(seed, t.evalSpec, v)
		clean := collect(n, 50*n+200, func() (Item, bool) {
			a, b := randOperand(r, d), randOperand(r, d)
			if !t.heldoutPair(d, a, b) {
				return Item{}, false
			}
			return t.item(v, d, a, b), true
		})
		out = append(out, clean...)
		for _, p := range t.perturb {
			out = append(out, perturbItems(seed, t.evalSpec, clean, p, func(r *rand.Rand, it *Item) (string, bool) {
				return perturbAddPrompt(r, it.Prompt, p), true
			})...)
		}
	}
	return out
}

// perturbAddPrompt perturbs "X:a+b=": spaces inserts a space at a random
// non-empty subset of the four places around the operands ("X: a +b ="),
// zeros prepends 0–2 zeros to each operand (at least one in all).
func perturbAddPrompt(r *rand.Rand, prompt, pert string) string {
	plus, eq := strings.IndexByte(prompt, '+'), strings.LastIndexByte(prompt, '=')
	if pert == "spaces" {
		return insertSpaces(prompt, randomSubset(r, []int{2, plus, plus + 1, eq}, 0))
	}
	za, zb := 0, 0
	for za+zb == 0 {
		za, zb = r.IntN(3), r.IntN(3)
	}
	return prompt[:2] + strings.Repeat("0", za) + prompt[2:plus+1] + strings.Repeat("0", zb) + prompt[plus+1:]
}

// TrainItems returns up to n pairs per trained length from the training
// side of the split (variants "add/FORMAT/D/train"), for the gap between
// memorised and held-out items. They are NOT held out: report them apart.
func (t *add) TrainItems(seed uint64, n int) []Item {
	var out []Item
	for d := t.minDigits; d <= t.digits; d++ {
		v := t.variant(d) + "/train"
		r := evalRNG(seed, t.evalSpec, v)
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			a, b := randOperand(r, d), randOperand(r, d)
			if t.heldoutPair(d, a, b) {
				return Item{}, false
			}
			return t.item(v, d, a, b), true
		})...)
	}
	return out
}

// item builds the evaluation item of a+b. Vars: "a", "b" operand digits and
// "digits" answer digits, all least significant first; "carry" the carry
// out of each column; "a_pos", "b_pos" the offset in Prompt of each
// operand digit (least significant first), where a probe reads the digit
// as the current token.
func (t *add) item(v string, n, a, b int) Item {
	doc := t.format2(n, a, b)
	i := strings.Index(doc, "=")
	sum := a + b
	it := Item{Task: "add", Variant: v, Key: pairKey("+", a, b), Prompt: doc[:i+1], Answer: doc[i+1:], Subtask: -1,
		Vars: map[string][]int{}}
	it.Target = it.Answer
	if t.format == "scratchpad" {
		it.Target = strconv.Itoa(sum)
	}
	carry := 0
	aEnd := len(addPrefix[t.format]) + n - 1 // offset of a's last digit
	bEnd := aEnd + 1 + n                     // of b's, after the '+'
	for k := range n {
		s := digitAt(a, k) + digitAt(b, k) + carry
		carry = s / 10
		it.Vars["a"] = append(it.Vars["a"], digitAt(a, k))
		it.Vars["b"] = append(it.Vars["b"], digitAt(b, k))
		it.Vars["carry"] = append(it.Vars["carry"], carry)
		it.Vars["a_pos"] = append(it.Vars["a_pos"], aEnd-k)
		it.Vars["b_pos"] = append(it.Vars["b_pos"], bEnd-k)
	}
	for k := range len(strconv.Itoa(sum)) {
		it.Vars["digits"] = append(it.Vars["digits"], digitAt(sum, k))
	}
	return it
}

// Extract returns the text after the last ';' for the scratchpad, and the
// whole generation otherwise.
func (t *add) Extract(_ *Item, generated string) string {
	return extractAfter(generated, t.format == "scratchpad", ";")
}

func extractAfter(generated string, scratch bool, marker string) string {
	g := strings.TrimSpace(generated)
	if scratch {
		i := strings.LastIndex(g, marker)
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(g[i+len(marker):])
	}
	return g
}
