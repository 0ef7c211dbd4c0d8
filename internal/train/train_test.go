package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"emlab/internal/checkpoint"
	"emlab/internal/config"
	"emlab/internal/data"
	"emlab/internal/rundir"
	"emlab/internal/safetensors"
)

// smallConfig is a GPT small enough that a run of 40 steps takes well under
// a second, with checkpoints at 0,1,2,4,8,10,20,30,40.
func smallConfig() config.Config {
	c := config.Default()
	for _, kv := range []string{"model.n_layers=1", "model.d_model=16", "model.n_heads=2", "model.n_ctx=16",
		"model.d_vocab=32", "train.batch_size=4", "train.steps=40", "train.checkpoint_log_max=8",
		"train.checkpoint_every=10", "train.log_every=1", "train.eval_batches=2"} {
		if err := c.Set(kv); err != nil {
			panic(err)
		}
	}
	return c
}

// TestMain lets the test binary act as a training process that the kill
// test can SIGKILL.
func TestMain(m *testing.M) {
	if out := os.Getenv("EMLAB_TRAIN_CHILD_OUT"); out != "" {
		cfg := smallConfig()
		cfg.Train.Steps = 400 // long enough to be killed mid-way
		if n, err := strconv.Atoi(os.Getenv("EMLAB_TRAIN_CHILD_STEPS")); err == nil {
			cfg.Train.Steps = n
		}
		_, err := Run(context.Background(), Options{Config: cfg, Out: out, Resume: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func losses(t *testing.T, dir string) []string {
	t.Helper()
	ms, err := rundir.ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		s := fmt.Sprintf("%d", m.Step)
		if !math.IsNaN(m.Loss) {
			s += fmt.Sprintf(" %v", m.Loss)
		}
		if !math.IsNaN(m.EvalLoss) {
			s += fmt.Sprintf(" eval %v", m.EvalLoss)
		}
		s += fmt.Sprintf(" lr %v gn %v tok %v", m.LR, m.GradNorm, m.Tokens)
		out = append(out, s)
	}
	return out
}

func weights(t *testing.T, dir string, step int) map[string][]byte {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(dir, rundir.CheckpointsDir, checkpoint.Name(step)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for n, ts := range f.Tensors {
		out[n] = ts.Data
	}
	return out
}

func sameWeights(t *testing.T, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for n := range a {
		if !bytes.Equal(a[n], b[n]) {
			t.Fatalf("tensor %s differs", n)
		}
	}
}

func sameLines(t *testing.T, a, b []string) {
	t.Helper()
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("metrics differ:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

func run(t *testing.T, cfg config.Config, out string, resume bool) *Result {
	t.Helper()
	res, err := Run(context.Background(), Options{Config: cfg, Out: out, Resume: resume})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunWritesRunDirectory(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	res := run(t, cfg, dir, false)
	for _, f := range []string{rundir.ConfigFile, rundir.MetricsFile, rundir.DoneFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	// The analysis' view of config.json agrees with the configuration
	// and the model it describes.
	rc, err := rundir.ReadRunConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Model.Arch != cfg.Model.Arch || rc.Model.DModel != cfg.Model.DModel || rc.Model.NLayers != cfg.Model.NLayers ||
		rc.Model.NHeads != cfg.Model.NHeads || rc.Model.NCtx != cfg.Model.NCtx || rc.Data.Source != cfg.Data.Source ||
		rc.Train.Steps != cfg.Train.Steps || rc.Seed != cfg.Train.Seed || !rc.HasSeed || rc.Params <= rc.NonEmbeddingParams {
		t.Errorf("%s read as %+v, config %+v", rundir.ConfigFile, rc, cfg)
	}
	steps, _ := checkpoint.Steps(filepath.Join(dir, rundir.CheckpointsDir))
	if want := []int{0, 1, 2, 4, 8, 10, 20, 30, 40}; fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Errorf("checkpoints %v, want %v", steps, want)
	}
	ms, _ := rundir.ReadMetrics(dir)
	if len(ms) != 41 || !math.IsNaN(ms[0].Loss) || math.IsNaN(ms[0].EvalLoss) || ms[40].Step != 40 {
		t.Fatalf("metrics: %d lines, first %+v", len(ms), ms[0])
	}
	// The synthetic chain is learnable: the loss must fall well below ln V.
	if first, last := ms[1].Loss, res.FinalLoss; !(last < first-0.3) {
		t.Errorf("loss did not fall: %v → %v", first, last)
	}
	// Without --resume an existing run is never overwritten.
	if _, err := Run(context.Background(), Options{Config: cfg, Out: dir}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("second run without --resume: %v", err)
	}
	// --resume of a finished run does nothing.
	if res := run(t, cfg, dir, true); !res.WasDone {
		t.Error("finished run was not recognised")
	}
	// Resuming with another config is refused.
	cfg2 := cfg
	cfg2.Model.DModel = 32
	if _, err := Run(context.Background(), Options{Config: cfg2, Out: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("resume with another config: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	cfg := smallConfig()
	run(t, cfg, a, false)
	cfg.Train.Threads = 2 // thread count must not change any bit
	run(t, cfg, b, false)
	sameLines(t, losses(t, a), losses(t, b))
	sameWeights(t, weights(t, a, 40), weights(t, b, 40))
}

// TestResumeFromEachCheckpoint: stopping after any checkpoint (by deleting
// everything later) and resuming reaches the uninterrupted run's bits.
func TestResumeBitIdentical(t *testing.T) {
	ref := t.TempDir()
	cfg := smallConfig()
	run(t, cfg, ref, false)
	for _, stop := range []int{0, 8, 20} {
		t.Run(fmt.Sprint(stop), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			rep := &cancelAt{step: stop, cancel: cancel}
			_, err := Run(ctx, Options{Config: cfg, Out: dir, Reporter: rep})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			run(t, cfg, dir, true)
			sameLines(t, losses(t, ref), losses(t, dir))
			sameWeights(t, weights(t, ref, 40), weights(t, dir, 40))
		})
	}
}

type cancelAt struct {
	step   int
	cancel func()
}

func (c *cancelAt) Step(s Status) {
	if s.Step >= c.step+3 { // a few steps past the checkpoint: those must be redone
		c.cancel()
	}
}
func (c *cancelAt) Event(string) {}

// TestKillAndResume SIGKILLs a real training process mid-run, resumes it,
// and compares with an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 400 steps twice; skipped with -short")
	}
	killed := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EMLAB_TRAIN_CHILD_OUT="+killed)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ms, _ := rundir.ReadMetrics(killed)
		if len(ms) > 0 && ms[len(ms)-1].Step >= 130 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child made no progress")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if rundir.IsDone(killed) {
		t.Fatal("child finished before it was killed; make the run longer")
	}
	cfg := smallConfig()
	cfg.Train.Steps = 400
	run(t, cfg, killed, true)
	ref := t.TempDir()
	run(t, cfg, ref, false)
	sameLines(t, losses(t, ref), losses(t, killed))
	sameWeights(t, weights(t, ref, 400), weights(t, killed, 400))
}

// TestCorruptCheckpointFallback: a damaged newest checkpoint is skipped
// with a message naming it, and the run resumes from the previous one.
func TestCorruptCheckpointFallback(t *testing.T) {
	ref := t.TempDir()
	cfg := smallConfig()
	run(t, cfg, ref, false)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	Run(ctx, Options{Config: cfg, Out: dir, Reporter: &cancelAt{step: 20, cancel: cancel}})
	p := filepath.Join(dir, rundir.CheckpointsDir, checkpoint.Name(20))
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o644) // truncated
	rec := &recorder{}
	if _, err := Run(context.Background(), Options{Config: cfg, Out: dir, Resume: true, Reporter: rec}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.events, "step-20.safetensors") || !strings.Contains(rec.events, "resuming from") ||
		!strings.Contains(rec.events, "step-10.safetensors") {
		t.Errorf("events:\n%s", rec.events)
	}
	sameLines(t, losses(t, ref), losses(t, dir))
	sameWeights(t, weights(t, ref, 40), weights(t, dir, 40))
}

type recorder struct{ events string }

func (r *recorder) Step(Status)      {}
func (r *recorder) Event(msg string) { r.events += msg + "\n" }

// TestNonFiniteLossStops drives the loss to Inf/NaN with an absurd learning
// rate and no clipping.
func TestNonFiniteLossStops(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Optim.LR = 1e30
	cfg.Optim.Clip = 0
	cfg.Optim.WarmupFrac = 0
	_, err := Run(context.Background(), Options{Config: cfg, Out: dir})
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err = %v, want a non-finite loss error", err)
	}
	if !strings.Contains(err.Error(), "last good checkpoint") || !strings.Contains(err.Error(), "step-") {
		t.Errorf("error does not name the checkpoint: %v", err)
	}
	if rundir.IsDone(dir) {
		t.Error("DONE written for a diverged run")
	}
}

func TestVocabMismatch(t *testing.T) {
	cfg := smallConfig()
	_, err := Run(context.Background(), Options{Config: cfg, Out: t.TempDir(),
		Sources: func(config.Config) (data.Source, data.Source, error) {
			s, _ := data.NewSynthetic(1, 64, 2, "train")
			return s, s, nil
		}})
	if err == nil || !strings.Contains(err.Error(), "model.d_vocab") {
		t.Errorf("err = %v", err)
	}
}

// TestTextCorpusRun trains briefly on a prose file: the BPE tokenizer is
// saved with the run and fixes d_vocab, and the loss falls.
func TestTextCorpusRun(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "Paragraph %d. The cat sat on the mat, and the dog sat by the door.\n\n", i)
	}
	corpus := filepath.Join(t.TempDir(), "prose.txt")
	if err := os.WriteFile(corpus, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	for _, kv := range []string{"data.source=text", "data.corpus=" + corpus, "data.bpe_vocab=300", "data.heldout=0.1", "train.steps=60"} {
		if err := cfg.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	res := run(t, cfg, dir, false)
	rd, err := OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Tok == nil || rd.Config.Model.DVocab != rd.Tok.Vocab() {
		t.Fatalf("tokenizer %v, d_vocab %d", rd.Tok, rd.Config.Model.DVocab)
	}
	ms, _ := rundir.ReadMetrics(dir)
	if first := ms[0].EvalLoss; !(res.EvalLoss < first-1) {
		t.Errorf("eval loss %v → %v: did not fall", first, res.EvalLoss)
	}
	// The probes' held-out stream, built from the run's tokenizer.json
	// without training the BPE again, is the one training measured.
	_, want, err := Sources(rd.Config)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rd.Heldout()
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 3, 16
	wt, wg, gt, gg := make([]int32, B*T), make([]int32, B*T), make([]int32, B*T), make([]int32, B*T)
	want.Batch(5, B, T, wt, wg)
	got.Batch(5, B, T, gt, gg)
	if fmt.Sprint(wt, wg) != fmt.Sprint(gt, gg) || got.Vocab() != want.Vocab() {
		t.Errorf("held-out stream from tokenizer.json differs from training's")
	}
}

// TestSkipIgnoredRowsBitIdentical trains the demo ladder's kind of run (the
// task mixture packed at slot boundaries, whose separator and padding
// targets are ignored) with the model skipping the ignored rows (the
// default) and computing them (KeepIgnoredRows), on one thread and on two:
// the metrics and every checkpoint's bytes are identical.
func TestSkipIgnoredRowsBitIdentical(t *testing.T) {
	cfg := config.Default()
	cfg.Data.Source = "tasks"
	for _, kv := range []string{"data.tasks=add(digits=2,format=plain):1,add(digits=2,format=reversed):1,icl:0.33,mul:0.2",
		"data.slot=16", "model.n_ctx=64", "model.n_layers=2", "model.d_model=32", "model.n_heads=2",
		"train.batch_size=6", "train.steps=30", "train.checkpoint_every=10", "train.log_every=1", "train.eval_batches=2"} {
		if err := cfg.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			cfg.Train.Threads = threads
			skip, keep := t.TempDir(), t.TempDir()
			if _, err := Run(context.Background(), Options{Config: cfg, Out: skip}); err != nil {
				t.Fatal(err)
			}
			if _, err := Run(context.Background(), Options{Config: cfg, Out: keep, KeepIgnoredRows: true}); err != nil {
				t.Fatal(err)
			}
			sameLines(t, losses(t, keep), losses(t, skip))
			steps, err := checkpoint.Steps(filepath.Join(keep, rundir.CheckpointsDir))
			if err != nil || len(steps) < 3 {
				t.Fatalf("checkpoints %v: %v", steps, err)
			}
			for _, s := range steps {
				a, err := os.ReadFile(filepath.Join(keep, rundir.CheckpointsDir, checkpoint.Name(s)))
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(skip, rundir.CheckpointsDir, checkpoint.Name(s)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("checkpoint of step %d differs with ignored rows skipped", s)
				}
			}
		})
	}
}
