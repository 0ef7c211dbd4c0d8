package tasks

import (
	"strings"
	"testing"

	"emlab/internal/data"
)

// TestAnswerLoss checks which targets a modadd window scores: with
// loss=answer exactly "=" → c and c → separator of each document, with
// loss=all every document token, and that the mask leaves the tokens and
// the other task's targets untouched.
func TestAnswerLoss(t *testing.T) {
	const B, T = 16, 32
	cases := []struct {
		name string
		spec string
		// scoredPerDoc is how many targets of one document carry loss
		// (modadd Z:a+b=c: 7 tokens; 7 means every one).
		scoredPerDoc int
	}{
		{"answer", "modadd(p=53,enc=token,loss=answer)", 2},
		{"all", "modadd(p=53,enc=token)", 7},
		{"answer-digits", "modadd(p=97,enc=digits,loss=answer)", -1}, // answer length varies; checked per document
		{"parity-answer", "parity(n=8,k=3,tasks=4,loss=answer)", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewStream(c.spec, data.MixtureConfig{Seed: 5, NCtx: T, Slot: 8})
			if err != nil {
				t.Fatal(err)
			}
			tokens, targets := make([]int32, B*T), make([]int32, B*T)
			s.Batch(3, B, T, tokens, targets)
			// The unmasked mixture gives the same tokens and a superset of
			// the scored targets.
			for b := range B {
				tok, tgt := tokens[b*T:(b+1)*T], targets[b*T:(b+1)*T]
				rawTok, rawTgt := make([]int32, T), make([]int32, T)
				placed := s.Window(3, b, T, rawTok, rawTgt)
				if len(placed) == 0 {
					t.Fatalf("row %d: no document placed", b)
				}
				for i := range T {
					if tok[i] != rawTok[i] {
						t.Fatalf("row %d: token %d changed by the mask", b, i)
					}
					if tgt[i] != -1 && tgt[i] != rawTgt[i] {
						t.Fatalf("row %d: target %d is %d, the mixture's is %d", b, i, tgt[i], rawTgt[i])
					}
				}
				for _, d := range placed {
					doc := s.Tok.Decode(tok[d.Start : d.Start+d.Len])
					eqPos := len([]rune(doc[:strings.IndexByte(doc, '=')])) // token index of "=" in the document
					want := c.scoredPerDoc
					if want < 0 {
						want = d.Len - eqPos // "=" and every answer character
					}
					got := 0
					for i := d.Start; i < d.Start+d.Len; i++ {
						if tgt[i] >= 0 {
							got++
							if c.scoredPerDoc != 7 && i < d.Start+eqPos {
								t.Errorf("row %d %q: prompt position %d scored", b, doc, i-d.Start)
							}
						}
					}
					if got != want {
						t.Errorf("row %d %q: %d targets scored, want %d", b, doc, got, want)
					}
					if last := d.Start + d.Len - 1; tgt[last] != s.Tok.Sep() {
						t.Errorf("row %d %q: the answer's last token predicts %d, want the separator", b, doc, tgt[last])
					}
				}
			}
		})
	}
}

func TestModaddPromptLen(t *testing.T) {
	ans, err := Lookup("modadd(p=97,enc=digits,loss=answer)")
	if err != nil {
		t.Fatal(err)
	}
	all, err := Lookup("modadd(p=97,enc=digits)")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		task Task
		doc  string
		want int
	}{
		{ans, "Z:12+40=52", 8},
		{ans, "Z:1+2=3", 6},
		{ans, "no equals", 0},
		{all, "Z:12+40=52", 0},
	} {
		if got := c.task.(AnswerLoss).PromptLen(c.doc); got != c.want {
			t.Errorf("%s PromptLen(%q) = %d, want %d", c.task.Spec(), c.doc, got, c.want)
		}
	}
	par, err := Lookup("parity(n=8,loss=answer)")
	if err != nil {
		t.Fatal(err)
	}
	if got := par.(AnswerLoss).PromptLen("B:A01101100=1"); got != 12 {
		t.Errorf("parity PromptLen = %d, want 12", got)
	}
	if _, err := Lookup("modadd(loss=prompt)"); err == nil || !strings.Contains(err.Error(), "loss") {
		t.Errorf("loss=prompt: %v", err)
	}
}

// TestLongrangeAnswerLoss: with loss=answer a retrieve document scores only
// "key → value" and "value → separator", a brackets document its depth
// closing brackets (and the separator); loss=all leaves the spec and the
// evaluation items exactly as they were without the parameter.
func TestLongrangeAnswerLoss(t *testing.T) {
	const B, T = 8, 64
	for _, c := range []struct {
		spec   string
		scored int
	}{{"longrange(gap=16,loss=answer)", 2}, {"longrange(mode=brackets,gap=16,depth=3,loss=answer)", 4}, {"longrange(gap=16)", -1}} {
		s, err := NewStream(c.spec, data.MixtureConfig{Seed: 2, NCtx: T, Slot: 8})
		if err != nil {
			t.Fatal(err)
		}
		tokens, targets := make([]int32, B*T), make([]int32, B*T)
		s.Batch(1, B, T, tokens, targets)
		docs := 0
		for b := range B {
			raw, rawTgt := make([]int32, T), make([]int32, T)
			for _, d := range s.Window(1, b, T, raw, rawTgt) {
				got := 0
				for i := d.Start; i < d.Start+d.Len; i++ {
					if targets[b*T+i] != -1 {
						got++
					}
				}
				want := c.scored
				if want < 0 {
					want = d.Len // loss=all: every document token
				}
				if got != want {
					t.Fatalf("%s: document %q has %d scored targets, want %d", c.spec, s.Tok.Decode(raw[d.Start:d.Start+d.Len]), got, want)
				}
				docs++
			}
		}
		if docs == 0 {
			t.Fatalf("%s: no documents", c.spec)
		}
	}
	base, all := mustTask(t, "longrange"), mustTask(t, "longrange(loss=all)")
	ans := mustTask(t, "longrange(loss=answer)")
	if base.Spec() != all.Spec() || strings.Contains(base.Spec(), "loss") || !strings.Contains(ans.Spec(), "loss=answer") {
		t.Fatalf("specs %s, %s, %s", base.Spec(), all.Spec(), ans.Spec())
	}
	x, y := base.Eval(0, 20), ans.Eval(0, 20)
	for i := range x {
		if x[i].Prompt != y[i].Prompt {
			t.Fatalf("loss=answer changed evaluation item %d", i)
		}
	}
}
