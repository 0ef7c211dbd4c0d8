package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTasksCommand(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tasks", "list"}, 0, "icl/k=16"},
		{[]string{"tasks", "sample", "add(format=scratchpad)", "--n", "2", "--seed", "3"}, 0, "[add/scratchpad/3] S:"},
		{[]string{"tasks", "sample", "adds"}, 1, "did you mean add"},
		{[]string{"tasks", "sample", "add(digits=0)"}, 1, "digits=0 outside [1, 5]"},
		{[]string{"tasks", "sample"}, 1, "needs one task"},
		{[]string{"tasks", "lst"}, 1, "did you mean list"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String()+errb.String(), c.want) {
			t.Errorf("%q: exit %d, output %q…; want exit %d and %q", c.args, code, firstLines(out.String()+errb.String()), c.code, c.want)
		}
	}
}

func firstLines(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// TestTasksValidate: a good task file prints its samples, its held-out
// share and "ok"; a bad one names the line and suggests the key; a split
// whose key does not determine the text is warned about as overlapping,
// and one with few keys as coarser than asked.
func TestTasksValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaky := write("leaky.toml", "name = \"leaky\"\nversion = 1\nchance = 0.1\nprompt = \"L:{a}=\"\nanswer = \"{a}\"\n[split]\nkey = \"{a},{n}\"\n[vars]\na = { range = [0, 9] }\nn = { expr = \"a\" }\nm = { range = [0, 99] }\n")
	write("leaky2.jsonl", `{"prompt": "a=", "answer": "1", "vars": {"k": 1}}`+"\n"+`{"prompt": "a=", "answer": "1", "vars": {"k": 2}}`+"\n"+`{"prompt": "a=", "answer": "1", "vars": {"k": 3}}`+"\n"+`{"prompt": "b=", "answer": "2", "vars": {"k": 4}}`+"\n")
	items := write("items.toml", "name = \"items\"\nversion = 1\nitems = \"leaky2.jsonl\"\n[split]\nkey = \"{k}\"\nheldout = 0.5\n")
	bad := write("bad.toml", "name = \"bad\"\nversion = 1\nchance = 0.1\nprompt = \"{a}=\"\nanswer = \"{a}\"\n[vars]\na = { rnage = [0, 9] }\n")
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"tasks", "validate", filepath.Join("..", "..", "examples", "tasks", "sub.toml"), "--n", "2"},
			0, []string{"sub (v1), a template", "sub/d=3", "untrained shape", "held out by key", "training documents:", "[sub/d=2] S:", "ok: no warnings"}},
		{[]string{"tasks", "validate", filepath.Join("..", "..", "examples", "tasks", "plurals.toml")},
			0, []string{"an item list", "of 174 items", "plurals/ies"}},
		{[]string{"tasks", "validate", bad}, 1, []string{"bad.toml:7", "vars.a.rnage", "did you mean vars.a.range"}},
		{[]string{"tasks", "validate", items}, 0, []string{"warnings:", "train and held-out overlap"}},
		{[]string{"tasks", "validate", leaky}, 0, []string{"asked for 10.0%: few distinct keys"}},
		{[]string{"tasks", "validate"}, 1, []string{"needs one task file"}},
		{[]string{"tasks", "sample", "file:" + filepath.Join("..", "..", "examples", "tasks", "compare.toml"), "--n", "1"}, 0, []string{"[compare/d=1] Which is larger"}},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), c.args, &out, &errb)
		for _, w := range c.want {
			if code != c.code || !strings.Contains(out.String()+errb.String(), w) {
				t.Errorf("%q: exit %d, output %q…; want exit %d and %q", c.args, code, firstLines(out.String()+errb.String()), c.code, w)
			}
		}
	}
}
