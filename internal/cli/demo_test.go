package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"emlab/internal/demo"
)

// TestDemoList: --list names every study with its claim, experiment and
// the cost of its quick and full forms, and trains nothing.
func TestDemoList(t *testing.T) {
	out := runCLI(t, "demo", "--list")
	for _, s := range demo.All() {
		for _, want := range []string{s.Name + " (", s.Claim, s.Experiment} {
			if !strings.Contains(out, want) {
				t.Errorf("--list lacks %q", want)
			}
		}
	}
	if strings.Count(out, "  quick: ") != len(demo.All()) || strings.Count(out, "  full : ") != len(demo.All()) {
		t.Errorf("--list does not give each study's quick and full cost:\n%s", out)
	}
}

// TestDemoPlanOfOneStudy: --study with --plan lists only that study's
// sweeps.
func TestDemoPlanOfOneStudy(t *testing.T) {
	out := runCLI(t, "demo", "--study", "grokking", "--quick", "--plan")
	if !strings.HasPrefix(out, "grokking: ") || strings.Contains(out, "ladder") {
		t.Errorf("--study grokking --plan:\n%s", out)
	}
}

func TestDemoBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--study", "nope"}, "no study \"nope\" (studies: emergence"},
		{[]string{"demo", "--study", "grokking", "--all"}, "not both"},
		{[]string{"demo", "--study", "grokking,nope", "--plan"}, "no study \"nope\""},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), c.args, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("emlab %s: exit %d, stderr %q, want it to mention %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
}
