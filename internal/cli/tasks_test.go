package cli

import (
	"bytes"
	"context"
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
