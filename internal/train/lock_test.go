package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"emlab/internal/rundir"
)

// trainChild starts this test binary as a training process (see TestMain)
// of steps steps on dir, resuming what is there.
func trainChild(t *testing.T, dir string, steps int) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EMLAB_TRAIN_CHILD_OUT="+dir, "EMLAB_TRAIN_CHILD_STEPS="+strconv.Itoa(steps))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &out
}

// rawSteps lists the step of every line of dir's metrics.jsonl as written
// (rundir.ReadMetrics keeps one line per step, which would hide a
// duplicate).
func rawSteps(t *testing.T, dir string) []int {
	t.Helper()
	b, err := os.ReadFile(rundir.Path(dir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		var m struct{ Step int }
		if json.Unmarshal(l, &m) == nil {
			steps = append(steps, m.Step)
		}
	}
	return steps
}

// duplicates lists the steps logged more than once.
func duplicates(steps []int) []int {
	seen := map[int]bool{}
	var dup []int
	for _, s := range steps {
		if seen[s] {
			dup = append(dup, s)
		}
		seen[s] = true
	}
	return dup
}

// exited waits up to d for cmd to end; ok is false if it is still running.
func exited(cmd *exec.Cmd, d time.Duration) (err error, ok bool) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err, true
	case <-time.After(d):
		return nil, false
	}
}

// TestReliabilityTwoTrainers: a second `train` on a directory another
// process is training is refused at once, naming the first one's PID, and
// the directory's metrics.jsonl never holds a step twice. Before, both
// trained the directory at once and interleaved their metrics lines.
func TestReliabilityTwoTrainers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts training processes; skipped with -short")
	}
	const long = 20000 // steps: minutes, far longer than the test runs
	t.Run("second refused", func(t *testing.T) {
		dir := t.TempDir()
		first, _ := trainChild(t, dir, long)
		deadline := time.Now().Add(60 * time.Second)
		for {
			if ms, _ := rundir.ReadMetrics(dir); len(ms) >= 5 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the first trainer made no progress")
			}
			time.Sleep(5 * time.Millisecond)
		}
		second, out := trainChild(t, dir, long)
		err, ok := exited(second, 20*time.Second)
		if !ok {
			t.Fatal("the second trainer is still training the directory after 20 s")
		}
		want := fmt.Sprintf("held by PID %d", first.Process.Pid)
		if err == nil || !strings.Contains(out.String(), want) {
			t.Fatalf("second trainer: %v, output %q; want a refusal containing %q", err, out, want)
		}
		first.Process.Signal(syscall.SIGKILL)
		first.Wait()
		if dup := duplicates(rawSteps(t, dir)); len(dup) > 0 {
			t.Errorf("%s holds steps %v twice", rundir.MetricsFile, dup)
		}
	})
	t.Run("started together", func(t *testing.T) {
		for trial := range 5 {
			dir := t.TempDir()
			a, outA := trainChild(t, dir, long)
			b, outB := trainChild(t, dir, long)
			// One of the two is refused within seconds; the other trains.
			type end struct {
				which int
				err   error
			}
			ends := make(chan end, 2)
			go func() { err := a.Wait(); ends <- end{0, err} }()
			go func() { err := b.Wait(); ends <- end{1, err} }()
			var e end
			select {
			case e = <-ends:
			case <-time.After(30 * time.Second):
				t.Fatalf("trial %d: both trainers still running after 30 s", trial)
			}
			cmds, outs := []*exec.Cmd{a, b}, []*bytes.Buffer{outA, outB}
			winner := cmds[1-e.which]
			want := fmt.Sprintf("held by PID %d", winner.Process.Pid)
			if e.err == nil || !strings.Contains(outs[e.which].String(), want) {
				t.Fatalf("trial %d: the first to end: %v, %q; want a refusal containing %q", trial, e.err, outs[e.which], want)
			}
			// Let the winner log a few lines, then stop it.
			deadline := time.Now().Add(60 * time.Second)
			for {
				if ms, _ := rundir.ReadMetrics(dir); len(ms) >= 5 || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			winner.Process.Signal(syscall.SIGKILL)
			<-ends
			if dup := duplicates(rawSteps(t, dir)); len(dup) > 0 {
				t.Errorf("trial %d: %s holds steps %v twice", trial, rundir.MetricsFile, dup)
			}
		}
	})
}
