package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"emlab/internal/demo"
)

// insideVerdicts are the verdicts the quick forms of the studies that
// look inside the models gave when measured (docs/demo.md), finding by
// finding. A change of code or engine that changes one is a change of
// the lab's result: TestInsideStudiesQuick fails until this table and
// the documentation say so.
var insideVerdicts = map[string][]string{
	"abstraction": {demo.VerdictSupported},
	"distributed": {demo.VerdictSupported},
	"capacity":    {demo.VerdictNotSupported},
	"composition": {demo.VerdictNotSupported, demo.VerdictNotSupported},
	"code":        {demo.VerdictSupported, demo.VerdictInconclusive, demo.VerdictNotSupported},
	"robustness":  {demo.VerdictNotSupported},
}

// TestInsideStudiesQuick runs `emlab demo --study NAME --quick` for each
// of the six studies (one subtest each: -run 'TestInsideStudiesQuick/code')
// and fails if a finding's verdict is not the recorded one. Each trains
// for minutes, so it runs only with EMLAB_LONG_TESTS=1. The demo runs each
// step as a process of the emlab binary, so the test builds it first.
func TestInsideStudiesQuick(t *testing.T) {
	if os.Getenv("EMLAB_LONG_TESTS") == "" {
		t.Skip("trains each study's quick form (minutes each); set EMLAB_LONG_TESTS=1")
	}
	bin := filepath.Join(t.TempDir(), "emlab")
	build := exec.Command("go", "build", "-o", bin, "emlab/cmd/emlab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range []string{"abstraction", "distributed", "capacity", "composition", "code", "robustness"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "demo")
			began := time.Now()
			b, err := exec.Command(bin, "demo", "--study", name, "--quick", "--out", out).CombinedOutput()
			if err != nil {
				t.Fatalf("emlab demo --study %s --quick: %v\n%s", name, err, b)
			}
			t.Logf("%s --quick: %s", name, time.Since(began).Round(time.Second))
			fb, err := os.ReadFile(filepath.Join(out, demo.FindingsFile))
			if err != nil {
				t.Fatal(err)
			}
			var fs []demo.Finding
			if err := json.Unmarshal(fb, &fs); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				if f.ID == name {
					got = append(got, f.Verdict)
					t.Logf("%s: %s — %s", f.Verdict, f.Claim, f.Detail)
				}
			}
			if want := insideVerdicts[name]; !slices.Equal(got, want) {
				t.Errorf("%s: verdicts %q, want %q (docs/demo.md)", name, got, want)
			}
		})
	}
}
