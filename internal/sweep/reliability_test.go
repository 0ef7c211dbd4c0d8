package sweep_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"emlab/internal/sweep"
)

// TestReliabilityBaseIsDeterministic: a key set both dotted and nested in
// [base] (or in an axis point) is an error, the same one every time; before,
// map order picked the value, so a rerun could plan other run ids and start
// new directories instead of resuming. Strings for numbers are refused as in
// config files.
func TestReliabilityBaseIsDeterministic(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"dotted and nested in base", "name=\"x\"\n[base]\n\"model.d_model\"=32\n[base.model]\nd_model=48", "model.d_model: set twice"},
		{"dotted and nested in a point", "name=\"x\"\n[[axis]]\nname=\"a\"\npoints=[{label=\"p\", \"model.d_model\"=32, model={d_model=48}}]", "model.d_model: set twice"},
		{"string for a number", "name=\"x\"\n[base]\n\"optim.lr\"=\"1e-3\"", "optim.lr: want a number"},
		{"string seed on an axis", "name=\"x\"\n[[axis]]\nkey=\"seed\"\nvalues=[\"5\"]", "train.seed: want a number"},
		{"number for tasks", "name=\"x\"\n[[axis]]\nkey=\"tasks\"\nvalues=[3]", "data.tasks: want a string"},
		{"NaN", "name=\"x\"\n[base]\n\"optim.lr\"=nan", "optim.lr: must be a finite number"},
		{"Inf", "name=\"x\"\n[base.optim]\nclip=inf", "optim.clip: must be a finite number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := ""
			for trial := 0; trial < 20; trial++ { // map order varies between trials
				e, err := sweep.Parse([]byte(c.src))
				if err == nil {
					_, err = sweep.NewPlan(e)
				}
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
				if trial == 0 {
					first = err.Error()
				} else if err.Error() != first {
					t.Fatalf("the error changed between trials:\n%s\n---\n%s", first, err)
				}
			}
		})
	}
	// A valid base plans the same run ids every time.
	var ids string
	for trial := 0; trial < 20; trial++ {
		p := mustPlan(t, tinyExp+"\n[base.optim]\nlr = 0.002\nclip = 0.5\n")
		var s []string
		for _, r := range p.Runs {
			s = append(s, r.ID)
		}
		if trial == 0 {
			ids = strings.Join(s, " ")
		} else if got := strings.Join(s, " "); got != ids {
			t.Fatalf("run ids changed between plans:\n%s\n%s", ids, got)
		}
	}
}

// gridExp is an experiment crossing a seed axis of n values with an lr axis
// of m values.
func gridExp(n, m int, extra string) string {
	var seeds, lrs []string
	for i := range n {
		seeds = append(seeds, strconv.Itoa(i))
	}
	for i := range m {
		lrs = append(lrs, strconv.FormatFloat(1e-4*float64(i+1), 'g', -1, 64))
	}
	return "name=\"grid\"\n" + extra + "\n[[axis]]\nkey=\"seed\"\nvalues=[" + strings.Join(seeds, ",") +
		"]\n[[axis]]\nkey=\"optim.lr\"\nvalues=[" + strings.Join(lrs, ",") + "]\n"
}

// TestReliabilityHugeGrids: a 1000×1000 grid is refused at once with its
// size; a large grid below the bound plans in seconds with no false "same
// run" reports (six hex digits of the config hash collide by chance among
// tens of thousands of runs); absurd model sizes are refused by validation
// and large ones planned without allocating the model.
func TestReliabilityHugeGrids(t *testing.T) {
	began := time.Now()
	e, err := sweep.Parse([]byte(gridExp(1000, 1000, "")))
	if err == nil {
		_, err = sweep.NewPlan(e)
	}
	if err == nil || !strings.Contains(err.Error(), "1000000 runs (seed 1000 × optim.lr 1000)") {
		t.Fatalf("1000×1000 grid: err = %v", err)
	}
	if d := time.Since(began); d > 5*time.Second { // parsing the file dominates: milliseconds
		t.Errorf("refusing a 1000×1000 grid took %v", d)
	}

	began = time.Now()
	p := mustPlan(t, gridExp(200, 100, ""))
	took := time.Since(began)
	t.Logf("planned %d runs in %v", len(p.Runs), took)
	if len(p.Runs) != 20000 {
		t.Fatalf("%d runs, want 20000", len(p.Runs))
	}
	if took > 60*time.Second { // ≈ 2 s on the development machine; the bound only catches a return to building models
		t.Errorf("planning 20000 runs took %v", took)
	}

	e, err = sweep.Parse([]byte("name=\"x\"\n[base]\n\"model.d_model\"=100000000"))
	if err == nil {
		_, err = sweep.NewPlan(e)
	}
	if err == nil || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("d_model 1e8: err = %v", err)
	}
	big := mustPlan(t, "name=\"x\"\n[base]\n\"model.d_model\"=8192\n\"model.n_layers\"=64\n\"model.n_heads\"=64")
	if n := big.Runs[0].Params; n < 5e10 {
		t.Errorf("d_model 8192 × 64 layers: %d parameters, want ≈ 5.2e10", n)
	}
}

// TestReliabilityRerunFinishesEveryRun replays the rerun race in a loop:
// runs killed after their last checkpoint (no DONE, status "running", no
// lock holder) are rerun with a progress watcher probing every run's lock
// many times a second, and four more watchers (as `sweep status --watch`
// would) probing without pause. Every rerun must finish every run (before, a worker
// whose lock attempt met a probe skipped its run as "held by another
// process" and the sweep exited 0 with it unfinished).
func TestReliabilityRerunFinishesEveryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("reruns a sweep of processes 15 times; skipped with -short")
	}
	p := mustPlan(t, tinyExp)
	out := t.TempDir()
	o := execOptions(t, p, out)
	if _, err := sweep.RunLocal(context.Background(), p, sweep.LocalOptions{ExecOptions: o}); err != nil {
		t.Fatal(err)
	}
	const trials = 15
	for trial := range trials {
		for _, r := range p.Runs {
			dir := sweep.RunDir(out, r.ID)
			os.Remove(filepath.Join(dir, "DONE"))
			st := readStatus(t, dir)
			st.State = sweep.StateRunning
			b, _ := json.Marshal(st)
			writeFile(t, filepath.Join(dir, sweep.StatusFile), string(b))
		}
		// Besides the sweep's own watcher, four `sweep status --watch`
		// lookalikes probe as fast as they can.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sweep.Watch(out, p, time.Microsecond, stop, func(sweep.Progress) {})
			}()
		}
		sum, err := sweep.RunLocal(context.Background(), p, sweep.LocalOptions{ExecOptions: o, PoolOptions: sweep.PoolOptions{Jobs: 3,
			Progress: func(sweep.Progress) {}, Every: 200 * time.Microsecond}})
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sum.Busy != 0 || sum.Done != len(p.Runs) || sum.Err() != nil {
			t.Fatalf("trial %d: summary %+v, err %v; want every run done", trial, sum, sum.Err())
		}
		for _, r := range p.Runs {
			if _, err := os.Stat(filepath.Join(sweep.RunDir(out, r.ID), "DONE")); err != nil {
				t.Fatalf("trial %d: %s unfinished", trial, r.ID)
			}
		}
	}
}

// TestReliabilityHeldRunFailsTheSweep: a run another process holds for the
// whole sweep leaves the sweep unfinished, and the summary's error (the
// command's exit status) says so with the holder's PID.
func TestReliabilityHeldRunFailsTheSweep(t *testing.T) {
	p := mustPlan(t, tinyExp)
	out := t.TempDir()
	held := sweep.RunDir(out, p.Runs[0].ID)
	os.MkdirAll(held, 0o755)
	writeFile(t, filepath.Join(held, sweep.StatusFile), `{"state":"running","pid":4242,"host":"elsewhere","steps":{}}`)
	f, err := os.OpenFile(filepath.Join(held, sweep.LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	sum, err := sweep.RunLocal(context.Background(), p, sweep.LocalOptions{ExecOptions: execOptions(t, p, out)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done != len(p.Runs)-1 || len(sum.Unfinished) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if e := sum.Err(); e == nil || !strings.Contains(e.Error(), p.Runs[0].ID) || !strings.Contains(e.Error(), "PID 4242 on elsewhere") {
		t.Errorf("summary error %v, want the held run and its holder", e)
	}
}
