package sweep

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStepGOMAXPROCS: a step runs with GOMAXPROCS set to the run's
// threads (replacing any the sweep's environment has), and with the
// environment untouched when threads is not set.
func TestStepGOMAXPROCS(t *testing.T) {
	sh, err := os.Stat("/bin/sh")
	if err != nil || sh.IsDir() {
		t.Skip("no /bin/sh to print a step's environment with")
	}
	t.Setenv("GOMAXPROCS", "7")
	for _, c := range []struct {
		threads int
		want    string
	}{
		{1, "GOMAXPROCS=1"},
		{3, "GOMAXPROCS=3"},
		{0, "GOMAXPROCS=7"},
	} {
		log := filepath.Join(t.TempDir(), "step.log")
		if msg, err := step(context.Background(), "/bin/sh", []string{"-c", "env"}, log, c.threads); err != nil {
			t.Fatalf("threads %d: %s (%v)", c.threads, msg, err)
		}
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "GOMAXPROCS=") {
				got = append(got, line)
			}
		}
		if !slices.Equal(got, []string{c.want}) {
			t.Errorf("threads %d: the step saw %q, want [%s]", c.threads, got, c.want)
		}
	}
}
