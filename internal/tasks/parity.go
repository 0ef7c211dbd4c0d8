package tasks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"emlab/internal/data"
	"emlab/internal/rundir"
)

// parity is multitask sparse parity (Michaud et al. 2023, "The quantization
// model of neural scaling"): a control character picks one of `tasks` fixed
// subsets of k among n bit positions, and the answer is the parity of those
// bits. Subtask i is drawn with probability ∝ (i+1)^−alpha (Zipf), so a
// growing model learns the subtasks in order of frequency ("quanta").
//
//	B:Cb0110…1=1      control "b" = subtask 1, n bits, '=' and the parity
//
// The subsets are fixed by the `subsets` seed, not the run seed. Evaluation
// draws subtasks uniformly and reports one variant per subtask.
type parity struct {
	spec         string
	n, k, ntasks int
	alpha        float64
	subsets      [][]int
	cum          []float64
	split        splitter
	answerLoss   bool // loss=answer: only "=" → parity and parity → separator are scored (AnswerLoss)
}

const parityVersion = 1

// parityControls are the control characters, subtask i → parityControls[i].
const parityControls = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func init() {
	register(factory{
		name:    "parity",
		summary: "multitask sparse parity with Zipf subtask frequencies (Michaud et al. 2023); scored per subtask",
		params: []ParamSpec{
			{Name: "n", Default: "32", Doc: "bits per input, 1–64"},
			{Name: "k", Default: "3", Doc: "bits per subset, 1–n"},
			{Name: "tasks", Default: "20", Doc: "number of subtasks, 1–52 (at most C(n,k))"},
			{Name: "alpha", Default: "1.5", Doc: "Zipf exponent of the subtask frequencies, in [0, 5]"},
			{Name: "subsets", Default: "0", Doc: "seed of the subsets"},
			heldoutParam("0.05"),
			{Name: "loss", Default: "all", Doc: "all (every document token in the training loss) | answer (only the parity: the n random bits' irreducible loss left out, as in Michaud et al. 2023)"},
		},
		build: newParity,
	})
}

// binom is C(n, k), saturating at 1e18.
func binom(n, k int) float64 {
	c := 1.0
	for i := 0; i < k; i++ {
		c = c * float64(n-i) / float64(i+1)
		if c > 1e18 {
			return 1e18
		}
	}
	return c
}

func newParity(p *params) (Task, error) {
	t := &parity{}
	t.n = p.Int("n", 1, 64)
	t.k = p.Int("k", 1, 64)
	t.ntasks = p.Int("tasks", 1, len(parityControls))
	t.alpha = p.Float("alpha", 0, 5)
	seed := p.Uint64("subsets")
	frac := p.Float("heldout", 0.001, 0.9)
	t.answerLoss = p.Enum("loss", "all", "answer") == "answer"
	if p.err == nil && t.k > t.n {
		p.fail("k=%d > n=%d", t.k, t.n)
	}
	if p.err == nil && float64(t.ntasks) > math.Round(binom(t.n, t.k)) {
		p.fail("tasks=%d > C(n=%d, k=%d)=%v distinct subsets", t.ntasks, t.n, t.k, binom(t.n, t.k))
	}
	if p.err != nil {
		return nil, p.err
	}
	r := data.RNG(seed, "tasks/parity/subsets")
	seen := map[string]bool{}
	for len(t.subsets) < t.ntasks {
		s := r.Perm(t.n)[:t.k]
		sort.Ints(s)
		key := fmt.Sprint(s)
		if !seen[key] {
			seen[key] = true
			t.subsets = append(t.subsets, s)
		}
	}
	var z float64
	for i := range t.ntasks {
		z += math.Pow(float64(i+1), -t.alpha)
		t.cum = append(t.cum, z)
	}
	for i := range t.cum {
		t.cum[i] /= z
	}
	t.split = newSplitter("parity", parityVersion, frac)
	t.spec = p.spec()
	if t.n <= 12 {
		// Small input spaces: every subtask needs a training prompt, or
		// Generate could never return one.
		for task := range t.ntasks {
			ok := false
			for x := 0; x < 1<<t.n && !ok; x++ {
				b := []byte{'B', ':', parityControls[task]}
				for i := range t.n {
					b = append(b, byte('0'+(x>>i)&1))
				}
				ok = !t.split.heldout(string(append(b, '=')))
			}
			if !ok {
				return nil, fmt.Errorf("task parity: with n=%d every input of subtask %d is held out; raise n or lower heldout", t.n, task)
			}
		}
	}
	return t, nil
}

func (t *parity) Name() string     { return "parity" }
func (t *parity) Version() int     { return parityVersion }
func (t *parity) Spec() string     { return t.spec }
func (t *parity) Alphabet() string { return "B:=01" + parityControls[:t.ntasks] }
func (t *parity) MaxLen() int      { return 2 + 1 + t.n + 2 }

// Subsets returns the bit positions of each subtask (do not modify).
func (t *parity) Subsets() [][]int { return t.subsets }

// Frequency returns the probability of subtask i in training.
func (t *parity) Frequency(i int) float64 {
	if i == 0 {
		return t.cum[0]
	}
	return t.cum[i] - t.cum[i-1]
}

// bitPositions are the offsets of the data bits in a prompt: after "B:"
// and the control character.
func (t *parity) bitPositions() []int {
	pos := make([]int, t.n)
	for i := range pos {
		pos[i] = len("B:c") + i
	}
	return pos
}

func (t *parity) draw(r *rand.Rand, task int) (prompt string, bit int) {
	b := make([]byte, 0, t.MaxLen())
	b = append(b, 'B', ':', parityControls[task])
	bits := make([]byte, t.n)
	for i := range bits {
		bits[i] = byte('0' + r.IntN(2))
	}
	b = append(b, bits...)
	for _, i := range t.subsets[task] {
		bit ^= int(bits[i] - '0')
	}
	return string(append(b, '=')), bit
}

func (t *parity) Generate(r *rand.Rand) string {
	u := r.Float64()
	task := sort.SearchFloat64s(t.cum, u)
	if task >= t.ntasks {
		task = t.ntasks - 1
	}
	for range maxTries {
		prompt, bit := t.draw(r, task)
		if !t.split.heldout(prompt) {
			return prompt + string(rune('0'+bit))
		}
	}
	panic("tasks: parity: rejection sampling failed")
}

// PromptLen implements AnswerLoss: with loss=answer, the characters up to
// and including "="; with loss=all, 0 (every token scored).
func (t *parity) PromptLen(doc string) int {
	if !t.answerLoss {
		return 0
	}
	return promptThroughEquals(doc)
}

// Heldout splits on the prompt (control and bits).
func (t *parity) Heldout(doc string) bool {
	i := strings.IndexByte(doc, '=')
	return i >= 0 && t.split.heldout(doc[:i+1])
}

func (t *parity) variant(i int) string { return fmt.Sprintf("parity/t=%02d", i) }

func (t *parity) Variants() []Variant {
	var vs []Variant
	for i := range t.ntasks {
		vs = append(vs, Variant{Name: t.variant(i), Chance: 0.5,
			Metrics: []string{rundir.ExactMatch, rundir.LogProb, rundir.Brier, rundir.MCGrade}, Trained: true})
	}
	return vs
}

// Eval items: Choices "0", "1"; Subtask is the subtask index; Vars "subset"
// its bit positions (indices into the data bits) and "bit_pos" the offset
// in Prompt of each data bit (one character, so one token, each).
func (t *parity) Eval(seed uint64, n int) []Item {
	var out []Item
	for task := range t.ntasks {
		v := t.variant(task)
		r := evalRNG(seed, t.spec, v)
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			prompt, bit := t.draw(r, task)
			if !t.split.heldout(prompt) {
				return Item{}, false
			}
			ans := string(rune('0' + bit))
			return Item{Task: "parity", Variant: v, Key: prompt, Prompt: prompt, Answer: ans, Target: ans,
				Choices: []string{"0", "1"}, Correct: bit, Subtask: task,
				Vars: map[string][]int{"subset": t.subsets[task], "bit_pos": t.bitPositions()}}, true
		})...)
	}
	return out
}

func (t *parity) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
