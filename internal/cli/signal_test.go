package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"emlab/internal/rundir"
)

// The test binary doubles as the emlab binary when this variable is set,
// so tests can send real signals to a real process.
const cliMainEnv = "EMLAB_CLI_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(cliMainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// emlabProcess starts `emlab args...` as a child process.
func emlabProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliMainEnv+"=1")
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &errb
}

// tinyAddRun trains a small add model with checkpoints at 0, 5, 10, 15, 20.
func tinyAddRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	runCLI(t, "train", "--tasks", "add", "--set", "model.d_model=16", "--set", "model.n_layers=1", "--set", "model.n_heads=2",
		"--set", "model.n_ctx=32", "--set", "train.batch_size=8", "--steps", "20", "--set", "train.checkpoint_every=5",
		"--set", "train.checkpoint_log_max=0", "--out", dir, "--quiet")
	return dir
}

// TestReliabilitySignals: SIGTERM (and SIGINT) end the long loops — the
// held-out loss over 10⁹ batches, an evaluation of a million items per
// variant, probes over a million items — within seconds, with a non-zero
// exit and what was finished kept.
func TestReliabilitySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes and waits for them; skipped with -short")
	}
	run := tinyAddRun(t)
	cases := []struct {
		name string
		args []string
		sig  os.Signal
		want string
	}{
		{"train eval_batches=1e9", []string{"train", "--set", "train.eval_batches=1000000000", "--steps", "5", "--out", filepath.Join(t.TempDir(), "r"), "--quiet"},
			syscall.SIGTERM, "held-out loss"},
		{"train eval_batches=1e9 SIGINT", []string{"train", "--set", "train.eval_batches=1000000000", "--steps", "5", "--out", filepath.Join(t.TempDir(), "r"), "--quiet"},
			os.Interrupt, "held-out loss"},
		{"eval --n 1e6", []string{"eval", "--run", run, "--n", "1000000", "--quiet"}, syscall.SIGTERM, "context canceled"},
		{"tasks sample --n 1e6", []string{"tasks", "sample", "add", "--n", "1000000"}, syscall.SIGTERM, "context canceled"},
		{"probe --items 1e6", []string{"probe", "--run", run, "--probes", "linear_probe,train_heldout", "--items", "1000000", "--quiet"}, syscall.SIGTERM, "context canceled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, out := emlabProcess(t, c.args...)
			time.Sleep(1500 * time.Millisecond) // well inside the loop: none of these finishes in minutes
			sent := time.Now()
			cmd.Process.Signal(c.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				took := time.Since(sent)
				t.Logf("exited %v after the signal: %v", took.Round(time.Millisecond), err)
				if err == nil {
					t.Errorf("exit 0 after a signal; output:\n%s", out)
				}
				if !strings.Contains(out.String(), c.want) {
					t.Errorf("output does not mention %q:\n%s", c.want, out)
				}
			case <-time.After(10 * time.Second): // one batch of a tiny model takes milliseconds
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10 s after the signal; output:\n%s", out)
			}
		})
	}
}

// TestReliabilityEvalInterruptedKeepsSteps: an `eval --all` stopped by a
// signal keeps the steps it finished in evals.jsonl.
func TestReliabilityEvalInterruptedKeepsSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process and waits for it; skipped with -short")
	}
	run := tinyAddRun(t)
	cmd, out := emlabProcess(t, "eval", "--run", run, "--all", "--n", "3000", "--batch", "8")

	deadline := time.Now().Add(60 * time.Second)
	for {
		if rs, _ := rundir.ReadEvals(run); len(rs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no step finished in 60 s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err == nil {
		t.Skipf("eval finished all steps before the signal; output:\n%s", out)
	}
	rs, rerr := rundir.ReadEvals(run)
	if rerr != nil || len(rs) == 0 {
		t.Fatalf("%s after the signal: %d results, %v", rundir.EvalsFile, len(rs), rerr)
	}
	if !strings.Contains(out.String(), "eval step 0:") {
		t.Errorf("no finished step reported:\n%s", out)
	}
}
