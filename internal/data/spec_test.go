package data

import (
	"strings"
	"testing"
)

func TestParseCall(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"add", "add", ""},
		{" add ( digits = 3 , format=reversed ) ", "add(digits=3,format=reversed)", ""},
		{"add()", "add", ""},
		{`text(path="/tmp/a b,c.txt")`, `text(path="/tmp/a b,c.txt")`, ""},
		{"text(path=/usr/share/x-y.jsonl)", "text(path=/usr/share/x-y.jsonl)", ""},
		{"Add", "", "expected a task name"},
		{"add(digits)", "", "expected '=' after digits"},
		{"add(digits=)", "", "empty value"},
		{"add(digits=1,digits=2)", "", "given twice"},
		{"add(digits=1", "", "missing ')'"},
		{"add(digits=1))", "", "unexpected"},
		{`add(x="abc)`, "", "unterminated"},
		{"", "", "expected a task name at end of input"},
		{"file:examples/tasks/mul.toml", "file:examples/tasks/mul.toml", ""},
		{`file:"my tasks/a,b.toml"`, `file:"my tasks/a,b.toml"`, ""},
		{"file", "file", ""},
		{"file:", "", "empty value"},
		{`file:""`, "", "empty path"},
		{"file:a.toml(x=1)", "", "unexpected"},
	}
	for _, c := range cases {
		got, err := ParseCall(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseCall(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("ParseCall(%q) = %q, %v; want %q", c.in, got.String(), err, c.want)
		}
	}
}

func TestParseMixSpec(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"add:2,icl:1,stories:1", "add:2 icl:1 stories:1", ""},
		{"add(digits=3,format=reversed):0.5, icl", "add(digits=3,format=reversed):0.5 icl:1", ""},
		{"add,add(digits=3)", "add:1 add(digits=3):1", ""},
		{"add:0", "", "positive number"},
		{"add:-1", "", "positive number"},
		{"add:x", "", "positive number"},
		{"add:inf", "", "positive number"},
		{"add,add", "", "appears twice"},
		{"add;icl", "", "expected ','"},
		{"add,", "", "expected a task name at end"},
		{"file:a.toml:2,add", "file:a.toml:2 add:1", ""},
		{`file:"c:/x.toml":0.5`, `file:"c:/x.toml":0.5`, ""},
		{"file:a.toml,file:b.toml", "file:a.toml:1 file:b.toml:1", ""},
		{"file:a.toml,file:a.toml", "", "appears twice"},
		{"file:a.toml:x", "", "weight of file:a.toml"},
	}
	for _, c := range cases {
		es, err := ParseMixSpec(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseMixSpec(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		var parts []string
		for _, e := range es {
			parts = append(parts, e.String())
		}
		if err != nil || strings.Join(parts, " ") != c.want {
			t.Errorf("ParseMixSpec(%q) = %q, %v; want %q", c.in, strings.Join(parts, " "), err, c.want)
		}
	}
}

// FuzzParseMixSpec: the parser never panics, and what it accepts prints to
// a spec that parses to the same entries.
func FuzzParseMixSpec(f *testing.F) {
	for _, s := range []string{"add:2,icl:1", `text(path="a,b"):3`, "file:x.toml:2", `file:"a b":1`, "add(digits=3,format=reversed)", "a(b=c", ":", "x(y=\"\\\"\")"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := ParseMixSpec(s)
		if err != nil {
			return
		}
		var parts []string
		for _, e := range es {
			parts = append(parts, e.String())
		}
		again, err := ParseMixSpec(strings.Join(parts, ","))
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, strings.Join(parts, ","), err)
		}
		if len(again) != len(es) {
			t.Fatalf("round trip changed the entry count")
		}
		for i := range es {
			if again[i].String() != es[i].String() {
				t.Fatalf("round trip changed %q to %q", es[i].String(), again[i].String())
			}
		}
	})
}

// FuzzParseCall: never panics; accepted calls round-trip through String.
func FuzzParseCall(f *testing.F) {
	for _, s := range []string{"add", "add(digits=3)", `t(p="x y")`, "add(", "a(b=c,d=e)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCall(s)
		if err != nil {
			return
		}
		c2, err := ParseCall(c.String())
		if err != nil || c2.String() != c.String() {
			t.Fatalf("%q → %q → %q, %v", s, c.String(), c2.String(), err)
		}
	})
}
