package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"emlab/internal/rundir"
	"emlab/internal/stats"
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

// writeRiseCSV writes a curve of n distinct x for analyze --csv: exact
// match rising sharply from chance, 100 items a point.
func writeRiseCSV(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("task,metric,x,value,n,chance\n")
	for i := range n {
		lx := 0.5 + float64(i)/float64(n)
		v := 0.1
		if lx > 1.1 {
			v = 0.9
		}
		fmt.Fprintf(&b, "rise,exact_match,%.9g,%.2f,100,0.1\n", math.Pow(10, lx), v+0.01*float64(i%3))
	}
	path := filepath.Join(t.TempDir(), "rise.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReliabilityAnalyzeSignals: SIGTERM and SIGINT end analyze's and
// scaling fit's long loops — reading a large CSV, binning, the fits, the
// bootstrap — within seconds, with a non-zero exit.
func TestReliabilityAnalyzeSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes and waits for them; skipped with -short")
	}
	big := writeRiseCSV(t, 100_000)
	scaling := filepath.Join(t.TempDir(), "scaling.csv")
	rows := "params,tokens,loss\n"
	for i, n := range []float64{1e6, 2e6, 4e6, 8e6, 16e6, 32e6} {
		for j, d := range []float64{1e8, 3e8, 1e9} {
			rows += fmt.Sprintf("%g,%g,%.4f\n", n, d, 1.7+400/math.Pow(n, 0.34)+410/math.Pow(d, 0.28)+0.001*float64((i+j)%3))
		}
	}
	if err := os.WriteFile(scaling, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		sig   os.Signal
		after time.Duration
	}{
		{"analyze 1e5 points SIGTERM", []string{"analyze", "--csv", big, "--boot", "1000000"}, syscall.SIGTERM, 1500 * time.Millisecond},
		{"analyze 1e5 points SIGINT", []string{"analyze", "--csv", big, "--boot", "1000000"}, os.Interrupt, 1500 * time.Millisecond},
		{"scaling fit boot 1e8", []string{"scaling", "fit", "--csv", scaling, "--boot", "100000000"}, syscall.SIGTERM, 1500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, out := emlabProcess(t, c.args...)
			time.Sleep(c.after)
			sent := time.Now()
			cmd.Process.Signal(c.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				t.Logf("exited %v after the signal: %v", time.Since(sent).Round(time.Millisecond), err)
				if err == nil {
					t.Errorf("exit 0 after a signal; output:\n%s", out)
				}
				if !strings.Contains(out.String(), "context canceled") {
					t.Errorf("output does not say it was cancelled:\n%s", out)
				}
			case <-time.After(20 * time.Second): // seconds of pooling at most, on a loaded machine
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 20 s after the signal; output:\n%s", out)
			}
		})
	}
}

// rowsReader is a CSV of n rows that calls hook after the first row.
type rowsReader struct {
	n, i int
	hook func()
	buf  []byte
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		if r.i == 0 {
			r.buf = append(r.buf, "task,metric,x,value\n"...)
		}
		r.buf = fmt.Appendf(r.buf, "a,exact_match,%d,0.5\n", r.i+1)
		r.i++
		if r.i == 1 {
			r.hook()
		}
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// TestAnalyzeStopsReading: a signal while analyze reads its CSV stops the
// reading at the next chunk (ctxReader) rather than after the whole file;
// here the context ends after the first row of 2·10⁶.
func TestAnalyzeStopsReading(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &rowsReader{n: 2_000_000, hook: cancel}
	_, err := stats.ReadCurvesCSV(ctxReader{ctx, r}, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if r.i > 100_000 {
		t.Errorf("read %d rows after the context ended", r.i)
	}
}
