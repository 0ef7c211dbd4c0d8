package demo

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// TestReliabilityConcurrentFinish: demos judging different studies into
// one DIR at once (`emlab demo --study a` and `--study b` side by side)
// keep every study's findings. Finish read findings.json when it began
// and rewrote it when it ended, so the last to finish dropped the
// objects the others had written in between; it now merges under the
// directory's merge lock, reading the file again there.
func TestReliabilityConcurrentFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("judges every study several times; skipped with -short")
	}
	studies := All()
	const trials = 3
	for trial := range trials {
		dir := t.TempDir()
		var wg sync.WaitGroup
		errs := make([]error, len(studies))
		for i, s := range studies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = Finish(context.Background(), FinishOptions{Out: dir, Studies: []*Study{s}, Analyze: AnalyzeOptions(true)})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("trial %d: study %s: %v", trial, studies[i].Name, err)
			}
		}
		got, err := ReadFindings(dir)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range got {
			if !slices.Contains(ids, f.ID) {
				ids = append(ids, f.ID)
			}
		}
		for _, s := range studies {
			if !slices.Contains(ids, s.Name) {
				t.Errorf("trial %d: %d studies judged at once, findings.json holds %d (%q): %s lost", trial, len(studies), len(ids), ids, s.Name)
			}
		}
	}
}
