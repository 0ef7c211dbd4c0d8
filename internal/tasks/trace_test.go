package tasks

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// traceRun is an interpreter for trace programs written apart from the
// generator: it parses the text with regular expressions and runs it.
// Reading an unassigned variable gives −1 (strict: an error).
type traceRun struct {
	state map[string]int
	kinds []int
	trace []map[string]int // state after each statement
}

var (
	trSet  = regexp.MustCompile(`^([a-f])=([0-9])$`)
	trCopy = regexp.MustCompile(`^([a-f])=([a-f])$`)
	trAdd  = regexp.MustCompile(`^([a-f])\+=([0-9a-f])$`)
	trIf   = regexp.MustCompile(`^if ([a-f])([<>])([0-9a-f]):(.+)$`)
	trRep  = regexp.MustCompile(`^rep ([0-9]):(.+)$`)
	trDoc  = regexp.MustCompile(`^T:(.*);\?([a-f])=([0-9]?)$`)
)

func (tr *traceRun) read(x string, strict bool) (int, error) {
	if x[0] >= '0' && x[0] <= '9' {
		return int(x[0] - '0'), nil
	}
	v, ok := tr.state[x]
	if !ok {
		if strict {
			return 0, fmt.Errorf("%s read before it is assigned", x)
		}
		return -1, nil
	}
	return v, nil
}

// exec runs one statement; kind is 0 set, 1 copy, 2 add, 3 if, 4 loop.
func (tr *traceRun) exec(s string, strict bool) (kind int, err error) {
	var m []string
	switch {
	case trSet.MatchString(s):
		m = trSet.FindStringSubmatch(s)
		tr.state[m[1]] = int(m[2][0] - '0')
		return 0, nil
	case trCopy.MatchString(s):
		m = trCopy.FindStringSubmatch(s)
		v, err := tr.read(m[2], strict)
		tr.state[m[1]] = v
		return 1, err
	case trAdd.MatchString(s):
		m = trAdd.FindStringSubmatch(s)
		a, err1 := tr.read(m[1], strict)
		b, err2 := tr.read(m[2], strict)
		tr.state[m[1]] = (a + b) % 10
		if err1 != nil {
			return 2, err1
		}
		return 2, err2
	case trIf.MatchString(s):
		m = trIf.FindStringSubmatch(s)
		a, err1 := tr.read(m[1], strict)
		b, err2 := tr.read(m[3], strict)
		if err1 != nil || err2 != nil {
			return 3, fmt.Errorf("condition of %q: %v %v", s, err1, err2)
		}
		if (m[2] == "<" && a < b) || (m[2] == ">" && a > b) {
			k, err := tr.exec(m[4], strict)
			if k > 1 {
				return 3, fmt.Errorf("if body %q is not a set or copy", m[4])
			}
			return 3, err
		}
		return 3, nil
	case trRep.MatchString(s):
		m = trRep.FindStringSubmatch(s)
		if !trAdd.MatchString(m[2]) {
			return 4, fmt.Errorf("loop body %q is not an add", m[2])
		}
		for range int(m[1][0] - '0') {
			if _, err := tr.exec(m[2], strict); err != nil {
				return 4, err
			}
		}
		return 4, nil
	}
	return -1, fmt.Errorf("unparsable statement %q", s)
}

// runTrace runs the program of a document or prompt and returns the
// queried value, the run and the statements.
func runTrace(doc string, strict bool) (int, *traceRun, []string, string, error) {
	m := trDoc.FindStringSubmatch(doc)
	if m == nil {
		return 0, nil, nil, "", fmt.Errorf("unparsable program %q", doc)
	}
	tr := &traceRun{state: map[string]int{}}
	stmts := strings.Split(m[1], ";")
	for _, s := range stmts {
		k, err := tr.exec(s, strict)
		if err != nil {
			return 0, nil, nil, "", fmt.Errorf("%q: %w", doc, err)
		}
		tr.kinds = append(tr.kinds, k)
		snap := map[string]int{}
		for k, v := range tr.state {
			snap[k] = v
		}
		tr.trace = append(tr.trace, snap)
	}
	v, err := tr.read(m[2], strict)
	return v, tr, stmts, m[2], err
}

func TestTraceAnswers(t *testing.T) {
	for _, spec := range []string{"trace", "trace(vars=2,len=6,min_len=3,eval_len=8,arith=full)", "trace(vars=6,len=8,eval_len=10)"} {
		t.Run(spec, func(t *testing.T) {
			task := mustTask(t, spec).(*trace)
			kinds := map[int]int{}
			for _, d := range genDocs(task, 4, 2000) {
				v, tr, stmts, _, err := runTrace(d, true)
				if err != nil {
					t.Fatal(err)
				}
				if want := d[len(d)-1:]; fmt.Sprint(v) != want {
					t.Fatalf("%q: the program gives %d", d, v)
				}
				if n := len(stmts); n < task.minLen || n > task.maxLen {
					t.Fatalf("%q: %d statements, training lengths are %d…%d", d, n, task.minLen, task.maxLen)
				}
				for _, k := range tr.kinds {
					kinds[k]++
				}
				if !task.fullArith && regexp.MustCompile(`\+=[^123]`).MatchString(d) {
					t.Fatalf("%q: an add beyond 1–3 with arith=small", d)
				}
			}
			// Every statement kind occurs (set, copy, add, if, loop).
			for k := range 5 {
				if kinds[k] == 0 {
					t.Errorf("statement kind %d never generated (%v)", k, kinds)
				}
			}
			for _, it := range task.Eval(0, 40) {
				checkTraceItem(t, task, it)
			}
		})
	}
}

func checkTraceItem(t *testing.T, task *trace, it Item) {
	t.Helper()
	v, tr, stmts, q, err := runTrace(it.Prompt+it.Answer, true)
	if err != nil {
		t.Fatal(err)
	}
	if it.Answer != fmt.Sprint(v) || it.Correct != v || it.Choices[v] != it.Answer {
		t.Fatalf("%q: answer %q (choice %d), the program gives %d", it.Prompt, it.Answer, it.Correct, v)
	}
	L := len(stmts)
	if it.Variant != fmt.Sprintf("trace/len=%d", L) || it.Vars["len"][0] != L {
		t.Fatalf("%q: variant %s, len %v, has %d statements", it.Prompt, it.Variant, it.Vars["len"], L)
	}
	if task.vars[it.Vars["query"][0]:it.Vars["query"][0]+1] != q || it.Vars["answer"][0] != v {
		t.Fatalf("%q: query %v answer %v", it.Prompt, it.Vars["query"], it.Vars["answer"])
	}
	depth := 0
	for i := range L {
		if e := it.Vars["end"][i]; it.Prompt[e] != ';' || strings.Count(it.Prompt[:e], ";") != i {
			t.Fatalf("%q: end of statement %d at %d", it.Prompt, i, e)
		}
		if it.Vars["kind"][i] != tr.kinds[i] {
			t.Fatalf("%q: statement %d kind %d, want %d", it.Prompt, i, it.Vars["kind"][i], tr.kinds[i])
		}
		for j := range len(task.vars) {
			name := task.vars[j : j+1]
			want, ok := tr.trace[i][name]
			if !ok {
				want = -1
			}
			if got := it.Vars["val_"+name][i]; got != want {
				t.Fatalf("%q: %s after statement %d = %d, want %d", it.Prompt, name, i, got, want)
			}
		}
		depth += it.Vars["live"][i]
		// A statement outside the slice can be deleted without changing
		// the answer (reading what it no longer assigns gives −1).
		if it.Vars["live"][i] == 0 {
			rest := append(append([]string{}, stmts[:i]...), stmts[i+1:]...)
			doc := "T:" + strings.Join(rest, ";") + ";?" + q + "="
			if L == 1 {
				continue
			}
			if w, _, _, _, err := runTrace(doc, false); err != nil || w != v {
				t.Fatalf("%q: statement %d (%s) is not live, but without it the answer is %d (%v)", it.Prompt, i, stmts[i], w, err)
			}
		}
	}
	if it.Vars["depth"][0] != depth || depth < 1 {
		t.Fatalf("%q: depth %v, live %v", it.Prompt, it.Vars["depth"], it.Vars["live"])
	}
}

// TestTraceLengths: training never shows a length above len; the variants
// above it are marked untrained and every one of their items is held out.
func TestTraceLengths(t *testing.T) {
	task := mustTask(t, "trace(len=3,min_len=2,eval_len=5)")
	want := map[string]bool{"trace/len=2": true, "trace/len=3": true, "trace/len=4": false, "trace/len=5": false}
	if len(task.Variants()) != len(want) {
		t.Fatalf("variants %v", task.Variants())
	}
	for _, v := range task.Variants() {
		if tr, ok := want[v.Name]; !ok || v.Trained != tr {
			t.Errorf("variant %s trained=%v", v.Name, v.Trained)
		}
	}
	for _, it := range task.Eval(0, 20) {
		if n := strings.Count(it.Prompt, ";"); n > 3 && !task.Heldout(it.Prompt+it.Answer) {
			t.Fatalf("untrained length %d not held out: %q", n, it.Prompt)
		}
	}
}

// TestTraceSplitExhaustive enumerates every one-statement program of two
// variables (x=k;?x=k, 20 in all): each is either generated for training or
// held out, never both.
func TestTraceSplitExhaustive(t *testing.T) {
	task := mustTask(t, "trace(vars=2,len=1,heldout=0.3)")
	seen := map[string]bool{}
	for _, d := range genDocs(task, 3, 3000) {
		seen[d] = true
	}
	held := 0
	for _, x := range "ab" {
		for k := range 10 {
			d := fmt.Sprintf("T:%c=%d;?%c=%d", x, k, x, k)
			h := task.Heldout(d)
			if h && seen[d] {
				t.Fatalf("held-out %q was generated", d)
			}
			if !h && !seen[d] {
				t.Fatalf("training program %q never generated in 3000 documents", d)
			}
			if h {
				held++
			}
		}
	}
	if len(seen)+held != 20 {
		t.Errorf("%d generated + %d held out, want all 20 programs", len(seen), held)
	}
	t.Logf("%d training, %d held-out programs", len(seen), held)
}

// TestTraceDocExample: the example in the documentation is a valid program
// with the answer it shows.
func TestTraceDocExample(t *testing.T) {
	const doc = "T:a=3;b=a;a+=2;if b<5:c=a;rep 2:b+=1;?b=5"
	v, _, _, _, err := runTrace(doc, true)
	if err != nil || v != 5 {
		t.Fatalf("%q gives %d (%v), want 5", doc, v, err)
	}
}
