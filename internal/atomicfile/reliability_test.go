package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestReliabilityPermissions: files written atomically get 0644 less the
// umask, like appended ones (metrics.jsonl); before, every atomically
// written file (config.json, checkpoints, status.json) was 0600, so
// another user could read a run's metrics but not its config.
func TestReliabilityPermissions(t *testing.T) {
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o002, 0o644}, {0o077, 0o600}} {
		t.Run(fmt.Sprintf("umask %03o", c.umask), func(t *testing.T) { checkModes(t, c.umask, c.want) })
	}
}

// checkModes writes a file atomically and appends to another under umask
// and checks both modes.
func checkModes(t *testing.T, umask int, want os.FileMode) {
	t.Helper()
	old := syscall.Umask(umask)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "atomic"), filepath.Join(dir, "appended")
	errA := WriteBytes(a, []byte("x"))
	errB := AppendLine(b, []byte("x"))
	syscall.Umask(old)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for _, p := range []string{a, b} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("umask %03o: %s has mode %03o, want %03o", umask, filepath.Base(p), got, want)
		}
	}
}
