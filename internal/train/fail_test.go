package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"emlab/internal/config"
	"emlab/internal/data"
)

// TestFailedStartLeavesNoDirectory: a run whose data cannot be built fails
// before the run directory exists, so no empty directory is left behind;
// a directory that existed before (with files of its own) is kept as it was.
func TestFailedStartLeavesNoDirectory(t *testing.T) {
	broken := func(config.Config) (data.Source, data.Source, error) {
		return nil, nil, errors.New("no corpus")
	}
	fresh := filepath.Join(t.TempDir(), "runs", "z")
	if _, err := Run(context.Background(), Options{Config: smallConfig(), Out: fresh, Sources: broken}); err == nil {
		t.Fatal("Run with broken sources: no error")
	}
	if _, err := os.Stat(filepath.Dir(fresh)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed start left %s behind (stat: %v)", filepath.Dir(fresh), err)
	}

	kept := t.TempDir()
	note := filepath.Join(kept, "notes.txt")
	if err := os.WriteFile(note, []byte("results"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{Config: smallConfig(), Out: kept, Sources: broken}); err == nil {
		t.Fatal("Run with broken sources: no error")
	}
	if b, err := os.ReadFile(note); err != nil || string(b) != "results" {
		t.Errorf("a failed start touched the existing directory's file: %q, %v", b, err)
	}
}
