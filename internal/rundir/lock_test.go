package rundir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a writer process when these variables are
// set: it merges its share of the lines of one run, so that two real
// processes race on the run's files.
const (
	mergeChildDir  = "EMLAB_RUNDIR_MERGE_DIR"
	mergeChildTask = "EMLAB_RUNDIR_MERGE_TASK"
	mergeChildKind = "EMLAB_RUNDIR_MERGE_KIND"
)

// mergeSteps is how many merges each writer makes: one per step, as
// `emlab eval --all` does.
const mergeSteps = 12

// TestMergeChild is the writer process; it does nothing in a normal run.
func TestMergeChild(t *testing.T) {
	dir := os.Getenv(mergeChildDir)
	if dir == "" {
		t.Skip("the writer process of TestReliabilityConcurrentMerges; runs only as its child")
	}
	task := os.Getenv(mergeChildTask)
	for step := range mergeSteps {
		var err error
		switch os.Getenv(mergeChildKind) {
		case "evals":
			err = MergeEvals(dir, []Eval{{Step: step, Task: task, Metric: "exact_match", Value: 0.5, N: 10}})
		case "probes":
			err = MergeProbes(dir, []Probe{{Step: step, Probe: task, Layer: 0, Head: 0, Value: 0.5}})
		case "samples":
			err = MergeSamples(dir, []Sample{{Step: step, Task: task, Item: "0", Prompt: "1+1=", Target: "2", Generated: "2"}})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// TestReliabilityConcurrentMerges: writers in separate processes merging
// into one run's evals.jsonl, probes.jsonl or samples.jsonl at once (two
// `emlab eval` on different tasks, two `emlab probe`) lose nothing: each
// merge reads, merges and rewrites the file under the run's lock, so every
// writer's every step is in the file at the end. Without the lock, one
// writer's rewrite dropped lines the other had just written.
func TestReliabilityConcurrentMerges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 120 processes; skipped with -short")
	}
	const trials, writers = 10, 4
	for _, kind := range []string{"evals", "probes", "samples"} {
		t.Run(kind, func(t *testing.T) {
			lost := 0
			for trial := range trials {
				dir := t.TempDir()
				var wg sync.WaitGroup
				errs := make([]error, writers)
				outs := make([]bytes.Buffer, writers)
				for w := range writers {
					cmd := exec.Command(os.Args[0], "-test.run=^TestMergeChild$", "-test.count=1")
					cmd.Env = append(os.Environ(), mergeChildDir+"="+dir, mergeChildTask+"="+fmt.Sprintf("task%d", w), mergeChildKind+"="+kind)
					cmd.Stdout, cmd.Stderr = &outs[w], &outs[w]
					wg.Add(1)
					go func() { defer wg.Done(); errs[w] = cmd.Run() }()
				}
				wg.Wait()
				for w, err := range errs {
					if err != nil {
						t.Fatalf("trial %d: writer %d: %v\n%s", trial, w, err, outs[w].String())
					}
				}
				got := map[string]bool{}
				switch kind {
				case "evals":
					es, err := ReadEvals(dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range es {
						got[fmt.Sprintf("%s/%d", e.Task, e.Step)] = true
					}
				case "probes":
					ps, err := ReadProbes(dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range ps {
						got[fmt.Sprintf("%s/%d", p.Probe, p.Step)] = true
					}
				case "samples":
					ss, err := ReadSamples(dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range ss {
						got[fmt.Sprintf("%s/%d", s.Task, s.Step)] = true
					}
				}
				var missing []string
				for w := range writers {
					for step := range mergeSteps {
						if k := fmt.Sprintf("task%d/%d", w, step); !got[k] {
							missing = append(missing, k)
						}
					}
				}
				if len(missing) > 0 {
					lost++
					t.Errorf("trial %d: %d of %d lines lost: %v", trial, len(missing), writers*mergeSteps, missing)
				}
			}
			if lost > 0 {
				t.Errorf("%s: lines lost in %d of %d trials", kind, lost, trials)
			}
		})
	}
}

// TestReliabilityLockHolder: a lock another holder has is refused naming
// the holder's PID — at once for the trainer's lock, after a bounded wait
// for a merge — and is free again once released; a merge waits for a
// merge lock released within its patience instead of failing.
func TestReliabilityLockHolder(t *testing.T) {
	dir := t.TempDir()
	pid := fmt.Sprintf("held by PID %d", os.Getpid())
	t.Run("train at once", func(t *testing.T) {
		first, err := LockTrain(dir)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		_, err = LockTrain(dir)
		var held *HeldError
		if !errors.As(err, &held) || !strings.Contains(err.Error(), pid) || time.Since(began) > time.Second {
			t.Fatalf("second LockTrain: %v after %v; want a HeldError naming %s at once", err, time.Since(began), pid)
		}
		first.Release()
		again, err := LockTrain(dir)
		if err != nil {
			t.Fatalf("LockTrain after Release: %v", err)
		}
		again.Release()
	})
	t.Run("merge bounded", func(t *testing.T) {
		defer func(w time.Duration) { mergeWait = w }(mergeWait)
		mergeWait = 300 * time.Millisecond
		lk, err := lockMerge(dir)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		err = MergeEvals(dir, []Eval{{Step: 1, Task: "a", Metric: "exact_match", Value: 1}})
		waited := time.Since(began)
		if err == nil || !strings.Contains(err.Error(), pid) || !strings.Contains(err.Error(), EvalsFile) || waited < mergeWait || waited > mergeWait+5*time.Second {
			t.Fatalf("MergeEvals under a held lock: %v after %v; want an error naming %s and %s after %v", err, waited, EvalsFile, pid, mergeWait)
		}
		lk.Release()
	})
	t.Run("merge waits", func(t *testing.T) {
		lk, err := lockMerge(dir)
		if err != nil {
			t.Fatal(err)
		}
		go func() { time.Sleep(200 * time.Millisecond); lk.Release() }()
		if err := MergeEvals(dir, []Eval{{Step: 2, Task: "a", Metric: "exact_match", Value: 1}}); err != nil {
			t.Fatalf("MergeEvals waiting for a lock released in 200 ms: %v", err)
		}
		es, err := ReadEvals(dir)
		if err != nil || len(es) != 1 || es[0].Step != 2 {
			t.Fatalf("evals after the wait: %+v, %v", es, err)
		}
	})
}
