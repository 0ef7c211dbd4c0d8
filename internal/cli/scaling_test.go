package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// scalingCSV draws a 4×4 (N, D) grid from a known L(N, D) without noise,
// with both a tokens and a FLOPs column (C = 6ND).
func scalingCSV() string {
	var b strings.Builder
	b.WriteString("n_params,tokens,flops,final_loss\n")
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			N := math.Pow(10, 4+0.7*float64(i))
			D := math.Pow(10, 6+0.8*float64(j))
			L := 1.2 + 60/math.Pow(N, 0.35) + 300/math.Pow(D, 0.3)
			fmt.Fprintf(&b, "%g,%g,%g,%.6f\n", N, D, 6*N*D, L)
		}
	}
	return b.String()
}

func TestScalingFit(t *testing.T) {
	f := writeFile(t, "s.csv", scalingCSV())
	fit := func(extra ...string) map[string]any {
		t.Helper()
		args := append([]string{"scaling", "fit", "--csv", f, "--json", "--boot", "20", "--params-col", "n_params", "--loss-col", "final_loss"}, extra...)
		out, stderr, code := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, stderr)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return m
	}
	tok := fit("--tokens-col", "tokens")
	flops := fit("--flops-col", "flops")
	for _, k := range []string{"E", "A", "B", "alpha", "beta"} {
		for _, s := range []string{"", "_lo", "_hi"} {
			if _, ok := tok[k+s].(float64); !ok {
				t.Errorf("missing or null %s%s in %v", k, s, tok)
			}
		}
	}
	// Noise-free data: the generating law is recovered closely (the Huber
	// loss is quadratic below δ = 1e-3, so the fit is exact to ~1e-3 in
	// the exponents).
	for k, want := range map[string]float64{"E": 1.2, "alpha": 0.35, "beta": 0.3} {
		if got := tok[k].(float64); math.Abs(got-want) > 0.02*want {
			t.Errorf("%s = %g, want %g ± 2%%", k, got, want)
		}
	}
	// Tokens derived from FLOPs as C/(6N) give the same fit.
	for _, k := range []string{"E", "alpha", "beta"} {
		if a, b := tok[k].(float64), flops[k].(float64); math.Abs(a-b) > 1e-4*math.Abs(a) {
			t.Errorf("%s: tokens column %g vs flops column %g", k, a, b)
		}
	}
	for _, k := range []string{"N_opt", "D_opt", "tokens_per_param"} {
		if v, ok := tok[k].(float64); !ok || !(v > 0) {
			t.Errorf("%s = %v, want a positive number", k, tok[k])
		}
	}
	// Without a data axis: the single-axis law, B and beta null.
	out, stderr, code := runCmd(t, "scaling", "fit", "--csv", writeFile(t, "n.csv", "params,loss\n1e4,4\n1e5,3.2\n1e6,2.7\n1e7,2.4\n1e8,2.25\n"), "--json", "--boot", "10")
	if code != 0 {
		t.Fatalf("single axis: exit %d: %s", code, stderr)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	if m["form"] != "single_axis" || m["B"] != nil || m["alpha"] == nil || m["kaplan"] == nil {
		t.Errorf("single axis output %s", out)
	}
	// Kaplan's L(D): the loss against the tokens column alone.
	out, stderr, code = runCmd(t, "scaling", "fit", "--csv", f, "--x-col", "tokens", "--loss-col", "final_loss", "--json", "--boot", "0")
	if code != 0 {
		t.Fatalf("--x-col: exit %d: %s", code, stderr)
	}
	m = nil
	json.Unmarshal([]byte(out), &m)
	if m["form"] != "single_axis" || m["points"] != 16.0 {
		t.Errorf("--x-col tokens output %s", out)
	}
}

func TestScalingErrors(t *testing.T) {
	f := writeFile(t, "s.csv", scalingCSV())
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"scaling", "--csv", f}, "missing subcommand"},
		{"unknown subcommand", []string{"scaling", "fitt", "--csv", f}, `unknown subcommand "fitt" (did you mean fit?)`},
		{"both axes", []string{"scaling", "fit", "--csv", f, "--tokens-col", "tokens", "--flops-col", "flops"}, "not both"},
		{"missing loss", []string{"scaling", "fit", "--csv", f, "--params-col", "n_params"}, `missing column "loss"`},
		{"misspelt column", []string{"scaling", "fit", "--csv", f, "--params-col", "n_param", "--loss-col", "final_loss"}, "did you mean n_params"},
		{"three points", []string{"scaling", "fit", "--csv", writeFile(t, "3.csv", "params,tokens,loss\n1,2,3\n2,3,2\n3,4,1.5\n")}, "3 points, need at least 6"},
		{"no csv", []string{"scaling", "fit"}, "missing --csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, c.args...)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want an error containing %q", code, stderr, c.want)
			}
		})
	}
}

// TestScalingFitAtBound: a law with no irreducible loss (E = 0) is
// reported with at_bound ["E"] and a note in the text saying what is
// conditional on it; the law of scalingCSV (E = 1.2) has neither.
func TestScalingFitAtBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("params,tokens,loss\n")
	for i := range 4 {
		for j := range 4 {
			N, D := math.Pow(10, 4+0.7*float64(i)), math.Pow(10, 6+0.8*float64(j))
			fmt.Fprintf(&b, "%g,%g,%.6f\n", N, D, 60/math.Pow(N, 0.35)+300/math.Pow(D, 0.3))
		}
	}
	zero := writeFile(t, "zero.csv", b.String())
	withE := writeFile(t, "e.csv", scalingCSV())
	for _, c := range []struct {
		csv      string
		extra    []string
		at       string // at_bound as JSON
		noteText bool
		ident    string // e_identified as JSON
	}{
		{zero, nil, `["E"]`, true, "false"},
		{withE, []string{"--params-col", "n_params", "--loss-col", "final_loss"}, `[]`, false, "true"},
	} {
		args := append([]string{"scaling", "fit", "--csv", c.csv, "--boot", "0"}, c.extra...)
		out, stderr, code := runCmd(t, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.csv, code, stderr)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got := string(m["at_bound"]); got != c.at {
			t.Errorf("%s: at_bound %s, want %s (E = %s)", c.csv, got, c.at, m["E"])
		}
		var prof struct{ Lo, Hi *float64 }
		if got := string(m["e_identified"]); got != c.ident || json.Unmarshal(m["e_profile"], &prof) != nil || prof.Lo == nil || prof.Hi == nil {
			t.Errorf("%s: e_identified %s (want %s), e_profile %s", c.csv, got, c.ident, m["e_profile"])
		}
		text, stderr, code := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.csv, code, stderr)
		}
		if got := strings.Contains(text, "note: E at its lower bound (0)") && strings.Contains(text, "conditional on E = 0"); got != c.noteText {
			t.Errorf("%s: bound note in the text is %v, want %v:\n%s", c.csv, got, c.noteText, text)
		}
		if !strings.Contains(text, "profile in E (95% likelihood-ratio range): E in [") || !strings.Contains(text, "E identified: "+c.ident) {
			t.Errorf("%s: no profile line saying E identified: %s in the text:\n%s", c.csv, c.ident, text)
		}
	}
}
