package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

// ladderCSV is a small emergent curve (six sizes, three seeds, one at the
// largest) plus a smooth, a four-level and a too-short curve.
const ladderCSV = `task,metric,x,value,seed,n,chance
add,exact_match,8000,0.00,0,200,0.01
add,exact_match,8000,0.01,1,200,0.01
add,exact_match,8000,0.01,2,200,0.01
add,exact_match,200000,1.00,0,200,0.01
add,exact_match,16500,0.01,0,200,0.01
add,exact_match,29000,0.06,0,200,0.01
add,exact_match,62000,0.86,0,200,0.01
add,exact_match,108000,1.00,0,200,0.01
add,exact_match,16500,0.01,1,200,0.01
add,exact_match,29000,0.02,1,200,0.01
add,exact_match,62000,0.95,1,200,0.01
add,exact_match,108000,1.00,1,200,0.01
add,exact_match,16500,0.01,2,200,0.01
add,exact_match,29000,0.01,2,200,0.01
add,exact_match,62000,0.58,2,200,0.01
add,exact_match,108000,0.99,2,200,0.01
mul,digit_acc,16500,0.11,0,600,0.1
mul,digit_acc,29000,0.2,0,600,0.1
mul,digit_acc,62000,0.31,0,600,0.1
mul,digit_acc,108000,0.42,0,600,0.1
mul,digit_acc,200000,0.52,0,600,0.1
mul,digit_acc,400000,0.61,0,600,0.1
four,exact_match,16500,0.01,0,200,0.01
four,exact_match,29000,0.02,0,200,0.01
four,exact_match,62000,0.86,0,200,0.01
four,exact_match,108000,1.00,0,200,0.01
short,exact_match,1000,0.1,0,100,0.1
short,exact_match,2000,0.2,0,100,0.1
short,exact_match,4000,0.3,0,100,0.1
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestAnalyzeCSVJSON: the documented output interface — one object per
// (task, metric) with the documented keys — and the right verdicts.
func TestAnalyzeCSVJSON(t *testing.T) {
	f := writeFile(t, "curves.csv", ladderCSV)
	out, stderr, code := runCmd(t, "analyze", "--csv", f, "--json", "--x", "params", "--boot", "40")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), out)
	}
	want := map[string]string{"add/exact_match": "emergent", "mul/digit_acc": "smooth", "four/exact_match": "insufficient", "short/exact_match": "insufficient"}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		for _, k := range []string{"task", "metric", "verdict", "reason", "emergent", "lower_is_better", "breakthroughness", "linearity", "x_star", "x_star_lo", "x_star_hi", "x_cross", "fit", "params", "family_sd", "n_min", "few_items", "evidence"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s/%s: missing key %q", m["task"], m["metric"], k)
			}
		}
		key := fmt.Sprintf("%s/%s", m["task"], m["metric"])
		if m["verdict"] != want[key] {
			t.Errorf("%s: verdict %v, want %s", key, m["verdict"], want[key])
		}
		if (m["verdict"] == "emergent") != (m["emergent"] == true) {
			t.Errorf("%s: emergent flag %v disagrees with verdict %v", key, m["emergent"], m["verdict"])
		}
		if key == "add/exact_match" {
			lo, mid, hi := m["x_star_lo"].(float64), m["x_star"].(float64), m["x_star_hi"].(float64)
			// The jump lies between the 29k and 62k rungs.
			if !(lo <= mid && mid <= hi && mid > 29000 && mid < 62000) {
				t.Errorf("x_star %g [%g, %g], want within (29000, 62000)", mid, lo, hi)
			}
		}
		if key == "short/exact_match" && !strings.Contains(fmt.Sprint(m["reason"]), "got 3, need at least 4") {
			t.Errorf("insufficient curve does not say why: %s", l)
		}
		if key == "four/exact_match" && !strings.Contains(fmt.Sprint(m["reason"]), "4 levels cannot tell a sharp transition from a smooth rise") {
			t.Errorf("four-level jump does not say why it is insufficient: %s", l)
		}
	}
}

func TestAnalyzeTable(t *testing.T) {
	f := writeFile(t, "curves.csv", ladderCSV)
	out, stderr, code := runCmd(t, "analyze", "--csv", f, "--boot", "0", "--tasks", "add")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, "task") || !strings.Contains(out, "emergent") || strings.Contains(out, "mul") {
		t.Errorf("table:\n%s", out)
	}
}

// TestAnalyzeTableCrossingAtSmallest: a curve already past the level at
// its smallest scale crosses at or below it; the table says so ("<=" and
// a footnote) instead of printing that scale as a measured crossing, and
// a curve that crosses between two scales keeps its plain number.
func TestAnalyzeTableCrossingAtSmallest(t *testing.T) {
	csv := ladderCSV
	for i, x := range []int{16500, 29000, 62000, 108000, 200000} {
		csv += fmt.Sprintf("easy,exact_match,%d,%.2f,0,200,0.01\n", x, 0.90+0.02*float64(i))
	}
	f := writeFile(t, "curves.csv", csv)
	out, rows := analyzeRows(t, "--csv", f, "--boot", "0", "--tasks", "add,easy")
	if !strings.Contains(rows["easy"], "<=1.65e+04") {
		t.Errorf("easy's crossing is not said to be at or below the smallest scale:\n%s", out)
	}
	if strings.Contains(rows["add"], "<=") {
		t.Errorf("add crosses between rungs but is marked as at the smallest:\n%s", out)
	}
	if !strings.Contains(out, "<= in x_cross:") {
		t.Errorf("no footnote for the censored crossing:\n%s", out)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	good := writeFile(t, "curves.csv", ladderCSV)
	bad := writeFile(t, "bad.csv", "task,metric,scale,value\na,b,1,2\n")
	chance := writeFile(t, "chance.csv", "task,metric,x,value,chance\na,em,1,0.1,5\n")
	latin1 := writeFile(t, "latin1.csv", "task,metric,x,value\ncaf\xe9,em,1,0.1\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"analyze"}, "give exactly one of --csv FILE or --runs DIR"},
		{"both inputs", []string{"analyze", "--csv", good, "--runs", "x"}, "give exactly one of"},
		{"unknown axis", []string{"analyze", "--csv", good, "--x", "param"}, `unknown axis "param" (did you mean params`},
		{"missing column", []string{"analyze", "--csv", bad}, `missing column "x"`},
		{"unknown task", []string{"analyze", "--csv", good, "--tasks", "ad"}, `unknown task "ad" (did you mean add?)`},
		{"missing file", []string{"analyze", "--csv", filepath.Join(t.TempDir(), "none.csv")}, "--csv: open "},
		{"stray argument", []string{"analyze", "--csv", good, "extra"}, "unexpected arguments"},
		{"chance outside [0, 1]", []string{"analyze", "--csv", chance}, "line 2: column chance: 5 is not a probability in [0, 1]"},
		{"invalid UTF-8", []string{"analyze", "--csv", latin1}, `line 2: column task: "caf\xe9" is not valid UTF-8`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, c.args...)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want an error containing %q", code, stderr, c.want)
			}
		})
	}
}

// TestAnalyzeRuns reads run directories written by the test in the
// trainer's format: a ladder of six sizes × two seeds whose exact match
// jumps between the second and third size.
// writeLadderRuns writes a ladder of six sizes × two seeds whose
// exact match on "add" grows linearly over three checkpoints to final[i]
// at size i, while the loss falls to 3 − 0.4·i, and returns the runs'
// directories.
func writeLadderRuns(t *testing.T, final []float64) []string {
	t.Helper()
	root := t.TempDir()
	var dirs []string
	for i, p := range []float64{8e3, 2e4, 5e4, 1.2e5, 3e5, 7e5} {
		for seed := 0; seed < 2; seed++ {
			d := filepath.Join(root, fmt.Sprintf("run-%d-%d", i, seed))
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, rundir.ConfigFile), []byte(fmt.Sprintf(`{"params": %g, "non_embedding_params": %g, "seed": %d}`, p, p*0.8, seed)), 0o644)
			var m, e strings.Builder
			for _, step := range []int{0, 500, 1000} {
				v := final[i] * float64(step) / 1000
				loss := 3 - float64(i)*0.4*float64(step)/1000
				fmt.Fprintf(&m, `{"step":%d,"tokens":%d,"flops":%g,"loss":%g,"eval_loss":%g,"lr":1e-3,"grad_norm":1,"seconds":1}`+"\n", step, step*1024, 6*p*float64(step*1024), loss, loss)
				fmt.Fprintf(&e, `{"step":%d,"task":"add","metric":"exact_match","value":%g,"stderr":0,"n":300,"chance":0.001}`+"\n", step, math.Round(v*300)/300)
			}
			os.WriteFile(filepath.Join(d, rundir.MetricsFile), []byte(m.String()), 0o644)
			os.WriteFile(filepath.Join(d, rundir.EvalsFile), []byte(e.String()), 0o644)
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// TestAnalyzeLossViewBoundNote: analyze's table output prints the loss
// view's line and, under it, the analysis' bound note exactly when the
// JSON output has one. "limit" scores only at the lowest loss, so no two
// losses lie below its L*; "spread" rises across the losses.
func TestAnalyzeLossViewBoundNote(t *testing.T) {
	for _, c := range []struct {
		name  string
		final []float64
		note  bool
	}{{"limit", []float64{0, 0, 0, 0, 0, 1}, true}, {"spread", []float64{0.0, 0.0, 0.01, 0.9, 0.99, 1.0}, false}} {
		t.Run(c.name, func(t *testing.T) {
			dirs := writeLadderRuns(t, c.final)
			out, stderr, code := runCmd(t, append([]string{"analyze", "--json", "--boot", "20", "--x", "eval_loss", "--runs"}, dirs...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var m struct {
				Loss struct {
					BoundNote string `json:"bound_note"`
				} `json:"loss_threshold"`
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if (m.Loss.BoundNote != "") != c.note {
				t.Fatalf("bound_note %q, want one: %v", m.Loss.BoundNote, c.note)
			}
			out, stderr, code = runCmd(t, append([]string{"analyze", "--boot", "20", "--x", "eval_loss", "--runs"}, dirs...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			ls := strings.Split(out, "\n")
			for i, l := range ls {
				if !strings.HasPrefix(l, "loss view add/exact_match: L* = ") {
					continue
				}
				next := ""
				if i+1 < len(ls) {
					next = ls[i+1]
				}
				if c.note && next != "  "+m.Loss.BoundNote || !c.note && next != "" {
					t.Errorf("under the loss view: %q, want the note %q", next, m.Loss.BoundNote)
				}
				return
			}
			t.Errorf("no loss view line in:\n%s", out)
		})
	}
}

func TestAnalyzeRuns(t *testing.T) {
	dirs := writeLadderRuns(t, []float64{0.0, 0.0, 0.01, 0.9, 0.99, 1.0})
	args := append([]string{"analyze", "--json", "--boot", "20", "--runs"}, dirs...)
	out, stderr, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if m["verdict"] != "emergent" || m["axis"] != "params" {
		t.Errorf("runs on params: verdict %v axis %v, want emergent params:\n%s", m["verdict"], m["axis"], out)
	}
	// On the eval-loss axis every checkpoint counts and the loss view is fitted.
	args = append([]string{"analyze", "--json", "--boot", "20", "--x", "eval_loss", "--runs"}, dirs...)
	out, stderr, code = runCmd(t, args...)
	if code != 0 {
		t.Fatalf("eval_loss: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, ok := m["loss_threshold"]; !ok {
		t.Errorf("eval_loss axis: no loss_threshold in %s", out)
	}
}

// lateAndSaturatedCSV is two curves over ten sizes: "late" rises only
// at its last two rungs, so the sigmoid's ceiling presses on its box (not
// saturated); "sat" is a well-sampled, saturated sigmoid.
func lateAndSaturatedCSV() string {
	csv := "task,metric,x,value,seed,n,chance\n"
	for i := range 10 {
		x := math.Pow(10, 4+0.3*float64(i))
		tt := 4 + 0.3*float64(i)
		late := 0.02 + 0.96/(1+math.Exp(-(tt-7.2)/0.3))
		sat := 0.1 + 0.8/(1+math.Exp(-(tt-5.35)/0.25))
		csv += fmt.Sprintf("late,exact_match,%g,%.4f,0,2000,0\nsat,exact_match,%g,%.4f,0,2000,0\n", x, late, x, sat)
	}
	return csv
}

// TestAnalyzeTableFitAtBound: a chosen fit with a parameter at a limit
// the fit imposes is marked with * and footnoted with what it means; a
// fit with nothing at a bound is not. "late" rises only at its last two
// rungs, so the sigmoid's ceiling presses on its box (not saturated);
// "sat" is a well-sampled, saturated sigmoid.
func TestAnalyzeTableFitAtBound(t *testing.T) {
	f := writeFile(t, "curves.csv", lateAndSaturatedCSV())
	out, rows := analyzeRows(t, "--csv", f, "--boot", "0")
	if !strings.Contains(rows["late"], "sigmoid_log*") {
		t.Errorf("late's sigmoid (ceiling at its box edge) is not marked:\n%s", out)
	}
	if strings.Contains(rows["sat"], "*") {
		t.Errorf("sat's fit has nothing at a bound but is marked:\n%s", out)
	}
	if !strings.Contains(out, "* late/exact_match: At a bound: the chosen fit, sigmoid_log: its ceiling is at the edge") {
		t.Errorf("no note saying what late's bound means:\n%s", out)
	}
	if !strings.Contains(out, "* in fit or x_star:") {
		t.Errorf("no footnote for the * marker:\n%s", out)
	}
}

// analyzeRows runs analyze with args, fails the test unless it succeeds,
// and returns its output with the table's rows keyed by their first
// field (the task).
func analyzeRows(t *testing.T, args ...string) (string, map[string]string) {
	t.Helper()
	out, stderr, code := runCmd(t, append([]string{"analyze"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = l
		}
	}
	return out, rows
}

// TestAnalyzeForecastBoundNote: analyze --forecast prints under a
// forecast the analysis' note on what of it rests on a parameter at a
// bound, and no note under a forecast with nothing at one. "late"'s
// sigmoid (x* from all rungs) has its ceiling on its box's edge; "sat"
// is a well-sampled, saturated sigmoid.
func TestAnalyzeForecastBoundNote(t *testing.T) {
	f := writeFile(t, "curves.csv", lateAndSaturatedCSV())
	out, _ := analyzeRows(t, "--csv", f, "--boot", "0", "--forecast", "2")
	after := func(prefix string) (line, next string) {
		t.Helper()
		ls := strings.Split(out, "\n")
		for i, l := range ls {
			if strings.HasPrefix(l, prefix) && i+1 < len(ls) {
				return l, ls[i+1]
			}
		}
		t.Fatalf("no line %q in:\n%s", prefix, out)
		return "", ""
	}
	line, note := after("forecast late/exact_match")
	if !strings.Contains(line, "(sigmoid_log*)") || !strings.Contains(line, "* from all") {
		t.Errorf("late's forecast does not mark its model and x* at a bound: %q", line)
	}
	if !strings.HasPrefix(note, "  At a bound: the forecast extrapolates a fit at a bound, sigmoid_log: its ceiling") ||
		!strings.Contains(note, "x* from all rungs comes from the sigmoid_log: its ceiling") {
		t.Errorf("late's forecast is not followed by its bound note: %q", note)
	}
	line, note = after("forecast sat/exact_match")
	if strings.Contains(line, "*") || note != "" {
		t.Errorf("sat's forecast has nothing at a bound but is marked or noted: %q, %q", line, note)
	}
}
