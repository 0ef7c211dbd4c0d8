package tasks

import (
	"emlab/internal/rundir"
	"fmt"
	"math/rand/v2"
	"strings"
)

// trace is code understanding: tracing a toy program over single-digit
// variables and giving one variable's final value. Statements, separated
// by ';', are
//
//	set:   a=5           copy: b=a
//	add:   a+=2          (mod 10, so every value stays one digit)
//	if:    if b<5:c=2, if b>a:c=a      (one set or copy as the body)
//	loop:  rep 3:a+=1    (the body, an add, 2–3 times)
//
// With arith=small (the default) an add adds a constant 1–3; arith=full
// allows any constant 1–9 or another variable (a+=b, rep 3:a+=b), which
// makes the task as much modular arithmetic as tracing: calibration found
// a 60k-parameter model tracing sets, copies and ifs but guessing every
// full add (docs/calibration.md).
//
// and the program ends with a query, whose answer is one digit:
//
//	T:a=3;b=a;a+=2;if b<5:c=a;rep 2:b+=1;?b=5
//
// Every variable is assigned before it is read, the first statement is a
// set, and the queried variable has been assigned. Training draws the
// number of statements uniformly in [min_len, len]; evaluation reports
// every length from max(min_len, 2) up to eval_len, and lengths above len
// are never trained
// (every such program is held out), so emergence can be read against
// program length as well as scale. The split key is the program with its
// query; a program of a trained length is held out by its hash.
type trace struct {
	spec                  string
	vars                  string // variable names
	minLen, maxLen, evLen int
	fullArith             bool
	split                 splitter
}

const traceVersion = 2 // 2: arith=small by default

// Statement kinds, as reported in Vars "kind".
const (
	traceSet = iota
	traceCopy
	traceAdd
	traceIf
	traceLoop
)

func init() {
	register(factory{
		name:    "trace",
		summary: "trace a toy program (assignments, copies, if, small loops over single-digit variables); held-out programs and lengths",
		params: []ParamSpec{
			{Name: "vars", Default: "3", Doc: "number of variables (a, b, c, …), 2–6"},
			{Name: "len", Default: "4", Doc: "most statements per program in training, 1–12"},
			{Name: "min_len", Default: "1", Doc: "fewest statements per program in training, 1–len"},
			{Name: "eval_len", Default: "auto", Doc: "longest program evaluated, len–16 and ≥ 2 (auto: len+1); longer than len is never trained"},
			{Name: "arith", Default: "small", Doc: "small (an add adds 1–3) | full (1–9 or another variable)"},
			heldoutParam("0.1"),
		},
		build: newTrace,
	})
}

func newTrace(p *params) (Task, error) {
	t := &trace{}
	nv := p.Int("vars", 2, 6)
	t.maxLen = p.Int("len", 1, 12)
	t.minLen = p.Int("min_len", 1, 12)
	if p.err == nil && t.minLen > t.maxLen {
		p.fail("min_len=%d > len=%d", t.minLen, t.maxLen)
	}
	if p.vals["eval_len"] == "auto" {
		t.evLen = t.maxLen + 1
	} else {
		t.evLen = p.Int("eval_len", 2, 16)
		if p.err == nil && t.evLen < t.maxLen {
			p.fail("eval_len=%d < len=%d", t.evLen, t.maxLen)
		}
	}
	t.fullArith = p.Enum("arith", "small", "full") == "full"
	frac := p.Float("heldout", 0.001, 0.9)
	if p.err != nil {
		return nil, p.err
	}
	t.vars = "abcdef"[:nv]
	t.split = newSplitter("trace", traceVersion, frac)
	t.spec = p.spec()
	return t, nil
}

func (t *trace) Name() string     { return "trace" }
func (t *trace) Version() int     { return traceVersion }
func (t *trace) Spec() string     { return t.spec }
func (t *trace) Alphabet() string { return "T:;?=+<> ifrep0123456789" + t.vars }

// MaxLen: "T:" + eval_len statements of at most 10 characters ("rep 3:a+=b",
// "if a<5:b=2") each followed by ';' + "?a=" + the digit.
func (t *trace) MaxLen() int { return 2 + 11*t.evLen + 4 }

// stmt is one statement. For set, src is the constant; for copy, the
// source variable; for add, the operand (a constant when srcVar is false);
// if: cond variable, comparison op ('<' or '>') against cmp (a constant,
// or a variable when cmpVar), and body (a set or copy); loop: the count
// and body (an add).
type stmt struct {
	kind   int
	dst    int
	src    int
	srcVar bool
	cond   int
	op     byte
	cmp    int
	cmpVar bool
	count  int
	body   *stmt
}

func (t *trace) name(v int) string { return t.vars[v : v+1] }

func (s *stmt) text(t *trace) string {
	operand := func(x int, isVar bool) string {
		if isVar {
			return t.name(x)
		}
		return fmt.Sprint(x)
	}
	switch s.kind {
	case traceSet, traceCopy:
		return t.name(s.dst) + "=" + operand(s.src, s.kind == traceCopy)
	case traceAdd:
		return t.name(s.dst) + "+=" + operand(s.src, s.srcVar)
	case traceIf:
		return "if " + t.name(s.cond) + string(s.op) + operand(s.cmp, s.cmpVar) + ":" + s.body.text(t)
	default:
		return fmt.Sprintf("rep %d:", s.count) + s.body.text(t)
	}
}

// exec runs s on the state (−1 = unassigned) and reports whether it wrote.
func (s *stmt) exec(st []int) bool {
	val := func(x int, isVar bool) int {
		if isVar {
			return st[x]
		}
		return x
	}
	switch s.kind {
	case traceSet:
		st[s.dst] = s.src
	case traceCopy:
		st[s.dst] = st[s.src]
	case traceAdd:
		st[s.dst] = (st[s.dst] + val(s.src, s.srcVar)) % 10
	case traceIf:
		if s.taken(st) {
			return s.body.exec(st)
		}
		return false
	default:
		for range s.count {
			s.body.exec(st)
		}
	}
	return true
}

// program is a drawn program: its statements, the queried variable, and
// the state after each statement.
type program struct {
	stmts  []*stmt
	query  int
	states [][]int
}

func (pr *program) prompt(t *trace) string {
	var b strings.Builder
	b.WriteString("T:")
	for _, s := range pr.stmts {
		b.WriteString(s.text(t))
		b.WriteByte(';')
	}
	b.WriteString("?" + t.name(pr.query) + "=")
	return b.String()
}

func (pr *program) answer() int { return pr.states[len(pr.states)-1][pr.query] }

// randProgram draws a program of n statements. Kinds are uniform over
// those whose operands exist (copy and the variable forms need another
// assigned variable; add, if and loop need an assigned target or
// condition), the first statement is a set.
func (t *trace) randProgram(r *rand.Rand, n int) *program {
	nv := len(t.vars)
	st := make([]int, nv)
	for i := range st {
		st[i] = -1
	}
	pr := &program{}
	assigned := func() []int {
		var out []int
		for v, x := range st {
			if x >= 0 {
				out = append(out, v)
			}
		}
		return out
	}
	other := func(as []int, not int) (int, bool) {
		var c []int
		for _, v := range as {
			if v != not {
				c = append(c, v)
			}
		}
		if len(c) == 0 {
			return 0, false
		}
		return c[r.IntN(len(c))], true
	}
	// simple draws a set or a copy into dst.
	simple := func(as []int, dst int) *stmt {
		if src, ok := other(as, dst); ok && r.IntN(2) == 1 {
			return &stmt{kind: traceCopy, dst: dst, src: src}
		}
		return &stmt{kind: traceSet, dst: dst, src: r.IntN(10)}
	}
	// addTo draws an add into dst (assigned): a constant 1–3, or with
	// full arithmetic 1–9 or another assigned variable.
	addTo := func(as []int, dst int) *stmt {
		if !t.fullArith {
			return &stmt{kind: traceAdd, dst: dst, src: 1 + r.IntN(3)}
		}
		if src, ok := other(as, dst); ok && r.IntN(2) == 1 {
			return &stmt{kind: traceAdd, dst: dst, src: src, srcVar: true}
		}
		return &stmt{kind: traceAdd, dst: dst, src: 1 + r.IntN(9)}
	}
	for i := range n {
		as := assigned()
		var s *stmt
		kind := traceSet
		if i > 0 {
			kind = r.IntN(5)
		}
		switch kind {
		case traceSet, traceCopy:
			dst := r.IntN(nv)
			if src, ok := other(as, dst); ok && kind == traceCopy {
				s = &stmt{kind: traceCopy, dst: dst, src: src}
			} else {
				s = &stmt{kind: traceSet, dst: dst, src: r.IntN(10)}
			}
		case traceAdd:
			s = addTo(as, as[r.IntN(len(as))])
		case traceIf:
			s = &stmt{kind: traceIf, cond: as[r.IntN(len(as))], op: "<>"[r.IntN(2)]}
			if c, ok := other(as, s.cond); ok && r.IntN(2) == 1 {
				s.cmp, s.cmpVar = c, true
			} else {
				s.cmp = 1 + r.IntN(8)
			}
			s.body = simple(as, r.IntN(nv))
		default:
			s = &stmt{kind: traceLoop, count: 2 + r.IntN(2)}
			s.body = addTo(as, as[r.IntN(len(as))])
		}
		s.exec(st)
		pr.stmts = append(pr.stmts, s)
		pr.states = append(pr.states, append([]int(nil), st...))
	}
	as := assigned()
	pr.query = as[r.IntN(len(as))]
	return pr
}

// key is the split key: the program and its query, without the prefix.
func traceKey(prompt string) string {
	return strings.TrimSuffix(strings.TrimPrefix(prompt, "T:"), "=")
}

func (t *trace) heldout(key string, n int) bool {
	if n < t.minLen || n > t.maxLen {
		return true // an untrained length
	}
	return t.split.heldout(key)
}

func (t *trace) Generate(r *rand.Rand) string {
	for range maxTries {
		n := t.minLen + r.IntN(t.maxLen-t.minLen+1)
		pr := t.randProgram(r, n)
		p := pr.prompt(t)
		if !t.heldout(traceKey(p), n) {
			return p + fmt.Sprint(pr.answer())
		}
	}
	panic("tasks: trace: rejection sampling failed") // unreachable for heldout ≤ 0.9
}

// Heldout re-derives the key and the program length (the statements end
// in ';', and no statement contains one) from the text.
func (t *trace) Heldout(doc string) bool {
	q := strings.LastIndex(doc, "?")
	if !strings.HasPrefix(doc, "T:") || q < 0 {
		return false
	}
	eq := strings.Index(doc[q:], "=")
	if eq < 0 {
		return false
	}
	return t.heldout(traceKey(doc[:q+eq+1]), strings.Count(doc[:q], ";"))
}

func (t *trace) variant(n int) string { return fmt.Sprintf("trace/len=%d", n) }

// firstEval is the shortest length evaluated: one-statement programs are
// too few to hold any out (vars·10 in all), so evaluation starts at 2.
func (t *trace) firstEval() int { return max(t.minLen, 2) }

func (t *trace) Variants() []Variant {
	var vs []Variant
	for n := t.firstEval(); n <= t.evLen; n++ {
		vs = append(vs, Variant{Name: t.variant(n), Chance: 0.1, Metrics: []string{rundir.ExactMatch, rundir.LogProb, rundir.Brier, rundir.MCGrade},
			Trained: n <= t.maxLen})
	}
	return vs
}

// Eval items have Choices "0"…"9". Vars: "len" {statements}, "query"
// {variable index}, "answer" {value}; per statement i: "kind" (0 set, 1
// copy, 2 add, 3 if, 4 loop), "end" (offset in Prompt of the ';' that ends
// it, where the state after it is complete), "live" (1 when it can change
// the answer: a dynamic backward slice from the query through data and
// if-conditions) and "val_<name>" (each variable's value after it, −1
// unassigned); "depth" {number of live statements}.
func (t *trace) Eval(seed uint64, n int) []Item {
	var digits []string
	for d := range 10 {
		digits = append(digits, fmt.Sprint(d))
	}
	var out []Item
	for L := t.firstEval(); L <= t.evLen; L++ {
		v := t.variant(L)
		r := evalRNG(seed, t.spec, v)
		out = append(out, collect(n, 50*n+200, func() (Item, bool) {
			pr := t.randProgram(r, L)
			p := pr.prompt(t)
			if !t.heldout(traceKey(p), L) {
				return Item{}, false
			}
			a := pr.answer()
			it := Item{Task: "trace", Variant: v, Key: traceKey(p), Prompt: p, Answer: fmt.Sprint(a), Target: fmt.Sprint(a),
				Choices: digits, Correct: a, Subtask: -1, Vars: t.vars2(pr)}
			return it, true
		})...)
	}
	return out
}

// vars2 computes an item's probe variables (see Eval).
func (t *trace) vars2(pr *program) map[string][]int {
	m := map[string][]int{"len": {len(pr.stmts)}, "query": {pr.query}, "answer": {pr.answer()}}
	off := len("T:")
	for i, s := range pr.stmts {
		off += len(s.text(t))
		m["kind"] = append(m["kind"], s.kind)
		m["end"] = append(m["end"], off)
		off++ // the ';'
		for v := range t.vars {
			m["val_"+t.name(v)] = append(m["val_"+t.name(v)], pr.states[i][v])
		}
	}
	live := pr.slice()
	depth := 0
	for _, l := range live {
		m["live"] = append(m["live"], l)
		depth += l
	}
	m["depth"] = []int{depth}
	return m
}

// slice marks the statements that can change the answer, walking back from
// the query with the set of variables whose values are still needed: a
// statement that writes a needed variable is live; an overwrite (set, copy,
// a taken if) ends the need for its target, and every statement adds what
// it read (operands, an add's own target, an if's condition whether or not
// it was taken).
func (pr *program) slice() []int {
	need := map[int]bool{pr.query: true}
	live := make([]int, len(pr.stmts))
	for i := len(pr.stmts) - 1; i >= 0; i-- {
		s := pr.stmts[i]
		body := s
		if s.kind == traceIf || s.kind == traceLoop {
			body = s.body
		}
		if !need[body.dst] {
			continue
		}
		live[i] = 1
		taken := s.kind != traceIf || s.taken(pr.states[i-1]) // an if is never first
		if taken && (body.kind == traceSet || body.kind == traceCopy) {
			delete(need, body.dst)
		}
		if body.kind == traceCopy || (body.kind == traceAdd && body.srcVar) {
			need[body.src] = true
		}
		if body.kind == traceAdd {
			need[body.dst] = true
		}
		if s.kind == traceIf {
			need[s.cond] = true
			if s.cmpVar {
				need[s.cmp] = true
			}
		}
	}
	return live
}

// taken evaluates an if statement's condition on the state st.
func (s *stmt) taken(st []int) bool {
	c, x := st[s.cond], s.cmp
	if s.cmpVar {
		x = st[s.cmp]
	}
	return (s.op == '<' && c < x) || (s.op == '>' && c > x)
}

func (t *trace) Extract(_ *Item, generated string) string { return strings.TrimSpace(generated) }
