package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/rundir"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestSweepPlanAndStatusCommands(t *testing.T) {
	code, out, errOut := runMain(t, "sweep", "plan", "../../examples/sweeps/tiny.toml", "--out", "/nonexistent/tiny")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"experiment tiny: 4 runs", "d16L1-seed1-", "total", "FLOPs"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runMain(t, "sweep", "status", "../../examples/sweeps/tiny.toml", "--out", t.TempDir())
	if code != 0 || !strings.Contains(out, "4 runs: 0 done") || !strings.Contains(out, "4 pending") {
		t.Errorf("status of a fresh directory: exit %d\n%s%s", code, out, errOut)
	}

	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("name = \"b\"\n[base]\n\"model.d_modle\" = 3\n[[axis]]\nkey = \"seed\"\nvalues = [1]\nlables = [\"x\"]\n"), 0o644)
	code, _, errOut = runMain(t, "sweep", "plan", bad)
	if code != 1 || !strings.Contains(errOut, `unknown key "axis.lables"`) || !strings.Contains(errOut, "axis.labels") {
		t.Errorf("bad experiment: exit %d: %s", code, errOut)
	}
	code, _, errOut = runMain(t, "sweep", "pln", bad)
	if code != 1 || !strings.Contains(errOut, "did you mean plan") {
		t.Errorf("unknown sweep command: exit %d: %s", code, errOut)
	}
}

// emlab index and emlab export over run directories trained in-process,
// with an evals.jsonl written in the documented format.
func TestIndexAndExportCommands(t *testing.T) {
	root := t.TempDir()
	for i, d := range []string{"16", "32"} {
		dir := filepath.Join(root, "d"+d)
		code, _, errOut := runMain(t, "train", "--quiet", "--out", dir, "--steps", "8", "--set", "model.d_model="+d,
			"--set", "model.n_heads=2", "--set", "model.n_layers=1", "--set", "model.n_ctx=16", "--set", "model.d_vocab=16",
			"--set", "train.batch_size=4", "--set", "train.threads=1")
		if code != 0 {
			t.Fatalf("train: %s", errOut)
		}
		var ev bytes.Buffer
		for _, s := range []int{0, 4, 8} {
			fmt.Fprintf(&ev, `{"step":%d,"task":"add","metric":"exact_match","value":%g,"stderr":0.02,"n":100}`+"\n", s, float64(i)*0.5+float64(s)/100)
		}
		os.WriteFile(filepath.Join(dir, rundir.EvalsFile), ev.Bytes(), 0o644)
	}
	code, out, errOut := runMain(t, "index", "rebuild", root)
	if code != 0 || !strings.Contains(out, "holds 2 runs") || !strings.Contains(out, "6 evals") {
		t.Fatalf("index rebuild: exit %d\n%s%s", code, out, errOut)
	}
	csvPath := filepath.Join(t.TempDir(), "out.csv")
	code, _, errOut = runMain(t, "export", root, "--csv", csvPath, "--x", "step")
	if code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Steps 4 and 8 of two runs; step 0 cannot sit on a log axis.
	if len(recs) != 1+4 || strings.Join(recs[0][:4], ",") != "task,metric,x,value" {
		t.Errorf("export:\n%v", recs)
	}
	// What analyze --csv reads, it accepts.
	code, out, errOut = runMain(t, "analyze", "--csv", csvPath, "--json")
	t.Logf("analyze on the export: exit %d\n%s%s", code, out, errOut)
	if strings.Contains(errOut, "column") || strings.Contains(errOut, "line ") {
		t.Errorf("analyze rejects the export's format: %s", errOut)
	}
	code, _, errOut = runMain(t, "export", root, "--csv", csvPath, "--x", "parms")
	if code != 1 || !strings.Contains(errOut, "unknown x axis") {
		t.Errorf("bad axis: exit %d %s", code, errOut)
	}
}
