package tasks

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Each test here checks documents and items against an independent
// computation: the text is parsed back and the answer recomputed by other
// means (math/big, a stack, facts collected from the training stream).

func bigSum(a, b string, mul bool) string {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	if mul {
		return new(big.Int).Mul(x, y).String()
	}
	return new(big.Int).Add(x, y).String()
}

var arithRe = regexp.MustCompile(`^([PRSMW]):(\d+)([+*])(\d+)=(.*)$`)

// checkArith verifies one arithmetic document or item text.
func checkArith(t *testing.T, doc string) {
	t.Helper()
	m := arithRe.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("unparsable %q", doc)
	}
	a, b, ans := m[2], m[4], m[5]
	want := bigSum(a, b, m[3] == "*")
	switch m[1] {
	case "P", "M":
		if ans != want {
			t.Fatalf("%q: answer %s, want %s", doc, ans, want)
		}
	case "R":
		if reverse(ans) != want {
			t.Fatalf("%q: reversed answer %s, want %s reversed", doc, ans, want)
		}
	case "S":
		steps, final, ok := strings.Cut(ans, ";")
		if !ok || final != want {
			t.Fatalf("%q: final %q, want %s", doc, final, want)
		}
		carry := 0
		for i, st := range strings.Split(steps, ",") {
			var x, y, c, s int
			if _, err := fmt.Sscanf(st, "%1d+%1d+%1d=%2d", &x, &y, &c, &s); err != nil {
				t.Fatalf("%q: step %q: %v", doc, st, err)
			}
			ai, bi := len(a)-1-i, len(b)-1-i
			if int(a[ai]-'0') != x || int(b[bi]-'0') != y || c != carry || s != x+y+c {
				t.Fatalf("%q: step %d %q inconsistent", doc, i, st)
			}
			carry = s / 10
		}
	case "W":
		parts, final, ok := strings.Cut(ans, ";")
		if !ok || final != want {
			t.Fatalf("%q: final %q, want %s", doc, final, want)
		}
		sum := big.NewInt(0)
		for _, p := range strings.Split(parts, "+") {
			x, _ := new(big.Int).SetString(p, 10)
			sum.Add(sum, x)
		}
		if sum.String() != want {
			t.Fatalf("%q: partial products sum to %s, want %s", doc, sum, want)
		}
	}
}

func TestArithmeticAnswers(t *testing.T) {
	for _, spec := range []string{"add", "add(format=reversed,digits=5,eval_digits=6)", "add(format=scratchpad,digits=4)", "mul", "mul(format=scratchpad,digits=3)"} {
		t.Run(spec, func(t *testing.T) {
			task := mustTask(t, spec)
			for _, d := range genDocs(task, 4, 2000) {
				checkArith(t, d)
			}
			for _, it := range task.Eval(0, 50) {
				checkArith(t, it.Prompt+it.Answer)
				if task.Name() == "add" {
					// Probe variables: digits and carries, least significant first.
					m := arithRe.FindStringSubmatch(it.Prompt + it.Answer)
					sum := bigSum(m[2], m[4], false)
					for i, d := range it.Vars["digits"] {
						if int(sum[len(sum)-1-i]-'0') != d {
							t.Fatalf("%q: Vars digits %v", it.Prompt, it.Vars["digits"])
						}
					}
					a, _ := strconv.Atoi(m[2])
					b, _ := strconv.Atoi(m[4])
					for i, c := range it.Vars["carry"] {
						// Carry out of column i: the sum of the low i+1 digits overflows.
						p := pow10(i + 1)
						if want := (a%p + b%p) / p; c != want {
							t.Fatalf("%q: carry %d = %d, want %d", it.Prompt, i, c, want)
						}
					}
					// Operand digit positions: the character there is the digit.
					for _, op := range []string{"a", "b"} {
						pos, dig := it.Vars[op+"_pos"], it.Vars[op]
						if len(pos) != len(dig) || len(pos) == 0 {
							t.Fatalf("%q: %s_pos %v for digits %v", it.Prompt, op, pos, dig)
						}
						for k, at := range pos {
							if at < 0 || at >= len(it.Prompt) || int(it.Prompt[at]-'0') != dig[k] {
								t.Fatalf("%q: %s_pos[%d] = %d, want the offset of digit %d", it.Prompt, op, k, at, dig[k])
							}
						}
					}
				}
			}
		})
	}
}

func TestAddLengths(t *testing.T) {
	task := mustTask(t, "add(digits=3,min_digits=2,eval_digits=5)")
	for _, d := range genDocs(task, 1, 2000) {
		m := arithRe.FindStringSubmatch(d)
		if n := len(m[2]); n < 2 || n > 3 || len(m[4]) != n {
			t.Fatalf("training document %q has operand lengths outside [2, 3]", d)
		}
	}
	trained := map[string]bool{}
	for _, v := range task.Variants() {
		trained[v.Name] = v.Trained
	}
	want := map[string]bool{"add/plain/1": false, "add/plain/2": true, "add/plain/3": true, "add/plain/4": false, "add/plain/5": false}
	for k, v := range want {
		if trained[k] != v {
			t.Errorf("variant %s trained=%v, want %v", k, trained[k], v)
		}
	}
}

func TestModaddAnswers(t *testing.T) {
	for _, spec := range []string{"modadd(p=113)", "modadd(p=97,enc=digits)"} {
		task := mustTask(t, spec).(*modadd)
		check := func(doc string) {
			rest := strings.TrimPrefix(doc, "Z:")
			lhs, c, _ := strings.Cut(rest, "=")
			as, bs, _ := strings.Cut(lhs, "+")
			a, _ := task.parseNum(as)
			b, _ := task.parseNum(bs)
			cv, ok := task.parseNum(c)
			if !ok || cv != (a+b)%task.p {
				t.Fatalf("%s: %q: answer %d, want %d", spec, doc, cv, (a+b)%task.p)
			}
			// The commuted pair is on the same side of the split.
			if task.Heldout(doc) != task.Heldout("Z:"+bs+"+"+as+"="+c) {
				t.Fatalf("%s: %q and its commuted form are split apart", spec, doc)
			}
		}
		for _, d := range genDocs(task, 1, 3000) {
			check(d)
		}
		ev := task.Eval(0, 1<<30)
		for _, it := range ev {
			check(it.Prompt + it.Answer)
		}
		train := task.TrainItems(0, 1<<30)
		if len(ev)+len(train) != task.p*task.p {
			t.Errorf("%s: %d held-out + %d training pairs != p² = %d", spec, len(ev), len(train), task.p*task.p)
		}
		// The held-out fraction of unordered pairs is 1−train within
		// 4 binomial standard errors.
		frac := float64(len(ev)) / float64(task.p*task.p)
		want := 1 - 0.5
		if strings.Contains(spec, "train=") {
			want = 0.7
		}
		if se := math.Sqrt(want * (1 - want) / float64(task.p*task.p/2)); math.Abs(frac-want) > 4*se {
			t.Errorf("%s: held-out fraction %.3f, want %.3f ± %.3f", spec, frac, want, 4*se)
		}
	}
}

func TestICLAnswers(t *testing.T) {
	task := mustTask(t, "icl(k=8,classes=3)")
	check := func(doc string) {
		body := strings.TrimPrefix(doc, "L:")
		ex, q, _ := strings.Cut(body, "?")
		mapping := map[byte]byte{}
		for i := 0; i+1 < len(ex); i += 2 {
			if l, ok := mapping[ex[i]]; ok && l != ex[i+1] {
				t.Fatalf("%q: input %c has two labels", doc, ex[i])
			}
			mapping[ex[i]] = ex[i+1]
		}
		if len(mapping) > 3 {
			t.Fatalf("%q: more than 3 inputs", doc)
		}
		if l, ok := mapping[q[0]]; len(ex) > 0 && (!ok || l != q[1]) {
			t.Fatalf("%q: query label %c, examples say %c (shown %v)", doc, q[1], l, ok)
		}
	}
	for _, d := range genDocs(task, 1, 3000) {
		check(d)
	}
	for _, it := range task.Eval(0, 50) {
		check(it.Prompt + it.Answer)
		if k := strings.Count(strings.TrimPrefix(it.Prompt, "L:"), "") - 1; (k-2)/2 != it.Vars["k"][0] {
			t.Fatalf("%q: k=%d, prompt shows %d examples", it.Prompt, it.Vars["k"][0], (k-2)/2)
		}
	}
}

func TestInductionAnswers(t *testing.T) {
	task := mustTask(t, "induction")
	for _, it := range task.Eval(0, 100) {
		doc := it.Prompt + it.Answer
		a, b, s := it.Vars["first"][0], it.Vars["second"][0], it.Vars["span"][0]
		if doc[a:a+s] != doc[b:b+s] || b+s != len(doc) || len(it.Answer) != s || b < a+s {
			t.Fatalf("%q: copies at %d and %d of span %d do not match", doc, a, b, s)
		}
		if it.Variant == "induction/repeat" && (a != 2 || s != 31) {
			t.Fatalf("repeat item %q: first=%d span=%d", doc, a, s)
		}
	}
	// Offsets of the first copy vary (a fixed offset lets a 1-layer model
	// solve the task by position).
	offsets := map[int]bool{}
	for _, it := range task.Eval(1, 200) {
		if it.Variant == "induction" {
			offsets[it.Vars["first"][0]] = true
		}
	}
	if len(offsets) < 10 {
		t.Errorf("only %d distinct first-copy offsets in 200 items", len(offsets))
	}
}

func TestMarkovBayes(t *testing.T) {
	task := mustTask(t, "markov(states=3,len=200)").(*markov)
	var bayesNats, uniformNats float64
	count := 0
	for _, it := range task.Eval(0, 40) {
		d := it.Dist
		s := it.Vars["states"]
		if len(d.Bayes) != len(it.Answer) || len(d.True) != len(it.Answer) {
			t.Fatalf("dist lengths %d, %d for %d answer tokens", len(d.Bayes), len(d.True), len(it.Answer))
		}
		for i := 1; i < len(s); i++ {
			// Recount transitions from the prefix, independently.
			var c [3]float64
			var tot float64
			for j := 1; j < i; j++ {
				if s[j-1] == s[i-1] {
					c[s[j]]++
					tot++
				}
			}
			var sum float64
			for x := range 3 {
				want := (c[x] + 1) / (tot + 3)
				if got := d.Bayes[i-1][x]; math.Abs(got-want) > 1e-12 {
					t.Fatalf("position %d symbol %d: Bayes %v, want %v", i, x, got, want)
				}
				sum += d.True[i-1][x]
			}
			// Rows of the chain sum to one up to rounding of 3 terms.
			if math.Abs(sum-1) > 1e-12 {
				t.Fatalf("true row sums to %v", sum)
			}
			bayesNats -= math.Log(d.Bayes[i-1][s[i]])
			uniformNats += math.Log(3)
			count++
		}
	}
	// The Bayes predictor must beat the uniform one on average: with
	// Dirichlet(1) rows the expected entropy rate is ≈ 0.61 nats against
	// ln 3 ≈ 1.10, so at 7960 positions the gap is far outside noise.
	t.Logf("Bayes %.3f nats/token, uniform %.3f", bayesNats/float64(count), uniformNats/float64(count))
	if bayesNats > 0.9*uniformNats {
		t.Errorf("Bayes predictor %.3f nats/token is not clearly below uniform %.3f", bayesNats/float64(count), uniformNats/float64(count))
	}
}

func TestMultihopAnswers(t *testing.T) {
	task := mustTask(t, "multihop(people=12)")
	// Learn the world from the single-fact training documents only.
	facts := map[string]string{}
	for _, d := range genDocs(task, 1, 5000) {
		if rest, ok := strings.CutPrefix(d, "F:"); ok {
			k, v, _ := strings.Cut(rest, "=")
			if old, dup := facts[k]; dup && old != v {
				t.Fatalf("fact %s stated as %s and %s", k, old, v)
			}
			facts[k] = v
		}
	}
	compose := func(key string) (bridge, ans string) {
		parts := strings.Split(key, ".")
		bridge = facts[parts[0]+"."+parts[1]]
		return bridge, facts[bridge+"."+parts[2]]
	}
	for _, it := range task.Eval(0, 100) {
		bridge, want := compose(it.Key)
		if want == "" || it.Target != want || it.Text["bridge"] != bridge {
			t.Fatalf("%s: target %q bridge %q, facts give %q via %q", it.Key, it.Target, it.Text["bridge"], want, bridge)
		}
		if it.Variant == "multihop/cot" && it.Answer != bridge+"."+strings.Split(it.Key, ".")[2]+"="+want {
			t.Fatalf("cot answer %q", it.Answer)
		}
	}
	for _, d := range genDocs(task, 2, 2000) {
		if d[0] == 'F' {
			continue
		}
		key, rest, _ := strings.Cut(d[2:], "=")
		_, want := compose(key)
		if !strings.HasSuffix(rest, "="+want) && rest != want {
			t.Fatalf("training query %q, facts give %q", d, want)
		}
	}
}

func TestParityAnswers(t *testing.T) {
	task := mustTask(t, "parity").(*parity)
	counts := make([]int, task.ntasks)
	for _, d := range genDocs(task, 1, 20000) {
		ti := strings.IndexByte(parityControls, d[2])
		bits, ans, _ := strings.Cut(d[3:], "=")
		x := 0
		for _, i := range task.subsets[ti] {
			x ^= int(bits[i] - '0')
		}
		if ans != strconv.Itoa(x) {
			t.Fatalf("%q: parity %s, want %d", d, ans, x)
		}
		counts[ti]++
	}
	// Zipf frequencies: subtask 0 has share 1/H(20, 1.5) ≈ 0.43; check within
	// 5 binomial standard errors (σ ≈ 0.0035 at 20000 draws).
	if p0 := float64(counts[0]) / 20000; math.Abs(p0-task.Frequency(0)) > 5*0.0035 {
		t.Errorf("subtask 0 share %.3f, want %.3f", p0, task.Frequency(0))
	}
	if counts[0] <= counts[5] || counts[5] <= counts[19] {
		t.Errorf("subtask counts not decreasing: %v", counts)
	}
	for _, it := range task.Eval(0, 20) {
		bits := it.Prompt[3 : len(it.Prompt)-1]
		x := 0
		for _, i := range it.Vars["subset"] {
			x ^= int(bits[i] - '0')
		}
		if it.Correct != x || it.Variant != fmt.Sprintf("parity/t=%02d", it.Subtask) {
			t.Fatalf("item %+v: parity %d", it, x)
		}
	}
}

func TestLongrangeAnswers(t *testing.T) {
	retrieve := mustTask(t, "longrange(gap=16,eval_gap=40)")
	for _, it := range retrieve.Eval(0, 30) {
		doc := it.Prompt + it.Answer
		q := strings.IndexByte(doc, '?')
		key := doc[q+1]
		pairs := doc[2 : 2+2*4]
		i := strings.IndexByte(pairs, key)
		if i < 0 || i%2 != 0 || pairs[i+1] != it.Answer[0] {
			t.Fatalf("%q: answer %s, pairs %s", doc, it.Answer, pairs)
		}
		if gap := q - 10; gap != it.Vars["gap"][0] {
			t.Fatalf("%q: gap %d, Vars %d", doc, gap, it.Vars["gap"][0])
		}
	}
	brackets := mustTask(t, "longrange(mode=brackets,gap=16)")
	match := map[rune]rune{')': '(', ']': '[', '}': '{', '>': '<'}
	check := func(doc string) {
		var stack []rune
		for _, r := range doc[2:] {
			switch r {
			case '(', '[', '{', '<':
				stack = append(stack, r)
			case ')', ']', '}', '>':
				if len(stack) == 0 || stack[len(stack)-1] != match[r] {
					t.Fatalf("%q: unbalanced at %c", doc, r)
				}
				stack = stack[:len(stack)-1]
			}
		}
		if len(stack) != 0 {
			t.Fatalf("%q: %d brackets left open", doc, len(stack))
		}
	}
	for _, d := range genDocs(brackets, 1, 1000) {
		check(d)
	}
	for _, it := range brackets.Eval(0, 30) {
		check(it.Prompt + it.Answer)
	}
}

func TestStoriesMinimalPairs(t *testing.T) {
	task := mustTask(t, "stories")
	plural := map[string]bool{}
	for _, n := range storyNouns {
		plural[n.plur] = true
	}
	agree := regexp.MustCompile(`The (\w+) near the (\w+) (was|were) \w+\.`)
	for _, d := range genDocs(task, 1, 2000) {
		female := strings.Contains(d, "a girl named")
		for _, m := range agree.FindAllStringSubmatch(d, -1) {
			if (m[3] == "were") != plural[m[1]] {
				t.Fatalf("%q: %s … %s", d, m[1], m[3])
			}
		}
		for _, w := range strings.Fields(strings.ReplaceAll(d, ".", "")) {
			wrong := map[bool][]string{true: {"he", "He", "his"}, false: {"she", "She", "her"}}[female]
			for _, x := range wrong {
				if w == x {
					t.Fatalf("%q: pronoun %q for a %s", d, w, map[bool]string{true: "girl", false: "boy"}[female])
				}
			}
		}
	}
	for _, it := range task.Eval(0, 50) {
		right := it.Choices[it.Correct]
		wrong := it.Choices[1-it.Correct]
		if right == wrong {
			t.Fatalf("degenerate pair %+v", it)
		}
		switch it.Variant {
		case "stories/agree/match", "stories/agree/attractor":
			m := agree.FindStringSubmatch(it.Prompt + right)
			if m == nil || (m[3] == "were") != plural[m[1]] {
				t.Fatalf("%q + %q is not agreeing", it.Prompt, right)
			}
			if (plural[m[1]] == plural[m[2]]) != (it.Variant == "stories/agree/match") {
				t.Fatalf("%q: attractor number wrong for %s", it.Prompt, it.Variant)
			}
		default:
			female := strings.Contains(it.Prompt, "a girl named")
			pron := strings.Fields(right)[0]
			if pron != map[bool]string{true: "she", false: "he"}[female] && pron != map[bool]string{true: "her", false: "his"}[female] {
				t.Fatalf("%q + %q: pronoun does not match the character", it.Prompt, right)
			}
		}
	}
}
