package rundir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestExternalRun: a directory of checkpoints trained elsewhere is not a
// run until eval writes ExternalFile, which then stands for config.json
// (also beside a foreign config.json) and makes the run done.
func TestExternalRun(t *testing.T) {
	root := t.TempDir()
	model := filepath.Join(root, "gpt2")
	traj := filepath.Join(root, "pythia")
	for _, d := range []string{model, filepath.Join(traj, "step0"), filepath.Join(traj, "step8")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, ConfigFile), []byte(`{"model_type": "gpt2", "n_embd": 8}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ids, err := FindRuns(root); err != nil || len(ids) != 0 {
		t.Fatalf("model directories found as runs: %v %v", ids, err)
	}
	r, err := ReadRun(model, "")
	if err != nil || r.Config != nil || IsStarted(model) {
		t.Fatalf("a model directory read as a run config: %+v %v (started %v)", r.Config, err, IsStarted(model))
	}
	for _, d := range []string{model, traj} {
		e := &External{Params: 1234, NonEmbeddingParams: 1000, CodeVersion: "test"}
		e.Model.Arch, e.Data.Source, e.Data.Tasks, e.Train.Steps = "gpt2", ExternalSource, "add", 8
		e.Checkpoints = []ExternalCheckpoint{{0, "step0"}, {8, "step8"}}
		if err := WriteExternal(d, e); err != nil {
			t.Fatal(err)
		}
		if err := MergeEvals(d, []Eval{{Step: 8, Task: "add/plain/1", Metric: ExactMatch, Value: 0.5, N: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	if !IsStarted(model) || !IsStarted(traj) {
		t.Errorf("evaluated directories are not started runs")
	}
	ids, err := FindRuns(root)
	if err != nil || !slices.Equal(ids, []string{"gpt2", "pythia"}) {
		t.Fatalf("FindRuns = %v, %v; want the two evaluated directories", ids, err)
	}
	runs, err := LoadRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if !r.External || r.Config == nil || r.Config.Params != 1234 || r.Config.HasSeed || len(r.Evals) != 1 {
			t.Errorf("%s: external %v config %+v evals %d", r.ID, r.External, r.Config, len(r.Evals))
		}
		if s := r.Status(time.Now(), time.Minute); s != StateDone {
			t.Errorf("%s: status %s, want done", r.ID, s)
		}
	}
	back, err := ReadExternal(traj)
	if err != nil || back.Train.Steps != 8 || len(back.Checkpoints) != 2 || back.Checkpoints[1].Dir != "step8" {
		t.Errorf("ReadExternal = %+v, %v", back, err)
	}
}
