package sweep_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"emlab/internal/rundir"
	"emlab/internal/sweep"
)

// A sweep of one one-thread run on a 2-core machine trains it on both
// cores (train.threads=2 on the train command, recorded in config.json;
// train-config.json stays as planned), and the run ends with the same
// metrics and the same checkpoint bytes as on one thread (--jobs 1), but
// for the train.threads its metadata records.
func TestTailRunTrainsOnIdleCores(t *testing.T) {
	src := `
name = "tail"
[base]
"data.source" = "synthetic"
"model.n_ctx" = 32
"model.d_vocab" = 32
"model.d_model" = 16
"model.n_heads" = 2
"model.n_layers" = 1
"train.batch_size" = 8
"train.steps" = 30
"train.checkpoint_every" = 10
"train.log_every" = 10
`
	p := mustPlan(t, src)
	if len(p.Runs) != 1 || p.Runs[0].Config.Train.Threads != 1 {
		t.Fatalf("%d runs; want one of one thread", len(p.Runs))
	}
	defer sweep.SetNumCPU(2)()
	r := p.Runs[0]
	dirs := map[int]string{}
	for _, jobs := range []int{0, 1} {
		out := t.TempDir()
		sum, err := sweep.RunLocal(context.Background(), p, sweep.LocalOptions{ExecOptions: execOptions(t, p, out),
			PoolOptions: sweep.PoolOptions{Jobs: jobs}})
		if err != nil || sum.Err() != nil || sum.Done != 1 {
			t.Fatalf("jobs %d: %+v %v", jobs, sum, err)
		}
		dirs[jobs] = sweep.RunDir(out, r.ID)
	}
	want := map[int]int{0: 2, 1: 1}
	for jobs, dir := range dirs {
		log, err := os.ReadFile(filepath.Join(dir, "train.log"))
		if err != nil {
			t.Fatal(err)
		}
		wantLine := "GOMAXPROCS=1 " + os.Args[0] + " train "
		if want[jobs] == 2 {
			wantLine = "GOMAXPROCS=2 " + os.Args[0] + " train "
		}
		if got := strings.Contains(string(log), "--set train.threads=2"); got != (want[jobs] == 2) || !strings.Contains(string(log), wantLine) {
			t.Errorf("jobs %d: train.log, want %q and --set train.threads=2 only on 2 threads:\n%s", jobs, wantLine, log)
		}
		var cfg struct {
			Train struct{ Threads int } `json:"train"`
		}
		b, err := os.ReadFile(filepath.Join(dir, rundir.ConfigFile))
		if err != nil || json.Unmarshal(b, &cfg) != nil {
			t.Fatalf("%s: %v", rundir.ConfigFile, err)
		}
		if cfg.Train.Threads != want[jobs] {
			t.Errorf("jobs %d: %s records train.threads %d, want %d", jobs, rundir.ConfigFile, cfg.Train.Threads, want[jobs])
		}
		var planned struct {
			Train struct{ Threads int } `json:"train"`
		}
		b, err = os.ReadFile(filepath.Join(dir, sweep.TrainConfigFile))
		if err != nil || json.Unmarshal(b, &planned) != nil || planned.Train.Threads != 1 {
			t.Errorf("jobs %d: %s records train.threads %d (%v), want the plan's 1", jobs, sweep.TrainConfigFile, planned.Train.Threads, err)
		}
	}
	if !equalMetrics(t, filepath.Join(dirs[0], rundir.MetricsFile), filepath.Join(dirs[1], rundir.MetricsFile)) {
		t.Error("metrics on 2 threads differ from 1 thread")
	}
	for _, step := range []string{"step-10", "step-30"} {
		name := filepath.Join(rundir.CheckpointsDir, step+".safetensors")
		a, errA := os.ReadFile(filepath.Join(dirs[0], name))
		b, errB := os.ReadFile(filepath.Join(dirs[1], name))
		if errA != nil || errB != nil {
			t.Fatalf("%v %v", errA, errB)
		}
		sameCheckpointButThreads(t, name, a, b)
	}
}

// sameCheckpointButThreads checks that two safetensors files hold the same
// tensor bytes under the same header, their metadata differing at most in
// the train.threads of the recorded config.
func sameCheckpointButThreads(t *testing.T, name string, a, b []byte) {
	t.Helper()
	split := func(f []byte) (map[string]json.RawMessage, map[string]string, []byte) {
		n := binary.LittleEndian.Uint64(f[:8])
		var h map[string]json.RawMessage
		if err := json.Unmarshal(f[8:8+n], &h); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var md map[string]string
		if err := json.Unmarshal(h["__metadata__"], &md); err != nil {
			t.Fatalf("%s: metadata: %v", name, err)
		}
		delete(h, "__metadata__")
		return h, md, f[8+n:]
	}
	ha, ma, da := split(a)
	hb, mb, db := split(b)
	if !bytes.Equal(da, db) {
		t.Errorf("%s: the tensor bytes differ between 2 threads and 1", name)
	}
	ja, _ := json.Marshal(ha)
	jb, _ := json.Marshal(hb)
	if !bytes.Equal(ja, jb) {
		t.Errorf("%s: the tensor headers differ", name)
	}
	config := func(md map[string]string) string {
		var c map[string]any
		if err := json.Unmarshal([]byte(md["config"]), &c); err != nil {
			t.Fatalf("%s: metadata config: %v", name, err)
		}
		delete(c["train"].(map[string]any), "threads")
		s, _ := json.Marshal(c)
		delete(md, "config")
		return string(s)
	}
	if ca, cb := config(ma), config(mb); ca != cb {
		t.Errorf("%s: the recorded configs differ beyond train.threads:\n%s\n%s", name, ca, cb)
	}
	mja, _ := json.Marshal(ma)
	mjb, _ := json.Marshal(mb)
	if !bytes.Equal(mja, mjb) {
		t.Errorf("%s: metadata differs: %s vs %s", name, mja, mjb)
	}
}
