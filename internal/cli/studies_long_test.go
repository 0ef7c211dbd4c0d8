package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"emlab/internal/demo"
)

// studyVerdicts are the verdicts each claims study's quick form measured
// (docs/studies.md, "Measured"): a finding whose verdict changes fails its
// study's long test, whichever way it changes. Keys are the start of the
// claim.
var studyVerdicts = map[string]map[string]string{
	"scale-axes": {
		"Loss falls with parameters and with training data separately": demo.VerdictSupported,
		"An ability (add/plain/2) appears past a critical point":       demo.VerdictInconclusive,
	},
	"cot": {
		"Writing the intermediate steps (a scratchpad) makes 3-digit addition emerge": demo.VerdictSupported,
		"A model trained with a scratchpad on sums of up to 3 digits adds 4-digit":    demo.VerdictNotSupported,
		"Writing out the bridge entity (chain of thought) makes two-hop questions":    demo.VerdictSupported,
	},
	"longrange": {
		"Within the gaps it was trained on":     demo.VerdictNotSupported,
		"Beyond the longest gap it was trained": demo.VerdictNotSupported,
	},
	"forecast": {
		"Emergence is unpredictable":                                  demo.VerdictSupported,
		"An ability appears once the pre-training loss falls below a": demo.VerdictSupported,
	},
}

// TestStudiesQuick runs each claims study's quick form end to end
// (`emlab demo --study NAME --quick`), each in a directory of its own
// (under EMLAB_STUDIES_OUT when set, to keep them), and requires the
// verdicts measured for it. It trains for up to 5 minutes per study on 2 cores, ten studies,
// longer than the test suite's budget even with the other long tests, so
// it runs only with EMLAB_LONG_TESTS=studies (EMLAB_LONG_TESTS=1, as CI
// sets it, runs the other long tests); -run 'TestStudiesQuick/cot' picks
// one study.
func TestStudiesQuick(t *testing.T) {
	if os.Getenv("EMLAB_LONG_TESTS") != studyTests {
		t.Skip("trains each claims study's quick form (minutes each, ten studies); set EMLAB_LONG_TESTS=" + studyTests)
	}
	bin := filepath.Join(t.TempDir(), "emlab")
	build := exec.Command("go", "build", "-o", bin, "emlab/cmd/emlab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := os.Getenv("EMLAB_STUDIES_OUT")
	if root == "" {
		root = t.TempDir()
	}
	for _, name := range sortedStudyNames() {
		want := studyVerdicts[name]
		t.Run(name, func(t *testing.T) {
			// Each study starts from an empty directory, so the time logged
			// is the study's alone (Study.Minutes' definition), not what it
			// costs after another study trained the sweeps they share.
			out := filepath.Join(root, name)
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			b, err := exec.Command(bin, "demo", "--study", name, "--quick", "--out", out).CombinedOutput()
			t.Logf("%s in %s:\n%s", name, time.Since(began).Round(time.Second), tail(string(b), 40))
			if err != nil {
				t.Fatalf("emlab demo --study %s --quick: %v", name, err)
			}
			findings, err := demo.ReadFindings(out)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, f := range findings {
				if f.ID != name {
					continue // another study's, run before this one
				}
				matched := false
				for prefix, verdict := range want {
					if strings.HasPrefix(f.Claim, prefix) {
						seen[prefix], matched = true, true
						if f.Verdict != verdict {
							t.Errorf("%q: %s (%s), measured %s before\n  %s", f.Claim, f.Verdict, f.Detail, verdict, strings.Join(f.Items, "\n  "))
						}
					}
				}
				if !matched {
					t.Errorf("finding %q of %s has no measured verdict to hold it to", f.Claim, name)
				}
			}
			for prefix := range want {
				if !seen[prefix] {
					t.Errorf("no finding whose claim starts %q", prefix)
				}
			}
			if st, err := os.Stat(filepath.Join(out, demo.ReportFile)); err != nil || st.Size() == 0 {
				t.Errorf("%s missing or empty", demo.ReportFile)
			}
		})
	}
}

// studyTests is the value of EMLAB_LONG_TESTS that runs the claims
// studies' long tests.
const studyTests = "studies"

func sortedStudyNames() []string {
	var out []string
	for _, s := range demo.All() {
		if _, ok := studyVerdicts[s.Name]; ok {
			out = append(out, s.Name)
		}
	}
	return out
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
